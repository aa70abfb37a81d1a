package kernels

import "fmt"

// Tap kernels of the depthwise convolution in training (package qat,
// conv_depthwise.go). There each tap of a kernel window reads one contiguous run
// shifted by an offset (the input split into phase planes by the stride, an
// output gradient padded with zeros), so the forward pass, the input gradient and
// the weight gradient are sums and dot products of shifted runs. The AVX2
// assembly (kernels/_gen/gen_qatew.go) runs on the 8-aligned prefix and the Go
// reference below on the tail; both give the same bits: products rounded to
// float32 before each addition, taps in order, dot products in eight lanes.

// TapsF32 adds w[t]·src[offs[t]+q], for t in order, to dst[q] for q < len(dst).
// Every run src[offs[t] : offs[t]+len(dst)] must lie inside src.
func TapsF32(dst, src []float32, offs []int, w []float32) {
	checkTaps(len(dst), len(src), offs, len(w))
	if len(offs) == 0 || len(dst) == 0 {
		return
	}
	v := tapsF32Vec(dst, src, offs, w)
	tapsF32Go(dst[v:], src[v:], offs, w)
}

func tapsF32Go(dst, src []float32, offs []int, w []float32) {
	for q := range dst {
		a := dst[q]
		for t, o := range offs {
			a += float32(w[t] * src[o+q])
		}
		dst[q] = a
	}
}

// TapsDotF32 adds a[q]·src[offs[t]+q] to lanes[8t + q%8] for every tap t and
// q < len(a): eight lane sums per tap (len(lanes) >= 8·len(offs)), which calls on
// further runs continue and the caller reduces with LaneSum8F32.
func TapsDotF32(a, src []float32, offs []int, lanes []float32) {
	checkTaps(len(a), len(src), offs, len(lanes)/8)
	if len(offs) == 0 || len(a) == 0 {
		return
	}
	v := tapsDotF32Vec(a, src, offs, lanes)
	tapsDotF32Go(a[v:], src[v:], offs, lanes)
}

func tapsDotF32Go(a, src []float32, offs []int, lanes []float32) {
	for t, o := range offs {
		l := lanes[8*t:][:8]
		s := src[o:][:len(a)]
		for q, e := range a {
			l[q&7] += float32(e * s[q])
		}
	}
}

// LaneSum8F32 reduces eight lane sums in a fixed order.
func LaneSum8F32(l []float32) float32 {
	l = l[:8]
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

// checkTaps panics, before any assembly runs, when a tap's run leaves src or there
// are fewer weights (lane blocks) than taps: a caller's bug, not bad input.
func checkTaps(n, srcLen int, offs []int, nw int) {
	if nw < len(offs) {
		panic(fmt.Sprintf("kernels: %d taps with %d weights", len(offs), nw))
	}
	for _, o := range offs {
		if o < 0 || o+n > srcLen {
			panic(fmt.Sprintf("kernels: tap run [%d, %d) outside a source of %d", o, o+n, srcLen))
		}
	}
}

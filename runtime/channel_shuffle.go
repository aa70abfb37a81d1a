package runtime

// The pass over the pixels behind the channels-last channel shuffles, float32
// (layout_shuffle.go) and int8 (op_int8_shuffle.go): the inputs concatenated
// along channels, the channels shuffled in g groups (shuffled channel j·g + i
// is concatenated channel i·(C/g) + j), and ranges of the shuffled channels
// written as separate outputs, so that a Concat, the shuffle after it and the
// channel Slices after that are one pass.

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// shuffleOut is how one output's channels are gathered: for two groups whose
// halves each lie in one input, as an interleave of two channel runs; else
// channel by channel.
type shuffleOut struct {
	n      int // channels
	pair   bool
	a, b   int // inputs of the even and odd output channels (pair)
	a0, b0 int // their first channels
	src    []int
	ch     []int
}

// planShuffle maps the shuffled channel ranges [ranges[2k], ranges[2k+1]) of
// the concatenation of inputs of cs channels, shuffled in g groups, to their
// sources.
func planShuffle(cs []int, g int, ranges []int64) ([]shuffleOut, error) {
	c := 0
	for _, v := range cs {
		c += v
	}
	if g < 1 || c%g != 0 {
		return nil, fmt.Errorf("channel shuffle: %d channels do not split into %d groups", c, g)
	}
	if len(ranges)%2 != 0 {
		return nil, fmt.Errorf("channel shuffle: odd number of range bounds %v", ranges)
	}
	plan := make([]shuffleOut, len(ranges)/2)
	for o := range plan {
		lo, hi := int(ranges[2*o]), int(ranges[2*o+1])
		if lo < 0 || hi <= lo || hi > c {
			return nil, fmt.Errorf("channel shuffle: range [%d, %d) is not within the %d channels", lo, hi, c)
		}
		plan[o] = planShuffleOut(cs, g, c, lo, hi)
	}
	return plan, nil
}

func planShuffleOut(cs []int, g, c, lo, hi int) shuffleOut {
	cpg := c / g
	locate := func(ch int) (int, int) {
		for i, v := range cs {
			if ch < v {
				return i, ch
			}
			ch -= v
		}
		return -1, -1
	}
	po := shuffleOut{n: hi - lo}
	if g == 2 && lo%2 == 0 && hi%2 == 0 {
		a, a0 := locate(lo / 2)
		a1, _ := locate(hi/2 - 1)
		b, b0 := locate(cpg + lo/2)
		b1, _ := locate(cpg + hi/2 - 1)
		if a == a1 && b == b1 {
			po.pair, po.a, po.a0, po.b, po.b0 = true, a, a0, b, b0
			return po
		}
	}
	for o := lo; o < hi; o++ {
		i, ch := locate((o%g)*cpg + o/g)
		po.src = append(po.src, i)
		po.ch = append(po.ch, ch)
	}
	return po
}

// runShuffle writes pixels [p0, p1) of one output (pixel stride sy) from the
// inputs xs (pixel strides sx).
func runShuffle[T int8 | float32](po *shuffleOut, y []T, sy int, xs [][]T, sx []int, p0, p1 int) {
	n := po.n
	if po.pair {
		sa, sb, h := sx[po.a], sx[po.b], n/2
		xa, xb := xs[po.a], xs[po.b]
		il := interleave[T]
		if f, ok := any(interleaveI8).(func(y, a, b []T)); ok && littleEndian {
			il = f
		}
		for p := p0; p < p1; p++ {
			il(y[p*sy:p*sy+n], xa[p*sa+po.a0:p*sa+po.a0+h], xb[p*sb+po.b0:p*sb+po.b0+h])
		}
		return
	}
	for p := p0; p < p1; p++ {
		yp := y[p*sy : p*sy+n]
		for o, i := range po.src {
			yp[o] = xs[i][p*sx[i]+po.ch[o]]
		}
	}
}

// interleave writes a[0], b[0], a[1], b[1], ... to y (len(y) = 2·len(a)).
func interleave[T int8 | float32](y, a, b []T) {
	b = b[:len(a)]
	y = y[:2*len(a)]
	for j, v := range a {
		y[2*j], y[2*j+1] = v, b[j]
	}
}

// littleEndian: interleaveI8's 16-bit stores put a[j] first.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// interleaveI8 is interleave for bytes, one 16-bit store per pair (1.6x the
// byte stores in a micro-benchmark; spreading four bytes at a time through
// 64-bit words was no faster than the byte stores).
func interleaveI8(y, a, b []int8) {
	if len(a) == 0 {
		return
	}
	b = b[:len(a)]
	_ = y[2*len(a)-1]
	y16 := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(y))), len(a))
	for j, v := range a {
		y16[j] = uint16(uint8(v)) | uint16(uint8(b[j]))<<8
	}
}

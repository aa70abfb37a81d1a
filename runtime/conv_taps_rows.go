package runtime

// Dilated convolutions on small maps (DeepLabV3's ASPP: 3×3 at rate 12 on the
// 20×20 output of a MobileNetV3 backbone, rates 12-36 on 40×40 behind a
// ResNet). The rows layout of conv_rows.go computes every output row as wide
// as the padded input row, 20 + 2·12 pixels for 20 outputs, and every tap
// over every output pixel, although at such rates most taps of most pixels
// read padding: 36 % of the multiply-adds of that layer touch the input. Here
// each output row runs one GEMM per horizontal tap, over the output pixels
// that tap reads the input for and the vertical taps that row reads the input
// for, reading the channels-last input in place: only the multiply-adds that
// touch the input, no padded copy. The first tap that covers the whole row
// writes it with the bias; the others are computed into a scratch row and
// added. (graph/optimize drops the taps no output ever reads beforehand.)

import (
	"fmt"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// tapRowsMinWaste is the share of the rows layout's multiply-adds (in
// percent) that must fall on padding before the sparse path is taken: below
// it the one big GEMM of the rows layout is faster than a GEMM per row and tap.
const tapRowsMinWaste = 40

// tapRowsKernel is a channels-last Conv (stride 1, dilated, no residual) that
// runs the sparse path when the padding would waste a large share of the rows
// layout's work, and the rows layout otherwise.
type tapRowsKernel struct {
	rows *rowsConvKernel
	w    []float32 // OIHW weights
	mu   sync.Mutex
	// packed[(a, b, kj)]: the weights of vertical taps a..b and horizontal
	// tap kj as [(ki, ci)][o], padded like the rows kernel's to its N.
	packed map[[3]int]*kernels.RowsB
}

// newTapRowsKernel wraps a rows kernel whose convolution may take the sparse
// path, or returns the rows kernel itself.
func newTapRowsKernel(k *rowsConvKernel) Kernel {
	if !k.inNHWC || !k.outNHWC || k.residual || (k.kh == 1 && k.kw == 1) {
		return k
	}
	n := k.conv.node
	for _, s := range n.AttrInts("strides", nil) {
		if s != 1 {
			return k
		}
	}
	dilated := false
	for _, d := range n.AttrInts("dilations", nil) {
		dilated = dilated || d > 1
	}
	if !dilated || k.conv.wConst == nil {
		return k
	}
	return &tapRowsKernel{rows: k, w: k.conv.wConst.F32(), packed: map[[3]int]*kernels.RowsB{}}
}

// weights returns the packed weights of vertical taps a..b and horizontal tap kj.
func (t *tapRowsKernel) weights(a, b, kj int) *kernels.RowsB {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := [3]int{a, b, kj}
	if p := t.packed[key]; p != nil {
		return p
	}
	k := t.rows
	np := k.pb.N()
	kdim := (b - a + 1) * k.c
	wt := make([]float32, kdim*np)
	for o := 0; o < k.m; o++ {
		for ci := 0; ci < k.c; ci++ {
			for ki := a; ki <= b; ki++ {
				wt[((ki-a)*k.c+ci)*np+o] = t.w[((o*k.c+ci)*k.kh+ki)*k.kw+kj]
			}
		}
	}
	p := kernels.PackRowsB(kdim, np, wt, np)
	t.packed[key] = p
	return p
}

// tapSpan returns, for one axis, the output positions [lo, hi) of [0, out) at
// which tap t (dilation d, begin pad pb) reads the input of size n.
func tapSpan(t, d, pb, n, out int) (lo, hi int) {
	lo = max(0, pb-t*d)
	hi = min(out, n+pb-t*d)
	return lo, max(lo, hi)
}

func (t *tapRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	k := t.rows
	if len(in) < k.nConvIn {
		return nil, fmt.Errorf("channels-last Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if w != k.conv.wConst || b != k.conv.bConst || x == nil || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, fmt.Errorf("channels-last Conv: inputs are not the planned ones")
	}
	n, h, wd, sx, err := convInputDims(x, k.c, true)
	if err != nil {
		return nil, err
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, h, wd}}
	geom, outShape, err := k.conv.shapes(hdr, w, b, 1, false)
	if err != nil {
		return nil, err
	}
	oh, ow := outShape[2], outShape[3]
	dh, dw := geom.Dilations[0], geom.Dilations[1]
	pt, pl := geom.PadBegin(0), geom.PadBegin(1)
	// Work of the rows layout (output rows as wide as the padded input) and
	// of the taps that read the input.
	ppw := wd + pl + geom.PadEnd(1)
	vy, vx := 0, 0
	for ki := 0; ki < k.kh; ki++ {
		lo, hi := tapSpan(ki, dh, pt, h, oh)
		vy += hi - lo
	}
	for kj := 0; kj < k.kw; kj++ {
		lo, hi := tapSpan(kj, dw, pl, wd, ow)
		vx += hi - lo
	}
	full := oh * ppw * k.kh * k.kw
	if n*oh*ow == 0 || (full-vy*vx)*100 < tapRowsMinWaste*full {
		return k.Run(ctx, in)
	}
	so := pixelStride(k.m)
	np := k.pb.N()
	y, release := channelsLastScratch(ctx, true, n*oh*ow*so)
	defer release()
	xd := x.F32()
	isz, osz := h*wd*sx, oh*ow*so
	// Offsets of vertical tap ki and channel ci from the pixel of tap 0.
	offs := make([]int32, k.kh*k.c)
	for ki := 0; ki < k.kh; ki++ {
		for ci := 0; ci < k.c; ci++ {
			offs[ki*k.c+ci] = int32(ki*dh*wd*sx + ci)
		}
	}
	bias := k.bias
	if bias == nil {
		bias = make([]float32, np)
	}
	nnParallel(ctx.Threads, n*oh, func(r0, r1 int) {
		scratch := getF32(ow * so)
		defer putF32(scratch)
		for r := r0; r < r1; r++ {
			img, oy := r/oh, r%oh
			xi, yrow := xd[img*isz:(img+1)*isz], y[img*osz+oy*ow*so:img*osz+(oy+1)*ow*so]
			// Vertical taps that read the input at this row: a..b.
			a, bb := k.kh, -1
			for ki := 0; ki < k.kh; ki++ {
				if iy := oy - pt + ki*dh; iy >= 0 && iy < h {
					a, bb = min(a, ki), ki
				}
			}
			written := false
			if a <= bb {
				for kj := 0; kj < k.kw; kj++ {
					lo, hi := tapSpan(kj, dw, pl, wd, ow)
					if lo >= hi {
						continue
					}
					pb := t.weights(a, bb, kj)
					base := ((oy-pt+a*dh)*wd + lo - pl + kj*dw) * sx
					// Taps a..b relative to tap a are taps 0..b-a.
					rel := offs[:(bb-a+1)*k.c]
					if !written && lo == 0 && hi == ow {
						kernels.SgemmRows(pb, xi[base:], sx, rel, ow, bias, yrow, so, nil, false, 0, 0, 1)
						written = true
						continue
					}
					z := (*scratch)[:(hi-lo)*so]
					kernels.SgemmRows(pb, xi[base:], sx, rel, hi-lo, nil, z, so, nil, false, 0, 0, 1)
					if !written {
						for p := 0; p < ow; p++ {
							copy(yrow[p*so:p*so+np], bias[:np])
						}
						written = true
					}
					dst := yrow[lo*so : hi*so]
					for i, v := range z {
						dst[i] += v
					}
				}
			}
			if !written {
				for p := 0; p < ow; p++ {
					copy(yrow[p*so:p*so+np], bias[:np])
				}
			}
			if k.clip {
				for i, v := range yrow {
					yrow[i] = k.clamp(v)
				}
			}
			kernels.ActF32(k.post, yrow, yrow)
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
}

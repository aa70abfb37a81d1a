package runtime

// The up-convolution of a UNet decoder inside the channels-last chains
// (tenth session): a ConvTranspose whose kernel equals its stride (2x2,
// stride 2, no padding, dilation or output padding; one group) places each
// input pixel's products in its own s×s block of output pixels, without
// overlap. So it is one GEMM, [input pixels × C] · [C × (s·s·M)], whose row
// for input pixel (h, w) holds the block's pixels (h·s+i, w·s+j), M channels
// each: kernels.SgemmRows reads the channels-last input in place, and the
// rows are scattered to the output pixels (channels-last, or NCHW). The
// general kernel (op_conv.go) is an NCHW GEMM and col2im, and cut the chain.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// blockConvTranspose reports whether a step is such a ConvTranspose and
// returns its packed weights, columns (i·s + j)·M + o, and the bias
// repeated per column.
func (s *Session) blockConvTranspose(st step, channels func(int) int) (pb *kernels.RowsB, bias []float32, stride, m int) {
	k, ok := st.kernel.(*convTransposeKernel)
	if !ok || k.group != 1 || len(st.in) < 2 || st.in[1] < 0 || len(st.out) != 1 {
		return nil, nil, 0, 0
	}
	w := s.consts[st.in[1]]
	c := channels(st.in[0])
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != 4 || w.Shape[0] != c || w.Shape[2] != w.Shape[3] || w.Shape[2] < 1 {
		return nil, nil, 0, 0
	}
	n := k.node
	kk := w.Shape[2]
	if ap, err := graph.NodeAutoPad(n); err != nil || ap != "NOTSET" || n.AttrInts("output_shape", nil) != nil {
		return nil, nil, 0, 0
	}
	for attr, want := range map[string]int64{"strides": int64(kk), "dilations": 1, "pads": 0, "output_padding": 0} {
		for _, v := range n.AttrInts(attr, nil) {
			if v != want {
				return nil, nil, 0, 0
			}
		}
	}
	if st := n.AttrInts("strides", nil); kk > 1 && len(st) != 2 {
		return nil, nil, 0, 0
	}
	m = w.Shape[1]
	var b []float32
	if len(st.in) > 2 && st.in[2] >= 0 {
		bt := s.consts[st.in[2]]
		if bt == nil || bt.DType != graph.Float32 || bt.Len() != m {
			return nil, nil, 0, 0
		}
		b = bt.F32()
	}
	cols := kk * kk * m
	wd := w.F32()
	packed := make([]float32, c*cols)
	bias = make([]float32, cols)
	for ci := 0; ci < c; ci++ {
		for o := 0; o < m; o++ {
			for t := 0; t < kk*kk; t++ {
				packed[ci*cols+t*m+o] = wd[(ci*m+o)*kk*kk+t]
			}
		}
	}
	for t := 0; t < kk*kk; t++ {
		for o := 0; o < m && b != nil; o++ {
			bias[t*m+o] = b[o]
		}
	}
	return kernels.PackRowsB(c, cols, packed, cols), bias, kk, m
}

// nhwcConvTransposeKernel is a block ConvTranspose (see above) of a
// channels-last input of c channels into m channels, channels-last (out)
// or NCHW.
type nhwcConvTransposeKernel struct {
	pb      *kernels.RowsB
	bias    []float32
	off     []int32 // the channels of an input pixel
	s, c, m int
	out     bool
	view    *outView // in a Concat's buffer (concat_view.go), or nil
	clamp   ctClamp  // a Relu or Clip after it (fuse_convtranspose_clamp.go)
}

func newNHWCConvTransposeKernel(pb *kernels.RowsB, bias []float32, s, c, m int, out bool) *nhwcConvTransposeKernel {
	off := make([]int32, c)
	for i := range off {
		off[i] = int32(i)
	}
	return &nhwcConvTransposeKernel{pb: pb, bias: bias, off: off, s: s, c: c, m: m, out: out}
}

func (k *nhwcConvTransposeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("channels-last ConvTranspose: %d inputs", len(in))
	}
	x, st, err := channelsLastInput(in[:1], k.c)
	if err != nil {
		return nil, fmt.Errorf("channels-last ConvTranspose: %w", err)
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	s, m := k.s, k.m
	oh, ow := h*s, w*s
	cols := s * s * m
	xd := x.F32()
	var y []float32
	so, yo := pixelStride(m), 0
	switch {
	case k.view != nil:
		so, yo = k.view.g.stride, k.view.off
		if y, err = ctx.viewBuffer(k.view.g, n*oh*ow*so); err != nil {
			return nil, fmt.Errorf("channels-last ConvTranspose: %w", err)
		}
	case k.out:
		y = ctx.AllocF32(n * oh * ow * so)
	default:
		y = ctx.AllocF32(n * m * oh * ow)
	}
	// Bands of input rows: the GEMM rows of a band (w pixels each) go to a
	// scratch that stays in cache and are scattered at once.
	rows := n * h
	band := max(1, min(rows, (64<<10)/max(1, w*cols*4)))
	nb := (rows + band - 1) / band
	th := 1
	if n*h*w*k.c*cols >= 1<<20 { // MACs worth a second thread
		th = ctx.Threads
	}
	nnParallel(th, nb, func(lo, hi int) {
		scratch := make([]float32, band*w*cols)
		for b := lo; b < hi; b++ {
			r0, r1 := b*band, min(rows, (b+1)*band)
			q := (r1 - r0) * w
			kernels.SgemmRows(k.pb, xd[r0*w*st:], st, k.off, q, k.bias, scratch, cols, nil, k.clamp.on, k.clamp.lo, k.clamp.hi, 1)
			for r := r0; r < r1; r++ {
				img, hh := r/h, r%h
				for ww := 0; ww < w; ww++ {
					src := scratch[((r-r0)*w+ww)*cols:][:cols]
					for i := 0; i < s; i++ {
						oy := hh*s + i
						for j := 0; j < s; j++ {
							ox := ww*s + j
							blk := src[(i*s+j)*m:][:m]
							if k.view != nil {
								copy(y[((img*oh+oy)*ow+ox)*so+yo:][:m], blk)
								continue
							}
							if k.out {
								d := y[((img*oh+oy)*ow+ox)*so:][:so]
								copy(d, blk)
								clear(d[m:])
								continue
							}
							for o, v := range blk {
								y[((img*m+o)*oh+oy)*ow+ox] = v
							}
						}
					}
				}
			}
		}
	})
	if k.out || k.view != nil {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, m, oh, ow}, Data: y}}, nil
}

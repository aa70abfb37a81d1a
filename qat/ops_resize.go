package qat

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/warboy-sim/warboy/graph"
)

// resizeOp is Resize in linear or cubic mode (the bilinear upsampling of FPN
// detectors and segmentation heads): every output element is a weighted sum of
// input elements, the same weights in every plane, and the weights of the two last
// axes multiply (the interpolation is separable). So the operator is Y = A_h X A_wᵀ
// on each plane X of the last two axes, and its gradient dX = A_hᵀ dY A_w.
//
// As for the operators that move values (ops_move.go), the weights are not
// re-derived from the ONNX specification: they are read off the runtime's own
// kernel (every coordinate mode, antialias and cubic coefficient as the executors
// compute them). Row i of A_h is the output of the kernel on planes whose row i is
// all ones (the weights of a row of A_w sum to 1), several rows at once, one per
// plane; A_w likewise from columns. The factorisation is then checked on a random
// input against the kernel, and a resize that is not separable so (one that
// scales the leading axes, an extrapolation) is refused as having no gradient.
type resizeOp struct {
	mv              *moveOp // the node's inputs and its kernel call
	shape, outShape []int   // the input shape the weights were read for
	planes          int     // planes of the last two axes
	h, w, oh, ow    int
	rows, cols      interpMatrix // A_h (oh x h), A_w (ow x w)
}

// interpMatrix is a sparse interpolation matrix by output index: the input indices
// and weights of output k are idx/w[start[k]:start[k+1]].
type interpMatrix struct {
	start []int32
	idx   []int32
	w     []float32
}

func (o *resizeOp) label() string { return o.mv.node }

// plan reads the interpolation weights for the current input shape.
func (o *resizeOp) plan(n *Net) error {
	x := n.vals[o.mv.ins[0]]
	changed, err := o.mv.refreshCtrl(n)
	if err != nil {
		return err
	}
	if !changed && o.rows.start != nil && equalShape(o.shape, x.shape) {
		return nil
	}
	r := len(x.shape)
	if r < 2 {
		return fmt.Errorf("%w: Resize of a %d-D tensor", ErrNoGradient, r)
	}
	zero, err := o.mv.runKernel(graph.FromFloat32(append([]int(nil), x.shape...), make([]float32, len(x.data))))
	if err != nil {
		return err
	}
	outShape := zero[0].Shape
	if len(outShape) != r {
		return fmt.Errorf("the runtime kernel returned shape %v for input %v", outShape, x.shape)
	}
	for a := 0; a < r-2; a++ {
		if outShape[a] != x.shape[a] {
			return fmt.Errorf("%w: Resize scales axis %d (%d to %d); only the last two axes are trained", ErrNoGradient, a, x.shape[a], outShape[a])
		}
	}
	P := numel(x.shape[:r-2])
	H, W, OH, OW := x.shape[r-2], x.shape[r-1], outShape[r-2], outShape[r-1]
	if P == 0 || H*W == 0 || OH*OW == 0 {
		return fmt.Errorf("%w: Resize of an empty tensor %v", ErrNoGradient, x.shape)
	}
	if o.rows, err = o.probe(x.shape, P, H, W, OH, OW, true); err != nil {
		return err
	}
	if o.cols, err = o.probe(x.shape, P, H, W, OH, OW, false); err != nil {
		return err
	}
	o.shape, o.outShape, o.planes = append(o.shape[:0], x.shape...), append([]int(nil), outShape...), P
	o.h, o.w, o.oh, o.ow = H, W, OH, OW
	if err := o.check(x.shape); err != nil {
		o.rows.start = nil // not a plan: the next pass reads the weights again
		return err
	}
	return nil
}

// probe reads A_h (rows) or A_w (columns) from the kernel: in each run, plane p has
// input row (column) k*P+p set to ones, and the first column (row) of its output is
// column k*P+p of the matrix.
func (o *resizeOp) probe(shape []int, P, H, W, OH, OW int, rows bool) (interpMatrix, error) {
	in, out := W, OW
	if rows {
		in, out = H, OH
	}
	dense := make([]float32, out*in)
	v := make([]float32, P*H*W)
	for first := 0; first < in; first += P {
		clear(v)
		for p := 0; p < P && first+p < in; p++ {
			plane := v[p*H*W : (p+1)*H*W]
			k := first + p
			if rows {
				for j := 0; j < W; j++ {
					plane[k*W+j] = 1
				}
			} else {
				for i := 0; i < H; i++ {
					plane[i*W+k] = 1
				}
			}
		}
		res, err := o.mv.runKernel(graph.FromFloat32(append([]int(nil), shape...), v))
		if err != nil {
			return interpMatrix{}, err
		}
		y := res[0].F32()
		for p := 0; p < P && first+p < in; p++ {
			plane := y[p*OH*OW : (p+1)*OH*OW]
			for q := 0; q < out; q++ {
				if rows {
					dense[q*in+first+p] = plane[q*OW]
				} else {
					dense[q*in+first+p] = plane[q]
				}
			}
		}
	}
	m := interpMatrix{start: make([]int32, out+1)}
	for q := 0; q < out; q++ {
		for k := 0; k < in; k++ {
			if w := dense[q*in+k]; w != 0 {
				m.idx = append(m.idx, int32(k))
				m.w = append(m.w, w)
			}
		}
		m.start[q+1] = int32(len(m.idx))
	}
	return m, nil
}

// check compares A_h X A_wᵀ with the kernel on a random input.
func (o *resizeOp) check(shape []int) error {
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, numel(shape))
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	res, err := o.mv.runKernel(graph.FromFloat32(append([]int(nil), shape...), x))
	if err != nil {
		return err
	}
	want := res[0].F32()
	got := make([]float32, len(want))
	o.apply(x, got, 0, o.planes, nil)
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			return fmt.Errorf("%w: Resize mode %q is not a separable interpolation here (output element %d: %g by the kernel, %g by its row and column weights)",
				ErrNoGradient, o.mv.gnode.AttrString("mode", "nearest"), i, want[i], got[i])
		}
	}
	return nil
}

// apply computes y = A_h x A_wᵀ for planes [lo, hi); tmp (OH x W) may be nil.
func (o *resizeOp) apply(x, y []float32, lo, hi int, tmp []float32) {
	H, W, OH, OW := o.h, o.w, o.oh, o.ow
	if len(tmp) < OH*W {
		tmp = make([]float32, OH*W)
	}
	for p := lo; p < hi; p++ {
		xp, yp := x[p*H*W:(p+1)*H*W], y[p*OH*OW:(p+1)*OH*OW]
		for q := 0; q < OH; q++ {
			t := tmp[q*W : (q+1)*W]
			clear(t)
			for e := o.rows.start[q]; e < o.rows.start[q+1]; e++ {
				w, src := o.rows.w[e], xp[int(o.rows.idx[e])*W:int(o.rows.idx[e]+1)*W]
				for j, v := range src {
					t[j] += w * v
				}
			}
			yr := yp[q*OW : (q+1)*OW]
			for c := 0; c < OW; c++ {
				var s float32
				for e := o.cols.start[c]; e < o.cols.start[c+1]; e++ {
					s += o.cols.w[e] * t[o.cols.idx[e]]
				}
				yr[c] = s
			}
		}
	}
}

func (o *resizeOp) forward(n *Net) error {
	if err := o.plan(n); err != nil {
		return err
	}
	y := n.vals[o.mv.outs[0]]
	y.resize(o.outShape)
	x := n.vals[o.mv.ins[0]].data
	parallel(o.planes, n.threads, func(lo, hi int) { o.apply(x, y.data, lo, hi, nil) })
	return nil
}

// backward adds A_hᵀ dY A_w to the input's gradient, plane by plane.
func (o *resizeOp) backward(n *Net) {
	dx := n.vals[o.mv.ins[0]].grad
	if dx == nil {
		return
	}
	dy := n.vals[o.mv.outs[0]].grad
	H, W, OH, OW := o.h, o.w, o.oh, o.ow
	parallel(o.planes, n.threads, func(lo, hi int) {
		t := make([]float32, W)
		for p := lo; p < hi; p++ {
			dxp, dyp := dx[p*H*W:(p+1)*H*W], dy[p*OH*OW:(p+1)*OH*OW]
			for q := 0; q < OH; q++ {
				// t = row q of dY A_w
				clear(t)
				for c, g := range dyp[q*OW : (q+1)*OW] {
					for e := o.cols.start[c]; e < o.cols.start[c+1]; e++ {
						t[o.cols.idx[e]] += o.cols.w[e] * g
					}
				}
				for e := o.rows.start[q]; e < o.rows.start[q+1]; e++ {
					w, dst := o.rows.w[e], dxp[int(o.rows.idx[e])*W:int(o.rows.idx[e]+1)*W]
					for j, v := range t {
						dst[j] += w * v
					}
				}
			}
		}
	})
}

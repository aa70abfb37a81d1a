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
	// A 5-D resize that also scales depth (a volumetric U-Net's trilinear
	// upsampling) is separable in three: A_d (od x d) mixes the planes of each
	// of the vols volumes after the 2-D step, into mid (dmid in the backward
	// pass). d = od = 1 otherwise.
	vols, d, od int
	deps        interpMatrix
	mid, dmid   []float32
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
	lead := r - 2 // the axes before the interpolated ones
	if r >= 5 && outShape[r-3] != x.shape[r-3] {
		lead = r - 3 // depth too
	}
	for a := 0; a < lead; a++ {
		if outShape[a] != x.shape[a] {
			return fmt.Errorf("%w: Resize scales axis %d (%d to %d); only the last two axes (three of a 5-D tensor) are trained", ErrNoGradient, a, x.shape[a], outShape[a])
		}
	}
	V := numel(x.shape[:lead])
	D, OD := 1, 1
	if lead == r-3 {
		D, OD = x.shape[r-3], outShape[r-3]
	}
	H, W, OH, OW := x.shape[r-2], x.shape[r-1], outShape[r-2], outShape[r-1]
	if V == 0 || D*H*W == 0 || OD*OH*OW == 0 {
		return fmt.Errorf("%w: Resize of an empty tensor %v", ErrNoGradient, x.shape)
	}
	o.vols, o.d, o.od = V, D, OD
	o.h, o.w, o.oh, o.ow = H, W, OH, OW
	if o.rows, err = o.probe(x.shape, V, H, W, OH, OW, true); err != nil {
		return err
	}
	if o.cols, err = o.probe(x.shape, V, H, W, OH, OW, false); err != nil {
		return err
	}
	if D != OD {
		if o.deps, err = o.probeDepth(x.shape); err != nil {
			return err
		}
	}
	o.shape, o.outShape, o.planes = append(o.shape[:0], x.shape...), append([]int(nil), outShape...), V*D
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
	D, OD := o.d, o.od // every depth slice of a volume alike: its output slice 0
	dense := make([]float32, out*in)
	v := make([]float32, P*D*H*W)
	for first := 0; first < in; first += P {
		clear(v)
		for p := 0; p < P && first+p < in; p++ {
			k := first + p
			for d := range D {
				plane := v[(p*D+d)*H*W : (p*D+d+1)*H*W]
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
		}
		res, err := o.mv.runKernel(graph.FromFloat32(append([]int(nil), shape...), v))
		if err != nil {
			return interpMatrix{}, err
		}
		y := res[0].F32()
		for p := 0; p < P && first+p < in; p++ {
			plane := y[p*OD*OH*OW : (p*OD+1)*OH*OW]
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

// probeDepth reads A_d from the kernel: volume p has depth slice k set to ones,
// and the first element of its output slice q is A_d[q, k].
func (o *resizeOp) probeDepth(shape []int) (interpMatrix, error) {
	P, D, OD, HW, OHW := o.vols, o.d, o.od, o.h*o.w, o.oh*o.ow
	dense := make([]float32, OD*D)
	v := make([]float32, P*D*HW)
	for first := 0; first < D; first += P {
		clear(v)
		for p := 0; p < P && first+p < D; p++ {
			s := v[(p*D+first+p)*HW : (p*D+first+p+1)*HW]
			for i := range s {
				s[i] = 1
			}
		}
		res, err := o.mv.runKernel(graph.FromFloat32(append([]int(nil), shape...), v))
		if err != nil {
			return interpMatrix{}, err
		}
		y := res[0].F32()
		for p := 0; p < P && first+p < D; p++ {
			for q := range OD {
				dense[q*D+first+p] = y[(p*OD+q)*OHW]
			}
		}
	}
	m := interpMatrix{start: make([]int32, OD+1)}
	for q := range OD {
		for k := range D {
			if w := dense[q*D+k]; w != 0 {
				m.idx = append(m.idx, int32(k))
				m.w = append(m.w, w)
			}
		}
		m.start[q+1] = int32(len(m.idx))
	}
	return m, nil
}

// resize computes y from x: A_h x A_wᵀ on every plane, then A_d across the
// planes of each volume when depth is scaled.
func (o *resizeOp) resize(x, y []float32, threads int) {
	if o.d == o.od {
		parallel(o.planes, threads, func(lo, hi int) { o.apply(x, y, lo, hi, nil) })
		return
	}
	OHW := o.oh * o.ow
	o.mid = grow(o.mid, o.planes*OHW)
	parallel(o.planes, threads, func(lo, hi int) { o.apply(x, o.mid, lo, hi, nil) })
	mixDepth(&o.deps, o.mid, y, o.vols, o.d, o.od, OHW, false)
}

// mixDepth sets dst = A_d src per volume (src [vols, d, plane] to dst [vols,
// od, plane]), or with transpose dst = A_dᵀ src (src [vols, od, plane] to dst
// [vols, d, plane]).
func mixDepth(a *interpMatrix, src, dst []float32, vols, d, od, plane int, transpose bool) {
	clear(dst)
	for v := range vols {
		for q := range od {
			for e := a.start[q]; e < a.start[q+1]; e++ {
				w, k := a.w[e], int(a.idx[e])
				from, to := (v*d+k)*plane, (v*od+q)*plane
				if transpose {
					from, to = to, from
				}
				s, t := src[from:from+plane], dst[to:to+plane]
				for i, x := range s {
					t[i] += w * x
				}
			}
		}
	}
}

// check compares A_h X A_wᵀ (and A_d across depth) with the kernel on a random input.
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
	o.resize(x, got, 1)
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
	o.resize(n.vals[o.mv.ins[0]].data, y.data, n.threads)
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
	if o.d != o.od {
		// back across depth first: the 2-D step's output gradient per plane
		o.dmid = grow(o.dmid, o.planes*OH*OW)
		mixDepth(&o.deps, dy, o.dmid, o.vols, o.d, o.od, OH*OW, true)
		dy = o.dmid
	}
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

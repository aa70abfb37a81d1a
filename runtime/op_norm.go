package runtime

// Normalisations (BatchNormalization, InstanceNormalization, LayerNormalization, LRN),
// Softmax/LogSoftmax and Erf. Statistics are accumulated in float64 so that results do
// not depend on summation order more than float32 rounding of the output.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// nnFloatData returns the float32 or float64 data of t (after widening float16 inputs
// with widenHalf at the call site).
func nnFloatData[T floating](t *graph.Tensor) []T {
	if t == nil {
		return nil
	}
	d, _ := t.Data.([]T)
	return d
}

// nnHalfWrap runs a float32 kernel on float16/bfloat16 inputs, rounding every float
// output back to the input's type.
func nnHalfWrap(ctx *ExecContext, k Kernel, in []*graph.Tensor) ([]*graph.Tensor, error) {
	dt := in[0].DType
	wide := make([]*graph.Tensor, len(in))
	for i, t := range in {
		wide[i] = widenHalf(t)
	}
	out, err := k.Run(ctx, wide)
	if err != nil {
		return nil, err
	}
	for i, t := range out {
		if t != nil && t.DType == graph.Float32 {
			out[i] = narrowHalf(t, dt)
		}
	}
	return out, nil
}

func nnIsHalf(t *graph.Tensor) bool {
	return t != nil && (t.DType == graph.Float16 || t.DType == graph.BFloat16)
}

// ---- BatchNormalization ----

type batchNormKernel struct {
	node     *graph.Node
	eps      float64
	momentum float64
	spatial  bool
	training bool
	// a and b are the folded per-channel affine transform y = a*x + b, precomputed when
	// scale, B, mean and var are constant float32 initializers.
	a, b []float32
}

func buildBatchNorm(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	k := &batchNormKernel{
		node:     n,
		eps:      float64(n.AttrFloat("epsilon", 1e-5)),
		momentum: float64(n.AttrFloat("momentum", 0.9)),
		spatial:  bc.Opset >= 9 || n.AttrInt("spatial", 1) != 0,
		training: graph.BatchNormTraining(n, bc.Opset),
	}
	s, b, m, v := bc.Const(1), bc.Const(2), bc.Const(3), bc.Const(4)
	if !k.training && s != nil && b != nil && m != nil && v != nil && s.DType == graph.Float32 &&
		b.DType == graph.Float32 && m.DType == graph.Float32 && v.DType == graph.Float32 {
		n := s.Len()
		if b.Len() != n || m.Len() != n || v.Len() != n || len(s.F32()) != n || len(b.F32()) != n || len(m.F32()) != n || len(v.F32()) != n {
			return nil, bc.Errorf("scale %v, B %v, mean %v and var %v must have the same shape", s.Shape, b.Shape, m.Shape, v.Shape)
		}
		k.a, k.b = foldBatchNorm(s.F32(), b.F32(), m.F32(), v.F32(), k.eps)
	}
	return k, nil
}

func foldBatchNorm[T floating](s, b, m, v []T, eps float64) (a, c []T) {
	a, c = make([]T, len(s)), make([]T, len(s))
	for i := range s {
		inv := float64(s[i]) / math.Sqrt(float64(v[i])+eps)
		a[i] = T(inv)
		c[i] = T(float64(b[i]) - float64(m[i])*inv)
	}
	return a, c
}

func (k *batchNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 5); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input X has shape %v, expected [N, C, ...]", x.Shape)
	}
	// Parameters are per channel (spatial) or per element of one image.
	plen := x.Shape[1]
	if !k.spatial {
		plen = graph.NumElements(x.Shape[1:])
	}
	for i, what := range []string{"scale", "B", "mean", "var"} {
		if p := in[i+1]; p.Len() != plen {
			return nil, fmt.Errorf("input %s has shape %v, expected %d values", what, p.Shape, plen)
		}
	}
	switch x.DType {
	case graph.Float32:
		return batchNormRun[float32](k, ctx, x, in, plen)
	case graph.Float64:
		return batchNormRun[float64](k, ctx, x, in, plen)
	}
	return nil, fmt.Errorf("unsupported input type %s", x.DType)
}

func nnAsType[T floating](t *graph.Tensor) ([]T, error) {
	if d, ok := t.Data.([]T); ok {
		return d, nil
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil, err
	}
	out := make([]T, len(f))
	for i, v := range f {
		out[i] = T(v)
	}
	return out, nil
}

func batchNormRun[T floating](k *batchNormKernel, ctx *ExecContext, x *graph.Tensor, in []*graph.Tensor, plen int) ([]*graph.Tensor, error) {
	var params [4][]T
	for i := range params {
		var err error
		if params[i], err = nnAsType[T](in[i+1]); err != nil {
			return nil, err
		}
	}
	xd := nnFloatData[T](x)
	n := x.Shape[0]
	inner := graph.NumElements(x.Shape[1:]) / max(plen, 1) // elements per parameter per image
	if plen == 0 {
		inner = 0
	}
	var out *graph.Tensor
	if x.DType == graph.Float32 {
		// From the run's arena (the others' outputs are): a fresh 64 KB
		// zeroed tensor per run was a third of the training step's time.
		out = &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: ctx.AllocF32(len(xd))}
	} else {
		out = graph.NewTensor(x.DType, x.Shape)
	}
	yd := nnFloatData[T](out)
	var a, b []T
	var mean, variance []T
	if x32, ok := any(xd).([]float32); ok && k.training && n*inner > 0 {
		// Float32 batch statistics on the vector row sums (sixteenth
		// session): the scalar float64 loops below took 98 µs for a
		// [4, 16, 16, 16] batch, ONNX Runtime 10.
		m32, v32 := make([]float32, plen), make([]float32, plen)
		th := ctx.Threads
		if len(x32) < parallelMinWork {
			th = 1
		}
		nnParallel(th, plen, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				m32[p], v32[p] = kernels.RowsMeanVarF32(x32[p*inner:], n, inner, plen*inner)
			}
		})
		mean, variance = any(m32).([]T), any(v32).([]T)
		a, b = foldBatchNorm(params[0], params[1], mean, variance, k.eps)
	} else if k.training {
		mean, variance = make([]T, plen), make([]T, plen)
		cnt := float64(n * inner)
		for p := 0; p < plen; p++ {
			var s, sq float64
			for img := 0; img < n; img++ {
				for _, v := range xd[(img*plen+p)*inner : (img*plen+p+1)*inner] {
					s += float64(v)
				}
			}
			mu := s / max(cnt, 1)
			for img := 0; img < n; img++ {
				for _, v := range xd[(img*plen+p)*inner : (img*plen+p+1)*inner] {
					d := float64(v) - mu
					sq += d * d
				}
			}
			mean[p], variance[p] = T(mu), T(sq/max(cnt, 1))
		}
		a, b = foldBatchNorm(params[0], params[1], mean, variance, k.eps)
	} else if x.DType == graph.Float32 && k.a != nil && len(k.a) == plen {
		a, b = any(k.a).([]T), any(k.b).([]T)
	} else {
		a, b = foldBatchNorm(params[0], params[1], params[2], params[3], k.eps)
	}
	rows := n * plen
	th := ctx.Threads
	if len(xd) < parallelMinWork {
		th = 1
	}
	// Training mode: the vector scale-shift (inference keeps the Go loop's
	// rounding, which other paths are compared with bit for bit).
	var x32, y32, a32, b32 []float32
	if k.training {
		x32, _ = any(xd).([]float32)
		y32, _ = any(yd).([]float32)
		a32, _ = any(a).([]float32)
		b32, _ = any(b).([]float32)
	}
	inf := float32(math.Inf(1))
	nnParallel(th, rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			p := r % plen
			if x32 != nil {
				kernels.AffineRowF32(y32[r*inner:(r+1)*inner], x32[r*inner:(r+1)*inner], a32[p], b32[p], -inf, inf)
				continue
			}
			av, bv := a[p], b[p]
			src, dst := xd[r*inner:(r+1)*inner], yd[r*inner:(r+1)*inner]
			for i, v := range src {
				dst[i] = av*v + bv
			}
		}
	})
	outs := []*graph.Tensor{out}
	if !k.training {
		return outs, nil
	}
	pshape := in[1].Shape
	runMean, runVar := graph.NewTensor(x.DType, pshape), graph.NewTensor(x.DType, pshape)
	rm, rv := nnFloatData[T](runMean), nnFloatData[T](runVar)
	mom := k.momentum
	for p := 0; p < plen; p++ {
		rm[p] = T(float64(params[2][p])*mom + float64(mean[p])*(1-mom))
		rv[p] = T(float64(params[3][p])*mom + float64(variance[p])*(1-mom))
	}
	outs = append(outs, runMean, runVar)
	// Opsets before 14 also return the batch statistics themselves.
	outs = append(outs, &graph.Tensor{DType: x.DType, Shape: pshape, Data: mean},
		&graph.Tensor{DType: x.DType, Shape: pshape, Data: variance})
	return outs, nil
}

// ---- InstanceNormalization ----

type instanceNormKernel struct{ eps float64 }

func (k instanceNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input has shape %v, expected [N, C, D1, ...]", x.Shape)
	}
	c := x.Shape[1]
	if in[1].Len() != c || in[2].Len() != c {
		return nil, fmt.Errorf("scale %v and B %v must have %d values (channels)", in[1].Shape, in[2].Shape, c)
	}
	switch x.DType {
	case graph.Float32:
		if in[1].DType == graph.Float32 && in[2].DType == graph.Float32 {
			// The vector row statistics and scale-shift (fuse_groupnorm.go).
			y := ctx.AllocF32(x.Len())
			inf := float32(math.Inf(1))
			groupNormF32(ctx.Threads, x, y, &groupNormKernel{c: c, groups: c, eps: float32(k.eps), s: in[1].F32(), t: in[2].F32(), lo: -inf, hi: inf})
			return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
		}
		return instanceNorm[float32](ctx, k.eps, in)
	case graph.Float64:
		return instanceNorm[float64](ctx, k.eps, in)
	}
	return nil, fmt.Errorf("unsupported input type %s", x.DType)
}

func instanceNorm[T floating](ctx *ExecContext, eps float64, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x := in[0]
	scale, err := nnAsType[T](in[1])
	if err != nil {
		return nil, err
	}
	bias, err := nnAsType[T](in[2])
	if err != nil {
		return nil, err
	}
	c := x.Shape[1]
	size := graph.NumElements(x.Shape[2:])
	out := graph.NewTensor(x.DType, x.Shape)
	xd, yd := nnFloatData[T](x), nnFloatData[T](out)
	th := ctx.Threads
	if len(xd) < parallelMinWork {
		th = 1
	}
	nnParallel(th, x.Shape[0]*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src, dst := xd[r*size:(r+1)*size], yd[r*size:(r+1)*size]
			mu, v := nnMeanVar(src)
			inv := float64(scale[r%c]) / math.Sqrt(v+eps)
			b := float64(bias[r%c])
			for i, e := range src {
				dst[i] = T((float64(e)-mu)*inv + b)
			}
		}
	})
	return []*graph.Tensor{out}, nil
}

// nnMeanVar returns the mean and the population variance of v.
func nnMeanVar[T floating](v []T) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, e := range v {
		s += float64(e)
	}
	mu := s / float64(len(v))
	var sq float64
	for _, e := range v {
		d := float64(e) - mu
		sq += d * d
	}
	return mu, sq / float64(len(v))
}

// ---- LayerNormalization ----

type layerNormKernel struct {
	axis int64
	eps  float64
	// stats: the node's Mean or InvStdDev output is read, so the generic
	// path (which computes them) runs.
	stats bool
}

func (k layerNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	axis, err := graph.NormalizeAxis(k.axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	norm := x.Shape[axis:]
	scale, err := broadcastParam(in[1], norm, "Scale")
	if err != nil {
		return nil, err
	}
	var bias *graph.Tensor
	if b := optInput(in, 2); b != nil {
		if bias, err = broadcastParam(b, norm, "B"); err != nil {
			return nil, err
		}
	}
	if x.DType == graph.Float32 && !k.stats {
		return []*graph.Tensor{layerNormRowsF32(ctx, x, scale, bias, axis, float32(k.eps))}, nil
	}
	switch x.DType {
	case graph.Float32:
		return layerNorm[float32](ctx, x, scale, bias, axis, k.eps)
	case graph.Float64:
		return layerNorm[float64](ctx, x, scale, bias, axis, k.eps)
	}
	return nil, fmt.Errorf("unsupported input type %s", x.DType)
}

// layerNormRowsF32 is the float32 LayerNormalization operator (opset 17, as
// torch.onnx writes nn.LayerNorm there) on the row kernel of the fused
// written-out layer norm (kernels.LayerNormRowF32: vector float32 sums):
// the generic path's float64 per element took 0.08 of 0.23 ms of --unseen6's
// acts_op17 (twelfth session). Rows are the normalized trailing axes.
func layerNormRowsF32(ctx *ExecContext, x, scale, bias *graph.Tensor, axis int, eps float32) *graph.Tensor {
	n := graph.NumElements(x.Shape[axis:])
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	sd := scale.F32()
	var bd []float32
	if bias != nil {
		bd = bias.F32()
	}
	rows := 0
	if n > 0 {
		rows = len(xd) / n
	}
	th := min(ctx.Threads, max(1, len(xd)/parallelMinWork))
	nnParallel(th, rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.LayerNormRowF32(y[r*n:(r+1)*n], xd[r*n:(r+1)*n], sd, bd, eps)
		}
	})
	return &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}
}

// broadcastParam materializes a Scale/B input broadcast to the normalized shape.
func broadcastParam(t *graph.Tensor, norm []int, what string) (*graph.Tensor, error) {
	if len(t.Shape) > len(norm) {
		return nil, fmt.Errorf("input %s of shape %v does not broadcast to the normalized shape %v", what, t.Shape, norm)
	}
	if _, err := nnBroadcastStrides(t.Shape, norm); err != nil {
		return nil, fmt.Errorf("input %s: %v", what, err)
	}
	return broadcastTo(t, norm)
}

func layerNorm[T floating](ctx *ExecContext, x, scale, bias *graph.Tensor, axis int, eps float64) ([]*graph.Tensor, error) {
	sd, err := nnAsType[T](scale)
	if err != nil {
		return nil, err
	}
	var bd []T
	if bias != nil {
		if bd, err = nnAsType[T](bias); err != nil {
			return nil, err
		}
	}
	outer := graph.NumElements(x.Shape[:axis])
	inner := graph.NumElements(x.Shape[axis:])
	statShape := append([]int(nil), x.Shape[:axis]...)
	for range x.Shape[axis:] {
		statShape = append(statShape, 1)
	}
	out := graph.NewTensor(x.DType, x.Shape)
	meanT, invT := graph.NewTensor(graph.Float32, statShape), graph.NewTensor(graph.Float32, statShape)
	xd, yd := nnFloatData[T](x), nnFloatData[T](out)
	md, id := meanT.F32(), invT.F32()
	th := ctx.Threads
	if len(xd) < parallelMinWork {
		th = 1
	}
	nnParallel(th, outer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src, dst := xd[r*inner:(r+1)*inner], yd[r*inner:(r+1)*inner]
			mu, v := nnMeanVar(src)
			inv := 1 / math.Sqrt(v+eps)
			md[r], id[r] = float32(mu), float32(inv)
			for i, e := range src {
				y := (float64(e) - mu) * inv * float64(sd[i])
				if bd != nil {
					y += float64(bd[i])
				}
				dst[i] = T(y)
			}
		}
	})
	return []*graph.Tensor{out, meanT, invT}, nil
}

// ---- LRN ----

type lrnKernel struct {
	alpha, beta, bias float64
	size              int
}

func (k lrnKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input X has shape %v, expected [N, C, ...]", x.Shape)
	}
	switch x.DType {
	case graph.Float32:
		return []*graph.Tensor{lrnF32(ctx.Threads, k, x)}, nil
	case graph.Float64:
		return lrn[float64](k, x)
	}
	return nil, fmt.Errorf("unsupported input type %s", x.DType)
}

// lrnF32 is LRN on float32 (twelfth session; torch's LocalResponseNorm comes
// here through graph/optimize/lrn_fold.go): per channel plane, the window's
// squares summed a plane at a time in float32, then x·(bias + α/size·sum)^−β
// in float64 with β = 0.75, 0.5 and 1 as square roots and a division instead
// of math.Pow; planes split over the threads. lrn below (float64 sums,
// math.Pow) is its reference.
func lrnF32(threads int, k lrnKernel, x *graph.Tensor) *graph.Tensor {
	n, c := x.Shape[0], x.Shape[1]
	plane := graph.NumElements(x.Shape[2:])
	out := graph.NewTensor(graph.Float32, x.Shape)
	xd, yd := x.F32(), out.F32()
	before, after := (k.size-1)/2, k.size/2 // floor and ceil of (size-1)/2
	scale := k.alpha / float64(k.size)
	invPow := func(d float64) float64 { return math.Pow(d, -k.beta) }
	switch k.beta {
	case 0.75:
		invPow = func(d float64) float64 { return 1 / math.Sqrt(d*math.Sqrt(d)) }
	case 0.5:
		invPow = func(d float64) float64 { return 1 / math.Sqrt(d) }
	case 1:
		invPow = func(d float64) float64 { return 1 / d }
	}
	grain := max(1, parallelMinWork/max(1, plane*min(k.size, c)))
	parallelForGrain(threads, n*c, grain, func(lo, hi int) {
		sum := make([]float32, plane)
		for pc := lo; pc < hi; pc++ {
			base, ch := pc/c*c*plane, pc%c
			clear(sum)
			for j := max(0, ch-before); j <= min(c-1, ch+after); j++ {
				for p, v := range xd[base+j*plane : base+(j+1)*plane] {
					sum[p] += v * v
				}
			}
			ys := yd[base+ch*plane : base+(ch+1)*plane]
			for p, v := range xd[base+ch*plane : base+(ch+1)*plane] {
				ys[p] = float32(float64(v) * invPow(k.bias+scale*float64(sum[p])))
			}
		}
	})
	return out
}

func lrn[T floating](k lrnKernel, x *graph.Tensor) ([]*graph.Tensor, error) {
	n, c := x.Shape[0], x.Shape[1]
	size := graph.NumElements(x.Shape[2:])
	out := graph.NewTensor(x.DType, x.Shape)
	xd, yd := nnFloatData[T](x), nnFloatData[T](out)
	before, after := (k.size-1)/2, k.size/2 // floor and ceil of (size-1)/2
	scale := k.alpha / float64(k.size)
	for img := 0; img < n; img++ {
		base := img * c * size
		for ch := 0; ch < c; ch++ {
			lo, hi := max(0, ch-before), min(c-1, ch+after)
			for p := 0; p < size; p++ {
				var sq float64
				for j := lo; j <= hi; j++ {
					v := float64(xd[base+j*size+p])
					sq += v * v
				}
				i := base + ch*size + p
				yd[i] = T(float64(xd[i]) / math.Pow(k.bias+scale*sq, k.beta))
			}
		}
	}
	return []*graph.Tensor{out}, nil
}

// ---- Softmax / LogSoftmax ----

type softmaxKernel struct {
	axis   int64
	legacy bool // opset < 13: flatten to 2-D at axis
	log    bool
}

func (k softmaxKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("input is a scalar, expected at least rank 1")
	}
	axis, err := graph.NormalizeAxis(k.axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer := graph.NumElements(x.Shape[:axis])
	n, inner := x.Shape[axis], graph.NumElements(x.Shape[axis+1:])
	if k.legacy {
		n, inner = graph.NumElements(x.Shape[axis:]), 1
	}
	var out *graph.Tensor
	if x.DType == graph.Float32 {
		out = &graph.Tensor{DType: graph.Float32, Shape: slices.Clone(x.Shape), Data: ctx.AllocF32(x.Len())}
	} else {
		out = graph.NewTensor(x.DType, x.Shape)
	}
	th := ctx.Threads
	if x.Len() < parallelMinWork {
		th = 1
	}
	switch {
	case x.DType == graph.Float32 && inner == 1 && !k.log:
		// The last axis (attention scores): one vector pass per row.
		xd, yd := x.F32(), out.F32()
		nnParallel(th, outer, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				kernels.SoftmaxRowF32(yd[r*n:(r+1)*n], xd[r*n:(r+1)*n])
			}
		})
	case x.DType == graph.Float32:
		softmaxRows(th, x.F32(), out.F32(), outer, n, inner, k.log)
	case x.DType == graph.Float64:
		softmaxRows(th, x.Data.([]float64), out.Data.([]float64), outer, n, inner, k.log)
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	return []*graph.Tensor{out}, nil
}

// softmaxRows normalizes x viewed as [outer, n, inner] along the middle axis.
func softmaxRows[T floating](th int, x, y []T, outer, n, inner int, log bool) {
	if n == 0 {
		return
	}
	nnParallel(th, outer*inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, i := r/inner, r%inner
			base := o*n*inner + i
			mx := x[base]
			for j := 1; j < n; j++ {
				if v := x[base+j*inner]; v > mx {
					mx = v
				}
			}
			var s float64
			for j := 0; j < n; j++ {
				e := math.Exp(float64(x[base+j*inner] - mx))
				if !log {
					y[base+j*inner] = T(e)
				}
				s += e
			}
			if log {
				ls := math.Log(s)
				for j := 0; j < n; j++ {
					y[base+j*inner] = T(float64(x[base+j*inner]-mx) - ls)
				}
				continue
			}
			inv := 1 / s
			for j := 0; j < n; j++ {
				y[base+j*inner] = T(float64(y[base+j*inner]) * inv)
			}
		}
	})
}

// ---- Erf ----

func runErf(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, KernelFunc(runErf), in)
	}
	out := graph.NewTensor(x.DType, x.Shape)
	switch xd := x.Data.(type) {
	case []float32:
		// The vector erf (kernels/trig.go; eighteenth session): math.Erf
		// took 21 ns an element. Any cut gives the same bits.
		yd := out.F32()
		parallelFor(ctx.Threads, len(xd), func(lo, hi int) { kernels.ErfF32(yd[lo:hi], xd[lo:hi]) })
	case []float64:
		yd := out.Data.([]float64)
		parallelFor(ctx.Threads, len(xd), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				yd[i] = math.Erf(xd[i])
			}
		})
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	return []*graph.Tensor{out}, nil
}

func init() {
	Register(OpInfo{OpType: "BatchNormalization", Build: buildBatchNorm})
	Register(OpInfo{OpType: "InstanceNormalization", Build: func(b *BuildContext) (Kernel, error) {
		return instanceNormKernel{eps: float64(b.Node.AttrFloat("epsilon", 1e-5))}, nil
	}})
	Register(OpInfo{OpType: "LayerNormalization", Build: func(b *BuildContext) (Kernel, error) {
		if st := b.Node.AttrInt("stash_type", 1); st != 1 {
			return nil, fmt.Errorf("%s: %w stash_type %d", b.Node.Label(), graph.ErrUnsupported, st)
		}
		outs := b.Node.Outputs
		stats := len(outs) > 1 && outs[1] != "" || len(outs) > 2 && outs[2] != ""
		return layerNormKernel{axis: b.Node.AttrInt("axis", -1), eps: float64(b.Node.AttrFloat("epsilon", 1e-5)), stats: stats}, nil
	}})
	Register(OpInfo{OpType: "LRN", Build: func(b *BuildContext) (Kernel, error) {
		size := b.Node.AttrInt("size", 0)
		if size < 1 || size > math.MaxInt32 {
			return nil, b.Errorf("size %d must be positive", size)
		}
		return lrnKernel{
			alpha: float64(b.Node.AttrFloat("alpha", 1e-4)), beta: float64(b.Node.AttrFloat("beta", 0.75)),
			bias: float64(b.Node.AttrFloat("bias", 1)), size: int(size),
		}, nil
	}})
	softmaxBuilder := func(log bool) Builder {
		return func(b *BuildContext) (Kernel, error) {
			def := int64(-1)
			if b.Opset < 13 {
				def = 1
			}
			return softmaxKernel{axis: b.Node.AttrInt("axis", def), legacy: b.Opset < 13, log: log}, nil
		}
	}
	Register(OpInfo{OpType: "Softmax", Build: softmaxBuilder(false)})
	Register(OpInfo{OpType: "LogSoftmax", Build: softmaxBuilder(true)})
	Register(OpInfo{OpType: "Erf", Build: func(*BuildContext) (Kernel, error) { return KernelFunc(runErf), nil }})
}

package runtime

// Distance reductions (twenty-first session): ReduceSumSquare or ReduceL2
// over the last axis of a broadcasting Sub, the form graph/optimize gives
// torch.cdist's Sub → Pow 2 → ReduceSum (graph/optimize/sum_squares.go), run
// as one step: each output is the float64 sum of the squared float32
// differences of one row of each operand (kernels.SqDistF32), so the
// difference tensor ([256,200,56] in PatchCore: 11.5 MB) is never written.
// The differences are rounded to float32 as the Sub rounded them, squared
// exactly in float64 and summed in float64, as the unfused ReduceSumSquare
// does (in another order: the float32 results agree but within ~1e-16 of a
// rounding boundary). Other shapes (a reduction over another axis, an
// operand broadcast along the reduced one) and other types run the two
// steps as before.

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// distanceKernel is reduce(sub(a, b)); its inputs are a, b and the
// reduction's other inputs (its axes).
type distanceKernel struct {
	sub    Kernel
	reduce *reduceKernel
}

// fuseDistances merges each Sub read only by a ReduceSumSquare or ReduceL2
// into it.
func (s *Session) fuseDistances() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		rk, ok := st.kernel.(*reduceKernel)
		if !ok || rk.op != redSumSquare && rk.op != redL2 || len(st.in) == 0 || st.in[0] < 0 || len(st.out) != 1 {
			continue
		}
		d := st.in[0]
		p, ok := producer[d]
		if !ok || removed[p] || s.keep[d] || len(readers[d]) != 1 {
			continue
		}
		sub := s.steps[p]
		if !isOp(sub.node, "Sub") || len(sub.in) != 2 || len(sub.out) != 1 || sub.in[0] < 0 || sub.in[1] < 0 {
			continue
		}
		if v := s.model.Graph.Values[s.nameOf(d)]; v == nil || v.DType != graph.Float32 && v.DType != graph.Float64 {
			continue
		}
		removed[p] = true
		in := append([]int{sub.in[0], sub.in[1]}, st.in[1:]...)
		s.steps[i] = step{node: st.node, kernel: &distanceKernel{sub: sub.kernel, reduce: rk}, in: in, out: st.out}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

func (k *distanceKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	if out, ok, err := k.fused(ctx, in[0], in[1], in[2:]); ok || err != nil {
		return out, err
	}
	d, err := k.sub.Run(ctx, in[:2])
	if err != nil {
		return nil, err
	}
	return k.reduce.Run(ctx, append([]*graph.Tensor{d[0]}, in[2:]...))
}

// fused computes the reduction directly when it is over the last axis only
// and both operands hold that axis in full; ok is false otherwise.
func (k *distanceKernel) fused(ctx *ExecContext, a, b *graph.Tensor, rest []*graph.Tensor) ([]*graph.Tensor, bool, error) {
	if a == nil || b == nil || a.DType != b.DType || a.DType != graph.Float32 && a.DType != graph.Float64 ||
		len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, false, nil
	}
	os, err := graph.BroadcastInts(a.Shape, b.Shape)
	if err != nil {
		return nil, false, err
	}
	r := len(os)
	red, noop, err := k.reduce.reducedAxes(r, append([]*graph.Tensor{nil}, rest...))
	if err != nil || noop {
		return nil, false, err
	}
	for i, v := range red {
		if v != (i == r-1) {
			return nil, false, nil
		}
	}
	kd := os[r-1]
	if kd == 0 || a.Shape[len(a.Shape)-1] != kd || b.Shape[len(b.Shape)-1] != kd {
		return nil, false, nil
	}
	// Row strides of each operand over the kept axes (0 where broadcast).
	pre := os[:r-1]
	as, bs := rowStrides(a.Shape, pre), rowStrides(b.Shape, pre)
	n, ia, ib := 1, 0, 0
	if len(pre) > 0 {
		n, ia, ib = pre[len(pre)-1], as[len(pre)-1]*kd, bs[len(pre)-1]*kd
	}
	outer := graph.NumElements(pre) / max(n, 1)
	offsets := func(o int) (int, int) {
		ao, bo := 0, 0
		for ax := len(pre) - 2; ax >= 0; ax-- {
			i := o % pre[ax]
			o /= pre[ax]
			ao += i * as[ax]
			bo += i * bs[ax]
		}
		return ao * kd, bo * kd
	}
	l2 := k.reduce.op == redL2
	total := outer * n
	out := &graph.Tensor{DType: a.DType, Shape: k.reduce.outShape(os, red)}
	threads := min(ctx.Threads, max(1, total*kd/parallelMinWork))
	if a.DType == graph.Float32 {
		ad, bd := a.F32(), b.F32()
		y := ctx.AllocF32(total)
		run := func(o, lo, hi int) {
			ao, bo := offsets(o)
			kernels.SqDistF32(y[o*n+lo:o*n+hi], ad[ao+lo*ia:], ia, bd[bo+lo*ib:], ib, kd, l2)
		}
		distanceParallel(threads, outer, n, run)
		out.Data = y
		return []*graph.Tensor{out}, true, nil
	}
	ad, bd := a.Data.([]float64), b.Data.([]float64)
	y := make([]float64, total)
	distanceParallel(threads, outer, n, func(o, lo, hi int) {
		ao, bo := offsets(o)
		for j := lo; j < hi; j++ {
			ar, br := ad[ao+j*ia:][:kd], bd[bo+j*ib:][:kd]
			var s float64
			for i, v := range ar {
				d := v - br[i]
				s += d * d
			}
			if l2 {
				s = math.Sqrt(s)
			}
			y[o*n+j] = s
		}
	})
	out.Data = y
	return []*graph.Tensor{out}, true, nil
}

// distanceParallel runs f(o, lo, hi) over outer blocks of n rows, split
// over the outer blocks when there are enough of them, else over the rows.
func distanceParallel(threads, outer, n int, f func(o, lo, hi int)) {
	if threads <= 1 {
		for o := range outer {
			f(o, 0, n)
		}
		return
	}
	if outer >= threads {
		nnParallel(threads, outer, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				f(o, 0, n)
			}
		})
		return
	}
	for o := range outer {
		nnParallel(threads, n, func(lo, hi int) { f(o, lo, hi) })
	}
}

// rowStrides are the strides, in rows of the last axis, of a tensor of shape
// shape broadcast to the kept axes pre (right-aligned; 0 where shape has 1
// or lacks the axis).
func rowStrides(shape, pre []int) []int {
	st := make([]int, len(pre))
	lead := shape[:len(shape)-1]
	stride := 1
	for i := len(pre) - 1; i >= 0; i-- {
		j := i - (len(pre) - len(lead))
		if j < 0 {
			break
		}
		if lead[j] != 1 {
			st[i] = stride
		}
		stride *= lead[j]
	}
	return st
}

package runtime

// ONNX Runtime's dynamic-int8 Linear as one step (twenty-third session).
// quantize_dynamic writes each MatMul as DynamicQuantizeLinear →
// MatMulInteger → Cast → Mul by a_scale·b_scale → Add bias (the expansion of
// DynamicQuantizeMatMul / MatMulIntegerToFloat in graph/expand_ort_transformers.go
// is the same chain), often with a Relu after it. Run as written, the chain is
// a scalar min/max and two byte passes for the quantization, an int32 buffer
// allocated per product with the weights' zero-point terms in scalar Go loops,
// then three float passes: at 1024 tokens (ort_dynq_fused_op13, [8,128,32])
// our file took 1.65x ONNX Runtime's CPU time.
//
// The fused step quantizes the input as DynamicQuantizeLinear does (the vector
// min/max, kernels.QuantizeF32, into the arena), runs the packed int8 GEMM
// with one extra column of ones (its accumulator is the row's Σ a, which the
// zero-point terms need), and writes the float result in one pass
// (kernels.DynqRowsF32: the zero-point terms, the conversion, the scale, the
// bias, the Relu). The integers are the chain's exactly and each float
// operation is the chain's, so the outputs are the unfused steps' bit for
// bit (NaN inputs aside: the vector min/max propagates a NaN into the scale,
// where the scalar scan skipped it).

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

type dynqMatMulKernel struct {
	k, n   int
	packed *kernels.QGemmWeights // B as n+1 output columns (the last all ones), zero point 0
	colSum []int32               // Σ_k w_ck, int8 domain
	z      []int32               // the weights' zero points per column, int8 domain
	bScale []float32             // b_scale per column
	bias   []float32             // nil for none
	relu   bool
	name   string
}

// fuseDynqMatMuls replaces each dynamic-int8 chain of the session by a
// dynqMatMulKernel step; steps it does not recognise stay as they are.
func (s *Session) fuseDynqMatMuls() {
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	// only returns the one step reading slot id, when nothing else (a graph
	// output, a tap) needs it.
	only := func(id int) (int, bool) {
		if id < 0 || s.keep[id] || len(readers[id]) != 1 || removed[readers[id][0]] {
			return 0, false
		}
		return readers[id][0], true
	}
	constF32 := func(id int) *graph.Tensor {
		if id < 0 {
			return nil
		}
		if c := s.consts[id]; c != nil && c.DType == graph.Float32 {
			return c
		}
		return nil
	}
	for d, sd := range s.steps {
		if removed[d] || sd.node.OpType != "DynamicQuantizeLinear" && sd.node.OpType != "DynamicQuantize" ||
			len(sd.in) != 1 || len(sd.out) != 3 || sd.in[0] < 0 {
			continue
		}
		mi, ok := only(sd.out[0])
		if !ok {
			continue
		}
		sm := s.steps[mi]
		mk, ok := sm.kernel.(*qopMatMulKernel)
		if !ok || !mk.integer || !isOp(sm.node, "MatMulInteger") || len(sm.in) < 3 || len(sm.out) != 1 ||
			sm.in[0] != sd.out[0] || sm.in[2] != sd.out[2] || sm.in[1] < 0 || s.consts[sm.in[1]] == nil {
			continue
		}
		if r := readers[sd.out[2]]; s.keep[sd.out[2]] || len(r) != 1 || r[0] != mi {
			continue
		}
		var bzpT *graph.Tensor
		if len(sm.in) > 3 && sm.in[3] >= 0 {
			if bzpT = s.consts[sm.in[3]]; bzpT == nil {
				continue
			}
		}
		ci, ok := only(sm.out[0])
		if !ok || !isOp(s.steps[ci].node, "Cast") || s.steps[ci].node.AttrInt("to", 0) != int64(graph.Float32) {
			continue
		}
		// a_scale · b_scale, then the product by it
		si, ok := only(sd.out[1])
		if !ok || !isOp(s.steps[si].node, "Mul") || len(s.steps[si].in) != 2 {
			continue
		}
		ss := s.steps[si]
		bsT := constF32(ss.in[1])
		if ss.in[0] != sd.out[1] {
			bsT = constF32(ss.in[0])
			if ss.in[1] != sd.out[1] {
				bsT = nil
			}
		}
		yi, ok := only(s.steps[ci].out[0])
		yi2, ok2 := only(ss.out[0])
		if bsT == nil || !ok || !ok2 || yi != yi2 || !isOp(s.steps[yi].node, "Mul") {
			continue
		}
		k, err := newDynqMatMul(s.consts[sm.in[1]], bzpT, bsT)
		if err != nil {
			continue
		}
		k.name = sm.node.Label()
		last := yi
		out := s.steps[yi].out
		chain := []int{d, mi, ci, si, yi}
		if ai, ok := only(out[0]); ok && isOp(s.steps[ai].node, "Add") && len(s.steps[ai].in) == 2 {
			sa := s.steps[ai]
			b := constF32(sa.in[1-slices.Index(sa.in, out[0])])
			if slices.Index(sa.in, out[0]) >= 0 && b != nil && b.Len() == k.n && (len(b.Shape) == 1 || len(b.Shape) == 2 && b.Shape[0] == 1) {
				if os := s.staticDims(sa.node.Outputs[0]); os == nil || os[len(os)-1] == k.n {
					k.bias = b.F32()
					last, out = ai, sa.out
					chain = append(chain, ai)
				}
			}
		}
		if ri, ok := only(out[0]); ok && isOp(s.steps[ri].node, "Relu") && len(s.steps[ri].in) == 1 {
			k.relu = true
			last, out = ri, s.steps[ri].out
			chain = append(chain, ri)
		}
		for _, c := range chain {
			removed[c] = true
		}
		removed[last] = false
		s.steps[last] = step{node: sm.node, kernel: k, in: []int{sd.in[0]}, out: out}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// newDynqMatMul prepares the constant B (k×n, int8 or uint8) with its zero
// points (nil, one, or n) and b_scale (one or n).
func newDynqMatMul(bt, bzpT, bsT *graph.Tensor) (*dynqMatMulKernel, error) {
	if len(bt.Shape) != 2 {
		return nil, fmt.Errorf("B of rank %d", len(bt.Shape))
	}
	bd, shift, err := toS8(bt, "B")
	if err != nil {
		return nil, err
	}
	bzp, err := zeroPoints(bzpT, shift, "b_zero_point")
	if err != nil {
		return nil, err
	}
	kk, n := bt.Shape[0], bt.Shape[1]
	if kk == 0 || n == 0 || len(bzp) != 1 && len(bzp) != n {
		return nil, fmt.Errorf("B %v with %d zero points", bt.Shape, len(bzp))
	}
	bs := bsT.F32()
	if len(bs) != 1 && len(bs) != n {
		return nil, fmt.Errorf("b_scale of %d values for %d columns", len(bs), n)
	}
	k := &dynqMatMulKernel{k: kk, n: n, colSum: make([]int32, n), z: make([]int32, n), bScale: make([]float32, n)}
	w := make([]int8, (n+1)*kk)
	for c := 0; c < n; c++ {
		for i := 0; i < kk; i++ {
			v := bd[i*n+c]
			w[c*kk+i] = v
			k.colSum[c] += int32(v)
		}
		k.z[c] = bzp[min(c, len(bzp)-1)]
		k.bScale[c] = bs[min(c, len(bs)-1)]
	}
	for i := 0; i < kk; i++ {
		w[n*kk+i] = 1
	}
	if k.packed, err = kernels.PackQGemm(n+1, kk, w, nil, 0); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *dynqMatMulKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	xf, ok := x.Data.([]float32)
	if !ok || len(x.Shape) < 1 || x.Shape[len(x.Shape)-1] != k.k {
		return nil, fmt.Errorf("%s: input %s %v does not match B's %d rows", k.name, x.DType, x.Shape, k.k)
	}
	m := len(xf) / k.k
	shape := append(slices.Clone(x.Shape[:len(x.Shape)-1]), k.n)
	y := ctx.AllocF32(m * k.n)
	if m == 0 {
		return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: y}}, nil
	}
	q := ctx.AllocI8(len(xf))
	scale, azp := dynamicParams(xf)
	if scale == 0 {
		for i := range q {
			q[i] = int8(azp)
		}
	} else {
		qtensor.ParallelChunks(len(xf), ctx.Threads, 1<<13, func(lo, hi int) {
			kernels.QuantizeF32(xf[lo:hi], scale, azp, q[lo:hi])
		})
	}
	lda := k.n + 1
	// the int32 accumulators in an arena buffer (given back after the step)
	accF := ctx.AllocF32(m * lda)
	acc := unsafe.Slice((*int32)(unsafe.Pointer(&accF[0])), len(accF))
	kernels.QGemmInt32(m, q, k.k, k.packed, acc, lda, ctx.Threads)
	colk := make([]int32, k.n)
	sc := make([]float32, k.n)
	for c := range colk {
		colk[c] = k.z[c]*int32(k.k)*azp - azp*k.colSum[c]
		sc[c] = scale * k.bScale[c]
	}
	th := min(ctx.Threads, max(1, m*k.n/(4*parallelMinWork)))
	nnParallel(th, m, func(lo, hi int) {
		kernels.DynqRowsF32(y[lo*k.n:], k.n, acc[lo*lda:], lda, colk, k.z, sc, k.bias, k.n, hi-lo, k.relu)
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: y}}, nil
}

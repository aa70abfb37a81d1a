package runtime

// Batched MatMuls of two computed tensors (attention's q·kᵀ and p·v) that read
// their operands through Transposes and write through one: exporters spell
// multi-head attention as Reshape → Transpose around each product (kᵀ by a
// Transpose of the last two axes; heads moved in front of the tokens and back).
// Each Transpose was a copy of the whole tensor. The GEMM reads and writes
// strided matrices anyway (row strides lda/ldb/ldc, transposed operands), so
// when a Transpose only moves the batch axes and keeps one of a matrix's
// two axes contiguous, the product reads the Transpose's input in place (and
// writes the Transpose's output in place). A Transpose that other steps read
// too still runs for them.
//
// A scalar Mul or Div by a constant on an operand or on the product (q / √d
// before q·kᵀ in torch's MultiheadAttention, scores / √d after it in BERT's
// exports) folds into the product as its alpha (thirteenth session): the
// GEMM scales the per-call packed B (kernels.SgemmScaled), so the pass over
// the tensor disappears, and the Transpose before it (ViT's q) is read in
// place like the others. x / c becomes x · (1/c): exact for a power of two
// (√64 = 8), within one rounding otherwise.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// stridedOperand is how one operand of the product is read: from a tensor of
// shape src, matrix i of the batch at off[i], with row stride ld (trans: the
// stored matrix is the transpose, read with the GEMM's trans flag).
type stridedOperand struct {
	src   []int
	off   []int
	ld    int
	trans bool
	perm  []int // the absorbed Transpose's permutation, nil for none
}

type stridedMatMulKernel struct {
	m, n, k  int
	a, b     stridedOperand
	cOff     []int
	ldc      int
	outShape []int // the written tensor (the absorbed output Transpose's, or the product's)
	outPerm  []int // the absorbed output Transpose's permutation, nil for none
	// alpha scales the product (folded scalar Mul/Div steps); scales are
	// those steps, run after the MatMul by runUnfused: inScale[p] on operand
	// p before it, outScale on the product.
	alpha    float32
	inScale  [2]*foldedScale
	outScale *foldedScale
	matmul   Kernel
}

// foldedScale is a scalar Mul/Div step folded into a product's alpha: its
// kernel, its constant and the index of its computed input.
type foldedScale struct {
	st step
	c  *graph.Tensor
	x  int
}

func (k *stridedMatMulKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.DType != graph.Float32 || b.DType != graph.Float32 || !slices.Equal(a.Shape, k.a.src) || !slices.Equal(b.Shape, k.b.src) {
		return k.runUnfused(ctx, in)
	}
	c := ctx.AllocF32(graph.NumElements(k.outShape))
	ad, bd := a.F32(), b.F32()
	small := !k.a.trans && k.b.trans && kernels.SmallGemmTFits(k.m, k.n, k.k)
	one := func(i, th int) {
		if small {
			// a few rows against B stored transposed (Informer's sampled
			// keys): dot products of contiguous rows, no per-call pack
			kernels.SmallGemmTF32(k.m, k.n, k.k, k.alpha, ad[k.a.off[i]:], k.a.ld, bd[k.b.off[i]:], k.b.ld, c[k.cOff[i]:], k.ldc)
			return
		}
		if !k.a.trans {
			kernels.SgemmScaled(k.b.trans, k.m, k.n, k.k, k.alpha, ad[k.a.off[i]:], k.a.ld, bd[k.b.off[i]:], k.b.ld, c[k.cOff[i]:], k.ldc, th)
			return
		}
		kernels.Sgemm(k.a.trans, k.b.trans, k.m, k.n, k.k, ad[k.a.off[i]:], k.a.ld, bd[k.b.off[i]:], k.b.ld, c[k.cOff[i]:], k.ldc, false, th)
		if k.alpha != 1 {
			for r := 0; r < k.m; r++ {
				row := c[k.cOff[i]+r*k.ldc : k.cOff[i]+r*k.ldc+k.n]
				for j := range row {
					row[j] *= k.alpha
				}
			}
		}
	}
	batch := len(k.cOff)
	th := min(ctx.Threads, max(1, batch*k.m*k.n*k.k/(4*parallelMinWork)))
	if batch >= th {
		nnParallel(th, batch, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				one(i, 1)
			}
		})
	} else {
		for i := 0; i < batch; i++ {
			one(i, th)
		}
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(k.outShape), Data: c}}, nil
}

// runUnfused runs the absorbed Transposes, scalings and the MatMul one by one.
func (k *stridedMatMulKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	args := slices.Clone(in[:2])
	for i, perm := range [][]int{k.a.perm, k.b.perm} {
		if perm != nil {
			t, err := transposeArena(ctx, args[i], perm)
			if err != nil {
				return nil, err
			}
			args[i] = t
		}
		if sc := k.inScale[i]; sc != nil {
			t, err := runScale(ctx, sc, args[i])
			if err != nil {
				return nil, err
			}
			args[i] = t
		}
	}
	out, err := k.matmul.Run(ctx, args)
	if err == nil && k.outScale != nil {
		var t *graph.Tensor
		if t, err = runScale(ctx, k.outScale, out[0]); err == nil {
			out = []*graph.Tensor{t}
		}
	}
	if err != nil || k.outPerm == nil {
		return out, err
	}
	t, err := transposeArena(ctx, out[0], k.outPerm)
	if err != nil {
		return nil, err
	}
	return []*graph.Tensor{t}, nil
}

// runScale runs a folded scalar Mul/Div step on x.
func runScale(ctx *ExecContext, sc *foldedScale, x *graph.Tensor) (*graph.Tensor, error) {
	ins := []*graph.Tensor{sc.c, sc.c}
	ins[sc.x] = x
	out, err := sc.st.kernel.Run(ctx, ins)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc.st.node.Label(), err)
	}
	return out[0], nil
}

// scalarScale reports whether st is a float32 Mul or Div of a computed
// tensor by a scalar constant, x·f, giving f and the index of x's input.
func (s *Session) scalarScale(st step) (float32, int, bool) {
	if (!isOp(st.node, "Mul") && !isOp(st.node, "Div")) || len(st.in) != 2 || len(st.out) != 1 || st.out[0] < 0 {
		return 0, 0, false
	}
	if _, plain := st.kernel.(KernelFunc); !plain {
		return 0, 0, false
	}
	for x := 0; x < 2; x++ {
		c := s.consts[st.in[1-x]]
		if st.in[x] < 0 || s.consts[st.in[x]] != nil || c == nil || c.DType != graph.Float32 || c.Len() != 1 || len(c.Shape) > 1 {
			continue
		}
		if xs, os := s.staticDims(st.node.Inputs[x]), s.staticDims(st.node.Outputs[0]); xs == nil || !slices.Equal(xs, os) {
			return 0, 0, false
		}
		f := c.F32()[0]
		if isOp(st.node, "Div") {
			if x != 0 || f == 0 || math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
				return 0, 0, false
			}
			f = 1 / f
		}
		if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
			return 0, 0, false
		}
		return f, x, true
	}
	return 0, 0, false
}

// fuseMatMulTransposes rewrites every float32 MatMul of two computed tensors
// of the same rank (≥ 3) and batch shape whose operands or result go through
// Transposes that the GEMM can absorb. It runs after packConstMatMuls.
func (s *Session) fuseMatMulTransposes() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		einsum := isOp(st.node, "Einsum")
		if !isOp(st.node, "MatMul") && !einsum || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 ||
			s.consts[st.in[0]] != nil || s.consts[st.in[1]] != nil {
			continue
		}
		if _, plain := st.kernel.(KernelFunc); !plain {
			continue
		}
		as, bs, cs := s.staticDims(st.node.Inputs[0]), s.staticDims(st.node.Inputs[1]), s.staticDims(st.node.Outputs[0])
		r := len(as)
		if r < 3 || len(bs) != r || len(cs) != r {
			continue
		}
		// bT: B is stored [.., n, k] (an Einsum "..ik,..jk->..ij").
		bT := false
		if einsum {
			var ok bool
			if bT, ok = einsumProduct(st.node.AttrString("equation", ""), r); !ok {
				continue
			}
		}
		bk, bn := bs[r-2], bs[r-1]
		if bT {
			bk, bn = bn, bk
		}
		if !slices.Equal(as[:r-2], bs[:r-2]) || as[r-1] != bk || as[r-1] == 0 {
			continue
		}
		k := &stridedMatMulKernel{m: as[r-2], k: as[r-1], n: bn, matmul: st.kernel, alpha: 1}
		batch := as[:r-2]
		ins := slices.Clone(st.in)
		var drop []int
		// A scalar Mul/Div read only by the product folds into alpha; the
		// operand is then its input.
		inID := [2]int{st.in[0], st.in[1]}
		for p := 0; p < 2; p++ {
			t, ok := producer[st.in[p]]
			if !ok || removed[t] || len(readers[st.in[p]]) != 1 || s.keep[st.in[p]] {
				continue
			}
			if f, x, ok := s.scalarScale(s.steps[t]); ok {
				k.alpha *= f
				k.inScale[p] = &foldedScale{st: s.steps[t], c: s.consts[s.steps[t].in[1-x]], x: x}
				inID[p] = s.steps[t].in[x]
				drop = append(drop, t)
			}
		}
		// operand returns how operand p is read, through its producing
		// Transpose when that keeps one matrix axis contiguous.
		operand := func(p int) (stridedOperand, int, bool) {
			id := inID[p]
			// strided reads the stored operand (axis strides view in src)
			// as the product's matrix: rows and columns swapped for an
			// Einsum's B stored [.., n, k].
			strided := func(src, view, perm []int) (stridedOperand, bool) {
				if p == 1 && bT {
					view[r-2], view[r-1] = view[r-1], view[r-2]
				}
				var o stridedOperand
				switch {
				case view[r-1] == 1:
					o = stridedOperand{src: src, ld: view[r-2], perm: perm}
				case view[r-2] == 1:
					o = stridedOperand{src: src, ld: view[r-1], trans: true, perm: perm}
				default:
					return o, false
				}
				o.off = batchOffsets(batch, view[:r-2])
				return o, true
			}
			shape := s.staticDims(st.node.Inputs[p]) // a folded scaling keeps the shape
			own, _ := strided(shape, graph.Strides(shape), nil)
			if t, ok := producer[id]; ok && !removed[t] {
				if perm := s.permOfStatic(s.steps[t]); perm != nil {
					src := s.staticDims(s.steps[t].node.Inputs[0])
					str := graph.Strides(src)
					view := make([]int, r) // the operand's axis strides in src
					for d := range view {
						view[d] = str[perm[d]]
					}
					if o, ok := strided(src, view, perm); ok {
						return o, s.steps[t].in[0], len(readers[id]) == 1 && !s.keep[id]
					}
				}
			}
			return own, id, false
		}
		var ok1, ok2 bool
		k.a, ins[0], ok1 = operand(0)
		k.b, ins[1], ok2 = operand(1)
		if ok1 {
			drop = append(drop, producer[inID[0]])
		}
		if ok2 {
			drop = append(drop, producer[inID[1]])
		}
		// A scalar Mul/Div that is the product's only reader folds too.
		prod := st.out[0]
		outScaleStep := -1
		if rd := readers[prod]; len(rd) == 1 && !s.keep[prod] && !removed[rd[0]] {
			if f, x, ok := s.scalarScale(s.steps[rd[0]]); ok && s.steps[rd[0]].in[x] == prod {
				k.alpha *= f
				sc := s.steps[rd[0]]
				k.outScale = &foldedScale{st: sc, c: s.consts[sc.in[1-x]], x: x}
				outScaleStep = rd[0]
				prod = sc.out[0]
			}
		}
		// The output: through its only reader when that is a Transpose that
		// keeps the rows contiguous.
		k.outShape, k.ldc = cs, k.n
		k.cOff = batchOffsets(batch, graph.Strides(cs)[:r-2])
		out := st.out
		last := j
		if outScaleStep >= 0 {
			out, last = s.steps[outScaleStep].out, outScaleStep
		}
		if rd := readers[prod]; len(rd) == 1 && !s.keep[prod] && !removed[rd[0]] {
			if perm := s.permOfStatic(s.steps[rd[0]]); perm != nil {
				ys := s.staticDims(s.steps[rd[0]].node.Outputs[0])
				ystr := graph.Strides(ys)
				cstr := make([]int, r) // the product's axis strides in the Transpose's output
				for e, d := range perm {
					cstr[d] = ystr[e]
				}
				if ys != nil && cstr[r-1] == 1 {
					k.outShape, k.ldc, k.outPerm = ys, cstr[r-2], perm
					k.cOff = batchOffsets(batch, cstr[:r-2])
					out, last = s.steps[rd[0]].out, rd[0]
				}
			}
		}
		if !einsum && k.a.perm == nil && k.b.perm == nil && k.outPerm == nil && k.alpha == 1 && k.inScale == [2]*foldedScale{} && k.outScale == nil {
			continue
		}
		// A Transpose with other readers stays for them; the product reads
		// its input anyway. The fused step takes the place of the last step
		// it absorbs (the output Transpose or scaling, else the MatMul).
		ns := step{node: st.node, kernel: k, in: ins, out: out}
		if last != j {
			removed[j] = true
			if outScaleStep >= 0 && last != outScaleStep {
				removed[outScaleStep] = true
			}
		}
		s.steps[last] = ns
		for _, d := range drop {
			if d != last {
				removed[d] = true
			}
		}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// einsumProduct reports whether an Einsum equation over two operands of
// rank r is a batched matrix product: the first r−2 labels the same in
// both operands and the output (in that order), A's last label contracted
// with B's second-to-last (bT false: "..ik,..kj->..ij") or last (bT true:
// "..ik,..jk->..ij", attention's q·kᵀ as torch.einsum writes it), the
// output's last two labels A's row and B's column. Repeated labels
// (diagonals) and summed ones are not products.
func einsumProduct(eq string, r int) (bT, ok bool) {
	spec, err := graph.ParseEinsum(eq, []int{r, r})
	if err != nil || len(spec.Output) != r || len(spec.Operands[0]) != r || len(spec.Operands[1]) != r {
		return false, false
	}
	a, b, o := spec.Operands[0], spec.Operands[1], spec.Output
	seen := map[int]bool{}
	for d := 0; d < r-2; d++ {
		if a[d] != b[d] || a[d] != o[d] || seen[a[d]] {
			return false, false
		}
		seen[a[d]] = true
	}
	i, k := a[r-2], a[r-1]
	var j int
	switch {
	case b[r-2] == k:
		j = b[r-1]
	case b[r-1] == k:
		j, bT = b[r-2], true
	default:
		return false, false
	}
	if seen[i] || seen[j] || seen[k] || i == j || i == k || j == k || o[r-2] != i || o[r-1] != j {
		return false, false
	}
	return bT, true
}

// permOfStatic returns a float32 Transpose step's permutation when its input
// shape is static, or nil.
func (s *Session) permOfStatic(st step) []int {
	if !isOp(st.node, "Transpose") || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 || st.out[0] < 0 {
		return nil
	}
	src := s.staticDims(st.node.Inputs[0])
	if src == nil {
		return nil
	}
	p, err := graph.TransposePerm(st.node, len(src))
	if err != nil {
		return nil
	}
	return p
}

// batchOffsets returns the offset of each matrix of a batch of shape batch
// whose axes have the given strides (row-major order of the batch).
func batchOffsets(batch, strides []int) []int {
	n := graph.NumElements(batch)
	out := make([]int, n)
	idx := make([]int, len(batch))
	for i := range out {
		o := 0
		for d, v := range idx {
			o += v * strides[d]
		}
		out[i] = o
		for d := len(batch) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

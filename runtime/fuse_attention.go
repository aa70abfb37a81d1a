package runtime

// Fused attention (fifteenth session): MatMul(q, kᵀ) [→ scalar Mul/Div]
// [→ Add bias or mask] → Softmax(last axis) → MatMul(·, v) becomes one step
// that computes each head block of query rows by block of query rows
// (kernels.Attention): the scores of a block go from the q·kᵀ tiles through
// the softmax row pass to the p·v tiles while they are in L1, instead of a
// score tensor written by one step, read and written again by the Softmax
// and read by the next product (ViT-B/16: 1.9 MB each way per layer; its
// Softmax step cost twice ONNX Runtime's, docs/runtime.md).
//
// The pattern is recognised on the session's steps after the rewrites that
// normalise the exporters' spellings: fuseSoftmaxAdd has folded a bias or
// mask Add into the Softmax (softmaxAddKernel), fuseMatMulTransposes has
// folded the Transposes around the products (torch.onnx's [T, heads, d] →
// [heads, T, d], kᵀ as a swap of the last two axes, BERT-style [B, T, H, d]
// → [B, H, T, d]) and the scalar scalings (q / √d before the product,
// scores / √d or · c after it, a scaling of p or of the output) into
// stridedMatMulKernel. So a product here is such a kernel, or a plain
// batched MatMul with nothing to absorb. The graph optimiser is not where
// this happens: the quantizer runs it too, and a fused node would hide the
// MatMuls from QDQ quantization.
//
// Refused (the steps stay as they are): a Softmax not over the last axis or
// a LogSoftmax, scores written through a Transpose, q read transposed, p
// read through a Transpose or by a product as its right operand, batch
// shapes that broadcast, symbolic shapes, a bias that broadcasts along the
// keys. When p has other readers (torch's MultiheadAttention with
// need_weights averages it over the heads) or is a graph output, the fused
// step writes it as a second output; it then takes the Softmax's place if
// one of those readers comes before the p·v product and v is ready by then,
// and is refused otherwise. At run time, inputs of other shapes or types run
// the absorbed steps one by one.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// attentionKernel's inputs are q, k, v (the sources its products read: the
// tensors before any absorbed Transpose) and, with a bias, the bias, then
// the first bias of two (Swin's position bias before its window mask);
// its outputs are the p·v product (through its absorbed output Transpose)
// and, when withP, the probabilities.
type attentionKernel struct {
	qk, pv  *stridedMatMulKernel
	softmax Kernel            // the Softmax step's kernel, for runUnfused
	add     *softmaxAddKernel // the folded bias Add, nil for none
	nodes   [3]*graph.Node    // the q·kᵀ, Softmax and p·v nodes (errors)
	withP   bool
	m, n    int
	scores  []int // the score tensor's shape
}

func (k *attentionKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	nt := 0
	if k.add != nil {
		nt = len(k.add.terms)
	}
	if err := checkInputs(in, 3+nt); err != nil {
		return nil, err
	}
	q, kt, v := in[0], in[1], in[2]
	var terms []kernels.ScoreTerm
	if k.add != nil {
		var ok bool
		if terms, ok = k.add.kernelTerms(in[3:]); !ok {
			return k.runUnfused(ctx, in)
		}
	}
	if q.DType != graph.Float32 || kt.DType != graph.Float32 || v.DType != graph.Float32 ||
		!slices.Equal(q.Shape, k.qk.a.src) || !slices.Equal(kt.Shape, k.qk.b.src) || !slices.Equal(v.Shape, k.pv.b.src) {
		return k.runUnfused(ctx, in)
	}
	m, n := k.m, k.n
	o := ctx.AllocF32(graph.NumElements(k.pv.outShape))
	var p []float32
	if k.withP {
		p = ctx.AllocF32(graph.NumElements(k.scores))
	}
	// Each head's terms: the rows of its queries.
	heads := make([]kernels.ScoreTerm, len(k.qk.cOff)*nt)
	for i := range k.qk.cOff {
		for t, st := range terms {
			st.Row = st.Row[i*m : (i+1)*m]
			heads[i*nt+t] = st
		}
	}
	qd, kd, vd := q.F32(), kt.F32(), v.F32()
	one := func(i, th int) {
		h := kernels.AttentionHead{M: m, N: n, D: k.qk.k, DV: k.pv.n, Alpha: k.qk.alpha, VAlpha: k.pv.alpha,
			Q: qd[k.qk.a.off[i]:], LdQ: k.qk.a.ld,
			K: kd[k.qk.b.off[i]:], LdK: k.qk.b.ld, KT: !k.qk.b.trans,
			V: vd[k.pv.b.off[i]:], LdV: k.pv.b.ld, VT: k.pv.b.trans,
			O: o[k.pv.cOff[i]:], LdO: k.pv.ldc, Terms: heads[i*nt : (i+1)*nt]}
		if p != nil {
			h.P, h.LdP = p[i*m*n:], n
		}
		kernels.Attention(&h, th)
	}
	batch := len(k.qk.cOff)
	th := min(ctx.Threads, max(1, batch*m*n*(k.qk.k+k.pv.n)/(4*parallelMinWork)))
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
	out := []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(k.pv.outShape), Data: o}}
	if k.withP {
		out = append(out, &graph.Tensor{DType: graph.Float32, Shape: slices.Clone(k.scores), Data: p})
	}
	return out, nil
}

// runUnfused runs the product, the Softmax (with its bias Add) and the
// second product one by one.
func (k *attentionKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	s, err := k.qk.Run(ctx, in[:2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.nodes[0].Label(), err)
	}
	args := append(s[:1:1], in[3:]...)
	p, err := k.softmax.Run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.nodes[1].Label(), err)
	}
	o, err := k.pv.Run(ctx, []*graph.Tensor{p[0], in[2]})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.nodes[2].Label(), err)
	}
	if k.withP {
		return []*graph.Tensor{o[0], p[0]}, nil
	}
	return o, nil
}

// attnProduct returns how a step computes a batched product of two float32
// tensors: its stridedMatMulKernel, or for a plain MatMul of static
// shapes with equal batch axes (rank ≥ 2, no broadcasting) the same kernel
// reading and writing in place. nil for anything else.
func (s *Session) attnProduct(st step) *stridedMatMulKernel {
	if k, ok := st.kernel.(*stridedMatMulKernel); ok {
		return k
	}
	// A constant operand is read like a computed one (DETR's first decoder
	// layer: the queries are learned, folded to a constant).
	if !isOp(st.node, "MatMul") || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 {
		return nil
	}
	if _, plain := st.kernel.(KernelFunc); !plain {
		return nil
	}
	as, bs, cs := s.staticDims(st.node.Inputs[0]), s.staticDims(st.node.Inputs[1]), s.staticDims(st.node.Outputs[0])
	r := len(as)
	if r < 2 || len(bs) != r || len(cs) != r || !slices.Equal(as[:r-2], bs[:r-2]) || as[r-1] != bs[r-2] {
		return nil
	}
	batch := as[:r-2]
	return &stridedMatMulKernel{m: as[r-2], k: as[r-1], n: bs[r-1], alpha: 1, matmul: st.kernel,
		a:        stridedOperand{src: as, ld: as[r-1], off: batchOffsets(batch, graph.Strides(as)[:r-2])},
		b:        stridedOperand{src: bs, ld: bs[r-1], off: batchOffsets(batch, graph.Strides(bs)[:r-2])},
		cOff:     batchOffsets(batch, graph.Strides(cs)[:r-2]),
		ldc:      bs[r-1],
		outShape: cs,
	}
}

// fuseAttention rewrites each product → Softmax → product chain described
// in the file comment into one attentionKernel step. It runs after
// packConstMatMuls (and so after fuseMatMulTransposes and fuseSoftmaxAdd).
func (s *Session) fuseAttention() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		if removed[j] || len(st.out) != 1 || st.out[0] < 0 {
			continue
		}
		var add *softmaxAddKernel
		var scoresID int
		switch sk := st.kernel.(type) {
		case softmaxKernel:
			if sk.log || len(st.in) != 1 || st.in[0] < 0 {
				continue
			}
			xs := s.staticDims(st.node.Inputs[0])
			if ax, err := graph.NormalizeAxis(sk.axis, len(xs)); len(xs) < 2 || err != nil || ax != len(xs)-1 {
				continue
			}
			scoresID = st.in[0]
		case *softmaxAddKernel:
			add = sk
			scoresID = st.in[0]
		default:
			continue
		}
		i, ok := producer[scoresID]
		if !ok || removed[i] || s.keep[scoresID] || len(readers[scoresID]) != 1 {
			continue
		}
		qk := s.attnProduct(s.steps[i])
		if qk == nil || qk.outPerm != nil || qk.a.trans {
			continue
		}
		scores := qk.outShape
		r := len(scores)
		m, n := qk.m, qk.n
		if m == 0 || n == 0 || qk.k == 0 || r < 2 || qk.ldc != n {
			continue
		}
		if add != nil && !slices.Equal(add.xShape, scores) {
			continue
		}
		if add == nil && !slices.Equal(s.staticDims(st.node.Inputs[0]), scores) {
			continue
		}
		// The p·v product: the one reader that takes p as its left operand.
		pid := st.out[0]
		l := -1
		for _, rd := range readers[pid] {
			if removed[rd] || len(s.steps[rd].in) != 2 || s.steps[rd].in[0] != pid || s.steps[rd].in[1] == pid || s.attnProduct(s.steps[rd]) == nil {
				continue
			}
			if l >= 0 {
				l = -2 // two products of p: leave them
				break
			}
			l = rd
		}
		if l < 0 {
			continue
		}
		pv := s.attnProduct(s.steps[l])
		if pv.a.perm != nil || pv.a.trans || pv.a.ld != n || pv.m != m || pv.k != n || pv.n == 0 ||
			len(pv.cOff) != len(qk.cOff) || !slices.Equal(pv.a.src, scores) {
			continue
		}
		withP := s.keep[pid] || len(readers[pid]) > 1
		pos := l
		if withP {
			early := false
			for _, rd := range readers[pid] {
				early = early || rd < l
			}
			if early {
				if t, ok := producer[s.steps[l].in[1]]; ok && t > j {
					continue // v is computed after one of p's other readers
				}
				pos = j
			}
		}
		k := &attentionKernel{qk: qk, pv: pv, softmax: st.kernel, add: add, withP: withP, m: m, n: n, scores: scores,
			nodes: [3]*graph.Node{s.steps[i].node, st.node, s.steps[l].node}}
		in := []int{s.steps[i].in[0], s.steps[i].in[1], s.steps[l].in[1]}
		in = append(in, st.in[1:]...)
		out := []int{s.steps[l].out[0]}
		if withP {
			out = append(out, pid)
		}
		s.steps[pos] = step{node: st.node, kernel: k, in: in, out: out}
		for _, d := range []int{i, j, l} {
			if d != pos {
				removed[d] = true
			}
		}
	}
	s.dropSteps(removed)
}

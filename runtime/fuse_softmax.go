package runtime

// Softmax over the last axis of x after elementwise steps that vary along
// that axis but not necessarily along the others: the attention scores plus
// a relative position bias, plus the shifted-window mask (Swin), plus a
// padding mask (BERT-style encoders), or masked by a Where (sixteenth
// session: torch's masked_fill, Where(cond, −inf, scores), GPT-2's and HF's
// torch.where(causal, scores, finfo.min), Llama's cache mask). Each step was a
// pass over the whole score tensor of its own, with its own buffer; fused,
// each row of x goes through the steps' rows in the Softmax's row pass
// (kernels.SoftmaxTermsRowF32), in graph order.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// maxScoreTerms bounds the steps folded into one Softmax (GPT-2 has two,
// Swin three with its Reshapes counted as one).
const maxScoreTerms = 4

// softmaxAddKernel's inputs are x, then the input of each term (an Add's
// bias, a Where's condition) in graph order.
type softmaxAddKernel struct {
	n       int   // the row length
	xShape  []int // x's static shape
	terms   []scoreTerm
	softmax Kernel // the Softmax, for inputs of other shapes
}

// scoreTerm is one Add or Where step folded into a softmaxAddKernel.
type scoreTerm struct {
	sel bool // a Where with a constant (else an Add of a bias)
	// keepIf: Where(cond, x, c) keeps x where cond is true; Where(cond, c,
	// x) where it is false. fill is c.
	keepIf bool
	fill   float32
	bLen   int     // the element count of the bias or the condition
	rows   []int32 // per row of x, the offset of that tensor's row
	xIdx   int     // x's input index in st
	st     step    // the Add or Where, for runUnfused
	fillT  *graph.Tensor
	// keep and vals are a constant condition's select rows, made once.
	keep []uint32
	vals []float32
	// view is set when the Add ran on a Reshape of x whose result was
	// reshaped back to x's shape (Swin's shifted-window mask: the scores
	// [B·nW, H, N, N] viewed as [B, nW, H, N, N] for a mask [nW, 1, N, N]).
	// A Reshape keeps the row-major order, so rows are the same.
	view *addView
}

// addView holds the two Reshape steps around a folded Add (runUnfused).
type addView struct {
	in, out         step
	inShp, outShape *graph.Tensor // their constant shape inputs
}

func (k *softmaxAddKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1+len(k.terms)); err != nil {
		return nil, err
	}
	x := in[0]
	terms, ok := k.kernelTerms(in[1:])
	if !ok || x.DType != graph.Float32 || !slices.Equal(x.Shape, k.xShape) {
		return k.runUnfused(ctx, in)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	th := ctx.Threads
	if len(xd) < parallelMinWork {
		th = 1
	}
	n := k.n
	nnParallel(th, len(xd)/n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.SoftmaxTermsRowF32(y[r*n:(r+1)*n], xd[r*n:(r+1)*n], terms, r)
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(x.Shape), Data: y}}, nil
}

// kernelTerms returns the terms for the kernels from their inputs (an Add's
// float32 bias, a Where's bool condition), false when one has another type
// or size.
func (k *softmaxAddKernel) kernelTerms(in []*graph.Tensor) ([]kernels.ScoreTerm, bool) {
	out := make([]kernels.ScoreTerm, len(k.terms))
	for i := range k.terms {
		t, b := &k.terms[i], in[i]
		if b.Len() != t.bLen {
			return nil, false
		}
		out[i].Row = t.rows
		switch {
		case !t.sel:
			if b.DType != graph.Float32 {
				return nil, false
			}
			out[i].Vals = b.F32()
		case t.keep != nil:
			out[i].Keep, out[i].Vals = t.keep, t.vals
		default:
			c, ok := b.Data.([]bool)
			if !ok {
				return nil, false
			}
			out[i].Keep, out[i].Vals = make([]uint32, len(c)), make([]float32, len(c))
			kernels.SelectTerm(c, t.keepIf, t.fill, out[i].Keep, out[i].Vals)
		}
	}
	return out, true
}

// runUnfused runs the folded steps one by one: each Add (between its
// Reshapes) or Where, then the Softmax.
func (k *softmaxAddKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	cur := in[0]
	for i := range k.terms {
		t := &k.terms[i]
		if v := t.view; v != nil {
			r, err := v.in.kernel.Run(ctx, []*graph.Tensor{cur, v.inShp})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.in.node.Label(), err)
			}
			cur = r[0]
		}
		args := []*graph.Tensor{in[1+i], in[1+i]}
		if t.sel {
			args = []*graph.Tensor{in[1+i], t.fillT, t.fillT}
		}
		args[t.xIdx] = cur
		r, err := t.st.kernel.Run(ctx, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.st.node.Label(), err)
		}
		cur = r[0]
		if v := t.view; v != nil {
			if r, err = v.out.kernel.Run(ctx, []*graph.Tensor{cur, v.outShape}); err != nil {
				return nil, fmt.Errorf("%s: %w", v.out.node.Label(), err)
			}
			cur = r[0]
		}
	}
	return k.softmax.Run(ctx, []*graph.Tensor{cur})
}

// constReshape reports whether step i is a Reshape by a constant shape whose
// output only one step reads (and is not kept), and returns that constant.
func (s *Session) constReshape(i int, readers map[int][]int) (*graph.Tensor, bool) {
	st := s.steps[i]
	if !isOp(st.node, "Reshape") || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 {
		return nil, false
	}
	c := s.consts[st.in[1]]
	return c, c != nil && len(readers[st.out[0]]) == 1 && !s.keep[st.out[0]]
}

// plainStep reports whether st runs an operator's own kernel with nIn
// computed or constant inputs and one output.
func plainStep(st step, op string, nIn int) bool {
	if !isOp(st.node, op) || len(st.in) != nIn || len(st.out) != 1 || st.out[0] < 0 || slices.Contains(st.in, -1) {
		return false
	}
	_, plain := st.kernel.(KernelFunc)
	return plain
}

// scoreTermAt reports whether step i computes a Softmax row input of
// static shape ts from x by one foldable step (an Add of a bias that
// broadcasts over the rows, a Reshape → Add → Reshape back, or a Where with
// a constant) and returns the term, x's slot, the term's input slot and the
// steps it absorbs.
func (s *Session) scoreTermAt(i int, ts []int, readers map[int][]int, producer map[int]int, removed []bool) (scoreTerm, int, int, []int, bool) {
	n := ts[len(ts)-1]
	st := s.steps[i]
	// Reshape → Add → Reshape back, the last axis kept (Swin's shifted
	// windows): the Add's rows are x's rows.
	if c, ok := s.constReshape(i, readers); ok {
		a, ok := producer[st.in[0]]
		if !ok || removed[a] || s.keep[st.in[0]] || len(readers[st.in[0]]) != 1 || !plainStep(s.steps[a], "Add", 2) {
			return scoreTerm{}, 0, 0, nil, false
		}
		add := s.steps[a]
		for xi := 0; xi < 2; xi++ {
			r1, ok := producer[add.in[xi]]
			if !ok || removed[r1] {
				continue
			}
			rc, ok := s.constReshape(r1, readers)
			xs, bs := s.staticDims(add.node.Inputs[xi]), s.staticDims(add.node.Inputs[1-xi])
			if !ok || !slices.Equal(s.staticDims(s.steps[r1].node.Inputs[0]), ts) || len(xs) == 0 ||
				graph.NumElements(xs) != graph.NumElements(ts) || xs[len(xs)-1] != n || !slices.Equal(s.staticDims(add.node.Outputs[0]), xs) ||
				len(bs) == 0 || len(bs) > len(xs) || bs[len(bs)-1] != n {
				continue
			}
			rows, ok := broadcastRows(xs, bs)
			if !ok {
				continue
			}
			t := scoreTerm{bLen: graph.NumElements(bs), rows: rows, xIdx: xi, st: add,
				view: &addView{in: s.steps[r1], inShp: rc, out: st, outShape: c}}
			return t, s.steps[r1].in[0], add.in[1-xi], []int{i, a, r1}, true
		}
		return scoreTerm{}, 0, 0, nil, false
	}
	if !slices.Equal(s.staticDims(st.node.Outputs[0]), ts) {
		return scoreTerm{}, 0, 0, nil, false
	}
	switch {
	case plainStep(st, "Add", 2):
		for xi := 0; xi < 2; xi++ {
			xs, bs := s.staticDims(st.node.Inputs[xi]), s.staticDims(st.node.Inputs[1-xi])
			if !slices.Equal(xs, ts) || len(bs) == 0 || len(bs) > len(xs) || bs[len(bs)-1] != n {
				continue
			}
			if rows, ok := broadcastRows(xs, bs); ok {
				return scoreTerm{bLen: graph.NumElements(bs), rows: rows, xIdx: xi, st: st}, st.in[xi], st.in[1-xi], []int{i}, true
			}
		}
	case plainStep(st, "Where", 3):
		cv := s.model.Graph.Values[st.node.Inputs[0]]
		if cv == nil || !cv.HasShape || cv.DType != graph.Bool {
			return scoreTerm{}, 0, 0, nil, false
		}
		cs, ok := cv.Shape.Concrete()
		if !ok || len(cs) == 0 || len(cs) > len(ts) || cs[len(cs)-1] != n {
			return scoreTerm{}, 0, 0, nil, false
		}
		rows, ok := broadcastRows(ts, cs)
		if !ok {
			return scoreTerm{}, 0, 0, nil, false
		}
		for xi := 1; xi < 3; xi++ {
			fill, ok := uniformF32(s.consts[st.in[3-xi]])
			if !ok || s.consts[st.in[xi]] != nil || !slices.Equal(s.staticDims(st.node.Inputs[xi]), ts) {
				continue
			}
			t := scoreTerm{sel: true, keepIf: xi == 1, fill: fill, fillT: s.consts[st.in[3-xi]], bLen: graph.NumElements(cs),
				rows: rows, xIdx: xi, st: st}
			if ct := s.consts[st.in[0]]; ct != nil {
				c, _ := ct.Data.([]bool)
				t.keep, t.vals = make([]uint32, len(c)), make([]float32, len(c))
				kernels.SelectTerm(c, t.keepIf, fill, t.keep, t.vals)
				if len(c) != t.bLen {
					return scoreTerm{}, 0, 0, nil, false
				}
			}
			return t, st.in[xi], st.in[0], []int{i}, true
		}
	}
	return scoreTerm{}, 0, 0, nil, false
}

// uniformF32 returns the value of a float32 constant whose elements are all
// equal (a scalar, or torch's ConstantOfShape of the scores' shape).
func uniformF32(c *graph.Tensor) (float32, bool) {
	if c == nil || c.DType != graph.Float32 || c.Len() == 0 {
		return 0, false
	}
	d := c.F32()
	for _, v := range d[1:] {
		if math.Float32bits(v) != math.Float32bits(d[0]) {
			return 0, false
		}
	}
	return d[0], true
}

// fuseSoftmaxAdd folds into each float32 Softmax over the last axis the
// chain of Add and Where steps (up to maxScoreTerms) that computes its
// input, each read by the next step alone and not kept. It runs with the
// other elementwise rewrites.
func (s *Session) fuseSoftmaxAdd() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		sk, ok := st.kernel.(softmaxKernel)
		if !ok || sk.log || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 {
			continue
		}
		ts := s.staticDims(st.node.Inputs[0])
		if len(ts) == 0 || ts[len(ts)-1] == 0 {
			continue
		}
		if ax, err := graph.NormalizeAxis(sk.axis, len(ts)); err != nil || ax != len(ts)-1 {
			continue
		}
		var terms []scoreTerm
		var ins, drop []int
		cur := st.in[0]
		for len(terms) < maxScoreTerms {
			i, ok := producer[cur]
			if !ok || removed[i] || s.keep[cur] || len(readers[cur]) != 1 {
				break
			}
			t, x, in, d, ok := s.scoreTermAt(i, ts, readers, producer, removed)
			if !ok {
				break
			}
			terms, ins, drop = append(terms, t), append(ins, in), append(drop, d...)
			cur = x
		}
		if len(terms) == 0 {
			continue
		}
		slices.Reverse(terms)
		slices.Reverse(ins)
		k := &softmaxAddKernel{n: ts[len(ts)-1], xShape: ts, terms: terms, softmax: st.kernel}
		s.steps[j] = step{node: st.node, kernel: k, in: append([]int{cur}, ins...), out: st.out}
		for _, d := range drop {
			removed[d] = true
		}
	}
	s.dropSteps(removed)
}

// broadcastRows returns, for each row (last axis) of a tensor of shape xs,
// the offset of the row of b (shape bs, right-aligned, broadcasting on its
// axes of size 1; its last axis equals xs's) that adds to it.
func broadcastRows(xs, bs []int) ([]int32, bool) {
	r := len(xs)
	n := xs[r-1]
	rows := graph.NumElements(xs) / max(n, 1)
	if n == 0 || graph.NumElements(bs) >= 1<<31 {
		return nil, false
	}
	// b's strides aligned to x's axes, 0 where b broadcasts.
	bst := make([]int, r)
	stride := n
	for a := r - 2; a >= 0; a-- {
		ba := a - (r - len(bs))
		if ba < 0 {
			continue
		}
		switch bs[ba] {
		case xs[a]:
			bst[a] = stride
		case 1:
		default:
			return nil, false
		}
		stride *= bs[ba]
	}
	out := make([]int32, rows)
	idx := make([]int, r-1)
	for q := range out {
		o := 0
		for a, v := range idx {
			o += v * bst[a]
		}
		out[q] = int32(o)
		for a := r - 2; a >= 0; a-- {
			if idx[a]++; idx[a] < xs[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out, true
}

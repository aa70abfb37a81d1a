package graph

// Shared pieces of the attention expansions (graph/expand_ort_transformers.go:
// com.microsoft Attention; graph/expand_opset23.go: the opset-23 Attention):
// heads split and merged by Reshape/Transpose, run-time sizes from Shape,
// additive mask biases, and softmax(q·kᵀ·scale + biases)·v. Twenty-first
// session, the unseen16 set.

import "math"

// multi appends a default-domain node with nOut fresh outputs and returns them.
func (e *expander) multi(opType string, ins []string, nOut int, attrs ...*Attr) []string {
	outs := make([]string, nOut)
	for i := range outs {
		outs[i] = e.tmp(opType)
	}
	n := &Node{Name: e.unique(e.base + "/" + opType), OpType: opType, Inputs: ins, Outputs: outs, Attrs: map[string]*Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	e.nodes = append(e.nodes, n)
	return outs
}

// dim is x's run-time size along axis i, as a 1-D int64 [1].
func (e *expander) dim(x string, i int64) string {
	return e.std("Gather", "", []string{e.std("Shape", "", []string{x}), e.ints(i)}, IntAttr("axis", 0))
}

// rangeTo is Range(0, n) of a [1] int64 size n.
func (e *expander) rangeTo(n string) string {
	zero := e.constant("i0", FromInt64([]int{}, []int64{0}))
	one := e.constant("i1", FromInt64([]int{}, []int64{1}))
	return e.std("Range", "", []string{zero, e.squeeze(n, "", 0), one})
}

// splitHeads reshapes [B, S, H·D] to [B, S, H, D] and transposes it by perm.
func (e *expander) splitHeads(x string, h int64, perm []int64) string {
	r := e.std("Reshape", "", []string{x, e.ints(0, 0, h, -1)})
	return e.std("Transpose", "", []string{r}, Int64sAttr("perm", perm))
}

// mergeHeads writes [B, H, S, D] as [B, S, H·D] into out.
func (e *expander) mergeHeads(x, out string) string {
	t := e.std("Transpose", "", []string{x}, Int64sAttr("perm", []int64{0, 2, 1, 3}))
	return e.std("Reshape", out, []string{t, e.ints(0, 0, -1)})
}

// causalBias is the [S, T] additive bias that keeps key t from query s when
// t > s (upper-left alignment, no past): fill there, 0 elsewhere.
func (e *expander) causalBias(s, t string, fill float64) string {
	qp := e.unsqueeze(e.rangeTo(s), 1)
	kp := e.unsqueeze(e.rangeTo(t), 0)
	future := e.std("Greater", "", []string{kp, qp})
	return e.std("Where", "", []string{future, e.scalar(fill, Float32), e.scalar(0, Float32)})
}

// keepBias is 0 where keep is true and fill elsewhere.
func (e *expander) keepBias(keep string, fill float64) string {
	return e.std("Where", "", []string{keep, e.scalar(0, Float32), e.scalar(fill, Float32)})
}

// attend writes softmax(q·kT·scale + biases)·v for q [B, H, S, D], kT
// [B, H, D, T], v [B, H, T, Dv] (scale a value name; biases broadcast to
// [B, H, S, T]) and returns the [B, H, S, Dv] context.
func (e *expander) attend(q, kT, v, scale string, biases []string) string {
	s := e.std("Mul", "", []string{e.std("MatMul", "", []string{q, kT}), scale})
	for _, b := range biases {
		s = e.std("Add", "", []string{s, b})
	}
	p := e.std("Softmax", "", []string{s}, IntAttr("axis", -1))
	return e.std("MatMul", "", []string{p, v})
}

// invSqrtLastDim is 1/sqrt(x's last size) at run time (a [1] float32).
func (e *expander) invSqrtLastDim(x string) string {
	d := e.std("Cast", "", []string{e.dim(x, -1)}, IntAttr("to", int64(Float32)))
	return e.std("Div", "", []string{e.scalar(1, Float32), e.std("Sqrt", "", []string{d})})
}

var negInf = math.Inf(-1)

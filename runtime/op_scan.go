package runtime

// Scan runs its body as a float32 sub-session once per element of
// the scan inputs along their scan axes (reversed where scan_input_directions says
// 1), threading the state values from one iteration to the next, and stacks each
// scan-output element along its scan_output_axes (from the last iteration first
// where scan_output_directions says 1). The body may read values of the enclosing
// graph (implicit inputs, op_control.go). skl2onnx writes Scan for pairwise
// distances; a Mamba block's selective state-space recurrence is one. The opset-8
// form scans each element of a leading batch axis alone; its sequence_lens may only
// give the full length (shorter sequences are refused, naming the node).

import (
	"fmt"
	"reflect"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	Register(OpInfo{OpType: "Scan", Build: buildScan})
}

func buildScan(b *BuildContext) (Kernel, error) {
	n := b.Node
	sg, err := graph.SubgraphAttr(n, "body")
	if err != nil {
		return nil, err
	}
	l, err := graph.ScanLayoutOf(n, sg, b.Opset)
	if err != nil {
		return nil, err
	}
	implicit, vals := implicitValues(b)
	body, err := newSubSession(b, "body", implicit, vals)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		decl, outer, err := splitImplicit(n, implicit, in)
		if err != nil {
			return nil, err
		}
		if !l.Batched {
			res, err := scanRun(ctx, body, l, decl, outer)
			if err != nil {
				return nil, err
			}
			return res[:len(n.Outputs)], nil
		}
		res, err := scanBatched(ctx, body, l, decl, outer)
		if err != nil {
			return nil, err
		}
		return res[:len(n.Outputs)], nil
	}), nil
}

// scanBatched runs an opset-8 Scan: decl[0] is sequence_lens (absent, or every
// length the full one), the others have a leading batch axis; each batch element
// is scanned alone (its time axis is then axis 0) and the results stacked again.
func scanBatched(ctx *ExecContext, body *subSession, l *graph.ScanLayout, decl, outer []*graph.Tensor) ([]*graph.Tensor, error) {
	vals := decl[1:]
	if len(vals) == 0 || vals[0] == nil || len(vals[0].Shape) == 0 {
		return nil, fmt.Errorf("opset-8 Scan: the inputs need a batch axis")
	}
	nb := vals[0].Shape[0]
	if sl := decl[0]; resizePresent(sl) {
		lens, err := intsInput(sl, "sequence_lens")
		if err != nil {
			return nil, err
		}
		for k := 0; k < l.ScanInputs; k++ {
			x := vals[l.States+k]
			for _, v := range lens {
				if x == nil || len(x.Shape) < 2 || v != int64(x.Shape[1]) {
					return nil, fmt.Errorf("%w sequence_lens %v shorter than the sequence (opset-8 Scan)", graph.ErrUnsupported, lens)
				}
			}
		}
	}
	per := make([][]*graph.Tensor, 0, nb)
	for bi := 0; bi < nb; bi++ {
		one := make([]*graph.Tensor, len(vals))
		for i, v := range vals {
			if v == nil || len(v.Shape) == 0 || v.Shape[0] != nb {
				return nil, fmt.Errorf("opset-8 Scan: input %d has no batch axis of %d", i+1, nb)
			}
			t, err := takeAlong(v, 0, bi)
			if err != nil {
				return nil, err
			}
			one[i] = t
		}
		res, err := scanRun(ctx, body, l, one, outer)
		if err != nil {
			return nil, fmt.Errorf("batch element %d: %w", bi, err)
		}
		per = append(per, res)
	}
	out := make([]*graph.Tensor, l.States+l.ScanOutputs)
	for i := range out {
		parts := make([]*graph.Tensor, nb)
		for bi := range per {
			parts[bi] = per[bi][i]
		}
		t, err := stackAlong(parts, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		out[i] = t
	}
	return out, nil
}

// scanRun is one Scan of decl (the states, then the scan inputs): the final states
// followed by the scan outputs. The body runs as one execution over the iterations
// (session_iter.go): each scan input element is cut into a buffer of its arena (or
// is a view when the scan axis is the outermost one), the states pass from one
// iteration to the next without a copy, and each scan output element is written
// straight into its place in the result.
func scanRun(ctx *ExecContext, body *subSession, l *graph.ScanLayout, decl, outer []*graph.Tensor) ([]*graph.Tensor, error) {
	// The scan axes and the sequence length.
	axes := make([]int, l.ScanInputs)
	seq := -1
	for k := range axes {
		x := decl[l.States+k]
		if x == nil {
			return nil, fmt.Errorf("scan input %d is missing", k)
		}
		if axes[k] = graph.ScanAxis(l.InAxes[k], len(x.Shape)); axes[k] < 0 {
			return nil, fmt.Errorf("scan input %d: axis %d is out of range for %v", k, l.InAxes[k], x.Shape)
		}
		if d := x.Shape[axes[k]]; seq < 0 {
			seq = d
		} else if d != seq {
			return nil, fmt.Errorf("scan input %d has %d elements along axis %d, scan input 0 has %d", k, d, axes[k], seq)
		}
	}
	states := make([]*graph.Tensor, l.States)
	for j := range states {
		if states[j] = decl[j]; states[j] == nil {
			return nil, fmt.Errorf("state %d is missing", j)
		}
	}
	if seq <= 0 {
		res := append([]*graph.Tensor(nil), states...)
		for k := 0; k < l.ScanOutputs; k++ {
			t, err := stackAlong(nil, l.OutAxes[k], body.sess.model.Graph.Values[body.outs[l.States+k]])
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, t)
		}
		return res, nil
	}
	// The first iteration's shapes pick the body's plan (body_plans.go).
	formal := make([]*graph.Tensor, l.States+l.ScanInputs)
	copy(formal, states)
	for k, a := range axes {
		x := decl[l.States+k]
		formal[l.States+k] = &graph.Tensor{DType: x.DType, Shape: append(append([]int{}, x.Shape[:a]...), x.Shape[a+1:]...)}
	}
	e, err := body.start(formal, outer)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { e.finish(ok) }()
	outs := make([]scanOut, l.ScanOutputs)
	for i := 0; i < seq; i++ {
		copy(formal, states)
		for k := range axes {
			at := i
			if l.InDirs[k] == 1 {
				at = seq - 1 - i
			}
			var err error
			if formal[l.States+k], err = e.takeAlong(decl[l.States+k], axes[k], at); err != nil {
				return nil, fmt.Errorf("scan input %d: %w", k, err)
			}
		}
		res, err := e.iterate(formal)
		if err != nil {
			return nil, fmt.Errorf("iteration %d: %w", i, err)
		}
		copy(states, res[:l.States])
		for k := range outs {
			at := i
			if l.OutDirs[k] == 1 {
				at = seq - 1 - i
			}
			if err := outs[k].put(ctx, res[l.States+k], i, at, seq, l.OutAxes[k]); err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
		}
	}
	res := make([]*graph.Tensor, 0, l.States+l.ScanOutputs)
	for _, t := range states {
		res = append(res, e.keep(t))
	}
	for k := range outs {
		res = append(res, outs[k].t)
	}
	ok = true
	return res, nil
}

// scanOut is one scan output of a Scan, allocated at the first iteration and
// filled in place.
type scanOut struct {
	t            *graph.Tensor
	dst          buffer
	elem         []int
	outer, inner int
}

// put writes element e of iteration i at position at (of seq) along the new
// axis a.
func (o *scanOut) put(ctx *ExecContext, e *graph.Tensor, i, at, seq int, a int64) error {
	src, err := bufferOf(e)
	if err != nil {
		return err
	}
	if i == 0 {
		axis := graph.ScanAxis(a, len(e.Shape)+1)
		if axis < 0 {
			return fmt.Errorf("axis %d is out of range for rank %d", a, len(e.Shape)+1)
		}
		o.elem = append([]int{}, e.Shape...)
		o.outer, o.inner = graph.NumElements(e.Shape[:axis]), graph.NumElements(e.Shape[axis:])
		n := o.outer * seq * o.inner
		if _, f32 := e.Data.([]float32); f32 {
			o.dst = vec[float32](ctx.AllocF32(n))
		} else {
			o.dst = src.Make(n)
		}
		shape := append(append(append([]int{}, e.Shape[:axis]...), seq), e.Shape[axis:]...)
		o.t = &graph.Tensor{DType: e.DType, Shape: shape, Data: o.dst.Data()}
	} else if e.DType != o.t.DType || !sameDims(e.Shape, o.elem) {
		return fmt.Errorf("iteration %d gives %s%v, iteration 0 gave %s%v", i, e.DType, e.Shape, o.t.DType, o.elem)
	}
	for j := 0; j < o.outer; j++ {
		o.dst.Copy((j*seq+at)*o.inner, src, j*o.inner, o.inner)
	}
	return nil
}

// takeAlong is takeAlong on the execution's arena: x[..., i, ...] along axis as a
// view when axis is the outermost non-trivial one, else copied into a buffer the
// body recycles after its last reader.
func (e *bodyExec) takeAlong(x *graph.Tensor, axis, i int) (*graph.Tensor, error) {
	outer, inner := graph.NumElements(x.Shape[:axis]), graph.NumElements(x.Shape[axis+1:])
	shape := append(append([]int{}, x.Shape[:axis]...), x.Shape[axis+1:]...)
	if outer == 1 {
		if err := checkTensor("scan input", x); err != nil {
			return nil, err
		}
		lo, hi := i*inner, (i+1)*inner
		var data any
		switch d := x.Data.(type) {
		case []float32:
			data = d[lo:hi:hi]
		default:
			data = reflect.ValueOf(d).Slice3(lo, hi, hi).Interface()
		}
		return &graph.Tensor{DType: x.DType, Shape: shape, Data: data}, nil
	}
	src, ok := x.Data.([]float32)
	if !ok || len(src) != graph.NumElements(x.Shape) {
		return takeAlong(x, axis, i)
	}
	dst := e.allocF32(outer * inner)
	l := x.Shape[axis]
	for o := 0; o < outer; o++ {
		copy(dst[o*inner:(o+1)*inner], src[(o*l+i)*inner:])
	}
	return &graph.Tensor{DType: x.DType, Shape: shape, Data: dst}, nil
}

// takeAlong is x with axis removed, at index i of that axis.
func takeAlong(x *graph.Tensor, axis, i int) (*graph.Tensor, error) {
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	outer, inner := 1, 1
	for _, d := range x.Shape[:axis] {
		outer *= d
	}
	for _, d := range x.Shape[axis+1:] {
		inner *= d
	}
	l := x.Shape[axis]
	dst := src.Make(outer * inner)
	for o := 0; o < outer; o++ {
		dst.Copy(o*inner, src, (o*l+i)*inner, inner)
	}
	shape := append(append([]int{}, x.Shape[:axis]...), x.Shape[axis+1:]...)
	return &graph.Tensor{DType: x.DType, Shape: shape, Data: dst.Data()}, nil
}

// stackAlong stacks parts (of one shape) along a new axis a (negative: from the
// end of the result's rank). With no part, the element shape is the body's static
// one (it must be known: a zero-size tensor still has a shape).
func stackAlong(parts []*graph.Tensor, a int64, v *graph.Value) (*graph.Tensor, error) {
	if len(parts) == 0 {
		if v == nil || !v.HasShape {
			return nil, fmt.Errorf("zero iterations and the element shape is unknown")
		}
		dims, ok := v.Shape.Concrete()
		if !ok {
			return nil, fmt.Errorf("zero iterations and the element shape %s is symbolic", v.Shape)
		}
		axis := graph.ScanAxis(a, len(dims)+1)
		if axis < 0 {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", a, len(dims)+1)
		}
		return graph.NewTensor(v.DType, append(append(append([]int{}, dims[:axis]...), 0), dims[axis:]...)), nil
	}
	first := parts[0]
	axis := graph.ScanAxis(a, len(first.Shape)+1)
	if axis < 0 {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", a, len(first.Shape)+1)
	}
	outer, inner := 1, 1
	for _, d := range first.Shape[:axis] {
		outer *= d
	}
	for _, d := range first.Shape[axis:] {
		inner *= d
	}
	src0, err := bufferOf(first)
	if err != nil {
		return nil, err
	}
	l := len(parts)
	dst := src0.Make(outer * l * inner)
	for i, p := range parts {
		if p.DType != first.DType || !sameDims(p.Shape, first.Shape) {
			return nil, fmt.Errorf("iteration %d gives %s%v, iteration 0 gave %s%v", i, p.DType, p.Shape, first.DType, first.Shape)
		}
		src, err := bufferOf(p)
		if err != nil {
			return nil, err
		}
		for o := 0; o < outer; o++ {
			dst.Copy((o*l+i)*inner, src, o*inner, inner)
		}
	}
	shape := append(append(append([]int{}, first.Shape[:axis]...), l), first.Shape[axis:]...)
	return &graph.Tensor{DType: first.DType, Shape: shape, Data: dst.Data()}, nil
}

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
			res, err := scanRun(body, l, decl, outer)
			if err != nil {
				return nil, err
			}
			return res[:len(n.Outputs)], nil
		}
		res, err := scanBatched(body, l, decl, outer)
		if err != nil {
			return nil, err
		}
		return res[:len(n.Outputs)], nil
	}), nil
}

// scanBatched runs an opset-8 Scan: decl[0] is sequence_lens (absent, or every
// length the full one), the others have a leading batch axis; each batch element
// is scanned alone (its time axis is then axis 0) and the results stacked again.
func scanBatched(body *subSession, l *graph.ScanLayout, decl, outer []*graph.Tensor) ([]*graph.Tensor, error) {
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
		res, err := scanRun(body, l, one, outer)
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
// followed by the scan outputs.
func scanRun(body *subSession, l *graph.ScanLayout, decl, outer []*graph.Tensor) ([]*graph.Tensor, error) {
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
	parts := make([][]*graph.Tensor, l.ScanOutputs)
	formal := make([]*graph.Tensor, l.States+l.ScanInputs)
	for i := 0; i < seq; i++ {
		copy(formal, states)
		for k := range axes {
			at := i
			if l.InDirs[k] == 1 {
				at = seq - 1 - i
			}
			var err error
			if formal[l.States+k], err = takeAlong(decl[l.States+k], axes[k], at); err != nil {
				return nil, fmt.Errorf("scan input %d: %w", k, err)
			}
		}
		outs, err := body.run(formal, outer)
		if err != nil {
			return nil, fmt.Errorf("iteration %d: %w", i, err)
		}
		copy(states, outs[:l.States])
		for k := range parts {
			parts[k] = append(parts[k], outs[l.States+k])
		}
	}
	res := append([]*graph.Tensor(nil), states...)
	for k, p := range parts {
		if l.OutDirs[k] == 1 {
			for a, z := 0, len(p)-1; a < z; a, z = a+1, z-1 {
				p[a], p[z] = p[z], p[a]
			}
		}
		t, err := stackAlong(p, l.OutAxes[k], body.sess.model.Graph.Values[body.outs[l.States+k]])
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", k, err)
		}
		res = append(res, t)
	}
	return res, nil
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

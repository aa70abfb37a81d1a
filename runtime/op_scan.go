package runtime

// Scan (opset 9 and later) runs its body as a float32 sub-session once per element of
// the scan inputs along their scan axes (reversed where scan_input_directions says
// 1), threading the state values from one iteration to the next, and stacks each
// scan-output element along its scan_output_axes (from the last iteration first
// where scan_output_directions says 1). The body may read values of the enclosing
// graph (implicit inputs, op_control.go). skl2onnx writes Scan for pairwise
// distances; a Mamba block's selective state-space recurrence is one.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	Register(OpInfo{OpType: "Scan", Build: buildScan})
}

func buildScan(b *BuildContext) (Kernel, error) {
	n := b.Node
	if b.Opset < 9 {
		return nil, fmt.Errorf("%s: %w opset %d: the opset-8 Scan (a batch axis and sequence_lens) is not implemented; export at opset 9 or later",
			n.Label(), graph.ErrUnsupported, b.Opset)
	}
	sg, err := graph.SubgraphAttr(n, "body")
	if err != nil {
		return nil, err
	}
	l, err := graph.ScanLayoutOf(n, sg)
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
		return res[:len(n.Outputs)], nil
	}), nil
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

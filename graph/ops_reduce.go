package graph

import "fmt"

// ReduceOps lists the reduction operators whose schemas this file registers.
var ReduceOps = []string{
	"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
	"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp",
}

// ReduceAxesFromInput reports whether a reduction node of this opset takes its axes
// as the second input (ReduceSum from opset 13, the others from opset 18) rather
// than as an attribute. Read as an attribute, the axes of an opset-18 ReduceMean
// were absent, and the node silently reduced every axis.
func ReduceAxesFromInput(op string, opset int64) bool {
	return op == "ReduceSum" && opset >= 13 || opset >= 18
}

// ReduceSpec is the resolved configuration of a reduction node.
type ReduceSpec struct {
	// Axes are the normalized, sorted-as-given axes; nil with Noop false means all.
	Axes     []int
	KeepDims bool
	// Noop is set when the axes are empty and noop_with_empty_axes asks for identity.
	Noop bool
}

// ResolveReduce resolves a reduction's axes for an input of the given rank. When
// fromInput is set (see ReduceAxesFromInput) the axes come from axesInput, the value of
// the axes input (nil when the input is absent); otherwise from the axes attribute.
func ResolveReduce(n *Node, rank int, axesInput []int64, fromInput bool) (*ReduceSpec, error) {
	spec := &ReduceSpec{KeepDims: n.AttrInt("keepdims", 1) != 0}
	var axes []int64
	if fromInput {
		axes = axesInput
	} else {
		axes = n.AttrInts("axes", nil)
	}
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			spec.Noop = true
		}
		return spec, nil
	}
	a, err := NormalizeAxes(axes, rank)
	if err != nil {
		return nil, fmt.Errorf("%s: axes: %v", n.Label(), err)
	}
	spec.Axes = a
	return spec, nil
}

// Reduced reports for each axis of a rank-r input whether the spec reduces it.
func (s *ReduceSpec) Reduced(rank int) []bool {
	red := make([]bool, rank)
	if s.Noop {
		return red
	}
	if s.Axes == nil {
		for i := range red {
			red[i] = true
		}
		return red
	}
	for _, a := range s.Axes {
		red[a] = true
	}
	return red
}

var reduceNumeric = map[DType]bool{
	Float32: true, Float64: true, Float16: true, BFloat16: true,
	Int32: true, Int64: true, Uint32: true, Uint64: true, Int8: true, Uint8: true,
}

func inferReduce(c *InferContext) ([]*Value, []*Tensor, error) {
	x := c.Input(0)
	if x == nil {
		return nil, nil, c.Errorf("missing input 0 (data)")
	}
	if x.DType != Undefined && !reduceNumeric[x.DType] {
		return nil, nil, c.Errorf("input data is %s, expected a numeric type", x.DType)
	}
	fromInput := ReduceAxesFromInput(c.Node.OpType, c.Opset)
	if fromInput && c.Node.HasAttr("axes") {
		return nil, nil, c.Errorf("axes is an input from opset %d, not an attribute", c.Opset)
	}
	var axes []int64
	if fromInput && c.Input(1) != nil {
		ai := c.Input(1)
		if ai.DType != Undefined && ai.DType != Int64 {
			return nil, nil, c.Errorf("axes input is %s, expected int64", ai.DType)
		}
		t := c.Const(1)
		if t == nil {
			// Axes known only at run time: the rank survives with keepdims only.
			if !x.HasShape || c.Node.AttrInt("keepdims", 1) == 0 {
				return []*Value{nnValue(x.DType, nil)}, nil, nil
			}
			return []*Value{nnUnknownRank(x.DType, len(x.Shape))}, nil, nil
		}
		var err error
		if axes, err = t.AsInt64(); err != nil {
			return nil, nil, c.Errorf("axes: %v", err)
		}
	}
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil)}, nil, nil
	}
	spec, err := ResolveReduce(c.Node, len(x.Shape), axes, fromInput)
	if err != nil {
		return nil, nil, err
	}
	red := spec.Reduced(len(x.Shape))
	out := Shape{}
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case spec.KeepDims:
			out = append(out, Dim{Size: 1})
		}
	}
	return []*Value{nnValue(x.DType, out)}, nil, nil
}

func init() {
	for _, op := range ReduceOps {
		RegisterOp(OpSchema{OpType: op, SinceOpset: 1, Attrs: []string{"axes", "keepdims", "noop_with_empty_axes"}, Infer: inferReduce})
	}
}

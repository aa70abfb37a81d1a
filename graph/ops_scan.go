package graph

import "fmt"

// Shape inference for Scan. From opset 9 on, the node's inputs are N state values
// followed by M scan inputs; the body takes the N states and one slice of each scan
// input (the scan axis removed) and returns the N next states and K scan-output
// elements, which the node stacks along a new axis
// (scan_output_axes) of the sequence length. skl2onnx writes one for pairwise
// distances (its cdist), and hand-written state-space models (Mamba) for their
// recurrence. The opset-8 form has sequence_lens as its first input and a leading
// batch axis on every other input and output (each batch element scanned alone).

func init() {
	RegisterOp(OpSchema{OpType: "Scan", SinceOpset: 8, Attrs: []string{"body", "num_scan_inputs", "scan_input_axes",
		"scan_input_directions", "scan_output_axes", "scan_output_directions", "directions"}, Infer: inferScan})
}

// ScanLayout is a Scan node's layout: the number of states and scan inputs, and
// the scan axis and direction (1: reversed) of each scan input and output, with
// negative axes not yet resolved (they depend on the ranks).
type ScanLayout struct {
	States, ScanInputs, ScanOutputs  int
	InAxes, InDirs, OutAxes, OutDirs []int64
	Batched                          bool // opset 8: sequence_lens first, a batch axis
}

// ScanLayoutOf reads n's attributes against its body, or returns an error naming n.
// At opset 8 the node's first input is sequence_lens (Batched is set), every other
// input has a leading batch axis, the scan axis of an input without it is 0 and the
// directions attribute gives the scan inputs' directions.
func ScanLayoutOf(n *Node, body *Graph, opset int64) (*ScanLayout, error) {
	m := int(n.AttrInt("num_scan_inputs", 0))
	if m <= 0 {
		return nil, fmt.Errorf("%s: num_scan_inputs must be positive, got %d", n.Label(), m)
	}
	first := 0
	if opset < 9 {
		first = 1
	}
	l := &ScanLayout{States: len(n.Inputs) - first - m, ScanInputs: m, Batched: opset < 9}
	if l.States < 0 {
		return nil, fmt.Errorf("%s: %d inputs, fewer than num_scan_inputs %d", n.Label(), len(n.Inputs), m)
	}
	if len(body.Inputs) != len(n.Inputs)-first {
		return nil, fmt.Errorf("%s: body has %d inputs, want %d (%d states and %d scan inputs)", n.Label(), len(body.Inputs), len(n.Inputs), l.States, m)
	}
	l.ScanOutputs = len(body.Outputs) - l.States
	if l.ScanOutputs < 0 || len(n.Outputs) > len(body.Outputs) {
		return nil, fmt.Errorf("%s: body has %d outputs for %d states and %d node outputs", n.Label(), len(body.Outputs), l.States, len(n.Outputs))
	}
	list := func(name string, k int) ([]int64, error) {
		v := n.AttrInts(name, nil)
		if v == nil {
			return make([]int64, k), nil
		}
		if len(v) != k {
			return nil, fmt.Errorf("%s: %s has %d values, want %d", n.Label(), name, len(v), k)
		}
		return v, nil
	}
	var err error
	if l.InAxes, err = list("scan_input_axes", m); err != nil {
		return nil, err
	}
	if l.Batched {
		l.InAxes = make([]int64, m) // the time axis, once the batch axis is taken
	}
	dirs := "scan_input_directions"
	if l.Batched {
		dirs = "directions"
	}
	if l.InDirs, err = list(dirs, m); err != nil {
		return nil, err
	}
	if l.OutAxes, err = list("scan_output_axes", l.ScanOutputs); err != nil {
		return nil, err
	}
	if l.OutDirs, err = list("scan_output_directions", l.ScanOutputs); err != nil {
		return nil, err
	}
	for _, d := range append(append([]int64(nil), l.InDirs...), l.OutDirs...) {
		if d != 0 && d != 1 {
			return nil, fmt.Errorf("%s: a scan direction is %d, want 0 (forward) or 1 (reverse)", n.Label(), d)
		}
	}
	return l, nil
}

// ScanAxis resolves a scan axis against rank r (an input's rank, or an output's
// rank with its new axis), or returns -1 when out of range.
func ScanAxis(a int64, r int) int {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return -1
	}
	return int(a)
}

func inferScan(c *InferContext) ([]*Value, []*Tensor, error) {
	body, err := SubgraphAttr(c.Node, "body")
	if err != nil {
		return nil, nil, err
	}
	l, err := ScanLayoutOf(c.Node, body, c.Opset)
	if err != nil {
		return nil, nil, err
	}
	first := 0
	var batch Dim
	if l.Batched {
		first = 1
	}
	// input returns input i of the states and scan inputs, without the batch axis of
	// an opset-8 Scan (its size in batch).
	input := func(i int) *Value {
		v := c.Input(first + i)
		if v == nil || !l.Batched || !v.HasShape {
			return v
		}
		if len(v.Shape) > 0 {
			batch = v.Shape[0]
			cp := *v
			cp.Shape = append(Shape{}, v.Shape[1:]...)
			return &cp
		}
		return v
	}
	ins := make([]*Value, len(c.Node.Inputs)-first)
	for j := 0; j < l.States; j++ {
		if ins[j] = input(j); ins[j] == nil {
			return nil, nil, c.Errorf("state %d is missing", j)
		}
	}
	// The sequence length: the scan inputs' lengths along their axes must agree.
	var seq Dim
	seqKnown := false
	for k := 0; k < l.ScanInputs; k++ {
		v := input(l.States + k)
		if v == nil {
			return nil, nil, c.Errorf("scan input %d is missing", k)
		}
		e := &Value{DType: v.DType}
		if v.HasShape {
			a := ScanAxis(l.InAxes[k], len(v.Shape))
			if a < 0 {
				return nil, nil, c.Errorf("scan input %d: axis %d is out of range for rank %d", k, l.InAxes[k], len(v.Shape))
			}
			d := v.Shape[a]
			if !seqKnown {
				seq, seqKnown = d, true
			} else if d.Known() && seq.Known() && d.Size != seq.Size {
				return nil, nil, c.Errorf("scan input %d has length %d along its axis, scan input 0 has %d", k, d.Size, seq.Size)
			} else if !seq.Known() && d.Known() {
				seq = d
			}
			e.Shape, e.HasShape = append(append(Shape{}, v.Shape[:a]...), v.Shape[a+1:]...), true
		}
		ins[l.States+k] = e
	}
	if !seqKnown {
		seq = Dim{Size: -1}
	}
	var bo []*Value
	for round := 0; ; round++ {
		if bo, err = inferSubgraph(c, body, ins); err != nil {
			return nil, nil, err
		}
		changed := false
		for j := 0; j < l.States; j++ {
			m, err := mergeValue(ins[j], bo[j])
			if err != nil {
				return nil, nil, c.Errorf("state %d: %v", j, err)
			}
			if m.HasShape != ins[j].HasShape || m.Shape.String() != ins[j].Shape.String() {
				ins[j], changed = m, true
			}
		}
		if !changed {
			break
		}
		if round == 3 {
			return nil, nil, c.Errorf("the shapes of the states do not settle")
		}
	}
	outs := make([]*Value, 0, len(body.Outputs))
	outs = append(outs, ins[:l.States]...)
	for k := 0; k < l.ScanOutputs; k++ {
		v := *bo[l.States+k]
		if v.HasShape {
			a := ScanAxis(l.OutAxes[k], len(v.Shape)+1)
			if a < 0 {
				return nil, nil, c.Errorf("scan output %d: axis %d is out of range for rank %d", k, l.OutAxes[k], len(v.Shape)+1)
			}
			v.Shape = append(append(append(Shape{}, v.Shape[:a]...), seq), v.Shape[a:]...)
		}
		outs = append(outs, &v)
	}
	if l.Batched {
		for i, v := range outs {
			if v.HasShape {
				cp := *v
				cp.Shape = append(Shape{batch}, v.Shape...)
				outs[i] = &cp
			}
		}
	}
	return outs[:len(c.Node.Outputs)], nil, nil
}

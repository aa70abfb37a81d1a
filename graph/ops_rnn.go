package graph

import (
	"fmt"
	"math"
)

// RNNGates returns the number of gates of a recurrent operator (LSTM 4, GRU 3, RNN 1).
func RNNGates(op string) int {
	switch op {
	case "LSTM":
		return 4
	case "GRU":
		return 3
	}
	return 1
}

// RNNDirections returns the number of directions of a recurrent node and validates the
// direction attribute.
func RNNDirections(n *Node) (int, error) {
	switch d := n.AttrString("direction", "forward"); d {
	case "forward", "reverse":
		return 1, nil
	case "bidirectional":
		return 2, nil
	default:
		return 0, fmt.Errorf("%s: %w direction %q", n.Label(), ErrUnsupported, d)
	}
}

// GRUDefaultCell reports whether a GRU has the default cell: no clip and the
// activations Sigmoid, Tanh for every direction (absent, or written out as
// Keras's exporters do). The int8 GRU with linear_before_reset = 0 runs only
// that cell (runtime/op_qrnn.go).
func GRUDefaultCell(n *Node) bool {
	if n.HasAttr("clip") {
		return false
	}
	acts := n.AttrStrings("activations", nil)
	for i, a := range acts {
		if a != []string{"Sigmoid", "Tanh"}[i%2] {
			return false
		}
	}
	return len(acts)%2 == 0
}

func inferRNN(c *InferContext) ([]*Value, []*Tensor, error) {
	n := c.Node
	x := c.Input(0)
	if x == nil {
		return nil, nil, c.Errorf("missing input 0 (X)")
	}
	if err := nnFloatType(c, x, "input X"); err != nil {
		return nil, nil, err
	}
	for i, what := range []string{"W", "R"} {
		if c.Input(i+1) == nil {
			return nil, nil, c.Errorf("missing input %d (%s)", i+1, what)
		}
	}
	if err := rnnCheckStateTypes(c, x.DType, []int{1, 2, 3, 5, 6, 7},
		[]string{1: "W", 2: "R", 3: "B", 5: "initial_h", 6: "initial_c", 7: "P"}); err != nil {
		return nil, nil, err
	}
	dirs, err := RNNDirections(n)
	if err != nil {
		return nil, nil, err
	}
	hs := n.AttrInt("hidden_size", 0)
	gates := RNNGates(n.OpType)
	w := c.Input(1)
	if hs <= 0 {
		// hidden_size is optional in the early opsets: take it from W.
		if w.HasShape && len(w.Shape) == 3 && w.Shape[1].Known() {
			hs = int64(w.Shape[1].Size / gates)
		}
	}
	if hs <= 0 || hs > math.MaxInt32 {
		return nil, nil, c.Errorf("hidden_size %d must be positive", hs)
	}
	layout := n.AttrInt("layout", 0)
	if layout != 0 && layout != 1 {
		return nil, nil, c.Errorf("layout %d must be 0 or 1", layout)
	}
	if err := rnnCheckActivations(c, map[string]int{"LSTM": 3, "GRU": 2, "RNN": 1}[n.OpType]*dirs); err != nil {
		return nil, nil, err
	}
	hid := Dim{Size: int(hs)}
	nd := Dim{Size: dirs}
	seq, batch := Dim{Size: -1}, Dim{Size: -1}
	if x.HasShape {
		if len(x.Shape) != 3 {
			return nil, nil, c.Errorf("input X has shape %s, expected rank 3", x.Shape)
		}
		seq, batch = x.Shape[0], x.Shape[1]
		if layout == 1 {
			seq, batch = batch, seq
		}
		if w.HasShape {
			want := Shape{nd, Dim{Size: gates * int(hs)}, x.Shape[2]}
			if err := rnnCheckShape(c, "W", w, want); err != nil {
				return nil, nil, err
			}
		}
	}
	if r := c.Input(2); r != nil && r.HasShape {
		if err := rnnCheckShape(c, "R", r, Shape{nd, Dim{Size: gates * int(hs)}, hid}); err != nil {
			return nil, nil, err
		}
	}
	if b := c.Input(3); b != nil && b.HasShape {
		if err := rnnCheckShape(c, "B", b, Shape{nd, Dim{Size: 2 * gates * int(hs)}}); err != nil {
			return nil, nil, err
		}
	}
	if p := c.Input(7); p != nil && p.HasShape && n.OpType == "LSTM" {
		if err := rnnCheckShape(c, "P", p, Shape{nd, Dim{Size: 3 * int(hs)}}); err != nil {
			return nil, nil, err
		}
	}
	state := Shape{nd, batch, hid}
	y := Shape{seq, nd, batch, hid}
	if layout == 1 {
		state = Shape{batch, nd, hid}
		y = Shape{batch, seq, nd, hid}
	}
	for _, i := range []int{5, 6} {
		if v := c.Input(i); v != nil && v.HasShape {
			if err := rnnCheckShape(c, []string{5: "initial_h", 6: "initial_c"}[i], v, state); err != nil {
				return nil, nil, err
			}
		}
	}
	outs := []*Value{nnValue(x.DType, y), nnValue(x.DType, state)}
	if n.OpType == "LSTM" {
		outs = append(outs, nnValue(x.DType, append(Shape(nil), state...)))
	}
	return outs, nil, nil
}

// rnnCheckActivations validates the activations attribute: want functions, all known.
func rnnCheckActivations(c *InferContext, want int) error {
	acts := c.Node.AttrStrings("activations", nil)
	if acts == nil {
		return nil
	}
	if len(acts) != want {
		return c.Errorf("activations lists %d functions, expected %d", len(acts), want)
	}
	for _, a := range acts {
		if !RNNActivationKnown(a) {
			return nnUnsupported(c, "activation %q", a)
		}
	}
	return nil
}

// rnnCheckStateTypes checks that the float inputs at idx share X's type and that
// sequence_lens (input 4) is int32.
func rnnCheckStateTypes(c *InferContext, x DType, idx []int, names []string) error {
	for _, i := range idx {
		if err := nnSameDType(c, i, x, names[i]); err != nil {
			return err
		}
	}
	if sl := c.Input(4); sl != nil && sl.DType != Undefined && sl.DType != Int32 {
		return c.Errorf("sequence_lens is %s, expected int32", sl.DType)
	}
	return nil
}

func rnnCheckShape(c *InferContext, what string, v *Value, want Shape) error {
	if len(v.Shape) != len(want) {
		return c.Errorf("input %s has shape %s, expected %s", what, v.Shape, want)
	}
	for i, d := range v.Shape {
		if d.Known() && want[i].Known() && d.Size != want[i].Size {
			return c.Errorf("input %s has shape %s, expected %s", what, v.Shape, want)
		}
	}
	return nil
}

// RNNActivationKnown reports whether a recurrent activation function name (as in
// the activations attribute) is implemented.
func RNNActivationKnown(name string) bool {
	switch name {
	case "Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
		"HardSigmoid", "Elu", "Softsign", "Softplus":
		return true
	}
	return false
}

func init() {
	common := []string{"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"}
	RegisterOp(OpSchema{OpType: "LSTM", SinceOpset: 1, Attrs: append(append([]string(nil), common...), "input_forget", "output_sequence"), Infer: inferRNN})
	RegisterOp(OpSchema{OpType: "GRU", SinceOpset: 1, Attrs: append(append([]string(nil), common...), "linear_before_reset", "output_sequence"), Infer: inferRNN})
	RegisterOp(OpSchema{OpType: "RNN", SinceOpset: 1, Attrs: append(append([]string(nil), common...), "output_sequence"), Infer: inferRNN})
}

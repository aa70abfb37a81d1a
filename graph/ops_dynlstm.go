package graph

// DynamicQuantizeLSTM (com.microsoft), the dynamically quantized LSTM ONNX Runtime's
// quantize_dynamic writes: an LSTM whose W and R are int8 (or uint8) constants stored
// transposed, W [num_directions, input_size, 4*hidden_size] and R [num_directions,
// hidden_size, 4*hidden_size] (gate blocks i, o, f, c along the last axis), followed by
// their dequantization parameters. Inputs: X, W, R, B, sequence_lens, initial_h,
// initial_c, P (as LSTM, layout 0 only), W_scale, W_zero_point, R_scale, R_zero_point;
// the scales and zero points are [num_directions] (per tensor) or
// [num_directions, 4*hidden_size] (per output channel). Outputs Y, Y_h, Y_c as LSTM.

import "math"

// DynamicLSTMOp is the operator type of the dynamically quantized LSTM.
const DynamicLSTMOp = "DynamicQuantizeLSTM"

// DynamicLSTMDomain is its domain.
const DynamicLSTMDomain = "com.microsoft"

func inferDynamicLSTM(c *InferContext) ([]*Value, []*Tensor, error) {
	n := c.Node
	x := c.Input(0)
	if x == nil {
		return nil, nil, c.Errorf("missing input 0 (X)")
	}
	if err := nnFloatType(c, x, "input X"); err != nil {
		return nil, nil, err
	}
	required := []string{1: "W", 2: "R", 8: "W_scale", 9: "W_zero_point", 10: "R_scale", 11: "R_zero_point"}
	for i, what := range required {
		if what != "" && c.Input(i) == nil {
			return nil, nil, c.Errorf("missing input %d (%s)", i, what)
		}
	}
	for _, i := range []int{1, 2} {
		if dt := c.Input(i).DType; dt != Undefined && dt != Int8 && dt != Uint8 {
			return nil, nil, c.Errorf("input %d (%s) is %s, expected int8 or uint8", i, []string{1: "W", 2: "R"}[i], dt)
		}
	}
	if err := rnnCheckStateTypes(c, x.DType, []int{3, 5, 6, 7, 8, 10},
		[]string{3: "B", 5: "initial_h", 6: "initial_c", 7: "P", 8: "W_scale", 10: "R_scale"}); err != nil {
		return nil, nil, err
	}
	dirs, err := RNNDirections(n)
	if err != nil {
		return nil, nil, err
	}
	hs := n.AttrInt("hidden_size", 0)
	if hs <= 0 || hs > math.MaxInt32 {
		return nil, nil, c.Errorf("hidden_size %d must be positive (the attribute is required)", hs)
	}
	if err := rnnCheckActivations(c, 3*dirs); err != nil {
		return nil, nil, err
	}
	hid, nd, g4 := Dim{Size: int(hs)}, Dim{Size: dirs}, Dim{Size: 4 * int(hs)}
	seq, batch := Dim{Size: -1}, Dim{Size: -1}
	if x.HasShape {
		if len(x.Shape) != 3 {
			return nil, nil, c.Errorf("input X has shape %s, expected rank 3", x.Shape)
		}
		seq, batch = x.Shape[0], x.Shape[1]
		if w := c.Input(1); w.HasShape {
			if err := rnnCheckShape(c, "W", w, Shape{nd, x.Shape[2], g4}); err != nil {
				return nil, nil, err
			}
		}
	}
	checks := []Shape{2: {nd, hid, g4}, 3: {nd, Dim{Size: 8 * int(hs)}}, 5: {nd, batch, hid}, 6: {nd, batch, hid},
		7: {nd, Dim{Size: 3 * int(hs)}}}
	names := []string{2: "R", 3: "B", 5: "initial_h", 6: "initial_c", 7: "P"}
	for i, want := range checks {
		if v := c.Input(i); want != nil && v != nil && v.HasShape {
			if err := rnnCheckShape(c, names[i], v, want); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, i := range []int{8, 9, 10, 11} {
		v := c.Input(i)
		what := []string{8: "W_scale", 9: "W_zero_point", 10: "R_scale", 11: "R_zero_point"}[i]
		if !v.HasShape {
			continue
		}
		if len(v.Shape) == 1 {
			err = rnnCheckShape(c, what, v, Shape{nd})
		} else {
			err = rnnCheckShape(c, what, v, Shape{nd, g4})
		}
		if err != nil {
			return nil, nil, err
		}
	}
	state := Shape{nd, batch, hid}
	return []*Value{nnValue(x.DType, Shape{seq, nd, batch, hid}), nnValue(x.DType, state),
		nnValue(x.DType, append(Shape(nil), state...))}, nil, nil
}

// dynamicLSTMMACs counts a DynamicQuantizeLSTM like an LSTM:
// seq*batch*dirs*4*hidden*(input+hidden), with W [dirs, input, 4*hidden] and
// R [dirs, hidden, 4*hidden].
func (g *Graph) dynamicLSTMMACs(n *Node) int64 {
	x, ok1 := g.concreteShape(n.Input(0))
	w, ok2 := g.concreteShape(n.Input(1))
	r, ok3 := g.concreteShape(n.Input(2))
	if !ok1 || !ok2 || !ok3 || len(x) != 3 || len(w) != 3 || len(r) != 3 {
		return -1
	}
	return int64(x[0]) * int64(x[1]) * int64(w[0]) * int64(w[2]) * int64(w[1]+r[1])
}

func init() {
	RegisterOp(OpSchema{OpType: DynamicLSTMOp, Domain: DynamicLSTMDomain, SinceOpset: 1,
		Attrs: []string{"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "input_forget"},
		Infer: inferDynamicLSTM})
}

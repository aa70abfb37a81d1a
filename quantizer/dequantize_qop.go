package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// qopForm describes a QOperator operator as the float operator it quantizes:
// where its quantized inputs and their grids are, where its output grid is.
type qopForm struct {
	float string
	// ins: for each quantized input, the indices of the tensor, its scale and
	// its zero point among the node's inputs
	ins [][3]int
	// out: the indices of the output's scale and zero point
	out [2]int
	// drop: attributes of the QOperator form the float operator does not take
	drop []string
}

// qopForms are the QOperator operators DequantizeQDQ reads: ONNX's QLinearConv and
// QLinearMatMul and the com.microsoft QLinear* operators that reading a model
// keeps (graph.Load expands QGemm, QLinearConcat, QLinearAveragePool and
// QLinearSoftmax into QDQ form itself). QLinearConv's int32 bias is qopBias's.
var qopForms = map[string]qopForm{
	"QLinearConv":              {float: "Conv", ins: [][3]int{{0, 1, 2}, {3, 4, 5}}, out: [2]int{6, 7}},
	"QLinearMatMul":            {float: "MatMul", ins: [][3]int{{0, 1, 2}, {3, 4, 5}}, out: [2]int{6, 7}},
	"QLinearAdd":               {float: "Add", ins: [][3]int{{0, 1, 2}, {3, 4, 5}}, out: [2]int{6, 7}},
	"QLinearMul":               {float: "Mul", ins: [][3]int{{0, 1, 2}, {3, 4, 5}}, out: [2]int{6, 7}},
	"QLinearSigmoid":           {float: "Sigmoid", ins: [][3]int{{0, 1, 2}}, out: [2]int{3, 4}},
	"QLinearLeakyRelu":         {float: "LeakyRelu", ins: [][3]int{{0, 1, 2}}, out: [2]int{3, 4}},
	"QLinearGlobalAveragePool": {float: "GlobalAveragePool", ins: [][3]int{{0, 1, 2}}, out: [2]int{3, 4}, drop: []string{"channels_last"}},
}

// intMoving are the operators QOperator models run on int8 tensors directly
// (ONNX Runtime's MaxPool on uint8, a Flatten or Reshape between two QLinear
// operators): their output is on their input's grid.
var intMoving = map[string]bool{
	"MaxPool": true, "GlobalMaxPool": true, "Flatten": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true,
	"Transpose": true, "Identity": true, "Slice": true, "Gather": true, "Split": true,
}

// qopToQDQ rewrites g's QOperator operators as the QDQ form of the same
// computation: each quantized input dequantized, the float operator, its output
// quantized on the operator's output grid under the same name; an operator that
// moves int8 values (intMoving) reading such a tensor becomes dequantize, move,
// quantize on the same grid. DequantizeQDQ then removes the pairs.
// Channels-last pooling, which the float operator cannot express, is an error
// naming the node.
func qopToQDQ(g *graph.Graph) error {
	grid := map[string][2]string{} // int8 tensor -> its scale and zero point
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" && len(n.Inputs) >= 2 {
			grid[n.Outputs[0]] = [2]string{n.Inputs[1], n.Input(2)}
		}
	}
	dqOf := map[string]string{}
	var nodes []*graph.Node
	dq := func(x, s, zp string, axis int64) string {
		if name, ok := dqOf[x]; ok {
			return name
		}
		name := g.UniqueName(x + "/dequantized")
		nodes = append(nodes, &graph.Node{Name: name, OpType: "DequantizeLinear", Inputs: []string{x, s, zp}, Outputs: []string{name},
			Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", axis)}})
		dqOf[x] = name
		return name
	}
	quant := func(base, y, s, zp string) string {
		f := g.UniqueName(y + "/float")
		nodes = append(nodes, &graph.Node{Name: g.UniqueName(base + "/quantize"), OpType: "QuantizeLinear", Inputs: []string{f, s, zp}, Outputs: []string{y}, Attrs: map[string]*graph.Attr{}})
		grid[y] = [2]string{s, zp}
		return f
	}
	for _, n := range g.Nodes {
		form, isQOp := qopForms[n.OpType]
		switch {
		case isQOp && (n.Domain == "" || n.Domain == "com.microsoft"):
			if err := qopCheck(n); err != nil {
				return fmt.Errorf("%s: %w", n.Label(), err)
			}
			f := &graph.Node{Name: n.Name, OpType: form.float, Attrs: map[string]*graph.Attr{}}
			for k, a := range n.Attrs {
				f.Attrs[k] = a
			}
			for _, d := range form.drop {
				delete(f.Attrs, d)
			}
			for i, in := range form.ins {
				f.Inputs = append(f.Inputs, dq(n.Input(in[0]), n.Input(in[1]), n.Input(in[2]), qopAxis(g, n, i)))
			}
			if b, err := qopBias(g, n); err != nil {
				return fmt.Errorf("%s: %w", n.Label(), err)
			} else if b != "" {
				f.Inputs = append(f.Inputs, b)
			}
			y := n.Outputs[0]
			// the float operator goes before the Q that quant appends
			at := len(nodes)
			nodes = append(nodes, nil)
			f.Outputs = []string{quant(n.Name, y, n.Input(form.out[0]), n.Input(form.out[1]))}
			nodes[at] = f
		case intMoving[n.OpType] && n.Domain == "" && len(n.Inputs) > 0 && len(n.Outputs) == 1 && grid[n.Inputs[0]] != [2]string{}:
			gx := grid[n.Inputs[0]]
			m := &graph.Node{Name: n.Name, OpType: n.OpType, Attrs: n.Attrs, Inputs: append([]string(nil), n.Inputs...)}
			m.Inputs[0] = dq(n.Inputs[0], gx[0], gx[1], 1)
			at := len(nodes)
			nodes = append(nodes, nil)
			m.Outputs = []string{quant(n.Name, n.Outputs[0], gx[0], gx[1])}
			nodes[at] = m
		default:
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	return g.TopoSort()
}

// qopAxis is the axis of the per-channel grid of quantized input i of n: a
// convolution's weight per output channel (axis 0), a matrix product's B per
// column (its last axis); 1 (DequantizeLinear's default) elsewhere, where grids
// are per tensor.
func qopAxis(g *graph.Graph, n *graph.Node, i int) int64 {
	if i != 1 {
		return 1
	}
	switch n.OpType {
	case "QLinearConv":
		return 0
	case "QLinearMatMul":
		if w := g.Initializers[n.Input(3)]; w != nil && len(w.Shape) > 0 {
			return int64(len(w.Shape) - 1)
		}
	}
	return 1
}

// qopCheck refuses the QOperator attributes the float operator cannot express.
func qopCheck(n *graph.Node) error {
	if n.AttrInt("channels_last", 0) != 0 {
		return fmt.Errorf("channels_last pooling has no float32 form here")
	}
	return nil
}

// qopBias returns the float32 initializer of a QLinearConv's bias (int32 on the
// grid of scale x_scale · w_scale, per output channel, zero point 0), "" when
// the node has none.
func qopBias(g *graph.Graph, n *graph.Node) (string, error) {
	if n.OpType != "QLinearConv" || n.Input(8) == "" {
		return "", nil
	}
	b := n.Input(8)
	bt, st, wt := g.Initializers[b], g.Initializers[n.Input(1)], g.Initializers[n.Input(4)]
	if bt == nil || st == nil || wt == nil {
		return "", fmt.Errorf("its bias %q or its scales are computed, not constants", b)
	}
	bv, err := bt.AsInt64()
	if err != nil {
		return "", fmt.Errorf("bias %q: %w", b, err)
	}
	sx, err := st.AsFloat64()
	if err != nil || len(sx) != 1 {
		return "", fmt.Errorf("input scale %q is not one value", n.Input(1))
	}
	sw, err := wt.AsFloat64()
	if err != nil || (len(sw) != 1 && len(sw) != len(bv)) {
		return "", fmt.Errorf("weight scale %q has %d values for %d output channels", n.Input(4), len(sw), len(bv))
	}
	out := make([]float32, len(bv))
	for i, v := range bv {
		w := sw[0]
		if len(sw) > 1 {
			w = sw[i]
		}
		out[i] = float32(float64(v) * sx[0] * w)
	}
	name := g.UniqueName(b + "/float")
	g.Initializers[name] = graph.FromFloat32(bt.Shape, out)
	return name, nil
}

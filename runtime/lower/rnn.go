package lower

// LSTM and GRU with int8 weights (sixteenth session). The quantizer writes a
// recurrent operator's W and R as DequantizeLinear of int8 constants (symmetric,
// per gate row); ONNX Runtime runs such a file in float32 on the dequantized
// weights. Here the operator becomes QRNN: the input projection of all time
// steps is one int8 GEMM on X's codes (X must be quantized), the recurrent
// product of each step quantizes the hidden state at run time (uint8 range of
// the step, as DynamicQuantizeLSTM does) and multiplies it in int8; the gates
// and the cell state stay float32, and the outputs are float32 (a following
// QuantizeLinear quantizes them as before).

import (
	"github.com/warboy-sim/warboy/graph"
)

func (l *lowerer) lowerRecurrent(n *graph.Node) error {
	if n.AttrInt("layout", 0) != 0 {
		return notLowered("batch-first layout")
	}
	if n.OpType == "GRU" && n.AttrInt("linear_before_reset", 0) == 0 && !graph.GRUDefaultCell(n) {
		// Its int8 step runs the fused cell (runtime/op_qrnn.go, resetFirstStep).
		return notLowered("linear_before_reset = 0 with a clip or other activations than Sigmoid, Tanh")
	}
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input X is not quantized")
	}
	if len(x.shape) != 3 {
		return notLowered("X is not 3-D")
	}
	dirs, err := graph.RNNDirections(n)
	if err != nil {
		return notLowered("%v", err)
	}
	gates := graph.RNNGates(n.OpType)
	if l.dqConst[n.Input(1)] == nil || l.dqConst[n.Input(2)] == nil {
		return notLowered("W and R are not quantized constants")
	}
	w, err := l.constWeights(n.Input(1))
	if err != nil {
		return err
	}
	r, err := l.constWeights(n.Input(2))
	if err != nil {
		return err
	}
	if len(w.shape) != 3 || len(r.shape) != 3 || w.shape[0] != dirs || r.shape[0] != dirs || w.shape[1] != r.shape[1] {
		return notLowered("W %v and R %v are not [%d, gates*hidden, ·]", w.shape, r.shape, dirs)
	}
	gh := w.shape[1]
	hs := int(n.AttrInt("hidden_size", int64(gh/gates)))
	if hs <= 0 || gh != gates*hs || r.shape[2] != hs {
		return notLowered("W %v and R %v do not match hidden_size %d", w.shape, r.shape, hs)
	}
	if x.shape[2].Known() && x.shape[2].Size != w.shape[2] {
		return notLowered("X has %d features, W %d", x.shape[2].Size, w.shape[2])
	}
	var scales [2][]float32
	for i, q := range []*qweights{w, r} {
		sc, zp, err := q.perChannel(1, gh)
		if err != nil {
			return err
		}
		for _, z := range zp {
			if z != 0 {
				return notLowered("weights are not symmetric (zero point %d)", z)
			}
		}
		for d := 0; d < dirs; d++ {
			scales[i] = append(scales[i], sc...)
		}
	}
	xs, err := l.plainI8(x)
	if err != nil {
		return err
	}
	ins := []string{xs,
		l.addInit(n.Input(1)+"_int8", graph.FromInt8(w.shape, w.data)),
		l.addInit(n.Input(2)+"_int8", graph.FromInt8(r.shape, r.data))}
	for _, in := range n.Inputs[min(3, len(n.Inputs)):] {
		name, err := l.need(in)
		if err != nil {
			return err
		}
		ins = append(ins, name)
	}
	attrs := []*graph.Attr{graph.StringAttr("kind", n.OpType), graph.FloatsAttr("w_scale", scales[0]),
		graph.FloatsAttr("r_scale", scales[1]), graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp))}
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	l.emit(n, "QRNN", ins, append([]string(nil), n.Outputs...), attrs...)
	for _, o := range n.Outputs {
		if o != "" {
			l.state(o).avail = true
		}
	}
	return nil
}

// inferQRNN gives QRNN's float32 outputs the shapes of the LSTM or GRU it
// replaces (sequence-first: Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs,
// batch, hidden]).
func inferQRNN(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	n := c.Node
	x, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	dirs, err := graph.RNNDirections(n)
	if err != nil {
		return nil, nil, err
	}
	hs := n.AttrInt("hidden_size", 0)
	if w := c.Input(1); hs <= 0 && w != nil && w.HasShape && len(w.Shape) == 3 && w.Shape[1].Known() {
		hs = int64(w.Shape[1].Size / graph.RNNGates(n.AttrString("kind", "")))
	}
	if hs <= 0 {
		return nil, nil, c.Errorf("hidden_size %d must be positive", hs)
	}
	if x != nil && len(x) != 3 {
		return nil, nil, c.Errorf("input X has shape %s, expected rank 3", x)
	}
	seq, batch := unknownDim(), unknownDim()
	if x != nil {
		seq, batch = x[0], x[1]
	}
	h, nd := graph.Dim{Size: int(hs)}, graph.Dim{Size: dirs}
	outs := []*graph.Value{{DType: graph.Float32, Shape: graph.Shape{seq, nd, batch, h}, HasShape: x != nil},
		{DType: graph.Float32, Shape: graph.Shape{nd, batch, h}, HasShape: x != nil}}
	if n.AttrString("kind", "") == "LSTM" {
		outs = append(outs, &graph.Value{DType: graph.Float32, Shape: graph.Shape{nd, batch, h}, HasShape: x != nil})
	}
	return outs[:min(len(outs), len(n.Outputs))], nil, nil
}

package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// dynamicLSTM returns the DynamicQuantizeLSTM (com.microsoft) that replaces an ONNX LSTM
// with constant float32 W and R, as ONNX Runtime's quantize_dynamic writes it: W and R
// int8, symmetric per output channel (one scale per gate row of each direction, shape
// [num_directions, 4*hidden_size]), stored transposed ([num_directions, input_size,
// 4*hidden_size] and [num_directions, hidden_size, 4*hidden_size]), zero points 0. The
// input and hidden state are quantized at run time; B, sequence_lens, the initial
// states and the peepholes pass through unchanged. It returns nil and why not when the
// LSTM cannot be converted.
//
// A batch-first LSTM (layout=1) becomes the same operator between Transposes: X and
// the initial states to sequence-first before it, Y and the final states back after
// it (the operator has no layout attribute, and ONNX Runtime's quantizer leaves such
// an LSTM in float32).
func dynamicLSTM(g *graph.Graph, n *graph.Node, exclude map[string]bool) ([]*graph.Node, string) {
	if exclude[n.Name] {
		return nil, "excluded"
	}
	if l := n.AttrInt("layout", 0); l != 0 && l != 1 {
		return nil, fmt.Sprintf("layout %d is not 0 or 1", l)
	}
	if v := g.Values[n.Input(0)]; v == nil || v.DType != graph.Float32 {
		return nil, "its input is not float32"
	}
	if _, err := graph.RNNDirections(n); err != nil {
		return nil, err.Error()
	}
	w, r := g.Initializers[n.Input(1)], g.Initializers[n.Input(2)]
	if w == nil || r == nil || w.DType != graph.Float32 || r.DType != graph.Float32 || len(w.Shape) != 3 || len(r.Shape) != 3 {
		return nil, "its W and R are not 3-D float32 constants"
	}
	dirs, g4 := w.Shape[0], w.Shape[1]
	hidden := r.Shape[2]
	if g4 != 4*hidden || r.Shape[0] != dirs || r.Shape[1] != g4 {
		return nil, fmt.Sprintf("W %v and R %v are not LSTM weights", w.Shape, r.Shape)
	}
	if hs := n.AttrInt("hidden_size", int64(hidden)); hs != int64(hidden) {
		return nil, fmt.Sprintf("hidden_size %d does not match R %v", hs, r.Shape)
	}
	base := nodeBase(n)
	inputs := []string{n.Input(0)}
	var params []string
	for i, t := range []*graph.Tensor{w, r} {
		name := n.Input(1 + i)
		k := t.Shape[2]
		rows := graph.FromFloat32([]int{dirs * g4, k}, t.F32())
		q, s := perChannelWeights(rows, 0, nil)
		qt := make([]int8, len(q)) // [dirs, 4h, k] -> [dirs, k, 4h]
		for d := 0; d < dirs; d++ {
			for c := 0; c < g4; c++ {
				for j := 0; j < k; j++ {
					qt[(d*k+j)*g4+c] = q[(d*g4+c)*k+j]
				}
			}
		}
		inputs = append(inputs, addInit(g, name+"_quantized", graph.FromInt8([]int{dirs, k, g4}, qt)))
		params = append(params,
			addInit(g, name+"_scale", graph.FromFloat32([]int{dirs, g4}, s)),
			addInit(g, name+"_zero_point", graph.FromInt8([]int{dirs, g4}, make([]int8, dirs*g4))))
	}
	for i := 3; i < 8; i++ {
		inputs = append(inputs, n.Input(i))
	}
	out := &graph.Node{Name: g.UniqueName(base + "_quant"), OpType: graph.DynamicLSTMOp, Domain: graph.DynamicLSTMDomain,
		Inputs: append(inputs, params...), Outputs: append([]string(nil), n.Outputs...), Attrs: map[string]*graph.Attr{}}
	for name, a := range n.Attrs {
		if name != "layout" && name != "output_sequence" {
			cp := *a
			out.Attrs[name] = &cp
		}
	}
	out.SetAttrInt("hidden_size", int64(hidden))
	if n.AttrInt("layout", 0) == 0 {
		return []*graph.Node{out}, ""
	}
	return batchFirstLSTM(g, out, base), ""
}

// batchFirstLSTM puts Transposes around a sequence-first DynamicQuantizeLSTM so that
// it reads and writes the tensors of a layout=1 LSTM: X [batch, seq, in] and the
// initial states [batch, dirs, hidden] in, Y [batch, seq, dirs, hidden] and the final
// states [batch, dirs, hidden] out.
func batchFirstLSTM(g *graph.Graph, lstm *graph.Node, base string) []*graph.Node {
	transpose := func(in, out string, perm ...int) *graph.Node {
		// Node names are unique per tensor: the graph does not hold these nodes yet.
		t := &graph.Node{Name: g.UniqueName(out + "_layout"), OpType: "Transpose", Inputs: []string{in}, Outputs: []string{out},
			Attrs: map[string]*graph.Attr{}}
		p := make([]int64, len(perm))
		for i, v := range perm {
			p[i] = int64(v)
		}
		t.SetAttrInts("perm", p)
		return t
	}
	var pre, post []*graph.Node
	for _, i := range []int{0, 5, 6} { // X, initial_h, initial_c
		if in := lstm.Input(i); in != "" {
			seqFirst := g.UniqueName(in + "_seq_first")
			pre = append(pre, transpose(in, seqFirst, 1, 0, 2))
			lstm.Inputs[i] = seqFirst
		}
	}
	for i, o := range lstm.Outputs {
		if o == "" {
			continue
		}
		seqFirst := g.UniqueName(o + "_seq_first")
		perm := []int{1, 0, 2} // Y_h, Y_c: [dirs, batch, hidden] -> [batch, dirs, hidden]
		if i == 0 {
			perm = []int{2, 0, 1, 3} // Y: [seq, dirs, batch, hidden] -> [batch, seq, dirs, hidden]
		}
		post = append(post, transpose(seqFirst, o, perm...))
		lstm.Outputs[i] = seqFirst
	}
	return append(append(pre, lstm), post...)
}

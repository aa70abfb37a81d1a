package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRNNMACs(t *testing.T) {
	f := Float32
	for _, tc := range []struct {
		name  string
		node  *Node
		ins   []*Value
		macs  int64
		known bool
	}{
		// seq 7 x batch 2 x 2 directions x 4 gates x hidden 5 x (input 3 + hidden 5)
		{"lstm bidirectional", nnIO(nnNode("LSTM", nnIntA("hidden_size", 5), nnStr("direction", "bidirectional")), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 7, 2, 3), nnVal(f, 2, 20, 3), nnVal(f, 2, 20, 5)}, 7 * 2 * 2 * 20 * 8, true},
		// batch-first: batch 2 x seq 6 x 3 gates x hidden 4 x (3 + 4)
		{"gru batch-first", nnIO(nnNode("GRU", nnIntA("hidden_size", 4), nnIntA("layout", 1)), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 2, 6, 3), nnVal(f, 1, 12, 3), nnVal(f, 1, 12, 4)}, 2 * 6 * 12 * 7, true},
		{"rnn", nnIO(nnNode("RNN", nnIntA("hidden_size", 6)), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 3, 2, 4), nnVal(f, 1, 6, 4), nnVal(f, 1, 6, 6)}, 3 * 2 * 6 * 10, true},
		// DynamicQuantizeLSTM: W [dirs, input, 4*hidden], R [dirs, hidden, 4*hidden];
		// seq 7 x batch 2 x 4 gates x hidden 5 x (input 3 + hidden 5)
		{"dynamic quantized lstm", dynLSTMNodeForTest(nnIntA("hidden_size", 5)),
			[]*Value{nnVal(f, 7, 2, 3), nnVal(Int8, 1, 3, 20), nnVal(Int8, 1, 5, 20), nil, nil, nil, nil, nil,
				nnVal(f, 1, 20), nnVal(Int8, 1, 20), nnVal(f, 1, 20), nnVal(Int8, 1, 20)}, 7 * 2 * 20 * 8, true},
		{"symbolic sequence", nnIO(nnNode("LSTM", nnIntA("hidden_size", 5)), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, -1, 2, 3), nnVal(f, 1, 20, 3), nnVal(f, 1, 20, 5)}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := nnInferOne(t, 14, tc.node, tc.ins, nil)
			require.NoError(t, err)
			m, known := g.MACsKnown(tc.node)
			assert.Equal(t, tc.known, known)
			assert.Equal(t, tc.macs, m)
			assert.Equal(t, tc.macs, g.MACs(tc.node))
		})
	}
}

func TestParamCountConstants(t *testing.T) {
	g := &Graph{Initializers: map[string]*Tensor{"w": FromFloat32([]int{2, 2}, make([]float32, 4))}}
	c := &Node{Name: "c", OpType: "Constant", Outputs: []string{"k"}}
	c.SetAttrTensor("value", FromFloat32([]int{2, 3}, make([]float32, 6)))
	l := &Node{Name: "l", OpType: "Constant", Outputs: []string{"f"}}
	l.setAttr(&Attr{Name: "value_floats", Type: AttrFloats, Floats: []float32{1, 2, 3}})
	g.Nodes = []*Node{c, l, {Name: "r", OpType: "Relu", Inputs: []string{"k"}, Outputs: []string{"y"}}}
	assert.Equal(t, int64(4+6+3), g.ParamCount(), "initializers and Constant tensors alike")
}

func dynLSTMNodeForTest(attrs ...*Attr) *Node {
	n := nnIO(nnNode(DynamicLSTMOp, attrs...), []string{"x", "w", "r", "", "", "", "", "", "ws", "wz", "rs", "rz"}, "y")
	n.Domain = DynamicLSTMDomain
	n.Outputs = []string{"y", "yh", "yc"}
	return n
}

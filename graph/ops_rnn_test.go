package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInferRNNShapes(t *testing.T) {
	f := Float32
	strs := func(name string, v ...string) *Attr { return &Attr{Name: name, Type: AttrStrings, Strings: v} }
	cases := []struct {
		name    string
		node    *Node
		ins     []*Value
		want    []string
		wantErr string
	}{
		{"lstm bidirectional", nnIO(nnNode("LSTM", nnIntA("hidden_size", 5), nnStr("direction", "bidirectional")), []string{"x", "w", "r"}, "y", "yh", "yc"),
			[]*Value{nnVal(f, 7, -1, 3), nnVal(f, 2, 20, 3), nnVal(f, 2, 20, 5)}, []string{"[7,2,N,5]", "[2,N,5]", "[2,N,5]"}, ""},
		{"gru batch-first", nnIO(nnNode("GRU", nnIntA("hidden_size", 4), nnIntA("layout", 1)), []string{"x", "w", "r"}, "y", "yh"),
			[]*Value{nnVal(f, 2, 6, 3), nnVal(f, 1, 12, 3), nnVal(f, 1, 12, 4)}, []string{"[2,6,1,4]", "[2,1,4]"}, ""},
		{"rnn hidden size from W", nnIO(nnNode("RNN"), []string{"x", "w", "r"}, "y", "yh"),
			[]*Value{nnVal(f, 3, 2, 4), nnVal(f, 1, 6, 4), nnVal(f, 1, 6, 6)}, []string{"[3,1,2,6]", "[1,2,6]"}, ""},
		{"lstm wrong W", nnIO(nnNode("LSTM", nnIntA("hidden_size", 5)), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 7, 1, 3), nnVal(f, 1, 15, 3), nnVal(f, 1, 20, 5)}, nil, "input W has shape [1,15,3], expected [1,20,3]"},
		{"bad direction", nnIO(nnNode("GRU", nnIntA("hidden_size", 2), nnStr("direction", "both")), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 1, 1, 1), nnVal(f, 1, 6, 1), nnVal(f, 1, 6, 2)}, nil, `unsupported direction "both"`},
		{"activation count", nnIO(nnNode("LSTM", nnIntA("hidden_size", 2), strs("activations", "Tanh")), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 1, 1, 1), nnVal(f, 1, 8, 1), nnVal(f, 1, 8, 2)}, nil, "activations lists 1 functions, expected 3"},
		{"unknown activation", nnIO(nnNode("RNN", nnIntA("hidden_size", 2), strs("activations", "Gelu")), []string{"x", "w", "r"}, "y"),
			[]*Value{nnVal(f, 1, 1, 1), nnVal(f, 1, 2, 1), nnVal(f, 1, 2, 2)}, nil, `unsupported activation "Gelu"`},
		{"sequence_lens type", nnIO(nnNode("RNN", nnIntA("hidden_size", 2)), []string{"x", "w", "r", "", "s"}, "y"),
			[]*Value{nnVal(f, 1, 1, 1), nnVal(f, 1, 2, 1), nnVal(f, 1, 2, 2), nil, nnVal(Int64, 1)}, nil, "sequence_lens is int64, expected int32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := nnInferOne(t, 14, tc.node, tc.ins, nil)
			if nnExpectErr(t, err, tc.wantErr, tc.node.OpType) {
				return
			}
			for i, want := range tc.want {
				assert.Equal(t, want, g.Values[tc.node.Outputs[i]].Shape.String(), "output %d", i)
			}
		})
	}
}

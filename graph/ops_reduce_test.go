package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInferReduceShapes(t *testing.T) {
	f := Float32
	axes := func(v ...int64) map[string]*Tensor { return map[string]*Tensor{"a": FromInt64([]int{len(v)}, v)} }
	cases := []struct {
		name    string
		opset   int64
		node    *Node
		ins     []*Value
		consts  map[string]*Tensor
		want    string
		wantErr string
	}{
		{"all axes keepdims", 13, nnIO(nnNode("ReduceMean"), []string{"x"}, "y"), []*Value{nnVal(f, -1, 3, 4)}, nil, "[1,1,1]", ""},
		{"attr axes", 13, nnIO(nnNode("ReduceMax", nnInts("axes", -1, 1), nnIntA("keepdims", 0)), []string{"x"}, "y"), []*Value{nnVal(f, -1, 3, 4)}, nil, "[N]", ""},
		{"sum axes input", 13, nnIO(nnNode("ReduceSum"), []string{"x", "a"}, "y"), []*Value{nnVal(f, 2, 3, 4), nnVal(Int64, 1)}, axes(1), "[2,1,4]", ""},
		{"sum empty axes noop", 13, nnIO(nnNode("ReduceSum", nnIntA("noop_with_empty_axes", 1)), []string{"x", "a"}, "y"), []*Value{nnVal(f, 2, 3, 4), nnVal(Int64, 0)}, axes(), "[2,3,4]", ""},
		{"sum dynamic axes keepdims", 13, nnIO(nnNode("ReduceSum"), []string{"x", "a"}, "y"), []*Value{nnVal(f, 2, 3, 4), nnVal(Int64, 1)}, nil, "[?,?,?]", ""},
		{"sum opset 11 attr", 11, nnIO(nnNode("ReduceSum", nnInts("axes", 0)), []string{"x"}, "y"), []*Value{nnVal(f, 2, 3)}, nil, "[1,3]", ""},
		{"sum opset 13 rejects attr", 13, nnIO(nnNode("ReduceSum", nnInts("axes", 0)), []string{"x"}, "y"), []*Value{nnVal(f, 2, 3)}, nil, "", "axes is an input from opset 13"},
		{"axis out of range", 13, nnIO(nnNode("ReduceL2", nnInts("axes", 3)), []string{"x"}, "y"), []*Value{nnVal(f, 2, 3)}, nil, "", "axis 3 is out of range"},
		{"repeated axis", 13, nnIO(nnNode("ReduceProd", nnInts("axes", 1, -1)), []string{"x"}, "y"), []*Value{nnVal(f, 2, 3)}, nil, "", "repeated"},
		{"string input", 13, nnIO(nnNode("ReduceMin"), []string{"x"}, "y"), []*Value{nnVal(String, 2)}, nil, "", "expected a numeric type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := nnInferOne(t, tc.opset, tc.node, tc.ins, tc.consts)
			if nnExpectErr(t, err, tc.wantErr, tc.node.OpType) {
				return
			}
			assert.Equal(t, tc.want, g.Values["y"].Shape.String())
		})
	}
}

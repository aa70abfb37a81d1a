package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The QOperator schemas live in graph: these run without the runtime linked.
func TestInferQOperatorShapes(t *testing.T) {
	u8, i8 := Uint8, Int8
	scalar := func(dt DType) *Value { return &Value{DType: dt, Shape: Shape{}, HasShape: true} }
	cases := []struct {
		name   string
		node   *Node
		ins    []*Value
		want   string
		wantDT DType
	}{
		{"QLinearConv", nnIO(nnNode("QLinearConv", nnInts("pads", 1, 1, 1, 1)), []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, "y"),
			[]*Value{nnVal(u8, -1, 3, 8, 8), scalar(Float32), scalar(u8), nnVal(i8, 4, 3, 3, 3), scalar(Float32), scalar(i8), scalar(Float32), scalar(u8)},
			"[N,4,8,8]", u8},
		{"ConvInteger", nnIO(nnNode("ConvInteger"), []string{"x", "w"}, "y"),
			[]*Value{nnVal(u8, 1, 3, 8, 8), nnVal(i8, 4, 3, 3, 3)}, "[1,4,6,6]", Int32},
		{"QLinearMatMul", nnIO(nnNode("QLinearMatMul"), []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, "y"),
			[]*Value{nnVal(i8, -1, 16), scalar(Float32), scalar(i8), nnVal(i8, 16, 10), scalar(Float32), scalar(i8), scalar(Float32), scalar(i8)},
			"[N,10]", i8},
		{"MatMulInteger", nnIO(nnNode("MatMulInteger"), []string{"a", "b"}, "y"),
			[]*Value{nnVal(u8, 2, 16), nnVal(i8, 16, 10)}, "[2,10]", Int32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := nnInferOne(t, 13, tc.node, tc.ins, nil)
			require.NoError(t, err)
			v := g.Values["y"]
			require.NotNil(t, v)
			assert.Equal(t, tc.want, v.Shape.String())
			assert.Equal(t, tc.wantDT, v.DType)
		})
	}
}

func TestIsQuantized(t *testing.T) {
	for _, op := range []string{"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
		"ConvInteger", "MatMulInteger", "QLinearAdd", "QLinearMul", "QLinearGlobalAveragePool", "QLinearSigmoid",
		"QLinearLeakyRelu", "QLinearConcat", "QLinearSoftmax"} {
		assert.True(t, IsQuantizedOp(op), op)
		g := &Graph{Nodes: []*Node{{OpType: "Relu"}, {OpType: op}}}
		assert.True(t, g.IsQuantized(), op)
	}
	assert.False(t, IsQuantizedOp("Conv"))
	assert.False(t, (&Graph{Nodes: []*Node{{OpType: "Conv"}, {OpType: "Relu"}}}).IsQuantized())
}

func TestModelClone(t *testing.T) {
	x := &Value{Name: "x", DType: Float32, Shape: ShapeOf(1, 2), HasShape: true}
	m := &Model{
		Graph: &Graph{
			Name: "g", Inputs: []*Value{x}, Outputs: []*Value{{Name: "y", DType: Float32}},
			Values:       map[string]*Value{"x": x},
			Initializers: map[string]*Tensor{"w": FromFloat32([]int{1}, []float32{1})},
			Nodes:        []*Node{{Name: "n", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}}},
		},
		Opsets:   map[string]int64{"": 13},
		Metadata: map[string]string{"k": "v"},
	}
	c := m.Clone()
	c.Graph.Nodes[0].Inputs[0] = "z"
	c.Graph.Inputs[0].Shape[1] = Dim{Size: 7}
	c.Graph.Values["x"].Name = "changed"
	c.Opsets[""] = 17
	c.Metadata["k"] = "w"
	assert.Equal(t, "x", m.Graph.Nodes[0].Inputs[0])
	assert.Equal(t, 2, m.Graph.Inputs[0].Shape[1].Size)
	assert.Equal(t, "x", m.Graph.Values["x"].Name)
	assert.Equal(t, int64(13), m.Opsets[""])
	assert.Equal(t, "v", m.Metadata["k"])
	assert.Same(t, m.Graph.Initializers["w"], c.Graph.Initializers["w"], "tensors are shared")
}

package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestShapeOps(t *testing.T) {
	x23 := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	s := func(d ...int) []int { return d }
	runNodeCases(t, []nodeCase{
		{name: "Reshape 0 and -1", node: mk("Reshape", 2, 1), inputs: []*graph.Tensor{x23, i64(s(2), 0, -1)}, want: []*graph.Tensor{f32(s(2, 3), 1, 2, 3, 4, 5, 6)}},
		{name: "Reshape allowzero", opset: 14, node: mk("Reshape", 2, 1, aInt("allowzero", 1)), inputs: []*graph.Tensor{f32(s(0, 3)), i64(s(2), 3, 0)}, want: []*graph.Tensor{f32(s(3, 0))}},
		{name: "Reshape two -1", node: mk("Reshape", 2, 1), inputs: []*graph.Tensor{x23, i64(s(2), -1, -1)}, wantErr: "more than one -1"},
		{name: "Reshape wrong count", node: mk("Reshape", 2, 1), inputs: []*graph.Tensor{x23, i64(s(2), 4, 2)}, wantErr: "cannot reshape"},
		{name: "Flatten axis 0", node: mk("Flatten", 1, 1, aInt("axis", 0)), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(1, 6), 1, 2, 3, 4, 5, 6)}},
		{name: "Transpose default reverses", node: mk("Transpose", 1, 1), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(3, 2), 1, 4, 2, 5, 3, 6)}},
		{name: "Transpose bad perm", node: mk("Transpose", 1, 1, aInts("perm", 0, 0)), inputs: []*graph.Tensor{x23}, wantErr: "perm"},
		{name: "Concat axis 1 with empty input", node: mk("Concat", 3, 1, aInt("axis", 1)), inputs: []*graph.Tensor{x23, f32(s(2, 0)), f32(s(2, 1), 7, 8)}, want: []*graph.Tensor{f32(s(2, 4), 1, 2, 3, 7, 4, 5, 6, 8)}},
		{name: "Concat mismatched shapes", node: mk("Concat", 2, 1, aInt("axis", 0)), inputs: []*graph.Tensor{x23, f32(s(1, 2), 1, 2)}, wantErr: "Concat"},
		{name: "Split opset 11 attribute", opset: 11, node: mk("Split", 1, 2, aInt("axis", 1), aInts("split", 1, 2)), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(2, 1), 1, 4), f32(s(2, 2), 2, 3, 5, 6)}},
		{name: "Split opset 13 input", opset: 13, node: mk("Split", 2, 2, aInt("axis", -1)), inputs: []*graph.Tensor{x23, i64(s(2), 2, 1)}, want: []*graph.Tensor{f32(s(2, 2), 1, 2, 4, 5), f32(s(2, 1), 3, 6)}},
		{name: "Split equal parts", node: mk("Split", 1, 2), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(1, 3), 1, 2, 3), f32(s(1, 3), 4, 5, 6)}},
		{name: "Split attribute at opset 13", opset: 13, node: mk("Split", 1, 2, aInt("axis", 1), aInts("split", 1, 2)), inputs: []*graph.Tensor{x23}, wantErr: "became an input"},
		{name: "Split uneven", node: mk("Split", 1, 2, aInt("axis", 1)), inputs: []*graph.Tensor{x23}, wantErr: "equal parts"},
		{name: "Slice opset 9 attributes", opset: 9, node: mk("Slice", 1, 1, aInts("starts", 1), aInts("ends", 1000), aInts("axes", 1)), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(2, 2), 2, 3, 5, 6)}},
		{name: "Slice negative step", node: mk("Slice", 5, 1), inputs: []*graph.Tensor{x23, i64(s(1), -1), i64(s(1), math.MinInt64), i64(s(1), 1), i64(s(1), -2)}, want: []*graph.Tensor{f32(s(2, 2), 3, 1, 6, 4)}},
		{name: "Slice empty", node: mk("Slice", 3, 1), inputs: []*graph.Tensor{x23, i64(s(1), 5), i64(s(1), 9)}, want: []*graph.Tensor{f32(s(0, 3))}},
		{name: "Slice zero step", node: mk("Slice", 5, 1), inputs: []*graph.Tensor{x23, i64(s(1), 0), i64(s(1), 1), i64(s(1), 0), i64(s(1), 0)}, wantErr: "step"},
		{name: "Squeeze opset 11 attribute", opset: 11, node: mk("Squeeze", 1, 1, aInts("axes", 0)), inputs: []*graph.Tensor{f32(s(1, 2), 1, 2)}, want: []*graph.Tensor{f32(s(2), 1, 2)}},
		{name: "Squeeze all ones", node: mk("Squeeze", 1, 1), inputs: []*graph.Tensor{f32(s(1, 2, 1), 1, 2)}, want: []*graph.Tensor{f32(s(2), 1, 2)}},
		{name: "Squeeze non-one axis", node: mk("Squeeze", 2, 1), inputs: []*graph.Tensor{x23, i64(s(1), 0)}, wantErr: "not 1"},
		{name: "Unsqueeze opset 11 attribute", opset: 11, node: mk("Unsqueeze", 1, 1, aInts("axes", 0, 3)), inputs: []*graph.Tensor{x23}, want: []*graph.Tensor{f32(s(1, 2, 3, 1), 1, 2, 3, 4, 5, 6)}},
		{name: "Unsqueeze duplicate axes", node: mk("Unsqueeze", 2, 1), inputs: []*graph.Tensor{x23, i64(s(2), 1, 1)}, wantErr: "repeated"},
		{name: "Gather axis 1 with negative index", node: mk("Gather", 2, 1, aInt("axis", 1)), inputs: []*graph.Tensor{x23, i64(s(2), -1, 0)}, want: []*graph.Tensor{f32(s(2, 2), 3, 1, 6, 4)}},
		{name: "Gather scalar index", node: mk("Gather", 2, 1), inputs: []*graph.Tensor{x23, i32(nil, 1)}, want: []*graph.Tensor{f32(s(3), 4, 5, 6)}},
		{name: "Gather out of range", node: mk("Gather", 2, 1), inputs: []*graph.Tensor{x23, i64(s(1), 2)}, wantErr: "out of range"},
		{name: "GatherElements axis 1", node: mk("GatherElements", 2, 1, aInt("axis", 1)), inputs: []*graph.Tensor{x23, i64(s(2, 2), 2, 0, -1, 1)}, want: []*graph.Tensor{f32(s(2, 2), 3, 1, 6, 5)}},
		{name: "ConstantOfShape int64", node: mk("ConstantOfShape", 1, 1, &graph.Attr{Name: "value", Type: graph.AttrTensor, T: i64(s(1), 7)}), inputs: []*graph.Tensor{i64(s(2), 2, 1)}, want: []*graph.Tensor{i64(s(2, 1), 7, 7)}},
		{name: "ConstantOfShape default", node: mk("ConstantOfShape", 1, 1), inputs: []*graph.Tensor{i64(s(1), 2)}, want: []*graph.Tensor{f32(s(2), 0, 0)}},
		{name: "ConstantOfShape 2^40 elements", node: mk("ConstantOfShape", 1, 1), inputs: []*graph.Tensor{i64(s(2), 1<<20, 1<<20)}, wantErr: "elements"},
		{name: "Expand", node: mk("Expand", 2, 1), inputs: []*graph.Tensor{f32(s(2, 1), 1, 2), i64(s(3), 2, 1, 3)}, want: []*graph.Tensor{f32(s(2, 2, 3), 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2)}},
		{name: "Tile", node: mk("Tile", 2, 1), inputs: []*graph.Tensor{f32(s(1, 2), 1, 2), i64(s(2), 2, 2)}, want: []*graph.Tensor{f32(s(2, 4), 1, 2, 1, 2, 1, 2, 1, 2)}},
		{name: "Range int negative delta", node: mk("Range", 3, 1), inputs: []*graph.Tensor{i32(nil, 10), i32(nil, 4), i32(nil, -3)}, want: []*graph.Tensor{i32(s(2), 10, 7)}},
		{name: "Range empty", node: mk("Range", 3, 1), inputs: []*graph.Tensor{f32(nil, 1), f32(nil, 0), f32(nil, 1)}, want: []*graph.Tensor{f32(s(0))}},
		{name: "Range zero delta", node: mk("Range", 3, 1), inputs: []*graph.Tensor{f32(nil, 1), f32(nil, 0), f32(nil, 0)}, wantErr: "delta"},
		{name: "Trilu lower k=-1", node: mk("Trilu", 2, 1, aInt("upper", 0)), inputs: []*graph.Tensor{f32(s(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9), i64(nil, -1)}, want: []*graph.Tensor{f32(s(3, 3), 0, 0, 0, 4, 0, 0, 7, 8, 0)}},
		{name: "ArgMax select last", node: mk("ArgMax", 1, 1, aInt("axis", 1), aInt("keepdims", 0), aInt("select_last_index", 1)), inputs: []*graph.Tensor{f32(s(2, 3), 5, 1, 5, 0, 0, 0)}, want: []*graph.Tensor{i64(s(2), 2, 2)}},
		{name: "ArgMin first", node: mk("ArgMin", 1, 1), inputs: []*graph.Tensor{i32(s(3), 4, 2, 2)}, want: []*graph.Tensor{i64(s(1), 1)}},
		{name: "TopK opset 9 attribute", opset: 9, node: mk("TopK", 1, 2, aInt("k", 2)), inputs: []*graph.Tensor{f32(s(1, 4), 3, 9, 1, 9)}, want: []*graph.Tensor{f32(s(1, 2), 9, 9), i64(s(1, 2), 1, 3)}},
		{name: "TopK smallest", node: mk("TopK", 2, 2, aInt("largest", 0), aInt("axis", 0)), inputs: []*graph.Tensor{i64(s(4), 3, 9, 1, 9), i64(s(1), 3)}, want: []*graph.Tensor{i64(s(3), 1, 3, 9), i64(s(3), 2, 0, 1)}},
		{name: "TopK K too large", node: mk("TopK", 2, 2), inputs: []*graph.Tensor{f32(s(2), 1, 2), i64(s(1), 3)}, wantErr: "out of range"},
		{name: "SpaceToDepth then shape", node: mk("SpaceToDepth", 1, 1, aInt("blocksize", 2)), inputs: []*graph.Tensor{f32(s(1, 1, 2, 2), 1, 2, 3, 4)}, want: []*graph.Tensor{f32(s(1, 4, 1, 1), 1, 2, 3, 4)}},
		{name: "DepthToSpace indivisible", node: mk("DepthToSpace", 1, 1, aInt("blocksize", 2)), inputs: []*graph.Tensor{f32(s(1, 2, 1, 1), 1, 2)}, wantErr: "divisible"},
		{name: "Shape start/end", opset: 15, node: mk("Shape", 1, 1, aInt("start", -2), aInt("end", -1)), inputs: []*graph.Tensor{graph.NewTensor(graph.Float32, s(2, 3, 4))}, want: []*graph.Tensor{i64(s(1), 3)}},
		{name: "CumSum reverse exclusive", node: mk("CumSum", 2, 1, aInt("reverse", 1), aInt("exclusive", 1)), inputs: []*graph.Tensor{i64(s(4), 1, 2, 3, 4), i32(nil, 0)}, want: []*graph.Tensor{i64(s(4), 9, 7, 4, 0)}},
		{name: "NonZero", node: mk("NonZero", 1, 1), inputs: []*graph.Tensor{bools(s(2, 2), true, false, false, true)}, want: []*graph.Tensor{i64(s(2, 2), 0, 1, 0, 1)}},
		{name: "OneHot out of range is all off", opset: 11, node: mk("OneHot", 3, 1), inputs: []*graph.Tensor{i64(s(3), 0, -1, 7), f32(nil, 3), f32(s(2), 0, 5)}, want: []*graph.Tensor{f32(s(3, 3), 5, 0, 0, 0, 0, 5, 0, 0, 0)}},
		{name: "GatherND batch dims mismatch", node: mk("GatherND", 2, 1, aInt("batch_dims", 1)), inputs: []*graph.Tensor{x23, i64(s(3, 1), 0, 0, 0)}, wantErr: "batch dimension"},
		{name: "ScatterND index out of range", opset: 16, node: mk("ScatterND", 3, 1), inputs: []*graph.Tensor{x23, i64(s(1, 1), 2), f32(s(1, 3), 0, 0, 0)}, wantErr: "out of range"},
		{name: "ScatterND mul", opset: 16, node: mk("ScatterND", 3, 1, aStr("reduction", "mul")), inputs: []*graph.Tensor{x23, i64(s(2, 2), 0, 1, 0, 1), f32(s(2), 2, 3)}, want: []*graph.Tensor{f32(s(2, 3), 1, 12, 3, 4, 5, 6)}},
		{name: "ScatterElements unknown reduction", opset: 16, node: mk("ScatterElements", 3, 1, aStr("reduction", "max")), inputs: []*graph.Tensor{x23, i64(s(1, 1), 0), f32(s(1, 1), 0)}, wantErr: "reduction"},
		{name: "Compress condition too long", node: mk("Compress", 2, 1, aInt("axis", 0)), inputs: []*graph.Tensor{x23, bools(s(3), true, false, true)}, wantErr: "condition"},
		{name: "Compress flattened", node: mk("Compress", 2, 1), inputs: []*graph.Tensor{x23, bools(s(3), false, true, true)}, want: []*graph.Tensor{f32(s(2), 2, 3)}},
		{name: "EyeLike int", node: mk("EyeLike", 1, 1, aInt("k", 1)), inputs: []*graph.Tensor{i32(s(2, 3), 0, 0, 0, 0, 0, 0)}, want: []*graph.Tensor{i32(s(2, 3), 0, 1, 0, 0, 0, 1)}},
		{name: "Hardmax opset 11 coerces to 2-D", opset: 11, node: mk("Hardmax", 1, 1), inputs: []*graph.Tensor{f32(s(1, 2, 2), 1, 3, 3, 2)}, want: []*graph.Tensor{f32(s(1, 2, 2), 0, 1, 0, 0)}},
		{name: "Size", node: mk("Size", 1, 1), inputs: []*graph.Tensor{graph.NewTensor(graph.Float32, s(2, 3, 4))}, want: []*graph.Tensor{i64(nil, 24)}},
	})
}

func TestConstantAttributes(t *testing.T) {
	cases := []struct {
		attr *graph.Attr
		want *graph.Tensor
	}{
		{&graph.Attr{Name: "value", Type: graph.AttrTensor, T: f32([]int{2}, 1, 2)}, f32([]int{2}, 1, 2)},
		{aFloat("value_float", 1.5), f32(nil, 1.5)},
		{&graph.Attr{Name: "value_floats", Type: graph.AttrFloats, Floats: []float32{1, 2}}, f32([]int{2}, 1, 2)},
		{aInt("value_int", 7), i64(nil, 7)},
		{aInts("value_ints", 7, 8), i64([]int{2}, 7, 8)},
	}
	for _, tc := range cases {
		t.Run(tc.attr.Name, func(t *testing.T) {
			n := &graph.Node{Name: "c", OpType: "Constant", Outputs: []string{"y0"}, Attrs: map[string]*graph.Attr{tc.attr.Name: tc.attr}}
			got, err := runSingleNode(t, 13, n)
			require.NoError(t, err)
			require.NoError(t, CompareTensors(got[0], tc.want, ONNXTolerance))
		})
	}
	n := &graph.Node{Name: "c", OpType: "Constant", Outputs: []string{"y0"}, Attrs: map[string]*graph.Attr{}}
	_, err := runSingleNode(t, 13, n)
	require.ErrorContains(t, err, "exactly one value attribute")
}

// TestShapeFolding checks that shape inference folds the Shape -> Gather -> Unsqueeze
// -> Concat -> Reshape chain PyTorch exports for x.view(x.size(0), -1), through the
// runtime's kernels, and keeps the batch symbolic when it is not bound.
func TestShapeFolding(t *testing.T) {
	build := func(batch graph.Dim) *graph.Model {
		g := &graph.Graph{
			Name: "fold",
			Initializers: map[string]*graph.Tensor{
				"zero": i64(nil, 0),
				"ax0":  i64([]int{1}, 0),
				"m1":   i64([]int{1}, -1),
			},
			Values:  map[string]*graph.Value{},
			Inputs:  []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{batch, {Size: 3}, {Size: 4}}, HasShape: true}},
			Outputs: []*graph.Value{{Name: "y"}},
			Nodes: []*graph.Node{
				{Name: "shape", OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
				{Name: "gather", OpType: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}, Attrs: map[string]*graph.Attr{"axis": aInt("axis", 0)}},
				{Name: "unsq", OpType: "Unsqueeze", Inputs: []string{"n", "ax0"}, Outputs: []string{"n1"}},
				{Name: "concat", OpType: "Concat", Inputs: []string{"n1", "m1"}, Outputs: []string{"target"}, Attrs: map[string]*graph.Attr{"axis": aInt("axis", 0)}},
				{Name: "reshape", OpType: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"y"}},
			},
		}
		return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}}
	}
	t.Run("concrete batch", func(t *testing.T) {
		m := build(graph.Dim{Size: 5})
		consts, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()})
		require.NoError(t, err)
		require.Equal(t, []int64{5, -1}, consts["target"].I64())
		y := m.Graph.Values["y"]
		require.True(t, y.HasShape)
		require.Equal(t, "[5,12]", y.Shape.String())
	})
	t.Run("symbolic batch", func(t *testing.T) {
		m := build(graph.Dim{Size: -1, Param: "N"})
		_, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()})
		require.NoError(t, err)
		y := m.Graph.Values["y"]
		require.True(t, y.HasShape)
		require.Len(t, y.Shape, 2)
		// Bound at run time, the same graph computes the right shape.
		s, err := NewSession(m)
		require.NoError(t, err)
		out, err := s.RunTensors(map[string]*graph.Tensor{"x": f32([]int{2, 3, 4}, make([]float32, 24)...)})
		require.NoError(t, err)
		require.Equal(t, []int{2, 12}, out["y"].Shape)
	})
	t.Run("bound batch", func(t *testing.T) {
		m := build(graph.Dim{Size: -1, Param: "N"})
		_, err := m.InferShapes(graph.InferOptions{InputShapes: map[string][]int{"x": {7, 3, 4}}, Eval: ConstEval()})
		require.NoError(t, err)
		require.Equal(t, "[7,12]", m.Graph.Values["y"].Shape.String())
	})
}

// TestKernelsRejectMalformedTensors feeds tensors whose data does not match their
// shape straight to kernels: they must return errors, not panic.
func TestKernelsRejectMalformedTensors(t *testing.T) {
	bads := []*graph.Tensor{
		{DType: graph.Float32, Shape: []int{4}, Data: []float32{1, 2}},
		{DType: graph.Float32, Shape: []int{2}, Data: []float64{1, 2}},
		{DType: graph.Int64, Shape: []int{-1}, Data: []int64{}},
		{DType: graph.Float32, Shape: []int{1}},
	}
	for _, info := range SupportedOps() {
		if info.Domain != "" || info.OpType == "Constant" {
			continue
		}
		n := mk(info.OpType, 1, 1)
		bc := &BuildContext{Node: n, Opset: 17, Threads: 1, Inputs: []*graph.Value{nil}, Consts: []*graph.Tensor{nil}, Outputs: []*graph.Value{nil}}
		var k Kernel
		var err error
		require.NotPanics(t, func() { k, err = info.Build(bc) }, info.OpType)
		if err != nil || k == nil {
			continue
		}
		for _, bad := range bads {
			require.NotPanics(t, func() { _, _ = k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{bad}) }, info.OpType)
			require.NotPanics(t, func() { _, _ = k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{bad, bad, bad}) }, info.OpType)
		}
		require.NotPanics(t, func() { _, _ = k.Run(&ExecContext{Threads: 1}, nil) }, info.OpType)
	}
}

// TestEveryKernelHasSchema: every default-domain operator the runtime executes must
// also have a shape-inference schema, or models using it would fail validation.
func TestEveryKernelHasSchema(t *testing.T) {
	for _, info := range SupportedOps() {
		if info.Domain != "" {
			continue
		}
		require.NotNil(t, graph.LookupOp("", info.OpType), "operator %s has a kernel but no schema", info.OpType)
	}
}

package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Non-tensor values other than sequences of tensors are refused at load with
// what they are; a sequence of tensors is a value of its own (seq_value.go).
func TestNonTensorTypeNamed(t *testing.T) {
	seqOf := func(dt DType) *onnxpb.TypeProto {
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{
			ElemType: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(dt))}}}}}}
	}
	// An optional of a tensor is read as the tensor (a torch.jit.script
	// Optional[Tensor] argument; expand_ops.go): an optional of a list is not.
	opt := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{
		ElemType: seqOf(Float32)}}}
	for _, tc := range []struct {
		name string
		typ  *onnxpb.TypeProto
		want string
	}{
		{"sequence", seqOf(Int64), ""},
		{"optional", opt, `value "toks" is an optional of a non-tensor type`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := modelP([]*onnxpb.NodeProto{nodeP("Identity", []string{"x"}, []string{"y"})},
				[]*onnxpb.ValueInfoProto{tensorVI("x", Float32, 2), {Name: proto.String("toks"), Type: tc.typ}},
				[]*onnxpb.ValueInfoProto{tensorVI("y", Float32, 2)})
			err := loadAndValidate(encodeP(t, m))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "only tensor types are supported")
		})
	}
}

// listLoopModel is torch.jit.script's list append in a loop as torch.onnx writes
// it: s0 = SequenceEmpty; Loop(M, cond, s0) whose body appends t = x * 2 (rank 2,
// declared) to the list; ConcatFromSequence(s, axis, new_axis). bodyExtra adds
// nodes to the body, after, nodes after the ConcatFromSequence.
func listLoopModel(axis, newAxis int64, insertInputs []string, bodyExtra, after []*onnxpb.NodeProto, outs ...*onnxpb.ValueInfoProto) *onnxpb.ModelProto {
	seq := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{
		ElemType: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(Float32))}}}}}}
	iattr := func(name string, v int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
	}
	body := &onnxpb.GraphProto{
		Name:  proto.String("body"),
		Input: []*onnxpb.ValueInfoProto{tensorVI("i", Int64), tensorVI("c", Bool), {Name: proto.String("s_in"), Type: seq}},
		Node: append([]*onnxpb.NodeProto{
			nodeP("Mul", []string{"x", "two"}, []string{"t"}),
			nodeP("Identity", []string{"c"}, []string{"c_out"}),
			nodeP("SequenceInsert", insertInputs, []string{"s_out"}),
		}, bodyExtra...),
		Output:    []*onnxpb.ValueInfoProto{tensorVI("c_out", Bool), {Name: proto.String("s_out"), Type: seq}},
		ValueInfo: []*onnxpb.ValueInfoProto{tensorVI("t", Float32, 2, 3)},
	}
	nodes := append([]*onnxpb.NodeProto{
		nodeP("SequenceEmpty", nil, []string{"s0"}),
		nodeP("Loop", []string{"m", "cond", "s0"}, []string{"s"}, &onnxpb.AttributeProto{
			Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}),
		nodeP("ConcatFromSequence", []string{"s"}, []string{"y"}, iattr("axis", axis), iattr("new_axis", newAxis)),
	}, after...)
	if len(outs) == 0 {
		outs = []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}
	}
	m := modelP(nodes, []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 2, 3)}, outs,
		floatInit("two", nil, 2))
	m.Graph.Initializer = append(m.Graph.Initializer,
		&onnxpb.TensorProto{Name: proto.String("m"), DataType: proto.Int32(int32(Int64)), Int64Data: []int64{3}},
		&onnxpb.TensorProto{Name: proto.String("cond"), DataType: proto.Int32(int32(Bool)), Int32Data: []int32{1}})
	m.Graph.ValueInfo = []*onnxpb.ValueInfoProto{{Name: proto.String("s0"), Type: seq}, {Name: proto.String("s"), Type: seq}}
	return m
}

// The list becomes the Loop's scan output and the ConcatFromSequence a data
// movement of it (values: TestScriptListLoop in cmd/warboy, against ONNX Runtime);
// every other use of the sequence is left as it is, and runs as sequence values
// (values: TestSequenceOpsAsORT in runtime).
func TestListLoopToScan(t *testing.T) {
	perm := func(g *Graph) []int64 {
		for _, n := range g.Nodes {
			if n.OpType == "Transpose" {
				return n.AttrInts("perm", nil)
			}
		}
		return nil
	}
	ops := func(g *Graph) []string {
		var out []string
		for _, n := range g.Nodes {
			out = append(out, n.OpType)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		axis, newAxis int64
		ops           []string
		perm          []int64
	}{
		{"stack at 0", 0, 1, []string{"Loop", "Identity"}, nil},
		{"stack at 2", 2, 1, []string{"Loop", "Transpose"}, []int64{1, 2, 0}},
		{"stack at -1", -1, 1, []string{"Loop", "Transpose"}, []int64{1, 2, 0}},
		{"cat at 0", 0, 0, []string{"Loop", "Constant", "Constant", "Constant", "Constant", "Constant", "Shape", "Slice", "Slice", "Concat", "Reshape"}, nil},
		{"cat at 1", 1, 0, []string{"Loop", "Transpose", "Constant", "Constant", "Constant", "Constant", "Constant", "Shape", "Slice", "Slice", "Concat", "Reshape"}, []int64{1, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(encodeP(t, listLoopModel(tc.axis, tc.newAxis, []string{"s_in", "t"}, nil, nil)))
			require.NoError(t, err)
			assert.Equal(t, tc.ops, ops(m.Graph))
			assert.Equal(t, tc.perm, perm(m.Graph))
			loop := m.Graph.Nodes[0]
			assert.Equal(t, []string{"m", "cond"}, loop.Inputs)
			assert.Equal(t, []string{"s_scan"}, loop.Outputs)
			body := loop.Subgraphs()[0]
			assert.Len(t, body.Inputs, 2)
			require.Len(t, body.Outputs, 2)
			assert.Equal(t, "t", body.Outputs[1].Name)
		})
	}
	for _, tc := range []struct {
		name   string
		insert []string
		extra  []*onnxpb.NodeProto
		after  []*onnxpb.NodeProto
	}{
		{"insert at a position", []string{"s_in", "t", "pos"}, []*onnxpb.NodeProto{nodeP("Constant", nil, []string{"pos"},
			&onnxpb.AttributeProto{Name: proto.String("value_int"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)})}, nil},
		{"list read in the body", []string{"s_in", "t"}, []*onnxpb.NodeProto{nodeP("SequenceLength", []string{"s_in"}, []string{"len"})}, nil},
		{"list read after the loop", []string{"s_in", "t"}, nil, []*onnxpb.NodeProto{nodeP("SequenceLength", []string{"s"}, []string{"n"})}},
		// Concatenated elements may differ in size when the body reads another
		// sequence (torch's repeat_interleave): not a scan output.
		{"cat, the body reads another sequence", []string{"s_in", "t"}, []*onnxpb.NodeProto{
			nodeP("SequenceConstruct", []string{"t"}, []string{"other"}),
			nodeP("SequenceLength", []string{"other"}, []string{"olen"})}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newAxis := int64(1)
			if tc.name == "cat, the body reads another sequence" {
				newAxis = 0
			}
			m, err := Decode(encodeP(t, listLoopModel(1, newAxis, tc.insert, tc.extra, tc.after)))
			require.NoError(t, err)
			assert.Equal(t, []string{"SequenceEmpty", "Loop", "ConcatFromSequence"}, ops(m.Graph)[:3])
			loop := m.Graph.Nodes[1]
			assert.Equal(t, []string{"m", "cond", "s0"}, loop.Inputs)
			_, err = m.InferShapes(InferOptions{Eval: NoFold{}})
			require.NoError(t, err)
			assert.True(t, m.Graph.Values["s"].Seq)
		})
	}
}

// The element's rank can come from the list's declared type alone: in an RWKV's
// WKV loop (rwkv_loop_script_op13 of --unseen13) the appended element is computed
// from loop-carried states torch.onnx leaves untyped, and neither the element nor
// the stacked result has a declared rank.
func TestListLoopToScanRankFromListType(t *testing.T) {
	for _, tc := range []struct {
		name     string
		elemDims int
		wantErr  bool
	}{
		{"rank from the list's element type", 2, false},
		{"no rank anywhere: left as sequence values", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := listLoopModel(2, 1, []string{"s_in", "t"}, nil, nil)
			body := m.Graph.Node[1].Attribute[0].G
			body.Node[0] = nodeP("Shrink", []string{"x"}, []string{"t"}) // no rank rule for Shrink
			body.ValueInfo = nil
			if tc.elemDims >= 0 {
				shape := &onnxpb.TensorShapeProto{}
				for i := 0; i < tc.elemDims; i++ {
					shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{})
				}
				body.Input[2].Type.GetSequenceType().ElemType.GetTensorType().Shape = shape
			}
			g, err := Decode(encodeP(t, m))
			if tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, "Loop", g.Graph.Nodes[1].OpType)
				assert.Equal(t, "ConcatFromSequence", g.Graph.Nodes[2].OpType)
				return
			}
			require.NoError(t, err)
			require.Len(t, g.Graph.Nodes, 2)
			assert.Equal(t, "Transpose", g.Graph.Nodes[1].OpType)
			assert.Equal(t, []int64{1, 2, 0}, g.Graph.Nodes[1].AttrInts("perm", nil))
		})
	}
}

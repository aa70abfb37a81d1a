package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// TestInlineFunctionsRefusals checks the model-local functions that are refused,
// naming the call or the function: one that calls itself, one written for another
// version of the default opset, and a call with more inputs than the function has.
func TestInlineFunctionsRefusals(t *testing.T) {
	fn := func(name string, opset int64, body ...*onnxpb.NodeProto) *onnxpb.FunctionProto {
		return &onnxpb.FunctionProto{Name: proto.String(name), Domain: proto.String("local"), Input: []string{"a"}, Output: []string{"b"},
			Node: body, OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}}
	}
	call := func(op string, ins ...string) *onnxpb.NodeProto {
		n := nodeP(op, ins, []string{"y"})
		n.Domain = proto.String("local")
		return n
	}
	self := nodeP("Loopy", []string{"a"}, []string{"b"})
	self.Domain = proto.String("local")
	cases := []struct {
		name  string
		funcs []*onnxpb.FunctionProto
		node  *onnxpb.NodeProto
		want  string
	}{
		{"recursive", []*onnxpb.FunctionProto{fn("Loopy", 13, self)}, call("Loopy", "x"), "nest deeper than"},
		{"other opset", []*onnxpb.FunctionProto{fn("Old", 9, nodeP("Relu", []string{"a"}, []string{"b"}))}, call("Old", "x"), "imports opset 9"},
		{"too many inputs", []*onnxpb.FunctionProto{fn("Relu1", 13, nodeP("Relu", []string{"a"}, []string{"b"}))}, call("Relu1", "x", "x"), "2 inputs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := modelP([]*onnxpb.NodeProto{tc.node}, []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 2, 3)},
				[]*onnxpb.ValueInfoProto{tensorVI("y", Float32, 2, 3)})
			m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("local"), Version: proto.Int64(1)})
			m.Functions = tc.funcs
			_, err := Decode(encodeP(t, m))
			require.ErrorContains(t, err, tc.want)
		})
	}
	// The happy path: the call becomes the function's node, the local domain's
	// import is dropped.
	m := modelP([]*onnxpb.NodeProto{call("Relu1", "x")}, []*onnxpb.ValueInfoProto{tensorVI("x", Float32, 2, 3)},
		[]*onnxpb.ValueInfoProto{tensorVI("y", Float32, 2, 3)})
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("local"), Version: proto.Int64(1)})
	m.Functions = []*onnxpb.FunctionProto{fn("Relu1", 13, nodeP("Relu", []string{"a"}, []string{"b"}))}
	got, err := Decode(encodeP(t, m))
	require.NoError(t, err)
	require.Len(t, got.Graph.Nodes, 1)
	require.Equal(t, "Relu", got.Graph.Nodes[0].OpType)
	require.Equal(t, []string{"x"}, got.Graph.Nodes[0].Inputs)
	require.Equal(t, []string{"y"}, got.Graph.Nodes[0].Outputs)
	require.NotContains(t, got.Opsets, "local")
}

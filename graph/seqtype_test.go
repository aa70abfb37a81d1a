package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Non-tensor values are refused at load with what they are. torch.jit.script writes
// a list appended to in a loop (greedy_decode_script of --unseen8) as a sequence
// carried through the Loop: before, the message said only "only tensor types are
// supported" and named an anonymous value.
func TestNonTensorTypeNamed(t *testing.T) {
	seqOf := func(dt DType) *onnxpb.TypeProto {
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{
			ElemType: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(dt))}}}}}}
	}
	opt := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{
		ElemType: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(Float32))}}}}}}
	for _, tc := range []struct {
		name string
		typ  *onnxpb.TypeProto
		want string
	}{
		{"sequence", seqOf(Int64), `value "toks" is a sequence of tensor(int64) (SequenceEmpty/SequenceInsert/ConcatFromSequence`},
		{"optional", opt, `value "toks" is an optional of tensor(float32)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := modelP([]*onnxpb.NodeProto{nodeP("Identity", []string{"x"}, []string{"y"})},
				[]*onnxpb.ValueInfoProto{tensorVI("x", Float32, 2), {Name: proto.String("toks"), Type: tc.typ}},
				[]*onnxpb.ValueInfoProto{tensorVI("y", Float32, 2)})
			err := loadAndValidate(encodeP(t, m))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "only tensor types are supported")
		})
	}
}

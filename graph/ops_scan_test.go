package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// scanModel is x [B, 4, 3] -> Scan(state s0 [B, 3], scan input x along inAxis) with a
// body s' = s + e, y = e * s', its scan output stacked along outAxis; opset opset.
func scanModel(opset int64, inAxis, outAxis int64, dims []int64) *onnxpb.ModelProto {
	ints := func(name string, v ...int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
	}
	body := &onnxpb.GraphProto{
		Name:   proto.String("body"),
		Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("s")}, {Name: proto.String("e")}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("s_next")}, {Name: proto.String("y_t")}},
		Node: []*onnxpb.NodeProto{nodeP("Add", []string{"s", "e"}, []string{"s_next"}),
			nodeP("Mul", []string{"e", "s_next"}, []string{"y_t"})},
	}
	scanIns := []string{"s0", "x"}
	axesAttrs := []*onnxpb.AttributeProto{ints("scan_input_axes", inAxis), ints("scan_output_axes", outAxis)}
	if opset < 9 {
		// sequence_lens, then inputs with a batch axis; no axes attributes
		scanIns, axesAttrs = []string{"", "s0", "x"}, []*onnxpb.AttributeProto{ints("directions", 0)}
	}
	x := tensorVI("x", Float32, dims...)
	x.Type.GetTensorType().Shape.Dim[0] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "B"}}
	m := modelP([]*onnxpb.NodeProto{
		nodeP("ReduceSum", []string{"x"}, []string{"s0"}, &onnxpb.AttributeProto{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{inAxis}},
			&onnxpb.AttributeProto{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}),
		nodeP("Scan", scanIns, []string{"s_final", "ys"}, append([]*onnxpb.AttributeProto{
			{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body},
			{Name: proto.String("num_scan_inputs"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)},
		}, axesAttrs...)...),
	}, []*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{{Name: proto.String("s_final")}, {Name: proto.String("ys")}})
	m.OpsetImport[0].Version = proto.Int64(opset)
	return m
}

// Scan's outputs: the final state has the state's shape; a scan output gets the
// sequence length (a symbolic one kept as it is, never guessed) at its axis. At
// opset 8 every input and output has a leading batch axis and the scan axis is 1.
func TestInferScan(t *testing.T) {
	for _, tc := range []struct {
		name             string
		opset            int64
		inAxis, outAxis  int64
		state, ys, error string
	}{
		{"axis 1 to axis 0", 11, 1, 0, "[B,3]", "[4,B,3]", ""},
		{"axis 1 to axis -2", 11, 1, -2, "[B,3]", "[B,4,3]", ""},
		{"symbolic length", 11, 0, 1, "[4,3]", "[4,B,3]", ""},
		{"output axis out of range", 11, 1, 3, "", "", "scan output 0: axis 3 is out of range for rank 3"},
		{"opset 8: a batch axis", 8, 1, 0, "[B,3]", "[B,4,3]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(encodeP(t, scanModel(tc.opset, tc.inAxis, tc.outAxis, []int64{0, 4, 3})))
			require.NoError(t, err)
			_, err = m.InferShapes(InferOptions{Eval: NoFold{}})
			if tc.error != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.error)
				assert.Contains(t, err.Error(), `Scan "Scan_s_final"`)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.state, m.Graph.Values["s_final"].Shape.String())
			assert.Equal(t, tc.ys, m.Graph.Values["ys"].Shape.String())
		})
	}
}

package runtime

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
)

func TestTmpORT(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []struct {
		name  string
		opset int64
		node  *graph.Node
		ins   []*graph.Tensor
	}{
		{"upsample9 down", 9, mk("Upsample", 2, 1), []*graph.Tensor{randF32(r, 1, 1, 5, 7), f32([]int{4}, 1, 1, 0.5, 0.6)}},
		{"upsample9 up frac", 9, mk("Upsample", 2, 1), []*graph.Tensor{randF32(r, 1, 1, 3, 4), f32([]int{4}, 1, 1, 1.5, 2.5)}},
		{"upsample9 linear", 9, mk("Upsample", 2, 1, aStr("mode", "linear")), []*graph.Tensor{randF32(r, 1, 1, 3, 4), f32([]int{4}, 1, 1, 1.5, 2.5)}},
		{"resize10 linear down", 10, mk("Resize", 2, 1, aStr("mode", "linear")), []*graph.Tensor{randF32(r, 1, 1, 5, 7), f32([]int{4}, 1, 1, 0.5, 0.7)}},
		{"resize13 cubic frac", 13, withEmptyInput(mk("Resize", 3, 1, aStr("mode", "cubic")), 1), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, f32([]int{4}, 1, 1, 1.7, 0.6)}},
		{"resize13 linear align down", 13, withEmptyInput(mk("Resize", 3, 1, aStr("mode", "linear"), aStr("coordinate_transformation_mode", "align_corners")), 1), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, f32([]int{4}, 1, 1, 0.6, 0.6)}},
		{"resize13 nearest half", 13, withEmptyInput(mk("Resize", 3, 1), 1), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, f32([]int{4}, 1, 1, 1.7, 0.6)}},
		{"maxpool ceil", 12, mk("MaxPool", 1, 2, aInts("kernel_shape", 3, 2), aInts("strides", 2, 3), aInt("ceil_mode", 1), aInts("pads", 1, 0, 1, 1)), []*graph.Tensor{randF32(r, 2, 3, 8, 9)}},
		{"avgpool ceil incl", 11, mk("AveragePool", 1, 1, aInts("kernel_shape", 3, 2), aInts("strides", 2, 3), aInt("ceil_mode", 1), aInt("count_include_pad", 1), aInts("pads", 1, 0, 1, 1)), []*graph.Tensor{randF32(r, 2, 3, 8, 9)}},
		{"avgpool ceil excl", 11, mk("AveragePool", 1, 1, aInts("kernel_shape", 3, 2), aInts("strides", 2, 3), aInt("ceil_mode", 1), aInts("pads", 1, 0, 1, 1)), []*graph.Tensor{randF32(r, 2, 3, 8, 9)}},
		{"convT out shape", 13, mk("ConvTranspose", 2, 1, aInts("strides", 2, 2), aInts("output_shape", 8, 9)), []*graph.Tensor{randF32(r, 1, 2, 3, 4), randF32(r, 2, 3, 3, 3)}},
		{"convT same upper", 13, mk("ConvTranspose", 2, 1, aInts("strides", 2, 2), aStr("auto_pad", "SAME_UPPER")), []*graph.Tensor{randF32(r, 1, 2, 3, 4), randF32(r, 2, 3, 3, 3)}},
		{"lstm bidi", 14, mk("LSTM", 3, 3, aInt("hidden_size", 3), aStr("direction", "bidirectional")), []*graph.Tensor{randF32(r, 4, 2, 3), randF32(r, 2, 12, 3), randF32(r, 2, 12, 3)}},
		{"gru lbr0 bidi", 14, mk("GRU", 3, 2, aInt("hidden_size", 3), aStr("direction", "bidirectional")), []*graph.Tensor{randF32(r, 4, 2, 3), randF32(r, 2, 9, 3), randF32(r, 2, 9, 3)}},
		{"pytorch half pixel to 1", 13, withEmptyInput(withEmptyInput(mk("Resize", 4, 1, aStr("mode", "linear"), aStr("coordinate_transformation_mode", "pytorch_half_pixel")), 1), 2), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, nil, i64([]int{4}, 1, 2, 1, 3)}},
		{"crop resize nearest", 13, withEmptyInput(mk("Resize", 4, 1, aStr("coordinate_transformation_mode", "tf_crop_and_resize"), aFloat("extrapolation_value", 7)), 2), []*graph.Tensor{randF32(r, 1, 1, 5, 7), f32([]int{8}, 0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3), nil, i64([]int{4}, 1, 1, 4, 6)}},
		{"nearest prefer ceil asym", 13, withEmptyInput(mk("Resize", 3, 1, aStr("nearest_mode", "round_prefer_ceil"), aStr("coordinate_transformation_mode", "asymmetric")), 1), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, f32([]int{4}, 1, 1, 2.5, 0.4)}},
		{"cubic exclude outside half", 13, withEmptyInput(mk("Resize", 3, 1, aStr("mode", "cubic"), aInt("exclude_outside", 1)), 1), []*graph.Tensor{randF32(r, 1, 2, 5, 7), nil, f32([]int{4}, 1, 1, 2.5, 0.4)}},
		{"conv grouped dilated", 13, mk("Conv", 3, 1, aInt("group", 2), aInts("dilations", 2, 1), aInts("strides", 1, 2), aInts("pads", 1, 2, 0, 1)), []*graph.Tensor{randF32(r, 2, 4, 9, 8), randF32(r, 6, 2, 3, 3), randF32(r, 6)}},
		{"pad reflect", 13, mk("Pad", 2, 1, aStr("mode", "reflect")), []*graph.Tensor{randF32(r, 2, 3, 4), i64([]int{6}, 0, 2, 3, 1, 1, 2)}},
		{"instancenorm", 6, mk("InstanceNormalization", 3, 1), []*graph.Tensor{randF32(r, 2, 3, 4, 5), randF32(r, 3), randF32(r, 3)}},
		{"lrn even", 13, mk("LRN", 1, 1, aInt("size", 4)), []*graph.Tensor{randF32(r, 1, 6, 2, 2)}},
		{"softmax11", 11, mk("Softmax", 1, 1, aInt("axis", 1)), []*graph.Tensor{randF32(r, 2, 3, 4)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Name: "g", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
			feed := map[string]*graph.Tensor{}
			for i, nm := range tc.node.Inputs {
				if nm == "" {
					continue
				}
				if i > 0 && tc.ins[i].DType != graph.Float32 || tc.node.OpType == "Upsample" && i == 1 || tc.node.OpType == "Resize" && i > 0 {
					g.Initializers[nm] = tc.ins[i]
					continue
				}
				g.Inputs = append(g.Inputs, &graph.Value{Name: nm, DType: tc.ins[i].DType, Shape: graph.ShapeOf(tc.ins[i].Shape...), HasShape: true})
				feed[nm] = tc.ins[i]
			}
			g.Nodes = []*graph.Node{tc.node}
			m := &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": tc.opset}}
			_, err := m.InferShapes(graph.InferOptions{})
			require.NoError(t, err)
			for _, o := range tc.node.Outputs {
				g.Outputs = append(g.Outputs, g.Values[o])
			}
			s, err := NewSession(m)
			require.NoError(t, err)
			ours, err := s.RunTensors(feed)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "m.onnx")
			require.NoError(t, m.Save(path))
			ref, err := ortoracle.Run(path, feed, 1)
			require.NoError(t, err)
			for _, o := range tc.node.Outputs {
				require.NoError(t, CompareTensors(ours[o], ref[o], Tolerance{Rtol: 1e-4, Atol: 1e-5}), o)
			}
		})
	}
}

package zoo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func opCounts(m *graph.Model) map[string]int {
	c := map[string]int{}
	for _, n := range m.Graph.Nodes {
		c[n.OpType]++
	}
	return c
}

// The architectures match the reference models: parameter and MAC counts of the
// published networks, the TFLite layout of MobileNet v1, SSD's feature maps.
func TestZooArchitectures(t *testing.T) {
	tests := []struct {
		name           string
		params, macs   float64 // reference counts, checked to 1%
		ops            map[string]int
		outputs        map[string][]int
		noParamMACsChk bool
	}{
		{name: "resnet50", params: 25.557e6, macs: 4.089e9,
			ops:     map[string]int{"Conv": 53, "Relu": 49, "Add": 16, "MaxPool": 1, "GlobalAveragePool": 1, "Gemm": 1},
			outputs: map[string][]int{"logits": {1, 1000}}},
		{name: "mobilenet_v1", params: 4.231e6, macs: 0.569e9,
			ops:     map[string]int{"Conv": 28, "Pad": 4, "Clip": 27, "AveragePool": 1, "Reshape": 1, "Softmax": 1},
			outputs: map[string][]int{"probs": {1, 1001}}},
		{name: "ssd_resnet34",
			outputs: map[string][]int{"loc0": {1, 16, 50, 50}, "conf0": {1, 324, 50, 50}, "conf1": {1, 486, 25, 25},
				"loc2": {1, 24, 13, 13}, "conf3": {1, 486, 7, 7}, "loc4": {1, 16, 3, 3}, "conf5": {1, 324, 3, 3}},
			noParamMACsChk: true},
		{name: "tiny_cnn", outputs: map[string][]int{"logits": {1, 10}}, noParamMACsChk: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build("zoo:"+tc.name, Options{})
			require.NoError(t, err)
			shapes, err := graph.ResolveInputShapes(m.Graph, 1, nil)
			require.NoError(t, err)
			_, err = m.InferShapes(graph.InferOptions{InputShapes: shapes, Eval: runtime.ConstEval()})
			require.NoError(t, err)
			for name, want := range tc.outputs {
				v := m.Graph.Values[name]
				require.NotNil(t, v, name)
				got, ok := v.Shape.Concrete()
				require.True(t, ok, name)
				require.Equal(t, want, got, name)
			}
			counts := opCounts(m)
			for op, n := range tc.ops {
				require.Equal(t, n, counts[op], op)
			}
			if tc.noParamMACsChk {
				return
			}
			var macs int64
			for _, n := range m.Graph.Nodes {
				macs += m.Graph.MACs(n)
			}
			require.InEpsilon(t, tc.params, float64(m.Graph.ParamCount()), 0.01, "parameters")
			require.InEpsilon(t, tc.macs, float64(macs), 0.01, "MACs")
		})
	}
}

func TestZooIsDeterministic(t *testing.T) {
	a := TinyCNN(Options{})
	b := TinyCNN(Options{})
	c := TinyCNN(Options{Seed: 2})
	w := "conv1.weight"
	require.Equal(t, a.Graph.Initializers[w].F32(), b.Graph.Initializers[w].F32())
	require.NotEqual(t, a.Graph.Initializers[w].F32(), c.Graph.Initializers[w].F32())
}

func TestZooOptions(t *testing.T) {
	m := ResNet50(Options{ExplicitBN: true, Batch: 2})
	require.Equal(t, 53, opCounts(m)["BatchNormalization"])
	require.Equal(t, 2, m.Graph.Inputs[0].Shape[0].Size)
	_, err := Build("zoo:alexnet", Options{})
	require.ErrorContains(t, err, "no model")
	require.Contains(t, Names(), "resnet50")
	require.NotEmpty(t, Describe("mobilenet_v1"))
}

func TestQuantizedIsQDQ(t *testing.T) {
	q, err := Quantized(TinyCNN(Options{}))
	require.NoError(t, err)
	counts := opCounts(q)
	require.Positive(t, counts["QuantizeLinear"])
	require.Positive(t, counts["DequantizeLinear"])
	require.Equal(t, "synthetic", q.Metadata["warboy.quantization.method"])
}

// YOLOv5 v6.x against the parameter and FLOP counts ultralytics prints for its
// models (params; GFLOPs = 2 x MACs at 640x640, the P6 models too). The BatchNorm
// folding, Detect biases and SiLU are as exported; MACs count convolutions only.
func TestZooYOLOv5(t *testing.T) {
	tests := []struct {
		name      string
		params    float64
		gflops640 float64
		outputs   map[string][]int
	}{
		{"yolov5n", 1.867e6, 4.5, map[string][]int{"p3": {1, 255, 80, 80}, "p5": {1, 255, 20, 20}}},
		{"yolov5s", 7.226e6, 16.5, nil},
		{"yolov5m", 21.17e6, 49.0, nil},
		{"yolov5l", 46.53e6, 109.1, nil},
		{"yolov5x", 86.71e6, 205.7, nil},
		{"yolov5n6", 3.24e6, 4.6, map[string][]int{"p3": {1, 255, 160, 160}, "p6": {1, 255, 20, 20}}},
		{"yolov5s6", 12.64e6, 16.8, nil},
		{"yolov5m6", 35.74e6, 50.0, nil},
		{"yolov5l6", 76.81e6, 111.4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.name, Options{ShapeOnly: true})
			require.NoError(t, err)
			shapes, err := graph.ResolveInputShapes(m.Graph, 1, nil)
			require.NoError(t, err)
			_, err = m.InferShapes(graph.InferOptions{InputShapes: shapes, Eval: runtime.ConstEval()})
			require.NoError(t, err)
			for name, want := range tc.outputs {
				got, ok := m.Graph.Values[name].Shape.Concrete()
				require.True(t, ok, name)
				require.Equal(t, want, got, name)
			}
			var macs int64
			for _, n := range m.Graph.Nodes {
				macs += m.Graph.MACs(n)
			}
			scale := 1.0
			if m.Graph.Inputs[0].Shape[2].Size == 1280 {
				scale = 4
			}
			require.InEpsilon(t, tc.params, float64(m.Graph.ParamCount()), 0.02, "parameters")
			require.InEpsilon(t, tc.gflops640*scale, 2*float64(macs)/1e9, 0.03, "GFLOPs")
			counts := opCounts(m)
			require.Equal(t, counts["Conv"], counts["Sigmoid"]+len(m.Graph.Outputs), "every Conv but Detect's has a SiLU")
		})
	}
}

// ShapeOnly builds the same graph without weight data.
func TestZooShapeOnly(t *testing.T) {
	full, err := Build("yolov5n", Options{})
	require.NoError(t, err)
	shapes, err := Build("yolov5n", Options{ShapeOnly: true})
	require.NoError(t, err)
	require.Equal(t, full.Graph.ParamCount(), shapes.Graph.ParamCount())
	require.Equal(t, opCounts(full), opCounts(shapes))
	w := "conv1.weight"
	require.Len(t, full.Graph.Initializers[w].F32(), full.Graph.Initializers[w].Len())
	require.Empty(t, shapes.Graph.Initializers[w].F32())
}

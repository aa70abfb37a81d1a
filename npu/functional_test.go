package npu_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// One Simulate call returns the timing and the outputs the int8 runtime computes.
func TestFunctionalAndTimingInOneRun(t *testing.T) {
	q, err := zoo.Quantized(zooModel(t, "tiny_cnn"))
	require.NoError(t, err)
	inputs, err := npu.RandomInputs(q, 2, 7)
	require.NoError(t, err)
	r, err := npu.Simulate(q, npu.Config{Batch: 2, Functional: true, Inputs: inputs})
	require.NoError(t, err)
	require.Positive(t, r.LatencyUS)
	require.Equal(t, "int8", r.FunctionalMode)
	sess, err := runtime.NewSession(q)
	require.NoError(t, err)
	want, err := sess.RunTensors(inputs)
	require.NoError(t, err)
	require.Equal(t, []int{2, 10}, r.Outputs["logits"].Shape)
	require.Equal(t, want["logits"].F32(), r.Outputs["logits"].F32())
}

// The quantized zoo model and the float model timed as int8 compile to the same
// program: Q/DQ pairs fold into the operators' requantisation.
func TestQDQAndAssumeInt8TimeTheSame(t *testing.T) {
	for _, name := range []string{"tiny_cnn", "mobilenet_v1", "yolov5n"} {
		t.Run(name, func(t *testing.T) {
			m := zooModel(t, name)
			if strings.HasPrefix(name, "yolo") {
				// Quantizing needs the weights the timing models skip.
				var err error
				m, err = zoo.Build(name, zoo.Options{})
				require.NoError(t, err)
			}
			q, err := zoo.Quantized(m)
			require.NoError(t, err)
			a, err := npu.Simulate(q, npu.Config{PreLowered: true})
			require.NoError(t, err)
			b, err := npu.Simulate(m, npu.Config{PreLowered: true, AssumeInt8: true})
			require.NoError(t, err)
			require.Len(t, a.Ops, len(b.Ops))
			require.InDelta(t, b.LatencyUS, a.LatencyUS, 1e-6)
			require.Equal(t, b.DRAMBytes, a.DRAMBytes)
			require.Empty(t, a.HostFallbacks)
			if name == "yolov5n" {
				// SiLU (Sigmoid + Mul on a conv output with two consumers) fuses into
				// the convolution in the QDQ graph too: 57 of the 60 convolutions.
				silu := 0
				for _, op := range a.Ops {
					if strings.Contains(strings.Join(op.Fused, "+"), "Sigmoid+Mul") {
						silu++
					}
					require.NotEqual(t, "Sigmoid", op.OpType)
					require.NotEqual(t, "Mul", op.OpType)
				}
				require.Equal(t, 57, silu)
			}
		})
	}
}

// sharedModel finds a model of shared/models (next to the checkout) or its copy in
// testdata.
func sharedModel(t *testing.T, name string) string {
	for _, p := range []string{"../../shared/models/" + name, "../testdata/models/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not found", name)
	return ""
}

// A float model exported from PyTorch simulates without manual steps: it is
// quantized on random data first, like furiosa-litmus.
func TestFloatModelFromPyTorchSimulates(t *testing.T) {
	m, err := graph.Load(sharedModel(t, "fmnist_resnet.onnx"))
	require.NoError(t, err)
	r, prep, err := bench.PrepareAndSimulate(m, npu.Config{Functional: true}, bench.PrepareOptions{})
	require.NoError(t, err)
	require.True(t, prep.Quantized)
	require.True(t, prep.RandomData)
	require.Equal(t, "MIN_MAX_ASYM", prep.Method)
	require.Positive(t, r.LatencyUS)
	require.Positive(t, r.MACs)
	require.Empty(t, r.HostFallbacks, "every operator of this ResNet runs on the NPU")
	require.Equal(t, []int{1, 10}, r.Outputs["logits"].Shape)
	convs := 0
	for _, op := range r.Ops {
		if op.Kind == "LowLevelConv2d" {
			convs++
		}
	}
	require.Equal(t, 16, convs, "15 Conv + the Gemm")
}

// Operators the quantizer leaves in float32, or the NPU cannot run, become host
// fallbacks with their cost.
func TestFloatModelWithUnsupportedOperator(t *testing.T) {
	m, err := graph.Load(sharedModel(t, "fmnist_cnn.onnx"))
	require.NoError(t, err)
	g := m.Graph
	out := g.Outputs[0].Name
	g.Nodes = append(g.Nodes, &graph.Node{Name: "log_softmax", OpType: "LogSoftmax", Inputs: []string{out}, Outputs: []string{"log_probs"},
		Attrs: map[string]*graph.Attr{}})
	g.Outputs[0] = &graph.Value{Name: "log_probs", DType: graph.Float32}
	r, _, err := bench.PrepareAndSimulate(m, npu.Config{Batch: 4}, bench.PrepareOptions{Samples: 2})
	require.NoError(t, err)
	require.NotEmpty(t, r.HostFallbacks)
	var found bool
	for _, f := range r.HostFallbacks {
		if f.OpType == "LogSoftmax" {
			found = true
			require.Positive(t, f.CostUS)
			require.NotEmpty(t, f.Reason)
		}
	}
	require.True(t, found, "LogSoftmax on the host: %+v", r.HostFallbacks)
	require.Positive(t, r.Split.HostUS)
}

// QOperator models (QLinearConv, QLinearMatMul) compile like their QDQ twins.
func TestQOperatorModelsSimulate(t *testing.T) {
	m := zooModel(t, "tiny_cnn")
	prep, err := bench.Prepare(m, bench.PrepareOptions{Samples: 2, Format: quantizer.FormatQOperator})
	require.NoError(t, err)
	counts := map[string]int{}
	for _, n := range prep.Model.Graph.Nodes {
		counts[n.OpType]++
	}
	require.Positive(t, counts["QLinearConv"])
	a, err := npu.Simulate(prep.Model, npu.Config{PreLowered: true, Functional: true})
	require.NoError(t, err)
	b, err := npu.Simulate(m, npu.Config{PreLowered: true, AssumeInt8: true})
	require.NoError(t, err)
	require.Empty(t, a.HostFallbacks)
	// The QOperator form writes the Gemm as Reshape -> QLinearConv -> Reshape: two
	// more layout-preserving views of a few cycles each.
	require.InDelta(t, b.LatencyUS, a.LatencyUS, 0.01)
	require.Equal(t, []int{1, 10}, a.Outputs["logits"].Shape)
}

// An operator the quantizer keeps in float32 runs on the host: the int8 NPU cannot
// compute it.
func TestFloatOperatorsOfQDQModelsRunOnTheHost(t *testing.T) {
	m := zooModel(t, "tiny_cnn")
	cal, err := quantizer.NewCalibrator(m, quantizer.MinMaxAsym, quantizer.CalibOptions{})
	require.NoError(t, err)
	ranges := quantizer.Ranges{}
	for _, name := range cal.Tensors() {
		ranges[name] = [2]float32{-8, 8}
	}
	// Keeping conv4 in float makes its output a quantization point of its own.
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			ranges[o] = [2]float32{-8, 8}
		}
	}
	q, err := quantizer.Quantize(m, ranges, quantizer.QuantOptions{Exclude: []string{"conv4"}})
	require.NoError(t, err)
	r, err := npu.Simulate(q, npu.Config{})
	require.NoError(t, err)
	var names []string
	for _, f := range r.HostFallbacks {
		names = append(names, f.Name)
		require.Contains(t, f.Reason, "float32")
	}
	require.Contains(t, names, "conv4")
	for _, op := range r.Ops {
		if op.Name == "conv3" {
			require.Equal(t, npu.EngineNPU, op.Engine, "the other convolutions stay on the NPU")
		}
	}
}

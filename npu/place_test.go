package npu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
	"github.com/warboy-sim/warboy/npu"
)

// gb builds small float32 test graphs on the shared builder, naming values with a
// prefix and a letter ("wb", "Convc").
type gb struct{ *testmodels.Builder }

func newGB(inputs map[string][]int) *gb {
	b := testmodels.New(0)
	b.G.Name = "test"
	b.IRVersion = 7
	b.Namer = func(prefix string, n int) string { return prefix + string(rune('a'+n)) }
	for name, s := range inputs {
		b.Input(name, graph.ShapeOf(s...)...)
	}
	return &gb{b}
}

func (b *gb) weight(shape ...int) string { return b.Init("w", graph.NewTensor(graph.Float32, shape)) }

func (b *gb) ints(v ...int64) string { return b.Init("c", graph.FromInt64([]int{len(v)}, v)) }

func (b *gb) node(op string, in []string, attrs func(n *graph.Node)) string {
	out := b.Name(op)
	n := &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	if attrs != nil {
		attrs(n)
	}
	b.G.Nodes = append(b.G.Nodes, n)
	return out
}

func (b *gb) model(outputs ...string) *graph.Model {
	b.Output(outputs...)
	return b.Model()
}

func conv(b *gb, x string, cin, cout, k, group int, attrs func(n *graph.Node)) string {
	w := b.weight(cout, cin/group, k, k)
	return b.node("Conv", []string{x, w}, func(n *graph.Node) {
		n.SetAttrInt("group", int64(group))
		n.SetAttrInts("pads", []int64{int64(k / 2), int64(k / 2), int64(k / 2), int64(k / 2)})
		if attrs != nil {
			attrs(n)
		}
	})
}

// TestPlacementRules checks the supported-operator rules and limits of warboy.md 1.5:
// what cannot run on the NPU becomes a host fallback with a cost and a reason, never
// an error.
func TestPlacementRules(t *testing.T) {
	tests := []struct {
		name   string
		build  func() (*graph.Model, string) // model and the node to check
		host   bool
		reason string
	}{
		{"depthwise with 512 groups runs on the NPU", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 512, 14, 14}})
			y := conv(b, "x", 512, 512, 3, 512, nil)
			return b.model(y), y
		}, false, ""},
		{"grouped conv above 128 groups", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 512, 14, 14}})
			y := conv(b, "x", 512, 512, 3, 256, nil)
			return b.model(y), y
		}, true, "group 256"},
		{"grouped conv of 32 groups", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 256, 14, 14}})
			y := conv(b, "x", 256, 256, 3, 32, nil)
			return b.model(y), y
		}, false, ""},
		{"dilation above 12", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 16, 64, 64}})
			y := conv(b, "x", 16, 16, 3, 1, func(n *graph.Node) {
				n.SetAttrInts("dilations", []int64{13, 13})
				n.SetAttrInts("pads", []int64{13, 13, 13, 13})
			})
			return b.model(y), y
		}, true, "dilation 13"},
		{"softmax batch 2", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {2, 10}})
			y := b.node("Softmax", []string{"x"}, nil)
			return b.model(y), y
		}, false, ""},
		{"softmax batch 3", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {3, 10}})
			y := b.node("Softmax", []string{"x"}, nil)
			return b.model(y), y
		}, true, "batch 3"},
		{"concat on channels", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}, "z": {1, 8, 16, 16}})
			y := b.node("Concat", []string{"x", "z"}, func(n *graph.Node) { n.SetAttrInt("axis", 1) })
			return b.model(y), y
		}, false, ""},
		{"concat on width", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}, "z": {1, 8, 16, 16}})
			y := b.node("Concat", []string{"x", "z"}, func(n *graph.Node) { n.SetAttrInt("axis", 3) })
			return b.model(y), y
		}, true, "axis 3"},
		{"slice on height", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
			y := b.node("Slice", []string{"x", b.ints(0), b.ints(8), b.ints(2)}, nil)
			return b.model(y), y
		}, false, ""},
		{"slice on width", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
			y := b.node("Slice", []string{"x", b.ints(0), b.ints(8), b.ints(3)}, nil)
			return b.model(y), y
		}, true, "axis 3"},
		{"unsupported operator", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
			y := b.node("Floor", []string{"x"}, nil)
			return b.model(y), y
		}, true, "not supported"},
		{"batch norm not after a conv", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
			r := b.node("Relu", []string{"x"}, nil)
			y := b.node("BatchNormalization", []string{r, b.weight(8), b.weight(8), b.weight(8), b.weight(8)}, nil)
			return b.model(y), y
		}, true, "right after a Conv"},
		{"reflect padding", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
			y := b.node("Pad", []string{"x", b.ints(0, 0, 1, 1, 0, 0, 1, 1)}, func(n *graph.Node) { n.SetAttrString("mode", "reflect") })
			return b.model(y), y
		}, true, "reflect"},
		{"3-D convolution", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 4, 8, 8, 8}})
			w := b.weight(4, 4, 3, 3, 3)
			y := b.node("Conv", []string{"x", w}, nil)
			return b.model(y), y
		}, true, "3-D convolution"},
		// The SDK's documents say nothing of 1-D convolutions (docs/npu.md,
		// "1-D and 3-D convolutions"): a Conv1d stays a host fallback.
		{"1-D convolution", func() (*graph.Model, string) {
			b := newGB(map[string][]int{"x": {1, 16, 100}})
			w := b.weight(32, 16, 3)
			y := b.node("Conv", []string{"x", w}, nil)
			return b.model(y), y
		}, true, "1-D convolution"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, node := tc.build()
			r, err := npu.Simulate(m, npu.Config{AssumeInt8: true})
			require.NoError(t, err)
			var op *npu.OpReport
			for i := range r.Ops {
				if r.Ops[i].Name == node {
					op = &r.Ops[i]
				}
			}
			require.NotNil(t, op, "operator %s in the report", node)
			if !tc.host {
				require.Equal(t, npu.EngineNPU, op.Engine, op.Reason)
				return
			}
			require.Equal(t, npu.EngineHost, op.Engine)
			require.Contains(t, op.Reason, tc.reason)
			require.Positive(t, op.EndUS-op.StartUS, "a host fallback costs time")
			require.Len(t, r.HostFallbacks, 1)
			require.Equal(t, node, r.HostFallbacks[0].Name)
		})
	}
}

// A host fallback in the middle of an NPU graph costs a round trip: device-to-host
// copy, Unlower, Dequantize, the operator, Quantize, Lower and host-to-device copy.
func TestHostFallbackRoundTrip(t *testing.T) {
	b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
	y := conv(b, "x", 16, 16, 3, 1, nil)
	y = b.node("Floor", []string{y}, nil)
	y = conv(b, y, 16, 16, 3, 1, nil)
	r, err := npu.Simulate(b.model(y), npu.Config{AssumeInt8: true})
	require.NoError(t, err)
	var kinds []string
	for _, op := range r.Ops {
		kinds = append(kinds, op.Kind)
	}
	require.Equal(t, []string{
		"Quantize", "PCIe H2D", "Lower", "LowLevelPad", "LowLevelConv2d", // 32 wide: lowered on the NPU
		"Unlower", "PCIe D2H", "Dequantize", "CpuFloor",
		"Quantize", "PCIe H2D", "Lower", "LowLevelPad", "LowLevelConv2d",
		"Unlower", "PCIe D2H", "Dequantize",
	}, kinds)
	for i := 1; i < len(r.Ops); i++ {
		require.GreaterOrEqual(t, r.Ops[i].StartUS, r.Ops[i-1].StartUS-1e-9, "program order %d", i)
	}
	require.Positive(t, r.Split.HostUS)
	require.Positive(t, r.Split.PCIeUS)
}

// Simulate refuses a float model unless told to time it as int8.
func TestSimulateRefusesFloatModels(t *testing.T) {
	b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
	y := conv(b, "x", 16, 16, 3, 1, nil)
	_, err := npu.Simulate(b.model(y), npu.Config{})
	require.ErrorContains(t, err, "not quantized")
}

// BatchNormalization right after a convolution folds into it: the explicit-BN
// ResNet-50 compiles to the same operators as the folded one.
func TestExplicitBatchNormFoldsIntoConv(t *testing.T) {
	folded := zooModel(t, "resnet50")
	explicit, err := zoo.Build("resnet50", zoo.Options{ExplicitBN: true})
	require.NoError(t, err)
	a, err := npu.Simulate(folded, npu.Config{AssumeInt8: true, PreLowered: true})
	require.NoError(t, err)
	b, err := npu.Simulate(explicit, npu.Config{AssumeInt8: true, PreLowered: true})
	require.NoError(t, err)
	require.Empty(t, b.HostFallbacks)
	require.Len(t, b.Ops, len(a.Ops))
	// Only the bias bytes differ (the folded model carries int32 biases).
	require.InEpsilon(t, a.LatencyUS, b.LatencyUS, 0.01)
}

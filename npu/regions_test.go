package npu_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

func (b *gb) scalar(v float32) string { return b.Init("s", graph.FromFloat32([]int{}, []float32{v})) }

// qdq quantizes and dequantizes x, as the QDQ writer does at a region's ends.
func (b *gb) qdq(x string) string {
	s, zp := b.scalar(0.05), b.Init("z", graph.NewTensor(graph.Int8, []int{}))
	q := b.node("QuantizeLinear", []string{x, s, zp}, nil)
	return b.node("DequantizeLinear", []string{q, s, zp}, nil)
}

// qweight is an int8 weight behind its DequantizeLinear.
func (b *gb) qweight(shape ...int) string {
	w := b.Init("q", graph.NewTensor(graph.Int8, shape))
	return b.node("DequantizeLinear", []string{w, b.scalar(0.01), b.Init("z", graph.NewTensor(graph.Int8, []int{}))}, nil)
}

// layerNorm writes a layer normalization over the last axis out as torch.onnx does
// before opset 17.
func layerNorm(b *gb, x string, c int) string {
	axes := func(n *graph.Node) { n.SetAttrInts("axes", []int64{-1}) }
	m := b.node("ReduceMean", []string{x}, axes)
	d := b.node("Sub", []string{x, m}, nil)
	v := b.node("ReduceMean", []string{b.node("Pow", []string{d, b.scalar(2)}, nil)}, axes)
	s := b.node("Sqrt", []string{b.node("Add", []string{v, b.scalar(1e-5)}, nil)}, nil)
	y := b.node("Div", []string{d, s}, nil)
	y = b.node("Mul", []string{y, b.weight(c)}, nil)
	return b.node("Add", []string{y, b.weight(c)}, nil)
}

// gelu is GELU written with Erf: x * 0.5 * (1 + erf(x / sqrt 2)).
func gelu(b *gb, x string) string {
	e := b.node("Erf", []string{b.node("Div", []string{x, b.scalar(1.4142135)}, nil)}, nil)
	h := b.node("Mul", []string{b.node("Mul", []string{x, b.scalar(0.5)}, nil), b.node("Add", []string{e, b.scalar(1)}, nil)}, nil)
	return h
}

// hardSwishChain is HardSwish as exporters write it: x * clip(x + 3, 0, 6) / 6.
func hardSwishChain(b *gb, x string) string {
	c := b.node("Clip", []string{b.node("Add", []string{x, b.scalar(3)}, nil), b.scalar(0), b.scalar(6)}, nil)
	return b.node("Div", []string{b.node("Mul", []string{x, c}, nil), b.scalar(6)}, nil)
}

// Regions the quantizer leaves without Q/DQ inside (graph.FindRegions) and single
// unary elementwise operators outside the SDK's list run on the NPU: a table lookup
// (alone, or in the epilogue of the MAC operator that produces its input) or one
// normalisation, never float host work.
func TestRegionsAndLUTOpsRunOnNPU(t *testing.T) {
	tests := []struct {
		name  string
		int8  bool // AssumeInt8 (a float model); otherwise the model is QDQ
		build func() *graph.Model
		// want lists, per low-level kind, an NPU operator of that kind whose fused
		// operators include these.
		want map[string][]string
	}{
		{"quantized transformer block: LayerNorm, MatMul + GELU", false, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 64}})
			x := b.qdq("x")
			y := b.qdq(layerNorm(b, x, 64))
			y = b.qdq(b.node("MatMul", []string{y, b.qweight(64, 64)}, nil))
			y = b.qdq(gelu(b, y))
			y = b.qdq(b.node("MatMul", []string{y, b.qweight(64, 64)}, nil))
			return b.model(y)
		}, map[string][]string{
			"LowLevelReduce": {"ReduceMean", "Pow", "Sqrt", "Div"},
			"LowLevelConv2d": {"Div", "Erf", "Add", "Mul"},
		}},
		{"quantized HardSwish chain after a conv", false, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
			y := b.qdq(b.node("Conv", []string{b.qdq("x"), b.qweight(16, 16, 1, 1)}, nil))
			y = b.qdq(hardSwishChain(b, y))
			return b.model(y)
		}, map[string][]string{"LowLevelConv2d": {"Add", "Clip", "Mul", "Div"}}},
		{"quantized GELU on a graph input: a standalone table lookup", false, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 64}})
			return b.model(b.qdq(gelu(b, b.qdq("x"))))
		}, map[string][]string{"LowLevelElementwise": {"Erf"}}},
		{"HardSwish after a conv (timing only)", true, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
			y := b.node("HardSwish", []string{conv(b, "x", 16, 16, 3, 1, nil)}, nil)
			return b.model(conv(b, y, 16, 16, 3, 1, nil))
		}, map[string][]string{"LowLevelConv2d": {"HardSwish"}}},
		{"HardSigmoid * x after a conv, as torch exports hardswish (timing only)", true, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
			c := conv(b, "x", 16, 16, 3, 1, nil)
			y := b.node("Mul", []string{c, b.node("HardSigmoid", []string{c}, nil)}, nil)
			return b.model(conv(b, y, 16, 16, 3, 1, nil))
		}, map[string][]string{"LowLevelConv2d": {"HardSigmoid", "Mul"}}},
		{"standalone HardSigmoid (timing only)", true, func() *graph.Model {
			b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
			return b.model(b.node("HardSigmoid", []string{b.node("Floor", []string{"x"}, nil)}, nil))
		}, map[string][]string{"LowLevelElementwise": {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := npu.Simulate(tc.build(), npu.Config{AssumeInt8: tc.int8})
			require.NoError(t, err)
			var fallbacks []string
			for _, f := range r.HostFallbacks {
				if f.OpType != "Floor" {
					fallbacks = append(fallbacks, f.Name+": "+f.Reason)
				}
			}
			require.Empty(t, fallbacks)
			for kind, ops := range tc.want {
				found := false
				for _, op := range r.Ops {
					if op.Kind != kind || op.Engine != npu.EngineNPU {
						continue
					}
					has := true
					for _, f := range ops {
						has = has && slices.Contains(op.Fused, f)
					}
					found = found || has
				}
				require.True(t, found, "an NPU %s fusing %v in %+v", kind, ops, r.Ops)
			}
		})
	}
}

// A region whose output the quantizer left in float32 runs in float: on the host,
// as before.
func TestRegionWithFloatOutputStaysOnHost(t *testing.T) {
	b := newGB(map[string][]int{"x": {1, 16, 64}})
	y := layerNorm(b, b.qdq("x"), 64)
	r, err := npu.Simulate(b.model(y), npu.Config{})
	require.NoError(t, err)
	require.NotEmpty(t, r.HostFallbacks)
	for _, op := range r.Ops {
		require.NotEqual(t, "LowLevelReduce", op.Kind)
	}
}

// The LUT region costs what a standalone Sigmoid of the same tensor costs: one table
// lookup pass, not one pass per operator of the chain.
func TestLUTRegionCostsOneLookup(t *testing.T) {
	one := func(f func(b *gb, x string) string) float64 {
		b := newGB(map[string][]int{"x": {1, 64, 32, 32}})
		r, err := npu.Simulate(b.model(b.qdq(f(b, b.qdq("x")))), npu.Config{PreLowered: true})
		require.NoError(t, err)
		require.Empty(t, r.HostFallbacks)
		return r.NPULatencyUS
	}
	sig := one(func(b *gb, x string) string { return b.node("Sigmoid", []string{x}, nil) })
	chain := one(gelu)
	require.InEpsilon(t, sig, chain, 1e-9)
}

package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A QDQ convolution fed an empty batch (Keypoint R-CNN's keypoint head when no
// box is left) gives an empty output on the int8 executor, as on the float
// one. Before: `QConv ...: kernels: bad conv shape {N:0 ...}`.
func TestInt8ConvEmptyBatch(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	w := make([]int8, 4*3*3*3)
	for i := range w {
		w[i] = int8(rng.Intn(255) - 127)
	}
	f32 := func(v float32) *graph.Tensor { return graph.FromFloat32(nil, []float32{v}) }
	zp := func() *graph.Tensor { return &graph.Tensor{DType: graph.Int8, Data: []int8{0}} }
	node := func(op string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
		n := &graph.Node{Name: out + "_" + op, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
		for _, a := range attrs {
			n.Attrs[a.Name] = a
		}
		return n
	}
	g := &graph.Graph{
		Initializers: map[string]*graph.Tensor{
			"xs": f32(0.02), "xz": zp(), "ys": f32(0.05), "yz": zp(),
			"wq": {DType: graph.Int8, Shape: []int{4, 3, 3, 3}, Data: w}, "ws": f32(0.01), "wz": zp(),
		},
		Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "x", DType: graph.Float32, HasShape: true,
			Shape: graph.Shape{{Size: -1, Param: "rois"}, {Size: 3}, {Size: 6}, {Size: 6}}}},
		Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}},
		Nodes: []*graph.Node{
			node("QuantizeLinear", []string{"x", "xs", "xz"}, "xq"),
			node("DequantizeLinear", []string{"xq", "xs", "xz"}, "xd"),
			node("DequantizeLinear", []string{"wq", "ws", "wz"}, "wd"),
			node("Conv", []string{"xd", "wd"}, "c", graph.IntsAttr("pads", []int{1, 1, 1, 1})),
			node("Relu", []string{"c"}, "r"),
			node("QuantizeLinear", []string{"r", "ys", "yz"}, "yq"),
			node("DequantizeLinear", []string{"yq", "ys", "yz"}, "y"),
		},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 8}
	q, err := NewSession(m, WithMode(ModeInt8), WithThreads(1))
	require.NoError(t, err)
	var int8Conv bool
	for _, p := range q.Placement {
		int8Conv = int8Conv || (p.OpType == "QConv" && p.Int8)
	}
	require.True(t, int8Conv, "the convolution runs int8")
	f, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	for _, n := range []int{2, 0} {
		x := graph.FromFloat32([]int{n, 3, 6, 6}, make([]float32, n*3*36))
		for i := range x.F32() {
			x.F32()[i] = rng.Float32()*2 - 1
		}
		got, err := q.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err, "batch %d", n)
		want, err := f.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err, "batch %d", n)
		assert.Equal(t, []int{n, 4, 6, 6}, got["y"].Shape, "batch %d", n)
		assert.Equal(t, want["y"].F32(), got["y"].F32(), "batch %d", n)
	}
}

package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// conv1d adds a torch.nn.Conv1d as torch.onnx writes it.
func (b *mb) conv1d(x string, cin, cout, k, stride, pad, dil, group int) string {
	w := b.RandInit("w", []int{cout, cin / group, k}, float32(1.5/math.Sqrt(float64(cin/group*k))))
	return b.Node("Conv", []string{x, w, b.RandInit("b", []int{cout}, 0.2)},
		graph.IntsAttr("kernel_shape", []int{k}), graph.IntsAttr("strides", []int{stride}),
		graph.IntsAttr("pads", []int{pad, pad}), graph.IntsAttr("dilations", []int{dil}), graph.IntAttr("group", int64(group)))
}

func (b *mb) i64(v ...int64) string { return b.Init("c", graph.FromInt64([]int{len(v)}, v)) }

// conv1dNet builds a 1-D convolution network the way torch.onnx exports
// keyword-spotting nets and TCNs: Conv1d + BatchNorm + ReLU, a dilated
// depthwise Conv1d, a pointwise Conv1d with a residual Add, MaxPool1d,
// GroupNorm (Reshape -> InstanceNormalization -> Reshape -> Mul -> Add), GELU
// written with Erf, a constant Pad, a strided Conv1d whose right end a Slice
// trims (Chomp1d), a Concat of two branches, a squeeze-excite gate on
// GlobalAveragePool, a mean over the length into a Gemm, and two [N, C, L]
// tensors read outside the region (a graph output and a Transpose).
func conv1dNet(seed int64, length graph.Dim) *graph.Model {
	b := newMB(seed)
	const c = 16
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, length)
	y := b.conv1d(x, 8, c, 5, 1, 2, 1, 1)
	y = b.Node("BatchNormalization", []string{y, b.RandInit("s", []int{c}, 1), b.RandInit("bb", []int{c}, 0.5),
		b.RandInit("m", []int{c}, 0.2), b.Init("v", graph.FromFloat32([]int{c}, filled(c, 1.5)))})
	r := b.Node("Relu", []string{y})
	y = b.conv1d(r, c, c, 3, 1, 2, 2, c)
	y = b.conv1d(b.Node("Relu", []string{y}), c, c, 1, 1, 0, 1, 1)
	y = b.Node("Add", []string{y, r})
	y = b.Node("MaxPool", []string{y}, graph.IntsAttr("kernel_shape", []int{2}), graph.IntsAttr("strides", []int{2}))
	// GroupNorm(4 groups)
	g := b.Node("Reshape", []string{y, b.i64(1, 4, -1)})
	g = b.Node("InstanceNormalization", []string{g, b.Init("one", graph.FromFloat32([]int{4}, filled(4, 1))),
		b.Init("zero", graph.FromFloat32([]int{4}, filled(4, 0)))})
	g = b.Node("Reshape", []string{g, b.i64(0, c, -1)})
	g = b.Node("Mul", []string{g, b.RandInit("gs", []int{c, 1}, 1)})
	g = b.Node("Add", []string{g, b.RandInit("gb", []int{c, 1}, 0.5)})
	// GELU as torch.onnx writes it at opset 13
	e := b.Node("Erf", []string{b.Node("Div", []string{g, b.Init("sq2", graph.ScalarFloat32(1.4142135))})})
	e = b.Node("Add", []string{e, b.Init("one", graph.ScalarFloat32(1))})
	y = b.Node("Mul", []string{b.Node("Mul", []string{g, e}), b.Init("half", graph.ScalarFloat32(0.5))})
	p := b.Node("Pad", []string{y, b.i64(0, 0, 1, 0, 0, 1)})
	t := b.conv1d(p, c, c, 3, 1, 1, 1, 1)
	t = b.Node("Slice", []string{t, b.i64(0), b.i64(-2), b.i64(2)})
	u := b.Node("Sigmoid", []string{b.conv1d(y, c, c, 3, 1, 1, 1, 2)})
	y = b.Node("Concat", []string{t, u}, graph.IntAttr("axis", 1))
	se := b.Node("GlobalAveragePool", []string{y})
	se = b.Node("Sigmoid", []string{b.conv1d(se, 2*c, 2*c, 1, 1, 0, 1, 1)})
	y = b.Node("Mul", []string{y, se})
	y = b.conv1d(y, 2*c, c, 3, 2, 1, 1, 1)
	mean := b.Node("ReduceMean", []string{y}, graph.IntsAttr("axes", []int{2}), graph.IntAttr("keepdims", 0))
	tr := b.Node("Transpose", []string{y}, graph.IntsAttr("perm", []int{0, 2, 1}))
	b.Output(b.gemm(mean, c, 5), y, b.Node("Relu", []string{tr}))
	return b.Model()
}

func filled(n int, v float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = v
	}
	return d
}

func withoutConv1D() Option { return func(c *config) { c.noConv1D = true } }

// lifted4D counts the Convs of the session's graph that run in 2-D form.
func lifted4D(s *Session) (conv2d, conv1d int) {
	g := s.model.Graph
	for _, n := range g.Nodes {
		if n.OpType != "Conv" {
			continue
		}
		if v := g.Values[n.Inputs[0]]; v != nil && len(v.Shape) == 4 {
			conv2d++
		} else {
			conv1d++
		}
	}
	return conv2d, conv1d
}

func requireClose(t *testing.T, want, got map[string]*graph.Tensor, tol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for k, w := range want {
		g := got[k]
		require.NotNil(t, g, k)
		require.Equal(t, w.Shape, g.Shape, k)
		scale := 0.0
		for _, v := range w.F32() {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i, v := range w.F32() {
			require.InDelta(t, v, g.F32()[i], tol*math.Max(scale, 1), "%s[%d]", k, i)
		}
	}
}

// TestConv1DLiftFloat runs the 1-D network lifted, unlifted and unoptimised
// at one and two threads, static and symbolic length: same outputs within
// float tolerance, every Conv lifted.
func TestConv1DLiftFloat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length graph.Dim
		run    int
	}{
		{"static", graph.Dim{Size: 40}, 40},
		{"symbolic", graph.Dim{Size: -1, Param: "L"}, 37},
	} {
		for _, threads := range []int{1, 2} {
			m := conv1dNet(3, tc.length)
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), []int{1, 8, tc.run}, -2, 2)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithGraphOptimization(false), WithThreads(threads))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			flat, err := NewSession(m, WithMode(ModeFloat), withoutConv1D(), WithThreads(threads))
			require.NoError(t, err)
			_, c1 := lifted4D(flat)
			require.Equal(t, 7, c1, tc.name)
			s, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
			require.NoError(t, err)
			c2, c1 := lifted4D(s)
			require.Equal(t, [2]int{7, 0}, [2]int{c2, c1}, "%s: every Conv lifted", tc.name)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			requireClose(t, want, got, 2e-5)
			got, err = flat.RunTensors(in)
			require.NoError(t, err)
			requireClose(t, want, got, 2e-5)
		}
	}
}

// TestConv1DLiftTaps: a tapped [N, C, L] tensor inside the region keeps its
// name and shape.
func TestConv1DLiftTaps(t *testing.T) {
	m := conv1dNet(4, graph.Dim{Size: 24})
	var tap string
	for _, n := range m.Graph.Nodes {
		if n.OpType == "MaxPool" {
			tap = n.Outputs[0]
		}
	}
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(1)), []int{1, 8, 24}, -2, 2)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithGraphOptimization(false), WithTaps(tap))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeFloat), WithTaps(tap))
	require.NoError(t, err)
	c2, _ := lifted4D(s)
	require.Equal(t, 7, c2)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	require.Equal(t, []int{1, 16, 12}, got[tap].Shape)
	requireClose(t, want, got, 2e-5)
}

// TestConv1DLiftInt8 quantizes the network (QDQ, per-channel weights) and runs
// it on the int8 executor lifted and unlifted: the same outputs, and the
// lifted Convs lowered to int8.
func TestConv1DLiftInt8(t *testing.T) {
	m := conv1dNet(6, graph.Dim{Size: 32})
	rng := rand.New(rand.NewSource(2))
	calib := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 8, 32}, -2, 2)}
	q := qdqify(t, m, calib, qdqOptions{})
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 8, 32}, -2, 2)}
	for _, threads := range []int{1, 2} {
		flat, err := NewSession(q, WithMode(ModeInt8), withoutConv1D(), WithThreads(threads))
		require.NoError(t, err)
		want, err := flat.RunTensors(in)
		require.NoError(t, err)
		s, err := NewSession(q, WithMode(ModeInt8), WithThreads(threads))
		require.NoError(t, err)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		requireClose(t, want, got, 0) // bit-identical
		convs := 0
		for _, p := range s.Placement {
			if p.OpType == "QConv" && p.Int8 {
				convs++
			}
		}
		require.Equal(t, 7, convs, "lifted Convs run int8")
		for _, p := range s.Placement {
			if p.OpType == "GlobalAveragePool" || p.OpType == "QPool" || p.OpType == "Flatten" {
				require.True(t, p.Int8, "the mean over the length runs int8: %+v", p)
			}
		}
	}
}

package qat

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// tinyModel is a one-input, one-output float model for gradient checks.
type tinyModel struct {
	in    []int // per-sample input shape
	nodes []*graph.Node
	inits map[string]*graph.Tensor
}

func node(op string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{Name: out + "_node", OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

func ints(name string, v ...int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
}
func intAttr(name string, v int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInt, I: v}
}
func floatAttr(name string, v float32) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrFloat, F: v}
}

func randTensor(rng *rand.Rand, scale float32, shape ...int) *graph.Tensor {
	d := make([]float32, numel(shape))
	for i := range d {
		d[i] = (rng.Float32()*2 - 1) * scale
	}
	return graph.FromFloat32(shape, d)
}

func (tm tinyModel) model() *graph.Model {
	g := &graph.Graph{Name: "tiny", Nodes: tm.nodes, Initializers: tm.inits, Values: map[string]*graph.Value{}}
	shape := graph.Shape{{Size: -1, Param: "N"}}
	for _, d := range tm.in {
		shape = append(shape, graph.Dim{Size: d})
	}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: shape, HasShape: true}}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	if g.Initializers == nil {
		g.Initializers = map[string]*graph.Tensor{}
	}
	return &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": 13}}
}

// checkGrads compares the gradients of L = sum(r * y) with respect to the input and
// every parameter with central finite differences.
func checkGrads(t *testing.T, n *Net, batch int, train bool) {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	// Distinct inputs at least 0.05 apart and away from 0: no ties in max pooling and
	// no value within eps of a Relu/Clip kink.
	x := make([]float32, batch*numel(n.inShape))
	for i, p := range rng.Perm(len(x)) {
		x[i] = (float32(p)-float32(len(x)/2))*0.05 + 0.025
	}
	n.training = train
	n.emaRanges = false
	n.inputGrad = true
	_, y, err := n.Forward(x, batch)
	require.NoError(t, err)
	r := make([]float32, len(y))
	for i := range r {
		r[i] = rng.Float32()*2 - 1
	}
	loss := func() float64 {
		saved := saveStats(n)
		_, y, err := n.Forward(x, batch)
		require.NoError(t, err)
		restoreStats(n, saved)
		var s float64
		for i, v := range y {
			s += float64(v) * float64(r[i])
		}
		return s
	}
	loss()
	n.ZeroGrad()
	n.Backward(r)
	type target struct {
		name string
		w    []float32
		g    []float32
	}
	targets := []target{{"input", x, append([]float32(nil), n.vals[n.input].grad...)}}
	for _, p := range n.params {
		targets = append(targets, target{p.Name, p.W, append([]float32(nil), p.G...)})
	}
	const eps = 1e-2
	for _, tg := range targets {
		idx := rng.Perm(len(tg.w))
		if len(idx) > 12 {
			idx = idx[:12]
		}
		for _, i := range idx {
			old := tg.w[i]
			tg.w[i] = old + eps
			up := loss()
			tg.w[i] = old - eps
			down := loss()
			tg.w[i] = old
			num := (up - down) / (2 * eps)
			tol := 2e-2*math.Abs(num) + 5e-3
			require.InDelta(t, num, float64(tg.g[i]), tol, "d/d %s[%d]", tg.name, i)
		}
	}
}

// saveStats keeps the running BatchNorm statistics so that finite differences do not
// move them.
func saveStats(n *Net) [][]float32 {
	var out [][]float32
	for _, c := range n.convBNs {
		out = append(out, append([]float32(nil), c.mean...), append([]float32(nil), c.vari...))
	}
	return out
}

func restoreStats(n *Net, s [][]float32) {
	for i, c := range n.convBNs {
		copy(c.mean, s[2*i])
		copy(c.vari, s[2*i+1])
	}
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(0))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	pos := func(shape ...int) *graph.Tensor {
		tt := randTensor(rng, 0.5, shape...)
		for i, v := range tt.F32() {
			tt.F32()[i] = 0.5 + float32(math.Abs(float64(v)))
		}
		return tt
	}
	cases := []struct {
		name  string
		m     tinyModel
		train bool
	}{
		{"Conv 3x3 pad 1 + bias", tinyModel{[]int{3, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", ints("pads", 1, 1, 1, 1))}, map[string]*graph.Tensor{"w": w(4, 3, 3, 3), "b": w(4)}}, false},
		{"Conv stride 2 dilation 2 asymmetric pads", tinyModel{[]int{2, 7, 6}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "y", ints("strides", 2, 2), ints("dilations", 2, 1), ints("pads", 1, 0, 0, 2))}, map[string]*graph.Tensor{"w": w(3, 2, 2, 3)}}, false},
		{"Conv grouped", tinyModel{[]int{4, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", intAttr("group", 2), ints("pads", 1, 1, 1, 1))}, map[string]*graph.Tensor{"w": w(6, 2, 3, 3), "b": w(6)}}, false},
		{"Conv depthwise", tinyModel{[]int{3, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", intAttr("group", 3), ints("pads", 1, 1, 1, 1))}, map[string]*graph.Tensor{"w": w(3, 1, 3, 3), "b": w(3)}}, false},
		{"Conv+BatchNorm batch statistics", tinyModel{[]int{2, 4, 4}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "c", ints("pads", 1, 1, 1, 1)),
			node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "y")},
			map[string]*graph.Tensor{"w": w(3, 2, 3, 3), "b": w(3), "g": pos(3), "be": w(3), "mu": w(3), "var": pos(3)}}, true},
		{"Conv+BatchNorm frozen (folded)", tinyModel{[]int{2, 4, 4}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", ints("pads", 1, 1, 1, 1)),
			node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "y")},
			map[string]*graph.Tensor{"w": w(3, 2, 3, 3), "g": pos(3), "be": w(3), "mu": w(3), "var": pos(3)}}, false},
		{"Gemm transB=1 + bias", tinyModel{[]int{5}, []*graph.Node{
			node("Gemm", []string{"x", "w", "b"}, "y", intAttr("transB", 1))}, map[string]*graph.Tensor{"w": w(4, 5), "b": w(4)}}, false},
		{"Gemm transB=0 alpha beta", tinyModel{[]int{5}, []*graph.Node{
			node("Gemm", []string{"x", "w", "b"}, "y", floatAttr("alpha", 0.7), floatAttr("beta", 1.3))}, map[string]*graph.Tensor{"w": w(5, 4), "b": w(4)}}, false},
		{"MatMul 3-D input", tinyModel{[]int{3, 5}, []*graph.Node{
			node("MatMul", []string{"x", "w"}, "y")}, map[string]*graph.Tensor{"w": w(5, 4)}}, false},
		{"Relu", tinyModel{[]int{10}, []*graph.Node{node("Relu", []string{"x"}, "y")}, nil}, false},
		{"Clip", tinyModel{[]int{10}, []*graph.Node{node("Clip", []string{"x", "lo", "hi"}, "y")},
			map[string]*graph.Tensor{"lo": graph.ScalarFloat32(-0.4), "hi": graph.ScalarFloat32(0.6)}}, false},
		{"LeakyRelu", tinyModel{[]int{10}, []*graph.Node{node("LeakyRelu", []string{"x"}, "y", floatAttr("alpha", 0.1))}, nil}, false},
		{"Sigmoid", tinyModel{[]int{10}, []*graph.Node{node("Sigmoid", []string{"x"}, "y")}, nil}, false},
		{"Add residual (a tensor read twice)", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", ints("pads", 1, 1, 1, 1)),
			node("Relu", []string{"c"}, "r"),
			node("Add", []string{"r", "x"}, "y")}, map[string]*graph.Tensor{"w": w(2, 2, 3, 3)}}, false},
		{"Add broadcast constant", tinyModel{[]int{3, 2, 2}, []*graph.Node{node("Add", []string{"x", "c"}, "y")},
			map[string]*graph.Tensor{"c": w(3, 1, 1)}}, false},
		{"Sub", tinyModel{[]int{4}, []*graph.Node{node("Relu", []string{"x"}, "r"), node("Sub", []string{"x", "r"}, "y")}, nil}, false},
		{"Mul broadcast and product", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("Mul", []string{"x", "c"}, "m"), node("Mul", []string{"m", "x"}, "y")},
			map[string]*graph.Tensor{"c": w(3, 1, 1)}}, false},
		{"MaxPool 2x2", tinyModel{[]int{2, 4, 4}, []*graph.Node{node("MaxPool", []string{"x"}, "y", ints("kernel_shape", 2, 2), ints("strides", 2, 2))}, nil}, false},
		{"MaxPool 3x3 stride 1 pad 1", tinyModel{[]int{2, 4, 4}, []*graph.Node{node("MaxPool", []string{"x"}, "y", ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1))}, nil}, false},
		{"AveragePool pads excluded", tinyModel{[]int{2, 5, 5}, []*graph.Node{node("AveragePool", []string{"x"}, "y", ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1))}, nil}, false},
		{"AveragePool pads included", tinyModel{[]int{2, 5, 5}, []*graph.Node{node("AveragePool", []string{"x"}, "y", ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1), intAttr("count_include_pad", 1))}, nil}, false},
		{"GlobalAveragePool", tinyModel{[]int{3, 4, 4}, []*graph.Node{node("GlobalAveragePool", []string{"x"}, "y")}, nil}, false},
		{"GlobalMaxPool", tinyModel{[]int{3, 4, 4}, []*graph.Node{node("GlobalMaxPool", []string{"x"}, "y")}, nil}, false},
		{"Flatten + Gemm", tinyModel{[]int{2, 2, 2}, []*graph.Node{
			node("Flatten", []string{"x"}, "f"), node("Gemm", []string{"f", "w"}, "y", intAttr("transB", 1))}, map[string]*graph.Tensor{"w": w(3, 8)}}, false},
		{"Reshape + MatMul", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Reshape", []string{"x", "s"}, "f"), node("MatMul", []string{"f", "w"}, "y")},
			map[string]*graph.Tensor{"s": graph.FromInt64([]int{2}, []int64{0, -1}), "w": w(6, 2)}}, false},
		// last, so that the random data of the cases above are unchanged
		{"Conv depthwise stride 2 dilation multiplier 2", tinyModel{[]int{2, 7, 6}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", intAttr("group", 2), ints("strides", 2, 2), ints("dilations", 1, 2), ints("pads", 1, 0, 0, 2))}, map[string]*graph.Tensor{"w": w(4, 1, 3, 2), "b": w(4)}}, false},
		{"Conv depthwise+BatchNorm batch statistics", tinyModel{[]int{3, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", intAttr("group", 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)),
			node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "y")},
			map[string]*graph.Tensor{"w": w(3, 1, 3, 3), "g": pos(3), "be": w(3), "mu": w(3), "var": pos(3)}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.m.model(), Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkGrads(t, n, 3, tc.train)
		})
	}
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	for _, smooth := range []float64{0, 0.1, 0.5} {
		t.Run(fmt.Sprintf("smoothing %v", smooth), func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			logits := make([]float32, 4*5)
			for i := range logits {
				logits[i] = rng.Float32()*4 - 2
			}
			labels := []int{0, 3, 4, 1}
			grad := make([]float32, len(logits))
			_, correct := SmoothedCrossEntropy(logits, 5, labels, smooth, grad)
			require.LessOrEqual(t, correct, 4)
			const eps = 1e-3
			for i := range logits {
				old := logits[i]
				logits[i] = old + eps
				up, _ := SmoothedCrossEntropy(logits, 5, labels, smooth, nil)
				logits[i] = old - eps
				down, _ := SmoothedCrossEntropy(logits, 5, labels, smooth, nil)
				logits[i] = old
				require.InDelta(t, (up-down)/(2*eps), float64(grad[i]), 1e-3, "logit %d", i)
			}
		})
	}
}

// TestSmoothedCrossEntropyTarget checks the smoothed loss against its definition,
// the cross-entropy of softmax(logits) against the target (1-eps)·onehot + eps/K,
// and that eps 0 is the plain cross-entropy.
func TestSmoothedCrossEntropyTarget(t *testing.T) {
	logits := []float32{2, -1, 0.5, 0, 1, 3}
	labels := []int{0, 2}
	const k, smooth = 3, 0.2
	var want float64
	for i, l := range labels {
		row := logits[i*k : (i+1)*k]
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v))
		}
		for j, v := range row {
			target := smooth / k
			if j == l {
				target += 1 - smooth
			}
			want -= target * (float64(v) - math.Log(sum))
		}
	}
	got, correct := SmoothedCrossEntropy(logits, k, labels, smooth, nil)
	require.InDelta(t, want/2, got, 1e-9)
	require.Equal(t, 2, correct)
	plain, _ := SoftmaxCrossEntropy(logits, k, labels, nil)
	zero, _ := SmoothedCrossEntropy(logits, k, labels, 0, nil)
	require.Equal(t, plain, zero)
}

func TestNoGradientNamesNode(t *testing.T) {
	m := weightFirst(tinyModel{[]int{4}, []*graph.Node{node("Relu", []string{"x"}, "r"), node("Hardmax", []string{"r"}, "y")}, nil}.model(), 4)
	_, err := New(m, Config{})
	require.ErrorIs(t, err, ErrNoGradient)
	require.ErrorContains(t, err, "y_node")
	require.ErrorContains(t, err, "Hardmax")
}

// TestFakeQuantStraightThrough: inside the range the gradient passes unchanged, a
// saturated value gets none.
func TestFakeQuantStraightThrough(t *testing.T) {
	m := tinyModel{[]int{4}, []*graph.Node{node("Relu", []string{"x"}, "y")}, nil}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {0, 0.5}}))
	_, y, err := n.Forward([]float32{-2, 0.3, 0.26, 0.9}, 1)
	require.NoError(t, err)
	p := quantizer.ParamsFromRange(0, 0.5)
	require.InDelta(t, 0, y[0], 1e-7)
	require.Equal(t, fakeQuant(fakeQuant(0.3, quantizer.ParamsFromRange(-1, 1).Scale, quantizer.ParamsFromRange(-1, 1).ZeroPoint), p.Scale, p.ZeroPoint), y[1])
	require.InDelta(t, 0.5, y[3], float64(p.Scale))
	n.inputGrad = true
	n.Backward([]float32{1, 1, 1, 1})
	g := n.vals[n.input].grad
	require.Equal(t, []float32{0, 1, 1, 0}, g, "x=-2 saturates the input range, y=0.9 the output range")
}

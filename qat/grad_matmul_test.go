package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestGradientsBatchedMatMul: the batched MatMul of two activations (attention as
// torch.onnx writes it), LayerNormalization, InstanceNormalization (and GroupNorm through it) and ReduceMax/ReduceMin computes what the float runtime computes, and its gradients
// (both operands, broadcast batch dimensions, a constant N-D right-hand side) match
// finite differences.
func TestGradientsBatchedMatMul(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	cases := []struct {
		name string
		m    tinyModel
	}{
		{"Q*K^T then softmax*V, two heads", tinyModel{[]int{2, 3, 4}, []*graph.Node{
			node("Transpose", []string{"x"}, "kt", ints("perm", 0, 1, 3, 2)),
			node("MatMul", []string{"x", "kt"}, "s"),
			node("Softmax", []string{"s"}, "a", intAttr("axis", -1)),
			node("MatMul", []string{"a", "x"}, "y")}, nil}},
		{"Q and K from two projections (MatMul by weights, then batched)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("MatMul", []string{"x", "wq"}, "q"),
			node("MatMul", []string{"x", "wk"}, "k"),
			node("Transpose", []string{"k"}, "kt", ints("perm", 0, 2, 1)),
			node("MatMul", []string{"q", "kt"}, "y")},
			map[string]*graph.Tensor{"wq": w(4, 4), "wk": w(4, 4)}}},
		{"broadcast heads: [N, 2, 3, 4] x [N, 1, 4, 3]", tinyModel{[]int{2, 3, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "ax"}, "x0"),
			node("Transpose", []string{"x0"}, "x0t", ints("perm", 0, 1, 3, 2)),
			node("Relu", []string{"x"}, "r"),
			node("MatMul", []string{"r", "x0t"}, "y")},
			map[string]*graph.Tensor{"st": i64(0), "en": i64(1), "ax": i64(1)}}},
		{"LayerNormalization last axis (opset 17 nn.LayerNorm)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("LayerNormalization", []string{"x", "g", "be"}, "y", floatAttr("epsilon", 1e-5))},
			map[string]*graph.Tensor{"g": w(4), "be": w(4)}}},
		{"LayerNormalization over two axes, no B, then attention", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("LayerNormalization", []string{"x", "g"}, "n", intAttr("axis", 1)),
			node("Reshape", []string{"n", "s"}, "r"),
			node("Transpose", []string{"r"}, "rt", ints("perm", 0, 2, 1)),
			node("MatMul", []string{"r", "rt"}, "y")},
			map[string]*graph.Tensor{"g": w(3, 2, 2), "s": i64(-1, 3, 4)}}},
		{"InstanceNormalization (nn.InstanceNorm2d, affine)", tinyModel{[]int{3, 2, 3}, []*graph.Node{
			node("InstanceNormalization", []string{"x", "g", "be"}, "y", floatAttr("epsilon", 1e-5))},
			map[string]*graph.Tensor{"g": w(3), "be": w(3)}}},
		{"GroupNorm as torch.onnx writes it (Reshape, InstanceNormalization, Reshape, Mul, Add)", tinyModel{[]int{4, 2, 2}, []*graph.Node{
			node("Reshape", []string{"x", "s1"}, "r"),
			node("InstanceNormalization", []string{"r", "one", "zero"}, "n", floatAttr("epsilon", 1e-5)),
			node("Reshape", []string{"n", "s2"}, "r2"),
			node("Mul", []string{"r2", "g"}, "m"),
			node("Add", []string{"m", "be"}, "y")},
			map[string]*graph.Tensor{"s1": i64(0, 2, -1), "s2": i64(-1, 4, 2, 2), "one": graph.FromFloat32([]int{2}, []float32{1, 1}),
				"zero": graph.FromFloat32([]int{2}, []float32{0, 0}), "g": w(4, 1, 1), "be": w(4, 1, 1)}}},
		{"ReduceMax over tokens (x.amax(1))", tinyModel{[]int{3, 4}, []*graph.Node{
			node("ReduceMax", []string{"x"}, "y", ints("axes", 1), intAttr("keepdims", 0))}, nil}},
		{"ReduceMin keepdims, all axes", tinyModel{[]int{2, 3}, []*graph.Node{
			node("ReduceMin", []string{"x"}, "m"), node("Sub", []string{"x", "m"}, "y")}, nil}},
		{"broadcast of the left operand: constant [2, 4] x [N, 4, 3]", tinyModel{[]int{4, 3}, []*graph.Node{
			node("MatMul", []string{"c", "x"}, "y")},
			map[string]*graph.Tensor{"c": w(2, 4)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkOpCase(t, tc.m) })
	}
}

// TestBatchedMatMulRefusesVectors: a 1-D operand is refused with the node named.
func TestBatchedMatMulRefusesVectors(t *testing.T) {
	m := tinyModel{[]int{2, 3, 4}, []*graph.Node{node("MatMul", []string{"x", "v"}, "y")},
		map[string]*graph.Tensor{"v": graph.FromFloat32([]int{4}, []float32{1, 2, 3, 4})}}.model()
	n, err := New(m, Config{FloatOnly: true})
	if err == nil {
		_, _, err = n.Forward(make([]float32, 2*2*3*4), 2)
	}
	require.Error(t, err)
	require.Contains(t, err.Error(), "MatMul")
}

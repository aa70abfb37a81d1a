package qat

import (
	"math/rand"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// TestGradientsAutoPad: Conv and pooling written with auto_pad (tf2onnx and
// paddle2onnx write "SAME" padding so when the input size is not fixed; `warboy
// qat` refused them). The training forward pass must compute what the float
// runtime computes (the pads depend on the input size: SAME_UPPER puts the odd
// pixel at the end, SAME_LOWER at the start) and the gradients must match finite
// differences.
func TestGradientsAutoPad(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	ap := func(mode string) *graph.Attr { return strAttr("auto_pad", mode) }
	cases := []struct {
		name string
		m    tinyModel
	}{
		{"Conv SAME_UPPER stride 2 (width 6: pads 0 before, 1 after)", tinyModel{[]int{2, 7, 6}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", ap("SAME_UPPER"), ints("strides", 2, 2))},
			map[string]*graph.Tensor{"w": w(3, 2, 3, 3), "b": w(3)}}},
		{"Conv SAME_LOWER stride 2", tinyModel{[]int{2, 7, 6}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "y", ap("SAME_LOWER"), ints("strides", 2, 2))},
			map[string]*graph.Tensor{"w": w(3, 2, 3, 2)}}},
		{"Conv SAME_UPPER dilated 2x2 kernel", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "y", ap("SAME_UPPER"), ints("dilations", 2, 1))},
			map[string]*graph.Tensor{"w": w(2, 2, 2, 2)}}},
		{"Conv VALID", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "y", ap("VALID"), ints("strides", 2, 1))},
			map[string]*graph.Tensor{"w": w(3, 2, 3, 3)}}},
		{"Conv depthwise SAME_UPPER", tinyModel{[]int{3, 6, 5}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "y", ap("SAME_UPPER"), intAttr("group", 3), ints("strides", 2, 2))},
			map[string]*graph.Tensor{"w": w(3, 1, 3, 3)}}},
		{"MaxPool SAME_UPPER stride 2", tinyModel{[]int{2, 5, 6}, []*graph.Node{
			node("MaxPool", []string{"x"}, "y", ap("SAME_UPPER"), ints("kernel_shape", 3, 3), ints("strides", 2, 2))}, nil}},
		{"AveragePool SAME_LOWER, padding excluded", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("AveragePool", []string{"x"}, "y", ap("SAME_LOWER"), ints("kernel_shape", 2, 2), ints("strides", 2, 2))}, nil}},
		{"MaxPool SAME_LOWER, ceil_mode has no effect", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("MaxPool", []string{"x"}, "y", ap("SAME_LOWER"), ints("kernel_shape", 2, 2), ints("strides", 2, 2), intAttr("ceil_mode", 1))}, nil}},
		{"AveragePool SAME_UPPER, padding counted", tinyModel{[]int{2, 5, 4}, []*graph.Node{
			node("AveragePool", []string{"x"}, "y", ap("SAME_UPPER"), ints("kernel_shape", 3, 3), intAttr("count_include_pad", 1))}, nil}},
		{"MaxPool VALID with ceil_mode (a last partial window)", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("MaxPool", []string{"x"}, "y", ap("VALID"), ints("kernel_shape", 2, 2), ints("strides", 2, 2), intAttr("ceil_mode", 1))}, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkOpCase(t, tc.m) })
	}
}

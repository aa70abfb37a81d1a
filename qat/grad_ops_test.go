package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func strAttr(name, v string) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrString, S: v}
}

func multiNode(op string, in, out []string, attrs ...*graph.Attr) *graph.Node {
	n := node(op, in, out[0], attrs...)
	n.Outputs = out
	return n
}

func i64(v ...int64) *graph.Tensor { return graph.FromInt64([]int{len(v)}, v) }

// TestGradientsMoreOps checks, for the operators beyond the bundled models' set, that
// the training forward pass computes what the float runtime computes, and that the
// gradients of the input and of every parameter match finite differences.
func TestGradientsMoreOps(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	pos := func(shape ...int) *graph.Tensor {
		tt := randTensor(rng, 0.5, shape...)
		for i, v := range tt.F32() {
			tt.F32()[i] = 0.5 + float32(math.Abs(float64(v)))
		}
		return tt
	}
	// shifted is n values v ± 0.05
	shifted := func(v float32, n int) *graph.Tensor {
		tt := make([]float32, n)
		for i := range tt {
			tt[i] = v + 0.1*(float32(i%5)/4-0.5)
		}
		return graph.FromFloat32([]int{n}, tt)
	}
	sc := func(v float32) map[string]*graph.Tensor { return map[string]*graph.Tensor{"k": graph.ScalarFloat32(v)} }
	// scaled applies op to k*x so that the inputs reach the op's interesting range.
	scaled := func(k float32, op string, attrs ...*graph.Attr) tinyModel {
		return tinyModel{[]int{10}, []*graph.Node{node("Mul", []string{"x", "k"}, "s"), node(op, []string{"s"}, "y", attrs...)}, sc(k)}
	}
	bn := func(in string, out string) *graph.Node {
		return node("BatchNormalization", []string{in, "g", "be", "mu", "var"}, out, floatAttr("epsilon", 1e-3))
	}
	bnInits := func(c int, extra map[string]*graph.Tensor) map[string]*graph.Tensor {
		m := map[string]*graph.Tensor{"g": pos(c), "be": w(c), "mu": w(c), "var": pos(c)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		m    tinyModel
		// wantOp, when set, is an op type the training program must not contain
		// (checked through the labels: BN rewritten as a depthwise conv).
	}{
		{"HardSigmoid saturating", scaled(5, "HardSigmoid")},
		{"HardSigmoid alpha 1/6 (PyTorch's)", scaled(5, "HardSigmoid", floatAttr("alpha", 1.0/6))},
		{"HardSwish", scaled(6, "HardSwish")},
		{"HardSwish as x*HardSigmoid(x) (torch export)", tinyModel{[]int{10}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"),
			node("HardSigmoid", []string{"s"}, "h", floatAttr("alpha", 1.0/6)),
			node("Mul", []string{"s", "h"}, "y")}, sc(6)}},
		{"Tanh", scaled(3, "Tanh")},
		{"Elu", scaled(3, "Elu", floatAttr("alpha", 0.7))},
		{"Selu", scaled(3, "Selu")},
		{"Softplus", scaled(3, "Softplus")},
		{"Softsign", scaled(3, "Softsign")},
		{"Neg", scaled(1, "Neg")},
		{"Abs", scaled(1, "Abs")},
		{"Exp", scaled(2, "Exp")},
		{"Erf (GELU's)", scaled(2, "Erf")},
		{"Mish (opset 18)", scaled(3, "Mish")},
		{"Gelu (opset 20)", scaled(3, "Gelu")},
		{"Gelu tanh approximation", scaled(3, "Gelu", strAttr("approximate", "tanh"))},
		{"Celu", scaled(3, "Celu", floatAttr("alpha", 0.8))},
		{"ThresholdedRelu", scaled(3, "ThresholdedRelu", floatAttr("alpha", 0.3))},
		{"Shrink", scaled(3, "Shrink", floatAttr("lambd", 0.4), floatAttr("bias", 0.1))},
		{"Sin, Cos", tinyModel{[]int{10}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"), node("Sin", []string{"s"}, "a"), node("Cos", []string{"a"}, "y")}, sc(3)}},
		{"Sqrt, Reciprocal, Log of positive values", tinyModel{[]int{10}, []*graph.Node{
			node("Exp", []string{"x"}, "e"), node("Sqrt", []string{"e"}, "s"), node("Reciprocal", []string{"s"}, "r"),
			node("Add", []string{"r", "k"}, "a"), node("Log", []string{"a"}, "y")}, sc(0.5)}},
		{"Pow 2 and 0.5", tinyModel{[]int{10}, []*graph.Node{
			node("Pow", []string{"x", "two"}, "p"), node("Add", []string{"p", "k"}, "a"), node("Pow", []string{"a", "half"}, "y")},
			map[string]*graph.Tensor{"two": graph.ScalarFloat32(2), "half": graph.ScalarFloat32(0.5), "k": graph.ScalarFloat32(0.1)}}},
		{"Layer norm written out over channels (ConvNeXt, opset 13)", tinyModel{[]int{2, 2, 4}, []*graph.Node{
			node("Transpose", []string{"x"}, "t", ints("perm", 0, 2, 3, 1)),
			node("ReduceMean", []string{"t"}, "m", ints("axes", -1)),
			node("Sub", []string{"t", "m"}, "d"),
			node("Pow", []string{"d", "two"}, "d2"),
			node("ReduceMean", []string{"d2"}, "v", ints("axes", -1)),
			node("Add", []string{"v", "eps"}, "ve"),
			node("Sqrt", []string{"ve"}, "sd"),
			node("Div", []string{"d", "sd"}, "n"),
			node("Mul", []string{"n", "g"}, "ng"),
			node("Add", []string{"ng", "be"}, "y")},
			map[string]*graph.Tensor{"two": graph.ScalarFloat32(2), "eps": graph.ScalarFloat32(1e-6), "g": pos(2), "be": w(2)}}},
		{"PRelu per channel (nn.PReLU)", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("PRelu", []string{"x", "s"}, "y")}, map[string]*graph.Tensor{"s": w(3, 1, 1)}}},
		{"PRelu one slope", tinyModel{[]int{6}, []*graph.Node{
			node("PRelu", []string{"x", "s"}, "y")}, map[string]*graph.Tensor{"s": w(1)}}},
		{"Div by a constant (normalization)", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("Sub", []string{"x", "m"}, "c"), node("Div", []string{"c", "s"}, "y")},
			map[string]*graph.Tensor{"m": w(3, 1, 1), "s": pos(3, 1, 1)}}},
		{"Div by a tensor", tinyModel{[]int{6}, []*graph.Node{
			node("Exp", []string{"x"}, "e"), node("Div", []string{"x", "e"}, "y")}, nil}},
		{"Div of a constant by a tensor", tinyModel{[]int{6}, []*graph.Node{
			node("Exp", []string{"x"}, "e"), node("Div", []string{"k", "e"}, "y")}, sc(1.5)}},
		{"Concat channels (DenseNet)", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", ints("pads", 1, 1, 1, 1)),
			node("Concat", []string{"x", "c"}, "y", intAttr("axis", 1))}, map[string]*graph.Tensor{"w": w(3, 2, 3, 3)}}},
		{"Concat last axis, a tensor read twice", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Relu", []string{"x"}, "r"),
			node("Concat", []string{"x", "r", "x"}, "y", intAttr("axis", -1))}, nil}},
		{"Split equal halves then Mul", tinyModel{[]int{4, 2, 2}, []*graph.Node{
			multiNode("Split", []string{"x"}, []string{"a", "b"}, intAttr("axis", 1)),
			node("Mul", []string{"a", "b"}, "y")}, nil}},
		{"Split sizes then Concat swapped (ShuffleNet)", tinyModel{[]int{5, 2, 2}, []*graph.Node{
			multiNode("Split", []string{"x", "sp"}, []string{"a", "b"}, intAttr("axis", 1)),
			node("Relu", []string{"b"}, "r"),
			node("Concat", []string{"r", "a"}, "y", intAttr("axis", 1))}, map[string]*graph.Tensor{"sp": i64(2, 3)}}},
		{"Transpose NCHW->NHWC", tinyModel{[]int{2, 3, 4}, []*graph.Node{
			node("Transpose", []string{"x"}, "y", ints("perm", 0, 2, 3, 1))}, nil}},
		{"Channel shuffle Reshape-Transpose-Reshape", tinyModel{[]int{6, 2, 2}, []*graph.Node{
			node("Reshape", []string{"x", "s1"}, "r1"),
			node("Transpose", []string{"r1"}, "t", ints("perm", 0, 2, 1, 3, 4)),
			node("Reshape", []string{"t", "s2"}, "y")},
			map[string]*graph.Tensor{"s1": i64(-1, 2, 3, 2, 2), "s2": i64(-1, 6, 2, 2)}}},
		{"Channel shuffle with shapes from x.size() (PyTorch export)", tinyModel{[]int{6, 2, 2}, []*graph.Node{
			node("Shape", []string{"x"}, "sh"),
			node("Gather", []string{"sh", "i0"}, "n"), node("Unsqueeze", []string{"n", "a0"}, "nu"),
			node("Gather", []string{"sh", "i1"}, "c"), node("Div", []string{"c", "g"}, "cg"), node("Unsqueeze", []string{"cg", "a0"}, "cgu"),
			node("Concat", []string{"nu", "g1", "cgu", "hw"}, "s1", intAttr("axis", 0)),
			node("Reshape", []string{"x", "s1"}, "r1"),
			node("Transpose", []string{"r1"}, "t", ints("perm", 0, 2, 1, 3, 4)),
			node("Concat", []string{"nu", "m1"}, "s2", intAttr("axis", 0)),
			node("Reshape", []string{"t", "s2"}, "y")},
			map[string]*graph.Tensor{"i0": graph.FromInt64(nil, []int64{0}), "i1": graph.FromInt64(nil, []int64{1}), "g": graph.FromInt64(nil, []int64{2}),
				"a0": i64(0), "g1": i64(2), "hw": i64(2, 2), "m1": i64(-1)}}},
		{"Slice with steps and a negative step", tinyModel{[]int{4, 5}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "ax", "sp"}, "y")},
			map[string]*graph.Tensor{"st": i64(0, -1), "en": i64(4, -6), "ax": i64(1, 2), "sp": i64(2, -2)}}},
		{"Pad constant 0.3", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Pad", []string{"x", "p", "v"}, "y")},
			map[string]*graph.Tensor{"p": i64(0, 0, 1, 2, 0, 0, 2, 0), "v": graph.ScalarFloat32(0.3)}}},
		{"Pad reflect", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Pad", []string{"x", "p"}, "y", strAttr("mode", "reflect"))}, map[string]*graph.Tensor{"p": i64(0, 0, 1, 2, 0, 0, 2, 1)}}},
		{"Pad edge", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Pad", []string{"x", "p"}, "y", strAttr("mode", "edge"))}, map[string]*graph.Tensor{"p": i64(0, 0, 1, 0, 0, 0, 2, 1)}}},
		{"Resize nearest x2 (nn.Upsample)", tinyModel{[]int{2, 2, 3}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("coordinate_transformation_mode", "asymmetric"), strAttr("nearest_mode", "floor"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2})}}},
		{"Resize nearest to sizes, half_pixel", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Resize", []string{"x", "", "", "sz"}, "y")}, map[string]*graph.Tensor{"sz": i64(3, 2, 5, 2)}}},
		{"Resize linear x2 half_pixel (bilinear nn.Upsample)", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "linear"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2})}}},
		{"Resize linear align_corners x2 x3", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "linear"), strAttr("coordinate_transformation_mode", "align_corners"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 3})}}},
		{"Resize linear down pytorch_half_pixel", tinyModel{[]int{2, 5, 6}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "linear"), strAttr("coordinate_transformation_mode", "pytorch_half_pixel"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 1, 0.5, 0.5})}}},
		{"Resize cubic x2", tinyModel{[]int{1, 3, 4}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "cubic"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2})}}},
		{"Resize linear 3-D, last axis", tinyModel{[]int{2, 5}, []*graph.Node{
			node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "linear"))},
			map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{3}, []float32{1, 1, 2})}}},
		{"DepthToSpace", tinyModel{[]int{4, 2, 2}, []*graph.Node{node("DepthToSpace", []string{"x"}, "y", intAttr("blocksize", 2))}, nil}},
		{"SpaceToDepth", tinyModel{[]int{1, 4, 4}, []*graph.Node{node("SpaceToDepth", []string{"x"}, "y", intAttr("blocksize", 2))}, nil}},
		{"Gather constant indices", tinyModel{[]int{4, 3}, []*graph.Node{
			node("Gather", []string{"x", "ix"}, "y", intAttr("axis", 1))}, map[string]*graph.Tensor{"ix": i64(3, 0, 0)}}},
		{"MaxPool ceil_mode (GoogLeNet, SqueezeNet)", tinyModel{[]int{2, 6, 6}, []*graph.Node{
			node("MaxPool", []string{"x"}, "y", ints("kernel_shape", 3, 3), ints("strides", 2, 2), intAttr("ceil_mode", 1))}, nil}},
		{"AveragePool ceil_mode", tinyModel{[]int{2, 5, 5}, []*graph.Node{
			node("AveragePool", []string{"x"}, "y", ints("kernel_shape", 2, 2), ints("strides", 2, 2), intAttr("ceil_mode", 1))}, nil}},
		{"Unsqueeze, Squeeze, Identity, Dropout", tinyModel{[]int{3, 2}, []*graph.Node{
			node("Unsqueeze", []string{"x", "a"}, "u"), node("Identity", []string{"u"}, "i"),
			node("Dropout", []string{"i"}, "d"), node("Squeeze", []string{"d", "a"}, "y")},
			map[string]*graph.Tensor{"a": i64(2)}}},
		{"Tile", tinyModel{[]int{2, 3}, []*graph.Node{node("Tile", []string{"x", "rep"}, "y")}, map[string]*graph.Tensor{"rep": i64(1, 2, 3)}}},
		{"Expand", tinyModel{[]int{2, 1}, []*graph.Node{node("Expand", []string{"x", "sh"}, "y")}, map[string]*graph.Tensor{"sh": i64(1, 2, 4)}}},
		{"Softmax inner axis", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"), node("Softmax", []string{"s"}, "y", intAttr("axis", 1))}, sc(3)}},
		{"LogSoftmax last axis", tinyModel{[]int{5}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"), node("LogSoftmax", []string{"s"}, "y")}, sc(3)}},
		{"ReduceMean spatial (x.mean([2, 3]))", tinyModel{[]int{3, 2, 3}, []*graph.Node{
			node("ReduceMean", []string{"x"}, "y", ints("axes", 2, 3), intAttr("keepdims", 0))}, nil}},
		{"ReduceSum channels keepdims", tinyModel{[]int{3, 2, 2}, []*graph.Node{
			node("ReduceSum", []string{"x", "ax"}, "y")}, map[string]*graph.Tensor{"ax": i64(1)}}},
		{"BatchNormalization on [N, C] (BatchNorm1d)", tinyModel{[]int{4}, []*graph.Node{
			node("Relu", []string{"x"}, "r"), bn("r", "y")}, bnInits(4, nil)}},
		{"BatchNormalization before Relu-Conv (DenseNet pre-activation)", tinyModel{[]int{3, 3, 3}, []*graph.Node{
			bn("x", "b"), node("Relu", []string{"b"}, "r"), node("Conv", []string{"r", "w"}, "y", ints("pads", 1, 1, 1, 1))},
			bnInits(3, map[string]*graph.Tensor{"w": w(2, 3, 3, 3)})}},
		{"BatchNormalization after an Add", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Add", []string{"x", "x"}, "a"), bn("a", "y")}, bnInits(2, nil)}},
		// ConvTranspose (sixteenth session; a stride-1 one is rewritten as a
		// Conv before training): stride 2 with bias (a decoder's upsampling),
		// grouped with padding and output_padding, dilated with asymmetric pads,
		// 3x3 stride 2 after a Relu
		{"ConvTranspose stride 2 + bias", tinyModel{[]int{3, 3, 4}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w", "b"}, "y", ints("strides", 2, 2))}, map[string]*graph.Tensor{"w": w(3, 2, 2, 2), "b": w(2)}}},
		{"ConvTranspose grouped, pads, output_padding", tinyModel{[]int{4, 3, 3}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w", "b"}, "y", intAttr("group", 2), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1), ints("output_padding", 1, 0))},
			map[string]*graph.Tensor{"w": w(4, 3, 3, 3), "b": w(6)}}},
		{"ConvTranspose dilation 2 asymmetric pads", tinyModel{[]int{2, 4, 3}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w"}, "y", ints("strides", 1, 2), ints("dilations", 2, 1), ints("pads", 1, 0, 0, 2))},
			map[string]*graph.Tensor{"w": w(2, 3, 2, 3)}}},
		{"Relu then ConvTranspose 3x3 stride 2", tinyModel{[]int{2, 4, 4}, []*graph.Node{
			node("Relu", []string{"x"}, "r"),
			node("ConvTranspose", []string{"r", "w", "b"}, "y", ints("strides", 2, 2), ints("pads", 1, 1, 1, 1))}, map[string]*graph.Tensor{"w": w(2, 3, 3, 3), "b": w(3)}}},
		// twenty-eighth session (last: the cases above keep their random weights)
		{"Where by a constant mask (causal attention's masked_fill)", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Where", []string{"cm", "x", "k"}, "y")},
			map[string]*graph.Tensor{"cm": {DType: graph.Bool, Shape: []int{1, 3}, Data: []bool{true, false, true}}, "k": graph.ScalarFloat32(-3)}}},
		{"Where by a comparison of the input (LeakyReLU written out)", tinyModel{[]int{6}, []*graph.Node{
			node("Greater", []string{"x", "zero"}, "c"), node("Mul", []string{"x", "k"}, "s"), node("Where", []string{"c", "x", "s"}, "y")},
			map[string]*graph.Tensor{"zero": graph.ScalarFloat32(0), "k": graph.ScalarFloat32(0.1)}}},
		{"Max with a constant, Min of two activations", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Max", []string{"x", "k"}, "m"), node("Mul", []string{"x", "h"}, "s"), node("Min", []string{"m", "s"}, "y")},
			map[string]*graph.Tensor{"k": graph.ScalarFloat32(0.2), "h": w(1, 3)}}},
		// 1-D convolutions (twenty-eighth session: audio and sequence models), computed as
		// the 2-D ones of height 1
		{"Conv1d stride 2, pads, bias", tinyModel{[]int{3, 9}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", ints("strides", 2), ints("pads", 1, 2))}, map[string]*graph.Tensor{"w": w(4, 3, 3), "b": w(4)}}},
		{"Conv1d dilated, depthwise, then Tanh", tinyModel{[]int{4, 10}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", ints("dilations", 2), intAttr("group", 4), ints("pads", 2, 2)),
			node("Tanh", []string{"c"}, "y")}, map[string]*graph.Tensor{"w": w(4, 1, 3)}}},
		{"Conv1d SAME_UPPER then BatchNorm1d", tinyModel{[]int{2, 7}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", strAttr("auto_pad", "SAME_UPPER"), ints("strides", 2)), bn("c", "y")},
			bnInits(3, map[string]*graph.Tensor{"w": w(3, 2, 4)})}},
		{"MaxPool1d, AveragePool1d, GlobalAveragePool of [N, C, L]", tinyModel{[]int{2, 11}, []*graph.Node{
			node("MaxPool", []string{"x"}, "m", ints("kernel_shape", 3), ints("strides", 2), ints("pads", 1, 1)),
			node("AveragePool", []string{"m"}, "a", ints("kernel_shape", 2), ints("strides", 1)),
			node("GlobalAveragePool", []string{"a"}, "g"),
			node("Concat", []string{"a", "g"}, "y", intAttr("axis", 2))}, nil}},
		{"ReduceL2, ReduceSumSquare, ReduceL1, ReduceLogSumExp (F.normalize, LpNormalization written out)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("ReduceL2", []string{"x"}, "l2", ints("axes", 2)),
			node("Div", []string{"x", "l2"}, "nx"),
			node("ReduceSumSquare", []string{"x"}, "ss", ints("axes", 1)),
			node("ReduceL1", []string{"x"}, "l1", ints("axes", 1)),
			node("ReduceLogSumExp", []string{"x"}, "ls", ints("axes", 1)),
			node("Concat", []string{"nx", "ss", "l1", "ls"}, "y", intAttr("axis", 1))}, nil}},
		{"CumSum forward, and exclusive reverse", tinyModel{[]int{2, 5}, []*graph.Node{
			node("CumSum", []string{"x", "ax"}, "c"),
			node("CumSum", []string{"c", "ax0"}, "y", intAttr("exclusive", 1), intAttr("reverse", 1))},
			map[string]*graph.Tensor{"ax": graph.FromInt64(nil, []int64{-1}), "ax0": graph.FromInt64(nil, []int64{1})}}},
		{"Einsum attention scores and values (bhid,bhjd->bhij; bhij,bhjd->bhid)", tinyModel{[]int{2, 3, 4}, []*graph.Node{
			node("Einsum", []string{"x", "x"}, "s", strAttr("equation", "bhid,bhjd->bhij")),
			node("Softmax", []string{"s"}, "a", intAttr("axis", -1)),
			node("Einsum", []string{"a", "x"}, "y", strAttr("equation", "bhij, bhjd -> bhid"))}, nil}},
		{"Einsum with a weight, implicit output, ellipsis", tinyModel{[]int{3, 4}, []*graph.Node{
			node("Einsum", []string{"x", "wt"}, "h", strAttr("equation", "...d,de->...e")),
			node("Einsum", []string{"h"}, "y", strAttr("equation", "bij"))},
			map[string]*graph.Tensor{"wt": w(4, 5)}}},
		{"Einsum of three operands (Mamba-2's products)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("Exp", []string{"x"}, "e"),
			node("Einsum", []string{"x", "e", "wt"}, "y", strAttr("equation", "bld,bmd,lm->bld"))},
			map[string]*graph.Tensor{"wt": w(3, 3)}}},
		{"GatherElements by constant indices, one element picked twice (torch.gather)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("GatherElements", []string{"x", "gi"}, "y", intAttr("axis", 2))},
			map[string]*graph.Tensor{"gi": graph.FromInt64([]int{1, 3, 2}, []int64{3, 0, 1, 1, -1, 2})}}},
		{"ConvTranspose1d stride 2, pads, output_padding, bias (an audio decoder's upsampling)", tinyModel{[]int{3, 6}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w", "b"}, "y", ints("strides", 2), ints("pads", 1, 1), ints("output_padding", 1))},
			map[string]*graph.Tensor{"w": w(3, 2, 4), "b": w(2)}}},
		{"ConvTranspose1d stride 1 (rewritten as a Conv)", tinyModel{[]int{2, 5}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w"}, "y", ints("pads", 1, 0))},
			map[string]*graph.Tensor{"w": w(2, 3, 3)}}},
		{"ConvTranspose1d grouped, dilated", tinyModel{[]int{4, 5}, []*graph.Node{
			node("ConvTranspose", []string{"x", "w"}, "y", intAttr("group", 2), ints("dilations", 2), ints("strides", 3))},
			map[string]*graph.Tensor{"w": w(4, 1, 3)}}},
		{"ScatterElements, a place written twice (the last update wins)", tinyModel{[]int{2, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "axs"}, "u"), node("Mul", []string{"u", "k"}, "u2"),
			node("ScatterElements", []string{"x", "gi", "u2"}, "y", intAttr("axis", 2))},
			map[string]*graph.Tensor{"st": i64(0, 0, 0), "en": i64(1, 2, 2), "axs": i64(0, 1, 2), "k": graph.ScalarFloat32(1.5),
				"gi": graph.FromInt64([]int{1, 2, 2}, []int64{3, 3, 0, -1})}}},
		{"ScatterElements reduction add", tinyModel{[]int{2, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "axs"}, "u"), node("Mul", []string{"u", "k"}, "u2"),
			node("ScatterElements", []string{"x", "gi", "u2"}, "y", intAttr("axis", 2), strAttr("reduction", "add"))},
			map[string]*graph.Tensor{"st": i64(0, 0, 0), "en": i64(1, 2, 2), "axs": i64(0, 1, 2), "k": graph.ScalarFloat32(1.5),
				"gi": graph.FromInt64([]int{1, 2, 2}, []int64{3, 3, 0, -1})}}},
		{"ScatterND rows (a BEV grid's scatter)", tinyModel{[]int{3, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "axs"}, "u"), node("Reshape", []string{"u", "sh"}, "ur"), node("Exp", []string{"ur"}, "ue"),
			node("ScatterND", []string{"x", "ni", "ue"}, "y")},
			map[string]*graph.Tensor{"st": i64(0, 0), "en": i64(1, 2), "axs": i64(0, 1), "sh": i64(2, 4),
				"ni": graph.FromInt64([]int{2, 2}, []int64{0, 2, 0, 1})}}},
		{"TopK gate weights and the picked features (a mixture-of-experts router)", tinyModel{[]int{6}, []*graph.Node{
			node("Softmax", []string{"x"}, "p", intAttr("axis", -1)),
			multiNode("TopK", []string{"p", "k"}, []string{"v", "i"}),
			node("GatherElements", []string{"x", "i"}, "g", intAttr("axis", 1)),
			node("Mul", []string{"v", "g"}, "y")},
			map[string]*graph.Tensor{"k": i64(2)}}},
		{"CastLike of a size computed from the shape (opset 15), Cast float to float", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Shape", []string{"x"}, "sh"), node("Gather", []string{"sh", "i2"}, "w"),
			node("CastLike", []string{"w", "x"}, "wf"), node("Mul", []string{"x", "wf"}, "m"),
			node("Relu", []string{"m"}, "r"), node("Cast", []string{"r"}, "y", intAttr("to", int64(graph.Float32)))},
			map[string]*graph.Tensor{"i2": graph.FromInt64(nil, []int64{2})}}},
		{"GatherND of the top-k picks (batch_dims 1, a detector's post-processing)", tinyModel{[]int{6}, []*graph.Node{
			node("Softmax", []string{"x"}, "p", intAttr("axis", -1)),
			multiNode("TopK", []string{"p", "k"}, []string{"v", "i"}),
			node("Unsqueeze", []string{"i", "ax2"}, "iu"),
			node("GatherND", []string{"x", "iu"}, "g", intAttr("batch_dims", 1)),
			node("Mul", []string{"v", "g"}, "y")},
			map[string]*graph.Tensor{"k": i64(2), "ax2": i64(2)}}},
		{"Mean and Sum of three or more broadcast tensors (variadic, an old model zoo's)", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Relu", []string{"x"}, "r"), node("ReduceMean", []string{"x"}, "m", ints("axes", 2)),
			node("Mean", []string{"x", "r", "m", "c"}, "a"), node("Sum", []string{"a", "r", "c"}, "y")},
			map[string]*graph.Tensor{"c": graph.FromFloat32([]int{3}, []float32{0.5, -1, 2})}}},
		{"Max and Min of three broadcast tensors", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "a"), node("Max", []string{"x", "a", "c"}, "mx"),
			node("Min", []string{"x", "a", "c"}, "mn"), node("Concat", []string{"mx", "mn"}, "y", intAttr("axis", 1))},
			map[string]*graph.Tensor{"k": graph.ScalarFloat32(-0.7), "c": graph.FromFloat32([]int{3}, []float32{0.5, -1, 2})}}},
		{"LRN across channels (AlexNet, GoogLeNet v1), even and odd sizes", tinyModel{[]int{5, 2, 2}, []*graph.Node{
			node("LRN", []string{"x"}, "l", intAttr("size", 3), floatAttr("alpha", 0.5), floatAttr("beta", 0.75), floatAttr("bias", 1)),
			node("LRN", []string{"l"}, "y", intAttr("size", 4), floatAttr("alpha", 0.3), floatAttr("beta", 0.6), floatAttr("bias", 2))}, nil}},
		{"ReduceProd over an axis and over all (a product of gates)", tinyModel{[]int{3, 2}, []*graph.Node{
			node("ReduceProd", []string{"x"}, "p", ints("axes", 2)),
			node("ReduceProd", []string{"x"}, "q", intAttr("keepdims", 0)),
			node("Mul", []string{"x", "p"}, "m"), node("Add", []string{"m", "q"}, "y")}, nil}},
		{"AffineGrid of a theta from data, both corner conventions (a spatial transformer's grid)", tinyModel{[]int{6}, []*graph.Node{
			node("Reshape", []string{"x", "s236"}, "th"),
			node("Shape", []string{"x"}, "sh"), node("Slice", []string{"sh", "z", "one"}, "nb"),
			node("Concat", []string{"nb", "chw"}, "size", intAttr("axis", 0)),
			node("AffineGrid", []string{"th", "size"}, "g0"),
			node("AffineGrid", []string{"th", "size"}, "g1", intAttr("align_corners", 1)),
			node("Mul", []string{"g0", "g1"}, "y")},
			map[string]*graph.Tensor{"s236": i64(-1, 2, 3), "z": i64(0), "one": i64(1), "chw": i64(1, 3, 4)}}},
		{"Einsum of a diagonal, alone and contracted with another operand", tinyModel{[]int{3, 3}, []*graph.Node{
			node("Einsum", []string{"x"}, "d", &graph.Attr{Name: "equation", Type: graph.AttrString, S: "bii->bi"}),
			node("Einsum", []string{"x", "x"}, "c", &graph.Attr{Name: "equation", Type: graph.AttrString, S: "bij,bjj->bi"}),
			node("Mul", []string{"d", "c"}, "y")}, nil}},
		{"Einsum broadcast over the ellipsis, both ways (a batch of one against a stack of weights)", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Unsqueeze", []string{"x", "ax1"}, "xu"),
			node("Einsum", []string{"xu", "m"}, "y", &graph.Attr{Name: "equation", Type: graph.AttrString, S: "...ij,...jk->...ik"})},
			map[string]*graph.Tensor{"ax1": i64(1), "m": randTensor(rand.New(rand.NewSource(4)), 1, 4, 3, 2)}}},
		{"3-D convolutions (strided, padded, dilated, biased; grouped) and the global pool of a video net", tinyModel{[]int{2, 3, 4, 5}, []*graph.Node{
			node("Conv", []string{"x", "w1", "b1"}, "c1", ints("strides", 1, 2, 1), ints("pads", 1, 0, 1, 0, 1, 0), ints("dilations", 1, 1, 2)),
			node("Mul", []string{"c1", "c1"}, "r"),
			node("Conv", []string{"r", "w2"}, "c2", intAttr("group", 2), ints("pads", 0, 1, 1, 0, 1, 1)),
			node("GlobalAveragePool", []string{"c2"}, "y")},
			map[string]*graph.Tensor{"w1": randTensor(rand.New(rand.NewSource(5)), 0.5, 4, 2, 2, 3, 2), "b1": randTensor(rand.New(rand.NewSource(6)), 0.5, 4),
				"w2": randTensor(rand.New(rand.NewSource(7)), 0.5, 6, 2, 1, 3, 3)}}},
		{"3-D max and average pooling (padded, strided, ceil mode; counting the padding)", tinyModel{[]int{2, 3, 5, 4}, []*graph.Node{
			node("MaxPool", []string{"x"}, "m", ints("kernel_shape", 2, 3, 2), ints("strides", 1, 2, 2), ints("pads", 1, 1, 0, 0, 1, 1)),
			node("AveragePool", []string{"x"}, "a", ints("kernel_shape", 2, 2, 3), ints("strides", 2, 2, 1), intAttr("ceil_mode", 1)),
			node("AveragePool", []string{"x"}, "c", ints("kernel_shape", 3, 3, 3), ints("pads", 1, 1, 1, 1, 1, 1), intAttr("count_include_pad", 1)),
			node("Flatten", []string{"m"}, "mf"), node("Flatten", []string{"a"}, "af"), node("Flatten", []string{"c"}, "cf"),
			node("Concat", []string{"mf", "af", "cf"}, "y", intAttr("axis", 1))}, nil}},
		{"3-D transposed convolutions (a U-Net's upsampling: strided, padded, output padding; grouped, biased)", tinyModel{[]int{4, 2, 3, 3}, []*graph.Node{
			node("ConvTranspose", []string{"x", "wt"}, "u", ints("strides", 2, 1, 2), ints("pads", 0, 1, 1, 1, 0, 0), ints("output_padding", 1, 0, 1)),
			node("Mul", []string{"u", "u"}, "t"),
			node("ConvTranspose", []string{"t", "wg", "bg"}, "y", intAttr("group", 3), ints("strides", 1, 2, 1), ints("dilations", 1, 2, 1))},
			map[string]*graph.Tensor{"wt": randTensor(rand.New(rand.NewSource(8)), 0.5, 4, 3, 2, 2, 3),
				"wg": randTensor(rand.New(rand.NewSource(9)), 0.5, 3, 2, 2, 2, 1), "bg": randTensor(rand.New(rand.NewSource(10)), 0.5, 6)}}},
		{"MaxPool's indices to MaxUnpool, 2-D (SegNet's decoder; with an output_shape) and 3-D", tinyModel{[]int{2, 2, 4, 6}, []*graph.Node{
			multiNode("MaxPool", []string{"x"}, []string{"m3", "i3"}, ints("kernel_shape", 2, 2, 2), ints("strides", 2, 2, 2)),
			node("MaxUnpool", []string{"m3", "i3"}, "u3", ints("kernel_shape", 2, 2, 2), ints("strides", 2, 2, 2)),
			node("Reshape", []string{"x", "s2"}, "x2"),
			multiNode("MaxPool", []string{"x2"}, []string{"m2", "i2"}, ints("kernel_shape", 2, 2), ints("strides", 2, 2), ints("pads", 0, 1, 0, 1)),
			node("Mul", []string{"m2", "m2"}, "q"),
			node("Shape", []string{"x2"}, "sh"),
			node("MaxUnpool", []string{"q", "i2", "sh"}, "u2", ints("kernel_shape", 2, 2), ints("strides", 2, 2), ints("pads", 0, 1, 0, 1)),
			node("Flatten", []string{"u3"}, "f3"), node("Flatten", []string{"u2"}, "f2"),
			node("Concat", []string{"f3", "f2"}, "y", intAttr("axis", 1))},
			map[string]*graph.Tensor{"s2": i64(0, 4, 4, 6)}}},
		{"Resize of a volume: trilinear x2 (a 3-D U-Net's upsampling), and depth down, height and width up", tinyModel{[]int{2, 3, 2, 3}, []*graph.Node{
			node("Resize", []string{"x", "", "sc1"}, "u", strAttr("mode", "linear")),
			node("Resize", []string{"x", "", "sc2"}, "v", strAttr("mode", "linear"), strAttr("coordinate_transformation_mode", "align_corners")),
			node("Flatten", []string{"u"}, "fu"), node("Flatten", []string{"v"}, "fv"),
			node("Concat", []string{"fu", "fv"}, "y", intAttr("axis", 1))},
			map[string]*graph.Tensor{"sc1": graph.FromFloat32([]int{5}, []float32{1, 1, 2, 2, 2}), "sc2": graph.FromFloat32([]int{5}, []float32{1, 1, 0.67, 2, 1.5})}}},
		{"Col2Im (F.fold: overlapping 3x2 blocks, padded, strided, dilated)", tinyModel{[]int{12, 6}, []*graph.Node{
			node("Col2Im", []string{"x", "img", "blk"}, "f", ints("pads", 1, 0, 1, 1), ints("strides", 1, 2), ints("dilations", 1, 2)),
			node("Mul", []string{"f", "f"}, "y")},
			map[string]*graph.Tensor{"img": i64(3, 5), "blk": i64(3, 2)}}},
		{"Tan, Atan, Sinh, Asinh", tinyModel{[]int{10}, []*graph.Node{
			node("Tan", []string{"x"}, "a"), node("Atan", []string{"a"}, "b"), node("Sinh", []string{"b"}, "c"), node("Asinh", []string{"c"}, "y")}, nil}},
		{"Asin, Acos, Atanh inside (-1, 1)", tinyModel{[]int{10}, []*graph.Node{
			node("Asin", []string{"x"}, "a"), node("Atanh", []string{"x"}, "b"), node("Acos", []string{"x"}, "c"),
			node("Sum", []string{"a", "b", "c"}, "y")}, nil}},
		{"Cosh, Acosh above 1", tinyModel{[]int{10}, []*graph.Node{
			node("Cosh", []string{"x"}, "c"), node("Add", []string{"c", "k"}, "a"), node("Acosh", []string{"a"}, "y")}, sc(0.5)}},
		{"Det of 3x3 matrices", tinyModel{[]int{2, 3, 3}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"), node("Det", []string{"s"}, "y")}, sc(2)}},
		{"Mod (fmod) by a constant", tinyModel{[]int{10}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "a"), node("Mod", []string{"a", "c"}, "y", intAttr("fmod", 1))},
			map[string]*graph.Tensor{"k": graph.ScalarFloat32(2), "c": graph.ScalarFloat32(0.7)}}},
		{"BatchNormalization in training mode (statistics outputs asked for, opset 13)", tinyModel{[]int{2, 3}, []*graph.Node{
			node("Mul", []string{"x", "x"}, "sq"), node("Add", []string{"sq", "x"}, "a"),
			multiNode("BatchNormalization", []string{"a", "g", "be", "mu", "va"}, []string{"bn", "rm", "rv"}),
			node("Mul", []string{"bn", "a"}, "y")},
			map[string]*graph.Tensor{"g": graph.FromFloat32([]int{2}, []float32{0.7, -1.3}), "be": graph.FromFloat32([]int{2}, []float32{0.1, 0.4}),
				"mu": graph.FromFloat32([]int{2}, []float32{5, -5}), "va": graph.FromFloat32([]int{2}, []float32{9, 0.01})}}},
		{"DeformConv (DCNv2: offsets and mask computed from the input, 2 groups, 2 offset groups, strided, padded)", tinyModel{[]int{4, 6, 5}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "s"),
			node("Conv", []string{"s", "wo", "bo"}, "off", ints("pads", 1, 1, 1, 1), ints("strides", 2, 1)),
			node("Conv", []string{"s", "wm"}, "ml", ints("pads", 1, 1, 1, 1), ints("strides", 2, 1)),
			node("Sigmoid", []string{"ml"}, "mask"),
			node("DeformConv", []string{"s", "w", "off", "b", "mask"}, "y", ints("pads", 1, 1, 1, 1), ints("strides", 2, 1),
				intAttr("group", 2), intAttr("offset_group", 2))},
			// offsets 0.5 ± 0.15 (and sample points as far from a whole pixel): the
			// bilinear weights bend where a point crosses one, which a finite
			// difference straddling it cannot follow
			map[string]*graph.Tensor{"k": graph.ScalarFloat32(0.2), "wo": randTensor(rng, 0.01, 36, 4, 3, 3), "bo": shifted(0.5, 36),
				"wm": w(18, 4, 3, 3), "w": w(6, 2, 3, 3), "b": w(6)}}},
		{"RoiAlign average (half_pixel, adaptive sampling) of three boxes, one partly outside", tinyModel{[]int{3, 7, 6}, []*graph.Node{
			node("Mul", []string{"x", "x"}, "s"),
			node("RoiAlign", []string{"s", "rois", "bi"}, "y", intAttr("output_height", 2), intAttr("output_width", 3),
				floatAttr("spatial_scale", 0.5), strAttr("coordinate_transformation_mode", "half_pixel"))},
			map[string]*graph.Tensor{"rois": graph.FromFloat32([]int{3, 4}, []float32{1, 2, 9, 11, 0.5, 0.3, 4.2, 5.1, -3, 6, 7, 16}),
				"bi": graph.FromInt64([]int{3}, []int64{1, 0, 1})}}},
		{"RoiAlign max (output_half_pixel, 2x2 samples)", tinyModel{[]int{3, 7, 6}, []*graph.Node{
			node("Mul", []string{"x", "x"}, "s"),
			node("RoiAlign", []string{"s", "rois", "bi"}, "y", intAttr("output_height", 2), intAttr("output_width", 2),
				intAttr("sampling_ratio", 2), strAttr("mode", "max"), strAttr("coordinate_transformation_mode", "output_half_pixel"))},
			map[string]*graph.Tensor{"rois": graph.FromFloat32([]int{2, 4}, []float32{0.5, 1, 4.5, 5.5, 1.2, 0.1, 3.3, 6.2}),
				"bi": graph.FromInt64([]int{2}, []int64{0, 1})}}},
		{"MaxRoiPool (Fast R-CNN) of two boxes, one with empty bins", tinyModel{[]int{3, 7, 6}, []*graph.Node{
			node("Mul", []string{"x", "x"}, "s"),
			node("MaxRoiPool", []string{"s", "rois"}, "y", ints("pooled_shape", 2, 3), floatAttr("spatial_scale", 0.5))},
			map[string]*graph.Tensor{"rois": graph.FromFloat32([]int{2, 5}, []float32{1, 0, 2, 9, 11, 0, 8, 4, 20, 20})}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkOpCase(t, tc.m) })
	}
}

// checkOpCase checks a tiny float model: the training forward pass against the float
// runtime, the gradients against finite differences, the forward pass again at another
// batch size (which rebuilds the index maps and the computed shapes).
func checkOpCase(t *testing.T, tm tinyModel) {
	t.Helper()
	m := tm.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	checkForwardMatchesRuntime(t, m, n, 3)
	checkGrads(t, n, 3, false)
	checkForwardMatchesRuntime(t, m, n, 2)
}

// TestShapeArithmeticRunsEachBatch: shape computations that depend on the batch size
// are evaluated at run time, not folded to the first batch's values.
func TestShapeArithmeticRunsEachBatch(t *testing.T) {
	m := tinyModel{[]int{2, 3}, []*graph.Node{
		node("Shape", []string{"x"}, "sh"),
		node("Gather", []string{"sh", "i0"}, "n"), node("Unsqueeze", []string{"n", "a0"}, "nu"),
		node("Concat", []string{"nu", "m1"}, "s", intAttr("axis", 0)),
		node("Reshape", []string{"x", "s"}, "y")},
		map[string]*graph.Tensor{"i0": graph.FromInt64(nil, []int64{0}), "a0": i64(0), "m1": i64(-1)}}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	var shapeOps int
	for _, o := range n.ops {
		if _, ok := o.(*shapeOp); ok {
			shapeOps++
		}
	}
	require.Equal(t, 4, shapeOps, "Shape, Gather, Unsqueeze and Concat are evaluated at run time")
	for _, batch := range []int{1, 4, 2} {
		shape, _, err := n.Forward(make([]float32, batch*6), batch)
		require.NoError(t, err)
		require.Equal(t, []int{batch, 6}, shape)
	}
}

// checkForwardMatchesRuntime compares the training forward pass with the float
// runtime on the same input.
func checkForwardMatchesRuntime(t *testing.T, m *graph.Model, n *Net, batch int) {
	t.Helper()
	rng := rand.New(rand.NewSource(2))
	shape := append([]int{batch}, n.inShape...)
	x := make([]float32, numel(shape))
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	gotShape, got, err := n.Forward(x, batch)
	require.NoError(t, err)
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": graph.FromFloat32(shape, x)})
	require.NoError(t, err)
	want := out["y"]
	require.Equal(t, want.Shape, gotShape)
	for i, v := range want.F32() {
		require.InDelta(t, v, got[i], 1e-5*(1+math.Abs(float64(v))), "element %d", i)
	}
}

// TestStandaloneBatchNormTrains checks where a BatchNormalization that follows no
// Conv/Gemm ends up: on a feature map it becomes a depthwise 1x1 convolution (trained
// as one: its weight and bias are the BN's scale and shift), on [N, C] features it is
// a bnOp with trainable gamma and beta.
func TestStandaloneBatchNormTrains(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	inits := func(c int) map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"g": randTensor(rng, 1, c), "be": randTensor(rng, 1, c), "mu": randTensor(rng, 1, c), "var": graph.FromFloat32([]int{c}, make([]float32, c))}
	}
	bn := node("BatchNormalization", []string{"r", "g", "be", "mu", "var"}, "y")
	m4 := tinyModel{[]int{2, 3, 3}, []*graph.Node{node("Relu", []string{"x"}, "r"), bn}, inits(2)}.model()
	n, err := New(m4, Config{FloatOnly: true})
	require.NoError(t, err)
	var conv bool
	for _, o := range n.ops {
		if _, ok := o.(*convOp); ok {
			conv = true
		}
	}
	require.True(t, conv, "a BN on a feature map trains as a depthwise convolution")
	require.Len(t, n.Params(), 2)

	m2 := tinyModel{[]int{2}, []*graph.Node{node("Relu", []string{"x"}, "r"), bn}, inits(2)}.model()
	n, err = New(m2, Config{FloatOnly: true})
	require.NoError(t, err)
	var names []string
	for _, p := range n.Params() {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"be", "g"}, names, "gamma and beta are trainable, the statistics are not")
}

func TestNoGradientNamesNodeMoreOps(t *testing.T) {
	cases := []struct {
		name  string
		m     tinyModel
		parts []string
	}{
		{"an operator with no gradient", tinyModel{[]int{4}, []*graph.Node{node("Relu", []string{"x"}, "r"), node("Hardmax", []string{"r"}, "y")}, nil},
			[]string{"y_node", "Hardmax"}},
		{"Round after every weight", tinyModel{[]int{4}, []*graph.Node{node("MatMul", []string{"x", "w"}, "h"), node("Round", []string{"h"}, "y")},
			map[string]*graph.Tensor{"w": graph.FromFloat32([]int{4, 2}, make([]float32, 8))}}, []string{"y_node", "Round"}},
		{"Pad reading its value from data", tinyModel{[]int{4}, []*graph.Node{
			node("ReduceMean", []string{"x"}, "m", intAttr("keepdims", 0)),
			node("Pad", []string{"x", "p", "m"}, "y")}, map[string]*graph.Tensor{"p": i64(0, 1, 0, 1)}}, []string{"y_node", "Pad input 2", "not a constant"}},
		{"ScatterElements reduction mul", tinyModel{[]int{4}, []*graph.Node{
			node("ScatterElements", []string{"x", "gi", "x"}, "y", intAttr("axis", 1), strAttr("reduction", "mul"))},
			map[string]*graph.Tensor{"gi": graph.FromInt64([]int{1, 4}, []int64{0, 1, 2, 3})}}, []string{"y_node", `ScatterElements reduction "mul"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(weightFirst(tc.m.model(), 4), Config{})
			require.ErrorIs(t, err, ErrNoGradient)
			for _, p := range tc.parts {
				require.ErrorContains(t, err, p)
			}
		})
	}
}

// TestResizeLeadingAxesRefused: a linear Resize that scales an axis before the last
// two is not trained (its weights are read per plane of the last two); the error
// names the node and the axis.
func TestResizeLeadingAxesRefused(t *testing.T) {
	m := tinyModel{[]int{2, 2, 2}, []*graph.Node{node("Resize", []string{"x", "", "sc"}, "y", strAttr("mode", "linear"))},
		map[string]*graph.Tensor{"sc": graph.FromFloat32([]int{4}, []float32{1, 2, 1, 1})}}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	_, _, err = n.Forward(make([]float32, 2*8), 2)
	require.ErrorIs(t, err, ErrNoGradient)
	require.ErrorContains(t, err, "y_node")
	require.ErrorContains(t, err, "Resize scales axis 1 (2 to 4); only the last two axes (three of a 5-D tensor) are trained")
}

// TestBFloat16RoundTrip: a cast through bfloat16 rounds as the runtime does (its
// 8-bit mantissa is too coarse for finite differences) and passes the gradient
// straight through. (float16 never reaches training: Optimize widens a float16
// model to float32, casts included, and the written model computes so.)
func TestBFloat16RoundTrip(t *testing.T) {
	m := tinyModel{[]int{5}, []*graph.Node{
		node("Cast", []string{"x"}, "h", intAttr("to", int64(graph.BFloat16))),
		node("Cast", []string{"h"}, "f", intAttr("to", int64(graph.Float32))), node("Mul", []string{"f", "k"}, "y")},
		map[string]*graph.Tensor{"k": graph.ScalarFloat32(1.5)}}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	checkForwardMatchesRuntime(t, m, n, 3)
	n.inputGrad = true
	x := []float32{0.1234567, -3.3333, 7.77, 1e-3, 250.3}
	_, y, err := n.Forward(x, 1)
	require.NoError(t, err)
	require.Equal(t, float32(1.5*0.12353516), y[0], "rounded to bfloat16's 8-bit mantissa")
	n.Backward([]float32{1, 2, 3, 4, 5})
	require.Equal(t, []float32{1.5, 3, 4.5, 6, 7.5}, n.vals[n.input].grad)
}

// TestControlFlowReadingActivations: an If whose branches read an activation of
// the enclosing graph (implicit inputs) is not shape arithmetic (it was once
// evaluated without those values and failed at the first step): the branch the
// condition picks runs and takes the gradient, either way; an If over computed
// values only still runs as shape arithmetic.
func TestControlFlowReadingActivations(t *testing.T) {
	branch := func(op, in, out string) *graph.Attr {
		g := &graph.Graph{Name: op, Nodes: []*graph.Node{node(op, []string{in}, out)}, Initializers: map[string]*graph.Tensor{},
			Values: map[string]*graph.Value{}, Outputs: []*graph.Value{{Name: out, DType: graph.Float32}}}
		return &graph.Attr{Type: graph.AttrGraph, G: g}
	}
	ifNode := func(in string) *graph.Node {
		n := node("If", []string{"cond"}, "b")
		n.Attrs["then_branch"], n.Attrs["else_branch"] = branch("Identity", in, "t"), branch("Neg", in, "e")
		n.Attrs["then_branch"].Name, n.Attrs["else_branch"].Name = "then_branch", "else_branch"
		return n
	}
	inits := func() map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"i0": graph.FromInt64(nil, []int64{0}), "zero": graph.FromInt64(nil, []int64{0}),
			"c": graph.FromFloat32([]int{1}, []float32{2})}
	}
	// the condition depends on the batch size: Optimize cannot fold the If
	cond := []*graph.Node{node("Shape", []string{"x"}, "sh"), node("Gather", []string{"sh", "i0"}, "nb"),
		node("Greater", []string{"nb", "zero"}, "cond")}
	// a branch reading an activation (since the thirty-first session: the
	// branch taken runs and passes the gradient back)
	checkOpCase(t, tinyModel{[]int{4}, append(cond, node("Relu", []string{"x"}, "r"), ifNode("r"), node("Add", []string{"b", "x"}, "y")), inits()})
	inv := inits()
	inv["zero"] = graph.FromInt64(nil, []int64{1 << 20}) // Greater is false: the else branch (Neg)
	checkOpCase(t, tinyModel{[]int{4}, append(cond, node("Relu", []string{"x"}, "r"), ifNode("r"), node("Add", []string{"b", "x"}, "y")), inv})

	m := tinyModel{[]int{4}, append(cond, ifNode("c"), node("Mul", []string{"b", "x"}, "y")), inits()}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	_, y, err := n.Forward([]float32{1, 2, 3, 4}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{2, 4, 6, 8}, y)
}

// TestScatterMaxMinGradients: ScatterElements and ScatterND with reduction max and
// min (opset 18): each place's gradient to the value it holds, data's or the
// update's.
func TestScatterMaxMinGradients(t *testing.T) {
	cases := []struct {
		name string
		m    tinyModel
	}{
		{"ScatterElements reduction max (a graph network's per-node maximum)", tinyModel{[]int{2, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "axs"}, "u"), node("Mul", []string{"u", "k"}, "u2"),
			node("ScatterElements", []string{"x", "gi", "u2"}, "y", intAttr("axis", 2), strAttr("reduction", "max"))},
			map[string]*graph.Tensor{"st": i64(0, 0, 0), "en": i64(1, 2, 2), "axs": i64(0, 1, 2), "k": graph.ScalarFloat32(1.37),
				"gi": graph.FromInt64([]int{1, 2, 2}, []int64{3, 3, 0, -1})}}},
		{"ScatterND reduction min", tinyModel{[]int{3, 4}, []*graph.Node{
			node("Slice", []string{"x", "st", "en", "axs"}, "u"), node("Reshape", []string{"u", "sh"}, "ur"), node("Mul", []string{"ur", "k"}, "um"),
			node("ScatterND", []string{"x", "ni", "um"}, "y", strAttr("reduction", "min"))},
			map[string]*graph.Tensor{"st": i64(0, 0), "en": i64(1, 2), "axs": i64(0, 1), "sh": i64(2, 4), "k": graph.ScalarFloat32(-1.37),
				"ni": graph.FromInt64([]int{2, 2}, []int64{0, 2, 0, 1})}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m.model()
			m.Opsets[""] = 18
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
		})
	}
}

// TestReduceProdZeros: the gradient of a product with respect to one input is the
// product of the others: with one zero input only that input gets one (the
// product of the nonzero others), with two zeros none does.
func TestReduceProdZeros(t *testing.T) {
	m := tinyModel{[]int{3, 3}, []*graph.Node{node("ReduceProd", []string{"x"}, "y", ints("axes", 2), intAttr("keepdims", 0))}, nil}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	n.inputGrad = true
	_, y, err := n.Forward([]float32{0, 2, 3, 0, 0, 5, 1, 2, 3}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 6}, y)
	n.Backward([]float32{1, 1, 1})
	require.Equal(t, []float32{6, 0, 0, 0, 0, 0, 6, 3, 2}, n.vals[n.input].grad)
}

package optimize_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// TestFoldConvAffine folds Mul/Add/Sub by per-output-channel constants (any
// rank that broadcasts along the channel axis only, or one value) and inference
// BatchNormalizations into the Conv before them, and leaves the others: a constant varying along another
// axis, a Conv output read twice, a constant minus the output. A weight shared
// with a Conv that is not folded keeps its values there. Outputs match the
// graph run as written within float rounding.
func TestFoldConvAffine(t *testing.T) {
	cases := []struct {
		name   string
		consts map[string][]int // shapes of the constants the chain uses
		chain  func(c string) []*graph.Node
		folded int
		outs   []string
	}{
		{"Mul [1,C,1,1], Add [C,1,1], Sub scalar, with bias", map[string][]int{"s": {1, 6, 1, 1}, "b": {6, 1, 1}, "d": {}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("Mul", []string{"s", c}, []string{"m"}), node("Add", []string{"m", "b"}, []string{"a"}),
					node("Sub", []string{"a", "d"}, []string{"u"}), node("Relu", []string{"u"}, []string{"y"})}
			}, 3, []string{"y"}},
		{"BatchNormalization (Paddle, tf2onnx), then Relu", map[string][]int{"s": {6}, "b": {6}, "mean": {6}, "var": {6}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("BatchNormalization", []string{c, "s", "b", "mean", "var"}, []string{"n"}, graph.FloatAttr("epsilon", 1e-3)),
					node("Relu", []string{"n"}, []string{"y"})}
			}, 1, []string{"y"}},
		{"BatchNormalization then Mul", map[string][]int{"s": {6}, "b": {6}, "mean": {6}, "var": {6}, "k": {1, 6, 1, 1}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("BatchNormalization", []string{c, "s", "b", "mean", "var"}, []string{"n"}),
					node("Mul", []string{"n", "k"}, []string{"y"})}
			}, 2, []string{"y"}},
		{"BatchNormalization of a conv output read twice stays", map[string][]int{"s": {6}, "b": {6}, "mean": {6}, "var": {6}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("BatchNormalization", []string{c, "s", "b", "mean", "var"}, []string{"y"}),
					node("Relu", []string{c}, []string{"y2"})}
			}, 0, []string{"y", "y2"}},
		{"Div [C,1,1], Add [C,1,1], BatchNormalization, Relu (PyTorch ConvBn QAT)",
			map[string][]int{"f": {6, 1, 1}, "b": {6, 1, 1}, "s": {6}, "beta": {6}, "mean": {6}, "var": {6}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("Div", []string{c, "f"}, []string{"d"}), node("Add", []string{"d", "b"}, []string{"a"}),
					node("BatchNormalization", []string{"a", "s", "beta", "mean", "var"}, []string{"n"}),
					node("Relu", []string{"n"}, []string{"y"})}
			}, 3, []string{"y"}},
		{"Div by a zero stays", map[string][]int{"zero6": {6, 1, 1}},
			func(c string) []*graph.Node { return []*graph.Node{node("Div", []string{c, "zero6"}, []string{"y"})} }, 0, []string{"y"}},
		{"c / conv stays", map[string][]int{"s": {6, 1, 1}},
			func(c string) []*graph.Node { return []*graph.Node{node("Div", []string{"s", c}, []string{"y"})} }, 0, []string{"y"}},
		{"Mul by [1,1,1,W] stays", map[string][]int{"s": {1, 1, 1, 5}},
			func(c string) []*graph.Node { return []*graph.Node{node("Mul", []string{c, "s"}, []string{"y"})} }, 0, []string{"y"}},
		{"c - conv stays", map[string][]int{"s": {6, 1, 1}},
			func(c string) []*graph.Node { return []*graph.Node{node("Sub", []string{"s", c}, []string{"y"})} }, 0, []string{"y"}},
		{"a conv output read twice stays", map[string][]int{"s": {6, 1, 1}},
			func(c string) []*graph.Node {
				return []*graph.Node{node("Mul", []string{c, "s"}, []string{"y"}), node("Relu", []string{c}, []string{"y2"})}
			}, 0, []string{"y", "y2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.name))))
			inits := map[string]*graph.Tensor{"w": randF32(rng, 6, 3, 3, 3), "bias": randF32(rng, 6)}
			for k, s := range c.consts {
				inits[k] = randF32(rng, s...)
				if k == "zero6" {
					inits[k].F32()[2] = 0
				}
				if k == "var" { // a variance: positive
					for i, v := range inits[k].F32() {
						inits[k].F32()[i] = float32(math.Abs(float64(v))) + 0.1
					}
				}
			}
			nodes := []*graph.Node{
				node("Conv", []string{"x", "w", "bias"}, []string{"conv"}, graph.IntsAttr("pads", []int{1, 1, 1, 1})),
				node("Conv", []string{"x", "w"}, []string{"shared"}), // the same weight, not folded
			}
			nodes = append(nodes, c.chain("conv")...)
			src := tfModel(nodes, inits, []int{1, 3, 7, 5}, append(c.outs, "shared")...)
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 3, 7, 5)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			assert.Equal(t, c.folded, st.Affine, st.String())
			got := run(t, m, in)
			for _, o := range append(c.outs, "shared") {
				w, g := want[o].F32(), got[o].F32()
				require.Len(t, g, len(w), o)
				for i := range w {
					if math.IsInf(float64(w[i]), 0) || math.IsNaN(float64(w[i])) { // y/0
						require.Equal(t, math.Float32bits(w[i]), math.Float32bits(g[i]), "%s[%d]", o, i)
						continue
					}
					require.InDelta(t, w[i], g[i], 1e-5*(1+math.Abs(float64(w[i]))), "%s[%d]", o, i)
				}
			}
		})
	}
}

// TestFoldConvTransposeAffine folds the inference BatchNormalization (and
// Mul/Add by per-channel constants) after a ConvTranspose into its weight and
// bias, as decoders exported by Paddle's p2o or in training mode write it
// (ENet's and DBNet's upsampling blocks, a depthwise deconvolution, a pose
// head): strided, grouped (the weight is [C, M/group, k...], output channel
// group·M/group + j), 1-D, with output_padding, with and without a bias. A
// stride-1 ConvTranspose is rewritten as a Conv first and folds there. A
// training-mode BatchNormalization (extra outputs) stays, and a weight shared
// with a ConvTranspose that is not folded keeps its values there. Outputs
// match the graph run as written within float rounding.
func TestFoldConvTransposeAffine(t *testing.T) {
	bn := func(y string) []*graph.Node {
		return []*graph.Node{node("BatchNormalization", []string{"deconv", "s", "b", "mean", "var"}, []string{"n"}, graph.FloatAttr("epsilon", 1e-5)),
			node("Relu", []string{"n"}, []string{y})}
	}
	cases := []struct {
		name          string
		in            []int // input shape; the weight is [in[1], cout/group, k...]
		cout, group   int
		k, stride     int
		attrs         []*graph.Attr
		bias          bool
		chain         func(y string) []*graph.Node
		folded, convs int // affine nodes folded; ConvTransposes rewritten as Conv
	}{
		{name: "stride 2, BN, Relu (ENet upsampling)", in: []int{1, 8, 5, 6}, cout: 4, group: 1, k: 3, stride: 2,
			attrs: []*graph.Attr{graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntsAttr("output_padding", []int{1, 1})},
			chain: bn, folded: 1},
		{name: "stride 2, kernel 2, bias, BN, Relu (DBNet head)", in: []int{1, 6, 4, 4}, cout: 3, group: 1, k: 2, stride: 2,
			bias: true, chain: bn, folded: 1},
		{name: "depthwise deconvolution, group = C", in: []int{1, 6, 5, 5}, cout: 6, group: 6, k: 4, stride: 2,
			attrs: []*graph.Attr{graph.IntsAttr("pads", []int{1, 1, 1, 1})}, bias: true, chain: bn, folded: 1},
		{name: "group 2, 4 -> 6 channels, BN then Mul", in: []int{1, 4, 3, 5}, cout: 6, group: 2, k: 3, stride: 2,
			chain: func(y string) []*graph.Node {
				return []*graph.Node{node("BatchNormalization", []string{"deconv", "s", "b", "mean", "var"}, []string{"n"}),
					node("Mul", []string{"n", "k"}, []string{y})}
			}, folded: 2},
		{name: "1-D, stride 3", in: []int{1, 5, 7}, cout: 3, group: 1, k: 3, stride: 3, bias: true, chain: bn, folded: 1},
		{name: "stride 1: rewritten as Conv, folded there", in: []int{1, 4, 6, 6}, cout: 5, group: 1, k: 3, stride: 1,
			attrs: []*graph.Attr{graph.IntsAttr("pads", []int{1, 1, 1, 1})}, bias: true, chain: bn, folded: 1, convs: 1},
		{name: "training-mode BN (mean and var outputs) stays", in: []int{1, 4, 3, 3}, cout: 4, group: 1, k: 2, stride: 2,
			chain: func(y string) []*graph.Node {
				return []*graph.Node{node("BatchNormalization", []string{"deconv", "s", "b", "mean", "var"}, []string{y, "rm", "rv"})}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.name))))
			sp := len(c.in) - 2
			wshape := []int{c.in[1], c.cout / c.group}
			for i := 0; i < sp; i++ {
				wshape = append(wshape, c.k)
			}
			strides := make([]int, sp)
			for i := range strides {
				strides[i] = c.stride
			}
			inits := map[string]*graph.Tensor{"w": randF32(rng, wshape...), "s": randF32(rng, c.cout), "b": randF32(rng, c.cout),
				"mean": randF32(rng, c.cout), "var": randF32(rng, c.cout), "k": randF32(rng, 1, c.cout, 1, 1)}
			for i, v := range inits["var"].F32() {
				inits["var"].F32()[i] = float32(math.Abs(float64(v))) + 0.1
			}
			ins := []string{"x", "w"}
			if c.bias {
				inits["bias"] = randF32(rng, c.cout)
				ins = append(ins, "bias")
			}
			attrs := append([]*graph.Attr{graph.IntAttr("group", int64(c.group)), graph.IntsAttr("strides", strides)}, c.attrs...)
			nodes := []*graph.Node{
				node("ConvTranspose", ins, []string{"deconv"}, attrs...),
				node("ConvTranspose", []string{"x", "w"}, []string{"shared"}, attrs...), // the same weight, not folded
			}
			nodes = append(nodes, c.chain("y")...)
			src := tfModel(nodes, inits, c.in, "y", "shared")
			in := map[string]*graph.Tensor{"x": randF32(rng, c.in...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			assert.Equal(t, c.folded, st.Affine, st.String())
			assert.Equal(t, 2*c.convs, st.Deconvs, st.String())
			if c.folded > 0 {
				assert.Zero(t, opTypes(m.Graph)["BatchNormalization"])
			}
			got := run(t, m, in)
			for _, o := range []string{"y", "shared"} {
				w, g := want[o].F32(), got[o].F32()
				require.Equal(t, want[o].Shape, got[o].Shape, o)
				for i := range w {
					require.InDelta(t, w[i], g[i], 1e-4*(1+math.Abs(float64(w[i]))), "%s[%d]", o, i)
				}
			}
		})
	}
}

// TestFoldQATConvBnFloat: a PyTorch eager-mode QAT model exported before
// convert (fused ConvBnReLU2d), as torch.onnx writes it — the input's fake
// quantization, the weight's per-channel Q → DQ of a float initializer, Conv
// with no bias, Div by the per-channel scale factor, Add of the bias as a
// [C,1,1] Constant, BatchNormalization, Relu, the output's fake quantization.
// With FoldQDQ (the float executor's setting) the weight's Q → DQ fold to a
// constant and Div, Add and BatchNormalization into the Conv: one Conv and
// its Relu between the activations' Q/DQ, outputs within float rounding of
// the graph run as written. Without it (the int8 lowering's setting) the
// weight's Q/DQ stay for the lowering to read as int8 weights.
func TestFoldQATConvBnFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	const m = 8
	pos := func(shape ...int) *graph.Tensor {
		x := randF32(rng, shape...)
		for i, v := range x.F32() {
			x.F32()[i] = float32(math.Abs(float64(v))) + 0.2
		}
		return x
	}
	wsc := make([]float32, m)
	for i := range wsc {
		wsc[i] = 0.01 + 0.005*float32(i)
	}
	inits := map[string]*graph.Tensor{
		"w": randF32(rng, m, 3, 3, 3), "ws": graph.FromFloat32([]int{m}, wsc), "wz": graph.FromInt8([]int{m}, make([]int8, m)),
		"xs": graph.ScalarFloat32(1.0 / 64), "xz": graph.FromUint8(nil, []uint8{128}),
		"ys": graph.ScalarFloat32(1.0 / 32), "yz": graph.FromUint8(nil, []uint8{0}),
		"f": pos(m), "gamma": pos(m), "beta": randF32(rng, m), "mean": randF32(rng, m), "var": pos(m),
	}
	ax := graph.IntAttr("axis", 0)
	nodes := []*graph.Node{
		node("QuantizeLinear", []string{"x", "xs", "xz"}, []string{"xq"}),
		node("DequantizeLinear", []string{"xq", "xs", "xz"}, []string{"xd"}),
		node("QuantizeLinear", []string{"w", "ws", "wz"}, []string{"wq"}, ax),
		node("DequantizeLinear", []string{"wq", "ws", "wz"}, []string{"wd"}, ax),
		node("Conv", []string{"xd", "wd"}, []string{"conv"}, graph.IntsAttr("pads", []int{1, 1, 1, 1})),
		node("Reshape", []string{"f", "shape"}, []string{"f3"}),
		node("Div", []string{"conv", "f3"}, []string{"div"}),
		node("Constant", nil, []string{"bias"}, tensorAttr(randF32(rng, m, 1, 1))),
		node("Add", []string{"div", "bias"}, []string{"add"}),
		node("BatchNormalization", []string{"add", "gamma", "beta", "mean", "var"}, []string{"bn"}, graph.FloatAttr("epsilon", 1e-5)),
		node("Relu", []string{"bn"}, []string{"r"}),
		node("QuantizeLinear", []string{"r", "ys", "yz"}, []string{"yq"}),
		node("DequantizeLinear", []string{"yq", "ys", "yz"}, []string{"y"}),
	}
	inits["shape"] = graph.FromInt64([]int{3}, []int64{m, 1, 1})
	src := tfModel(nodes, inits, []int{1, 3, 9, 7}, "y", "r")
	x := randF32(rng, 1, 3, 9, 7)
	in := map[string]*graph.Tensor{"x": x}
	want := run(t, src, in)

	for _, fold := range []bool{true, false} {
		mdl := cloneGraph(src)
		st, err := optimize.Optimize(mdl, optimize.Options{Eval: runtime.ConstEval(), FoldQDQ: fold})
		require.NoError(t, err)
		ops := opTypes(mdl.Graph)
		if !fold {
			assert.Equal(t, 3, ops["QuantizeLinear"], "%v", ops)
			assert.Zero(t, st.Affine)
			continue
		}
		assert.Equal(t, 3, st.Affine, st.String())
		assert.Equal(t, map[string]int{"QuantizeLinear": 2, "DequantizeLinear": 2, "Conv": 1, "Relu": 1}, ops)
		got := run(t, mdl, in)
		w, g := want["r"].F32(), got["r"].F32()
		for i := range w {
			require.InDelta(t, w[i], g[i], 1e-5*(1+math.Abs(float64(w[i]))), "r[%d]", i)
		}
		// the output's fake quantization: the same codes except where the
		// rounding of the fold moves a value across a rounding boundary
		diff := 0
		for i, v := range want["y"].F32() {
			if d := math.Abs(float64(v - got["y"].F32()[i])); d > 0 {
				require.LessOrEqual(t, d, 1.0/32+1e-6, "y[%d]", i)
				diff++
			}
		}
		assert.LessOrEqual(t, diff, len(w)/50, "codes moved")
	}
}

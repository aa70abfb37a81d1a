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

var (
	toNHWC = graph.IntsAttr("perm", []int{0, 2, 3, 1})
	toNCHW = graph.IntsAttr("perm", []int{0, 3, 1, 2})
)

// tfBlock appends the nodes tf2onnx writes around one NCHW Conv of an NHWC
// Keras model: Conv, Transpose to NHWC, BatchNorm as Mul and Add by [C]
// constants, Relu6 as Clip with initializer bounds, Transpose back.
func tfBlock(nodes []*graph.Node, inits map[string]*graph.Tensor, rng *rand.Rand, x, name string, cin, cout int, attrs ...*graph.Attr) ([]*graph.Node, string) {
	inits[name+"_w"] = randF32(rng, cout, cin, 3, 3)
	inits[name+"_s"] = randF32(rng, cout)
	inits[name+"_b"] = randF32(rng, cout)
	attrs = append([]*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1})}, attrs...)
	return append(nodes,
		node("Conv", []string{x, name + "_w"}, []string{name}, attrs...),
		node("Transpose", []string{name}, []string{name + "_nhwc"}, toNHWC),
		node("Mul", []string{name + "_nhwc", name + "_s"}, []string{name + "_bm"}),
		node("Add", []string{name + "_bm", name + "_b"}, []string{name + "_ba"}),
		node("Clip", []string{name + "_ba", "zero", "six"}, []string{name + "_r6"}),
		node("Transpose", []string{name + "_r6"}, []string{name + "_nchw"}, toNCHW),
	), name + "_nchw"
}

func tfModel(nodes []*graph.Node, inits map[string]*graph.Tensor, in []int, outs ...string) *graph.Model {
	inits["zero"], inits["six"] = graph.ScalarFloat32(0), graph.ScalarFloat32(6)
	g := &graph.Graph{Name: "tf2onnx", Nodes: nodes, Initializers: inits, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(in...), HasShape: true}}}
	for _, o := range outs {
		g.Outputs = append(g.Outputs, &graph.Value{Name: o, DType: graph.Float32})
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
}

// TestSinkTransposes runs graphs written the way tf2onnx writes NHWC models
// through Optimize: the Transposes sink through the elementwise operators,
// the reductions and the Squeeze and cancel in pairs, the Mul/Add batch
// normalisations fold into the Conv before them, and the outputs stay those of
// the graph run as written (the same arithmetic, except the folded
// normalisation's rounding).
func TestSinkTransposes(t *testing.T) {
	cases := []struct {
		name  string
		in    []int
		build func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string)
		want  map[string]int // node counts after Optimize (only those listed are checked)
		stats func(t *testing.T, st optimize.Stats)
	}{
		{name: "NHWC input, three Conv blocks, mean over H and W, squeeze", in: []int{2, 11, 10, 3},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				nodes := []*graph.Node{node("Transpose", []string{"x"}, []string{"x_nchw"}, toNCHW)}
				nodes, y := tfBlock(nodes, inits, rng, "x_nchw", "c1", 3, 8)
				nodes, y = tfBlock(nodes, inits, rng, y, "c2", 1, 8, graph.IntAttr("group", 8)) // depthwise
				inits["c3_w"] = randF32(rng, 6, 8, 1, 1)
				inits["sq_axes"] = graph.FromInt64([]int{2}, []int64{1, 2})
				nodes = append(nodes,
					node("Conv", []string{y, "c3_w"}, []string{"c3"}),
					node("Transpose", []string{"c3"}, []string{"c3_nhwc"}, toNHWC),
					node("Relu", []string{"c3_nhwc"}, []string{"c3_r"}),
					node("ReduceMean", []string{"c3_r"}, []string{"gap"}, graph.IntsAttr("axes", []int{1, 2}), graph.IntAttr("keepdims", 1)),
					node("Squeeze", []string{"gap", "sq_axes"}, []string{"y"}))
				return nodes, []string{"y"}
			},
			want: map[string]int{"Transpose": 1, "Mul": 0, "Add": 0, "Conv": 3, "Clip": 2, "GlobalAveragePool": 1, "ReduceMean": 0},
			stats: func(t *testing.T, st optimize.Stats) {
				assert.Equal(t, 4, st.Affine, st.String())
				assert.Positive(t, st.Transposes, st.String())
			}},
		{name: "residual Add of two transposed branches", in: []int{1, 4, 7, 6},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				nodes, a := tfBlock(nil, inits, rng, "x", "a", 4, 5)
				inits["b_w"], inits["d_w"] = randF32(rng, 5, 4, 1, 1), randF32(rng, 5, 5, 1, 1)
				nodes = append(nodes,
					node("Transpose", []string{a}, []string{"a_t"}, toNHWC),
					node("Conv", []string{"x", "b_w"}, []string{"b"}),
					node("Transpose", []string{"b"}, []string{"b_nhwc"}, toNHWC),
					node("Add", []string{"a_t", "b_nhwc"}, []string{"sum"}),
					node("Sigmoid", []string{"sum"}, []string{"sig"}),
					node("Transpose", []string{"sig"}, []string{"sig_nchw"}, toNCHW),
					node("Conv", []string{"sig_nchw", "d_w"}, []string{"y"}))
				return nodes, []string{"y"}
			},
			want: map[string]int{"Transpose": 0, "Add": 1, "Sigmoid": 1}},
		{name: "a Transpose that would only move stays where it is", in: []int{1, 3, 5, 6},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				inits["w"], inits["s"] = randF32(rng, 4, 3, 1, 1), randF32(rng, 1, 1, 4)
				return []*graph.Node{
					node("Conv", []string{"x", "w"}, []string{"c"}),
					node("Transpose", []string{"c"}, []string{"c_nhwc"}, toNHWC),
					node("Mul", []string{"c_nhwc", "s"}, []string{"m"}), // a [1,1,C] constant
					node("LeakyRelu", []string{"m"}, []string{"y"}, graph.FloatAttr("alpha", 0.1)),
				}, []string{"y"}
			},
			want:  map[string]int{"Transpose": 1, "LeakyRelu": 1, "Mul": 1},
			stats: func(t *testing.T, st optimize.Stats) { assert.Zero(t, st.Transposes, st.String()) }},
		{name: "a Transpose read twice stays", in: []int{1, 3, 4, 5},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				return []*graph.Node{
					node("Transpose", []string{"x"}, []string{"t"}, toNHWC),
					node("Relu", []string{"t"}, []string{"y1"}),
					node("Sigmoid", []string{"t"}, []string{"y2"}),
				}, []string{"y1", "y2"}
			},
			want: map[string]int{"Transpose": 1, "Relu": 1, "Sigmoid": 1}},
		{name: "two Transposes compose into one", in: []int{1, 3, 4, 5},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				return []*graph.Node{
					node("Transpose", []string{"x"}, []string{"t"}, toNHWC),
					node("Exp", []string{"t"}, []string{"e"}),
					node("Transpose", []string{"e"}, []string{"y"}, graph.IntsAttr("perm", []int{0, 2, 1, 3})),
				}, []string{"y"}
			},
			want: map[string]int{"Transpose": 1, "Exp": 1}},
		{name: "explicit Pad and VALID Conv after the input Transpose", in: []int{1, 9, 9, 3},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				inits["w"] = randF32(rng, 4, 3, 3, 3)
				inits["pads"] = graph.FromInt64([]int{8}, []int64{0, 0, 0, 0, 0, 0, 1, 1})
				return []*graph.Node{
					node("Transpose", []string{"x"}, []string{"t"}, toNCHW),
					node("Pad", []string{"t", "pads"}, []string{"p"}),
					node("Conv", []string{"p", "w"}, []string{"y"}, graph.StringAttr("auto_pad", "VALID"),
						graph.IntsAttr("strides", []int{2, 2})),
				}, []string{"y"}
			},
			want:  map[string]int{"Transpose": 1, "Pad": 0, "Conv": 1},
			stats: func(t *testing.T, st optimize.Stats) { assert.Equal(t, 1, st.Pads, st.String()) }},
		{name: "a quantized graph is left alone", in: []int{1, 3, 4, 5},
			build: func(rng *rand.Rand, inits map[string]*graph.Tensor) ([]*graph.Node, []string) {
				inits["sc"], inits["zp"] = graph.ScalarFloat32(0.05), &graph.Tensor{DType: graph.Int8, Data: []int8{0}}
				return []*graph.Node{
					node("QuantizeLinear", []string{"x", "sc", "zp"}, []string{"q"}),
					node("DequantizeLinear", []string{"q", "sc", "zp"}, []string{"dq"}),
					node("Transpose", []string{"dq"}, []string{"t"}, toNHWC),
					node("Relu", []string{"t"}, []string{"r"}),
					node("Transpose", []string{"r"}, []string{"y"}, toNCHW),
				}, []string{"y"}
			},
			want:  map[string]int{"Transpose": 2},
			stats: func(t *testing.T, st optimize.Stats) { assert.Zero(t, st.Transposes, st.String()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.name))))
			inits := map[string]*graph.Tensor{}
			nodes, outs := c.build(rng, inits)
			src := tfModel(nodes, inits, c.in, outs...)
			in := map[string]*graph.Tensor{"x": randF32(rng, c.in...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			for op, n := range c.want {
				assert.Equal(t, n, ops[op], "%s: %v", op, ops)
			}
			if c.stats != nil {
				c.stats(t, st)
			}
			got := run(t, m, in)
			for _, o := range outs {
				require.Equal(t, want[o].Shape, got[o].Shape, o)
				w, g := want[o].F32(), got[o].F32()
				for i := range w {
					require.InDelta(t, w[i], g[i], 1e-5*(1+math.Abs(float64(w[i]))), "%s[%d]", o, i)
				}
			}
		})
	}
}

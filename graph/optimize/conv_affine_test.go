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
					require.InDelta(t, w[i], g[i], 1e-5*(1+math.Abs(float64(w[i]))), "%s[%d]", o, i)
				}
			}
		})
	}
}

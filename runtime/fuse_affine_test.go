package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestAffineChains checks the per-channel affine chains (fuse_affine.go)
// against the same graph run step by step (every tensor tapped, nothing
// fused), at 1 and 2 threads, on the spellings exporters write: uint8
// pixels through Cast, Div by 255, Sub mean, Div std (NCHW, symbolic height
// and width, run at two sizes); int8 through Cast, Mul, Add of a [C, 1]
// constant; channels-last float32 with the constant first in a Sub (k − x);
// a symbolic channel count run at the constants' count (fused) and at one
// channel (the constants broadcast it to three: the fallback runs the
// steps). A tapped intermediate, a constant varying along two axes, a
// division of a constant by x, and a Cast followed by no affine step are not
// fused (or only the part before them).
func TestAffineChains(t *testing.T) {
	sym := func(p string) graph.Dim { return graph.Dim{Size: -1, Param: p} }
	cases := []struct {
		name   string
		dtype  graph.DType
		dims   []graph.Dim
		runs   [][]int
		build  func(b *mb, x string) (string, []string) // output, taps
		chains int
	}{
		{name: "u8 imagenet", dtype: graph.Uint8, dims: []graph.Dim{{Size: 1}, {Size: 3}, sym("h"), sym("w")}, runs: [][]int{{1, 3, 17, 23}, {1, 3, 5, 5}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Cast", []string{x}, graph.IntAttr("to", int64(graph.Float32)))
				v = b.Node("Div", []string{v, b.Init("s", graph.ScalarFloat32(255))})
				v = b.Node("Sub", []string{v, b.Init("m", graph.FromFloat32([]int{1, 3, 1, 1}, []float32{0.485, 0.456, 0.406}))})
				v = b.Node("Div", []string{v, b.Init("d", graph.FromFloat32([]int{1, 3, 1, 1}, []float32{0.229, 0.224, 0.225}))})
				return b.Node("Relu", []string{v}), nil
			}, chains: 1},
		{name: "i8 mul add", dtype: graph.Int8, dims: staticDims(2, 5, 7), runs: [][]int{{2, 5, 7}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Cast", []string{x}, graph.IntAttr("to", int64(graph.Float32)))
				v = b.Node("Mul", []string{b.Init("s", graph.ScalarFloat32(0.125)), v})
				return b.Node("Add", []string{v, b.RandInit("a", []int{5, 1}, 2)}), nil
			}, chains: 1},
		{name: "f32 nhwc const minus x", dtype: graph.Float32, dims: staticDims(1, 6, 6, 20), runs: [][]int{{1, 6, 6, 20}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Mul", []string{x, b.RandInit("s", []int{20}, 1)})
				v = b.Node("Sub", []string{b.RandInit("c", []int{20}, 1), v})
				return b.Node("Div", []string{v, b.Init("d", graph.ScalarFloat32(3))}), nil
			}, chains: 1},
		{name: "u8 symbolic channels", dtype: graph.Uint8, dims: []graph.Dim{{Size: 1}, sym("c"), {Size: 4}, {Size: 9}}, runs: [][]int{{1, 3, 4, 9}, {1, 1, 4, 9}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Cast", []string{x}, graph.IntAttr("to", int64(graph.Float32)))
				v = b.Node("Sub", []string{v, b.Init("m", graph.FromFloat32([]int{3, 1, 1}, []float32{100, 120, 140}))})
				return b.Node("Mul", []string{v, b.Init("s", graph.ScalarFloat32(1.0/64))}), nil
			}, chains: 1},
		{name: "f32 nhwc 64 channels", dtype: graph.Float32, dims: staticDims(1, 9, 7, 64), runs: [][]int{{1, 9, 7, 64}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Mul", []string{x, b.RandInit("g", []int{1, 1, 1, 64}, 1)})
				v = b.Node("Add", []string{v, b.RandInit("b", []int{1, 1, 1, 64}, 1)})
				return b.Node("Add", []string{v, b.Init("one", graph.ScalarFloat32(1))}), nil
			}, chains: 1},
		{name: "f32 nhwc 19 channels", dtype: graph.Float32, dims: staticDims(2, 5, 19), runs: [][]int{{2, 5, 19}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Sub", []string{x, b.RandInit("m", []int{19}, 1)})
				return b.Node("Div", []string{v, b.Init("d", graph.ScalarFloat32(7))}), nil
			}, chains: 1},
		{name: "tapped intermediate", dtype: graph.Float32, dims: staticDims(1, 3, 8, 8), runs: [][]int{{1, 3, 8, 8}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Mul", []string{x, b.Init("s", graph.ScalarFloat32(2))})
				w := b.Node("Add", []string{v, b.RandInit("a", []int{1, 3, 1, 1}, 1)})
				return b.Node("Sub", []string{w, b.Init("c", graph.ScalarFloat32(0.5))}), []string{v}
			}, chains: 1},
		{name: "two-axis constant", dtype: graph.Float32, dims: staticDims(2, 3, 4), runs: [][]int{{2, 3, 4}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Mul", []string{x, b.Init("s", graph.ScalarFloat32(2))})
				return b.Node("Add", []string{v, b.RandInit("a", []int{3, 4}, 1)}), nil
			}},
		{name: "constant over x", dtype: graph.Float32, dims: staticDims(2, 3, 4), runs: [][]int{{2, 3, 4}},
			build: func(b *mb, x string) (string, []string) {
				v := b.Node("Add", []string{x, b.Init("s", graph.ScalarFloat32(5))})
				return b.Node("Div", []string{b.Init("c", graph.ScalarFloat32(2)), v}), nil
			}},
		{name: "cast alone", dtype: graph.Uint8, dims: staticDims(1, 3, 4, 4), runs: [][]int{{1, 3, 4, 4}},
			build: func(b *mb, x string) (string, []string) {
				return b.Node("Relu", []string{b.Node("Cast", []string{x}, graph.IntAttr("to", int64(graph.Float32)))}), nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(3)
			x := b.Input("x", tc.dims...)
			b.G.Values[x].DType = tc.dtype
			out, taps := tc.build(b, x)
			b.Output(out)
			m := b.Model()
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			rng := rand.New(rand.NewSource(4))
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), WithTaps(taps...))
				require.NoError(t, err)
				chains := 0
				for _, st := range s.steps {
					if _, ok := st.kernel.(*affineChainKernel); ok {
						chains++
					}
				}
				require.Equal(t, tc.chains, chains, "fused chains")
				for _, shape := range tc.runs {
					in := graph.NewTensor(tc.dtype, shape)
					switch d := in.Data.(type) {
					case []uint8:
						for i := range d {
							d[i] = uint8(rng.Intn(256))
						}
					case []int8:
						for i := range d {
							d[i] = int8(rng.Intn(256) - 128)
						}
					case []float32:
						for i := range d {
							d[i] = rng.Float32()*8 - 4
						}
					}
					feeds := map[string]*graph.Tensor{"x": in}
					want, err := ref.RunTensors(feeds)
					require.NoError(t, err)
					got, err := s.RunTensors(feeds)
					require.NoError(t, err)
					msg := fmt.Sprintf("shape %v threads %d", shape, th)
					require.Equal(t, want[out].Shape, got[out].Shape, msg)
					require.NoError(t, CompareTensors(got[out], want[out], Tolerance{Rtol: 1e-5, Atol: 1e-5}), msg)
				}
			}
		})
	}
}

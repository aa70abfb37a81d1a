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

// TestFoldLRN writes F.local_response_norm as torch.onnx spells it (x·x,
// Unsqueeze, a Pad of the channel axis of size/2 before and (size−1)/2 after,
// AveragePool (size, 1[, 1]), Squeeze, ·α, +k, ^β, x / that) for [N, C, H, W]
// and [N, C, L] inputs: an odd size becomes one LRN node with the same
// output; an even size (torch's window is not ONNX's there) is left alone.
func TestFoldLRN(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []int
		size   int
		folded bool
	}{
		{"4-D, size 5", []int{2, 9, 5, 4}, 5, true},
		{"3-D, size 3", []int{1, 6, 11}, 3, true},
		{"size 1", []int{1, 4, 3, 3}, 1, true},
		{"even size 4 left alone", []int{1, 8, 3, 3}, 4, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.name))))
			r := len(c.in) + 1 // the unsqueezed rank
			pads := make([]int64, 2*r)
			pads[2], pads[r+2] = int64(c.size/2), int64((c.size-1)/2)
			ks := []int{c.size}
			for len(ks) < r-2 {
				ks = append(ks, 1)
			}
			ones := make([]int, r-2)
			for i := range ones {
				ones[i] = 1
			}
			inits := map[string]*graph.Tensor{
				"one": graph.FromInt64([]int{1}, []int64{1}), "pads": graph.FromInt64([]int{2 * r}, pads),
				"alpha": graph.ScalarFloat32(0.01), "k": graph.ScalarFloat32(2), "beta": graph.ScalarFloat32(0.75),
			}
			nodes := []*graph.Node{
				node("Mul", []string{"x", "x"}, []string{"sq"}),
				node("Unsqueeze", []string{"sq", "one"}, []string{"u"}),
				node("Pad", []string{"u", "pads"}, []string{"p"}),
				node("AveragePool", []string{"p"}, []string{"a"}, graph.IntsAttr("kernel_shape", ks), graph.IntsAttr("strides", ones)),
				node("Squeeze", []string{"a", "one"}, []string{"s"}),
				node("Mul", []string{"s", "alpha"}, []string{"m"}),
				node("Add", []string{"m", "k"}, []string{"d"}),
				node("Pow", []string{"d", "beta"}, []string{"pw"}),
				node("Div", []string{"x", "pw"}, []string{"y"}),
			}
			src := tfModel(nodes, inits, c.in, "y")
			in := map[string]*graph.Tensor{"x": randF32(rng, c.in...)}
			for i := range in["x"].F32() {
				in["x"].F32()[i] *= 4
			}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if !c.folded {
				assert.Zero(t, st.LRNs, st.String())
				assert.Equal(t, 1, ops["AveragePool"])
			} else {
				assert.Equal(t, 1, st.LRNs, st.String())
				assert.Equal(t, map[string]int{"LRN": 1}, ops)
			}
			got := run(t, m, in)
			w, g := want["y"].F32(), got["y"].F32()
			require.Len(t, g, len(w))
			for i := range w {
				require.InDelta(t, w[i], g[i], 2e-6*(1+math.Abs(float64(w[i]))), "y[%d]", i)
			}
		})
	}
}

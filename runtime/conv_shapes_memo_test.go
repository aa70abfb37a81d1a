package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestConvShapesMemo checks that the memo returns what convShapes resolves for
// a sequence of calls on one Conv: repeats (hits), other input sizes, other
// weight and bias tensors, a bias of the wrong length (an error, never kept),
// that the output shape handed out is the caller's to keep, and that the plan
// for those shapes is newConvPlan's.
func TestConvShapesMemo(t *testing.T) {
	node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
		"kernel_shape": graph.IntsAttr("kernel_shape", []int{3, 3}),
		"pads":         graph.IntsAttr("pads", []int{1, 0, 1, 2}),
		"strides":      graph.IntsAttr("strides", []int{2, 1}),
	}}
	rng := rand.New(rand.NewSource(1))
	w, b := randF32(rng, 8, 4, 3, 3), randF32(rng, 8)
	w2, b2 := randF32(rng, 8, 4, 3, 3), randF32(rng, 8)
	badB := randF32(rng, 7)
	x := func(h, wd int) *graph.Tensor { return &graph.Tensor{DType: graph.Float32, Shape: []int{1, 4, h, wd}} }
	ck := &convKernel{node: node, group: 1, wConst: w, bConst: b}
	for i, c := range []struct {
		x, w, b *graph.Tensor
		err     bool
	}{
		{x(9, 9), w, b, false},
		{x(9, 9), w, b, false},
		{x(10, 7), w, b, false},
		{x(10, 7), w, b, false},
		{x(9, 9), w, b, false},
		{x(9, 9), w2, b, false},
		{x(9, 9), w2, b2, false},
		{x(9, 9), w2, nil, false},
		{x(9, 9), w, badB, true},
		{x(9, 9), w, b, false},
		{&graph.Tensor{DType: graph.Float32, Shape: []int{1, 5, 9, 9}}, w, b, true},
	} {
		wantG, wantOut, wantErr := convShapes(node, c.x, c.w, c.b, 1, false)
		g, out, err := ck.shapes(c.x, c.w, c.b, 1, false)
		if c.err {
			require.Error(t, wantErr, "call %d", i)
			require.EqualError(t, err, wantErr.Error(), "call %d", i)
			continue
		}
		require.NoError(t, err, "call %d", i)
		require.Equal(t, *wantG, *g, "call %d", i)
		require.Equal(t, wantOut, out, "call %d", i)
		require.Equal(t, *newConvPlan(c.x.Shape[2:], wantG), *ck.plan(c.x.Shape[2:], g), "call %d", i)
		out[0] = -1 // the caller's copy: the next hit must not see it
	}
}

package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Resize with tf_crop_and_resize runs int8 in every mode: the extrapolation value
// (written for positions the roi puts outside the input) is quantized to the code the
// QDQ graph's QuantizeLinear gives it, and the result matches the float executor's
// simulated quantization.
func TestInt8ResizeCropAndResize(t *testing.T) {
	for _, mode := range []string{"nearest", "linear"} {
		t.Run(mode, func(t *testing.T) {
			b := newMB(31)
			x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 8}, graph.Dim{Size: 8})
			c1 := b.Node("Relu", []string{b.conv(x, 3, 4, 3, 1, 1, 1, true)})
			roi := b.Init("roi", graph.FromFloat32([]int{8}, []float32{0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3}))
			sizes := b.Init("sizes", graph.FromInt64([]int{4}, []int64{1, 4, 11, 9}))
			rs := b.Node("Resize", []string{c1, roi, "", sizes}, graph.StringAttr("mode", mode),
				graph.StringAttr("coordinate_transformation_mode", "tf_crop_and_resize"), graph.FloatAttr("extrapolation_value", 0.37))
			out := b.conv(rs, 4, 2, 3, 1, 1, 1, true)
			b.Output(out)
			fm := b.Model()
			rng := rand.New(rand.NewSource(3))
			qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 8, 8}, -1, 1)}, qdqOptions{})
			var warns []string
			s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
			require.NoError(t, err)
			assert.Empty(t, warns, "the Resize runs int8")
			for _, p := range s.Placement {
				if p.OpType == "Resize" {
					assert.True(t, p.Int8)
				}
			}
			in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 8, 8}, -1, 1)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
			t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
			assert.GreaterOrEqual(t, frac, 0.99)
		})
	}
}

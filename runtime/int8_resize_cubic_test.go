package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A cubic Resize overshoots its input's range at edges (its weights are not all
// positive): below a Relu's zero and above the maximum. The QDQ graph quantizes the
// result with its own output scale, which holds the overshoot; run on the input's
// int8 codes it would saturate there (torch's bicubic interpolate, resize_modes_op11
// of --unseen6: 25 dB from ONNX Runtime on the same QDQ file). Nearest and linear stay
// on the codes (convex weights, exact); cubic runs in float32 between the
// DequantizeLinear and the QuantizeLinear, as the QDQ graph says.
func TestInt8ResizeCubicOvershoot(t *testing.T) {
	for _, tc := range []struct {
		mode string
		int8 bool
	}{{"nearest", true}, {"linear", true}, {"cubic", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			b := newMB(37)
			x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 9}, graph.Dim{Size: 9})
			c1 := b.Node("Relu", []string{b.conv(x, 3, 4, 3, 1, 1, 1, true)})
			sizes := b.Init("sizes", graph.FromInt64([]int{4}, []int64{1, 4, 16, 13}))
			rs := b.Node("Resize", []string{c1, "", "", sizes}, graph.StringAttr("mode", tc.mode),
				graph.StringAttr("coordinate_transformation_mode", "half_pixel"), graph.FloatAttr("cubic_coeff_a", -0.75))
			b.Output(rs)
			fm := b.Model()
			rng := rand.New(rand.NewSource(5))
			calib := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 9, 9}, -2, 2)}
			qm := qdqify(t, fm, calib, qdqOptions{})
			s, err := NewSession(qm, WithMode(ModeInt8))
			require.NoError(t, err)
			seen := false
			for _, p := range s.Placement {
				if p.OpType == "Resize" {
					seen = true
					assert.Equal(t, tc.int8, p.Int8, "Resize placement")
				}
			}
			require.True(t, seen)
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			for _, in := range []*graph.Tensor{calib["x"], randInput(rng, []int{1, 3, 9, 9}, -2, 2)} {
				feeds := map[string]*graph.Tensor{"x": in}
				want, err := ref.RunTensors(feeds)
				require.NoError(t, err)
				got, err := s.RunTensors(feeds)
				require.NoError(t, err)
				frac, mx := outputSteps(t, got[rs], want[rs], float64(stepOf(t, qm, rs)))
				t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
				assert.Equal(t, 1.0, frac, "every value within one quantization step of the QDQ graph run in float")
			}
		})
	}
}

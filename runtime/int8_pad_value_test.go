package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A constant Pad whose value is not on its input's int8 grid: torch's
// F.pad(x, p, value=0.5) after a Relu whose range ends below 0.5 (padmodes_op13 of
// --unseen7: 16 dB from ONNX Runtime on the same QDQ file). The int8 Pad keeps the
// input's encoding, where 0.5 saturated to the input's maximum; the QDQ graph pads in
// float and quantizes once with the Pad's own output scale. Such a Pad now runs in
// float32 between its DequantizeLinear and QuantizeLinear; a zero value (always a
// code) stays int8.
func TestInt8PadValueOffGrid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value float32
		int8  bool
	}{{"zero", 0, true}, {"above-range", 0.5, false}, {"negative", -0.3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(41)
			x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 8}, graph.Dim{Size: 8})
			r := b.Node("Relu", []string{b.conv(x, 3, 4, 3, 1, 1, 1, true)})
			pads := b.Init("pads", graph.FromInt64([]int{8}, []int64{0, 0, 1, 0, 0, 0, 1, 2}))
			val := b.Init("value", graph.FromFloat32(nil, []float32{tc.value}))
			p := b.Node("Pad", []string{r, pads, val}, graph.StringAttr("mode", "constant"))
			y := b.Node("Relu", []string{b.conv(p, 4, 2, 3, 1, 1, 1, true)})
			b.Output(p)
			b.Output(y)
			fm := b.Model()
			rng := rand.New(rand.NewSource(9))
			// Inputs in [-0.1, 0.1] keep the Relu's range well below 0.5.
			calib := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 8, 8}, -0.1, 0.1)}
			qm := qdqify(t, fm, calib, qdqOptions{})
			s, err := NewSession(qm, WithMode(ModeInt8))
			require.NoError(t, err)
			seen := false
			for _, pl := range s.Placement {
				if pl.OpType == "Pad" {
					seen = true
					assert.Equal(t, tc.int8, pl.Int8, "Pad placement")
				}
			}
			require.True(t, seen)
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			for _, in := range []*graph.Tensor{calib["x"], randInput(rng, []int{1, 3, 8, 8}, -0.1, 0.1)} {
				feeds := map[string]*graph.Tensor{"x": in}
				want, err := ref.RunTensors(feeds)
				require.NoError(t, err)
				got, err := s.RunTensors(feeds)
				require.NoError(t, err)
				for _, o := range []string{p, y} {
					frac, mx := outputSteps(t, got[o], want[o], float64(stepOf(t, qm, o)))
					t.Logf("%s: within 1 step: %.4f, max %.2f steps", o, frac, mx)
					assert.Equal(t, 1.0, frac, "%s: every value within one quantization step of the QDQ graph run in float", o)
				}
			}
		})
	}
}

package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestCalibrateNaNGuardedTensor checks torch.nan_to_num's spelling: a Log of
// values partly below zero holds NaN, which Where(IsNaN(x), 0, x) replaces. The
// calibration used to refuse the model ("non-finite value NaN"); the tensor an
// IsNaN reads is now calibrated on its finite values and stays float32, and the
// MatMul after the Where is int8. A NaN in a tensor no IsNaN reads is still
// refused.
func TestCalibrateNaNGuardedTensor(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	nodes := func(guard bool) []*graph.Node {
		ns := []*graph.Node{
			node("Sub", []string{"x", "shift"}, []string{"d"}),
			node("Log", []string{"d"}, []string{"lg"}),
		}
		if guard {
			ns = append(ns, node("IsNaN", []string{"lg"}, []string{"isnan"}),
				node("Where", []string{"isnan", "zero", "lg"}, []string{"clean"}))
		} else {
			ns = append(ns, node("Identity", []string{"lg"}, []string{"clean"}))
		}
		return append(ns, node("MatMul", []string{"clean", "w"}, []string{"y"}))
	}
	inits := func() map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"shift": graph.ScalarFloat32(0.3), "zero": graph.ScalarFloat32(0),
			"w": randTensor(rng, []int{8, 4}, 0.5)}
	}
	in := graph.NewTensor(graph.Float32, []int{6, 8})
	for i := range in.F32() {
		in.F32()[i] = rng.Float32() * 2 // a third of them below the shift: NaN after the Log
	}
	feed := map[string]*graph.Tensor{"x": in}

	m := newModel("x", []int{1, 8}, []string{"y"}, nodes(true), inits())
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	quantized := dequantizedNames(q)
	assert.False(t, quantized["lg"], "the NaN-guarded Log output stays float32")
	assert.True(t, quantized["clean"], "the cleaned tensor the MatMul reads is int8")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "y"), 30.0, "int8 against float32, dB")

	bad := newModel("x", []int{1, 8}, []string{"y"}, nodes(false), inits())
	c, err := NewCalibrator(bad, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	require.ErrorContains(t, c.Collect(feed), "non-finite value NaN")
}

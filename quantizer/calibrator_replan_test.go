package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Calibrating a model with symbolic batch, height and width runs each batch on
// a session planned for its shapes (one plan per distinct shape, in the order
// the data comes), with the statistics of the unplanned run: the histograms
// are compared bit for bit by TestCalibratorPiecesMatchRetainedTaps on the same
// model. A model with static inputs is not re-planned.
func TestCalibratorPlansSymbolicShapes(t *testing.T) {
	m, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	c, err := NewCalibrator(m, MinMaxSym, CalibOptions{Threads: 1})
	require.NoError(t, err)
	require.NotNil(t, c.plan, "symbolic height and width: planned per shape")
	rng := rand.New(rand.NewSource(4))
	for i, tc := range []struct {
		shape []int
		plans int
	}{{[]int{1, 3, 64, 64}, 1}, {[]int{1, 3, 64, 64}, 1}, {[]int{2, 3, 64, 96}, 2}} {
		x := graph.FromFloat32(tc.shape, make([]float32, tc.shape[0]*3*tc.shape[2]*tc.shape[3]))
		for j := range x.F32() {
			x.F32()[j] = rng.Float32()
		}
		require.NoError(t, c.Collect(map[string]*graph.Tensor{"images": x}), "batch %d", i)
		assert.Equal(t, tc.plans, c.plan.Plans(), "batch %d", i)
	}
	_, _, err = c.ComputeRangesFor(MinMaxSym)
	require.NoError(t, err)

	static := loadBundled(t, "fmnist_cnn").Clone()
	require.NoError(t, static.BindInputShapes(map[string][]int{static.Graph.Inputs[0].Name: {4, 1, 28, 28}}))
	cs, err := NewCalibrator(static, MinMaxSym, CalibOptions{Threads: 1})
	require.NoError(t, err)
	assert.Nil(t, cs.plan, "static inputs: the one session")
}

package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// shapeBatches feeds one random batch per entry of shapes (input "images").
type shapeBatches [][]int

func (s shapeBatches) Len() int { return len(s) }
func (s shapeBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	sh := s[start]
	x := graph.FromFloat32(sh, make([]float32, graph.NumElements(sh)))
	rng := rand.New(rand.NewSource(int64(start)))
	for i := range x.F32() {
		x.F32()[i] = rng.Float32()
	}
	return map[string]*graph.Tensor{"images": x}, nil
}

// symbolicDetectorQDQ quantizes the exported detector with symbolic batch,
// height and width, keeping its input shapes symbolic.
func symbolicDetectorQDQ(t *testing.T) (fm, qm *graph.Model) {
	t.Helper()
	fm, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	c, err := Calibrate(fm, MinMaxSym, shapeBatches{{1, 3, 32, 32}, {1, 3, 32, 64}}, CalibOptions{Threads: 1, BatchSize: 1})
	require.NoError(t, err)
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	qm, err = Quantize(c.Model(), r, QuantOptions{})
	require.NoError(t, err)
	require.True(t, runtime.HasSymbolicInputs(qm))
	return fm, qm
}

// The quantized model of compare runs on sessions planned for the shapes
// fed, like the float model: the session of each batch has its input bound,
// each distinct shape is planned once, and the outputs are those of the
// unplanned session.
func TestCompareInt8PlannedPerShape(t *testing.T) {
	_, qm := symbolicDetectorQDQ(t)
	unplanned, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeAuto), runtime.WithThreads(1))
	require.NoError(t, err)
	data := shapeBatches{{1, 3, 32, 32}, {1, 3, 32, 64}, {1, 3, 32, 32}, {1, 3, 64, 32}}
	for _, keep := range []int{1, 4} {
		q := &int8Runner{model: qm, opts: CompareOptions{Threads: 1}, keep: keep}
		for i := range data {
			in, err := data.Batch(i, 1)
			require.NoError(t, err)
			s, err := q.session(in)
			require.NoError(t, err)
			dims, ok := s.Inputs()[0].Shape.Concrete()
			require.True(t, ok, "batch %d: the int8 session's input is bound", i)
			assert.Equal(t, data[i], dims)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			want, err := unplanned.RunTensors(in)
			require.NoError(t, err)
			require.NoError(t, runtime.CompareTensors(got["pred"], want["pred"], runtime.Tolerance{Rtol: 1e-4, Atol: 1e-4}), "batch %d", i)
		}
		assert.Equal(t, "int8", q.mode)
		plans := map[int]int{1: 4, 4: 3}[keep] // keep 1: the 32x32 shape comes back after an eviction
		assert.Equal(t, plans, q.plan.Plans(), "keep %d", keep)
	}
}

// Compare end to end on a symbolic-shape pair: both models planned per shape.
func TestCompareSymbolicShapes(t *testing.T) {
	fm, qm := symbolicDetectorQDQ(t)
	res, err := Compare(fm, qm, shapeBatches{{1, 3, 32, 32}, {1, 3, 32, 64}}, 0, CompareOptions{Threads: 1, BatchSize: 1})
	require.NoError(t, err)
	assert.Equal(t, "int8", res.Mode)
	require.Len(t, res.Top1, 1)
	assert.Greater(t, float64(res.Top1[0].SQNR), 10.0)
	assert.Len(t, res.Top1[0].Shapes, 2)
}

// A symbolic-shape model holds one session during calibration (the one of
// the batch's shapes), not an unplanned one beside it.
func TestCalibratorHoldsOneSession(t *testing.T) {
	m, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	c, err := NewCalibrator(m, MinMaxSym, CalibOptions{Threads: 1})
	require.NoError(t, err)
	assert.Nil(t, c.sess, "no unplanned session beside the planned ones")
	require.Len(t, c.Inputs(), 1)
	assert.Equal(t, "images", c.Inputs()[0].Name)
	data := shapeBatches{{1, 3, 32, 32}, {2, 3, 32, 64}, {1, 3, 64, 32}}
	for i := range data {
		in, err := data.Batch(i, 1)
		require.NoError(t, err)
		require.NoError(t, c.Collect(in))
		assert.Equal(t, 1, c.plan.Held(), "batch %d", i)
	}
	assert.Equal(t, 3, c.plan.Plans())
	assert.Equal(t, 4, c.Samples())
}

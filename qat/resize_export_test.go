package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// TestDetectorExportMatchesFakeQuant: the torch.onnx detector of testdata/exported
// (an FPN neck with bilinear and nearest Resize, one grid output) trains with the
// outputs loss, and the QDQ model it writes computes on the int8 runtime what the
// fake-quantized net computed.
func TestDetectorExportMatchesFakeQuant(t *testing.T) {
	m, err := graph.Load("../testdata/exported/detector_opset13.onnx")
	require.NoError(t, err)
	shape := []int{3, 64, 64}
	n, err := New(m, Config{SampleShape: shape, Threads: 2})
	require.NoError(t, err)
	data := randomLabelled{randomBatches{"images", shape, 16, 5}, 1}
	cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, data, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	teacher, err := NewTeacher(m, shape, 2)
	require.NoError(t, err)
	_, err = n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", LR: 1e-3, Batch: 4, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)

	rng := rand.New(rand.NewSource(3))
	x := make([]float32, 2*numel(shape))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	_, got, err := n.Forward(x, 2)
	require.NoError(t, err)
	got = append([]float32(nil), got...)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"images": graph.FromFloat32(append([]int{2}, shape...), x)})
	require.NoError(t, err)
	want := out["pred"].F32()
	require.Len(t, got, len(want))
	var sig, noise float64
	for i := range want {
		sig += float64(want[i]) * float64(want[i])
		d := float64(got[i] - want[i])
		noise += d * d
	}
	sqnr := 10 * math.Log10(sig/noise)
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 30.0)
}

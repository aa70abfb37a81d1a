package qat

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// setCalibratedRanges sets n's ranges from a MIN_MAX_ASYM calibration of its
// quantize-ready graph on data.
func setCalibratedRanges(t *testing.T, n *Net, data quantizer.Batches) {
	t.Helper()
	cal, err := quantizer.Calibrate(n.Plan().Model, quantizer.MinMaxAsym, data, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
}

// exportSQNR runs the fake-quantized forward pass on x (batch samples in n's
// layout), exports n, runs the written QDQ model on the int8 runtime with feed
// (the same samples as tensors) and returns the SQNR in dB of the forward pass's
// first output against the written model's output named out (+Inf when equal).
func exportSQNR(t *testing.T, n *Net, x []float32, batch int, feed map[string]*graph.Tensor, out string) float64 {
	t.Helper()
	_, got, err := n.Forward(x, batch)
	require.NoError(t, err)
	got = append([]float32(nil), got...)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	res, err := s.RunTensors(feed)
	require.NoError(t, err)
	want := res[out].F32()
	require.Len(t, got, len(want))
	var sig, noise float64
	for i := range want {
		sig += float64(want[i]) * float64(want[i])
		noise += float64(got[i]-want[i]) * float64(got[i]-want[i])
	}
	return 10 * math.Log10(sig/noise)
}

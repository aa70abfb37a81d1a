package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// The calibrator observes activations as the executor streams them
// (runtime.WithTapFunc). Its statistics, and so the ranges and reports of all ten
// methods, are bit-identical to those of the former path, which kept every tapped
// tensor of a batch (runtime.WithTaps) and then added each to its histogram.
func TestCalibratorStreamingMatchesRetainedTaps(t *testing.T) {
	train, _ := fmnist(t)
	for _, model := range []string{"fmnist_cnn", "fmnist_resnet"} {
		t.Run(model, func(t *testing.T) {
			m := loadBundled(t, model)
			streamed, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
			require.NoError(t, err)
			retained, err := NewCalibrator(m, MinMaxSym, CalibOptions{})
			require.NoError(t, err)
			sess, err := runtime.NewSession(retained.model, runtime.WithMode(runtime.ModeFloat), runtime.WithTaps(retained.names...))
			require.NoError(t, err)
			// Uneven batches: the statistics must not depend on where a batch ends.
			for _, b := range [][2]int{{0, 100}, {100, 37}, {137, 63}} {
				batch := map[string]*graph.Tensor{"input": train.Batch(b[0], b[1])}
				require.NoError(t, streamed.Collect(batch))
				out, err := sess.RunTensors(batch)
				require.NoError(t, err)
				for i, name := range retained.names {
					require.NotNil(t, out[name], name)
					require.NoError(t, retained.hists[i].add(out[name].F32()))
				}
				retained.samples += b[1]
				retained.batches++
			}
			require.Equal(t, retained.names, streamed.names)
			for i, name := range retained.names {
				assert.Equal(t, retained.hists[i], streamed.hists[i], "histogram of %q", name)
			}
			for _, meth := range Methods() {
				want, wrep, err := retained.ComputeRangesFor(meth)
				require.NoError(t, err)
				got, grep, err := streamed.ComputeRangesFor(meth)
				require.NoError(t, err)
				assert.Equal(t, want, got, "%s ranges", meth)
				assert.Equal(t, wrep.Tensors, grep.Tensors, "%s report", meth)
			}
		})
	}
}

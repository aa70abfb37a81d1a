package qat

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

type dsData struct {
	ds *dataset.Dataset
	n  int
}

func (d dsData) Len() int { return d.n }
func (d dsData) Sample(i int, dst []float32) (int, error) {
	copy(dst, d.ds.Batch(i, 1).F32())
	return d.ds.Labels[i], nil
}

// TestExportMatchesInt8Runtime trains each bundled model briefly and checks that the
// net's fake-quantized forward pass computes what the exported QDQ model computes on
// the int8 runtime (same top-1 on test images, logits within a few output steps):
// fake quantization is placed and rounded exactly as Quantize and the runtime do.
func TestExportMatchesInt8Runtime(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	test, err := dataset.Load("../testdata/fashion-mnist", "t10k")
	require.NoError(t, err)
	models := []string{"fmnist_cnn", "fmnist_mlp", "fmnist_resnet"}
	if testing.Short() {
		models = models[:2]
	}
	for _, name := range models {
		t.Run(name, func(t *testing.T) {
			m, err := graph.Load("../testdata/models/" + name + ".onnx")
			require.NoError(t, err)
			n, err := New(m, Config{})
			require.NoError(t, err)
			feed, err := dataset.NewFeed(train, n.Plan().Model.Graph.Inputs, 200)
			require.NoError(t, err)
			cal, err := quantizer.Calibrate(m, quantizer.PercentileAsym, feed, quantizer.CalibOptions{})
			require.NoError(t, err)
			r, err := cal.ComputeRanges()
			require.NoError(t, err)
			require.NoError(t, n.SetRanges(r))
			stats, err := n.Fit(dsData{train, 96}, Options{Batch: 32, LR: 1e-3, Seed: 1})
			require.NoError(t, err)
			require.Len(t, stats, 1)
			require.False(t, math.IsNaN(stats[0].Loss))

			const N = 100
			x := test.Batch(0, N)
			shape, got, err := n.Forward(x.F32(), N)
			require.NoError(t, err)
			q, err := n.Export(quantizer.QuantOptions{})
			require.NoError(t, err)
			s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			out, err := s.RunTensors(map[string]*graph.Tensor{"input": x})
			require.NoError(t, err)
			want := out["logits"].F32()
			require.Len(t, got, len(want))
			outScale := float64(quantizer.ParamsFromRange(n.Ranges()["logits"][0], n.Ranges()["logits"][1]).Scale)
			agree := 0
			for i := 0; i < N; i++ {
				a, b := argmax(got[i*shape[1]:(i+1)*shape[1]]), argmax(want[i*shape[1]:(i+1)*shape[1]])
				if a == b {
					agree++
				}
			}
			var maxDiff float64
			for i := range got {
				maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("top-1 agreement %d/%d, max |logit difference| %.3g = %.2f output steps", agree, N, maxDiff, maxDiff/outScale)
			require.GreaterOrEqual(t, agree, N-1, "top-1 agreement")
			require.LessOrEqual(t, maxDiff, 4*outScale, "max |logit difference| in output steps")
		})
	}
}

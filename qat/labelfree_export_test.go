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

// TestExportedLabelFreeMatchesFakeQuant: models as torch.onnx writes them whose
// outputs are not class scores train with the outputs loss, and the QDQ model each
// writes computes on the int8 runtime what the fake-quantized net computed: the
// detector of testdata/exported (an FPN neck with bilinear and nearest Resize, one grid
// output) and a transformer sequence tagger (scripts/make_qat_sequence.py OUT --epochs 1:
// LayerNorm, GELU and attention as primitive operators, output [batch,28,10]).
func TestExportedLabelFreeMatchesFakeQuant(t *testing.T) {
	for _, tc := range []struct {
		file, input, output string
		shape               []int
	}{
		{"detector_opset13.onnx", "images", "pred", []int{3, 64, 64}},
		{"seq_tagger_opset13.onnx", "input", "token_scores", []int{1, 28, 28}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := graph.Load("../testdata/exported/" + tc.file)
			require.NoError(t, err)
			n, err := New(m, Config{SampleShape: tc.shape, Threads: 2})
			require.NoError(t, err)
			data := randomLabelled{randomBatches{tc.input, tc.shape, 16, 5}, 1}
			cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, data, quantizer.CalibOptions{})
			require.NoError(t, err)
			r, err := cal.ComputeRanges()
			require.NoError(t, err)
			require.NoError(t, n.SetRanges(r))
			teacher, err := NewTeacher(m, Config{SampleShape: tc.shape, Threads: 2})
			require.NoError(t, err)
			_, err = n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", LR: 1e-3, Batch: 4, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
			require.NoError(t, err)

			rng := rand.New(rand.NewSource(3))
			x := make([]float32, 2*numel(tc.shape))
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
			out, err := s.RunTensors(map[string]*graph.Tensor{tc.input: graph.FromFloat32(append([]int{2}, tc.shape...), x)})
			require.NoError(t, err)
			want := out[tc.output].F32()
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
		})
	}
}

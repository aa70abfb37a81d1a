package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// TestQATTokenIDs: text classifiers as torch.onnx writes them (nn.Embedding as a
// Gather of its table by the int64 ids input, attention and LayerNorm as primitive
// operators; scripts/make_qat_text.py), one reading token ids alone from .npy files,
// one also an attention mask (a second int64 input, padded sequences, as BERT
// exports are) from .npz files, train with their labels, and each written model runs
// int8 from the integer inputs, giving ONNX Runtime's answers.
func TestQATTokenIDs(t *testing.T) {
	for _, tc := range []struct {
		model, train, test string
		shapes             map[string][]int
	}{
		{"text_cls_opset13.onnx", "npy_text", "npy_text_test", map[string][]int{"ids": {16}}},
		{"textmask_cls_opset13.onnx", "npz_textmask", "npz_textmask_test", map[string][]int{"ids": {16}, "mask": {16}}},
		// a bidirectional nn.LSTM and nn.GRU (batch_first) over the embeddings
		{"textlstm_cls_opset13.onnx", "npy_text", "npy_text_test", map[string][]int{"ids": {16}}},
		{"textgru_cls_opset13.onnx", "npy_text", "npy_text_test", map[string][]int{"ids": {16}}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "q.onnx")
			code, stdout, stderr := runCLI("qat", filepath.Join(exportedDir, tc.model), "--data", filepath.Join(exportedDir, tc.train),
				"--eval-data", filepath.Join(exportedDir, tc.test), "--calib-n", "128", "--lr", "0.01", "--threads", "2", "-o", out, "--json")
			require.Equal(t, 0, code, stderr)
			var rep qatReport
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
			assert.Equal(t, "ce", rep.Loss)
			assert.Equal(t, []int{16}, rep.SampleShape)
			assert.Equal(t, tc.shapes, rep.SampleShapes)
			assert.Equal(t, 512, rep.TrainImages)
			require.NotNil(t, rep.PTQAccuracy)
			require.NotNil(t, rep.QATAccuracy)
			t.Logf("int8 on the 256 test samples: post-training %.2f %%, QAT %.2f %%", 100**rep.PTQAccuracy, 100**rep.QATAccuracy)
			assert.Greater(t, *rep.QATAccuracy, 0.5)

			q, err := graph.Load(out)
			require.NoError(t, err)
			table := q.Graph.Initializers["emb.weight_quantized"]
			require.NotNil(t, table, "the embedding table is stored int8")
			assert.Equal(t, graph.Int8, table.DType)

			set, err := dataset.Open(filepath.Join(exportedDir, tc.test), dataset.Options{Inputs: modelInputs(q.Graph)})
			require.NoError(t, err)
			in, err := set.Batch(0, 64)
			require.NoError(t, err)
			require.Equal(t, graph.Int64, in["ids"].DType)
			sess, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			for _, p := range sess.Placement {
				if p.OpType == "LSTM" || p.OpType == "GRU" {
					t.Errorf("%s %q runs in float32, not as the int8 QRNN", p.OpType, p.Node)
				}
			}
			ours, err := sess.RunTensors(in)
			require.NoError(t, err)
			if err := ortoracle.Available(); err != nil {
				t.Log(err)
				return
			}
			theirs, err := ortoracle.Run(out, in, 2)
			require.NoError(t, err)
			a, b := ours["logits"].F32(), theirs["logits"].F32()
			require.Len(t, a, len(b))
			var ss, se float64
			for i := range a {
				ss += float64(b[i]) * float64(b[i])
				se += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i]))
			}
			sqnr := 10 * math.Log10(ss/se)
			t.Logf("int8 logits against ONNX Runtime: %.1f dB", sqnr)
			assert.Greater(t, sqnr, 30.0)
		})
	}
}

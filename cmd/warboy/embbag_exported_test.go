package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// torch's nn.EmbeddingBag exports as a Loop over the bags whose only explicit input is
// a trip count from Shape: the body gathers the tokens' rows from the outer scope. Its
// two inputs (tokens [ntok], offsets [nbags]) share no batch axis; the samples hold
// them whole (scripts/unseen6_models.py testdata). Before: `quantize` found "no
// operator the quantizer can quantize" (the Loop's output counted as computed from
// shapes alone, so the Gemm reading it was left float), then calibration stopped at
// "inputs disagree on the batch size (20 vs 4)", and `sim --input-shape tokens=20
// --input-shape offsets=4` asked for --batch.
func TestEmbeddingBagWorkflow(t *testing.T) {
	model := filepath.Join(exportedDir, "embbag_opset13.onnx")
	data := filepath.Join(exportedDir, "npz_embbag")
	q := filepath.Join(t.TempDir(), "q.onnx")
	code, _, errOut := runCLI("quantize", model, "--calib-data", data, "--calib-n", "4", "--batch", "1", "-o", q)
	require.Equal(t, 0, code, errOut)
	qm, err := graph.Load(q)
	require.NoError(t, err)
	ops := map[string]int{}
	for _, n := range qm.Graph.Nodes {
		ops[n.OpType]++
	}
	assert.Positive(t, ops["QuantizeLinear"], "the Gemm after the Loop is quantized")

	code, out, errOut := runCLI("compare", model, q, "--data", data, "--n", "4", "--batch", "1", "--json")
	require.Equal(t, 0, code, errOut)
	var cr compareReport
	require.NoError(t, json.Unmarshal([]byte(out), &cr))
	require.NotEmpty(t, cr.Top1)
	assert.Greater(t, float64(cr.Top1[0].SQNR), 25.0)

	code, _, errOut = runCLI("sim", q, "--input-shape", "tokens=20", "--input-shape", "offsets=4")
	require.Equal(t, 0, code, errOut)
}

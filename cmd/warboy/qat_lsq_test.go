package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQATLearnedRanges: --ranges learned trains the activation ranges (the written
// model's activation scales differ from those of the same run with the calibrated
// ranges kept, --ranges fixed); --ranges ema-clip keeps the calibrated ranges over a
// run shorter than its reference steps (8 here); each is reported in --json, and an
// unknown mode is a usage error that writes nothing.
func TestQATLearnedRanges(t *testing.T) {
	dir := t.TempDir()
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	scales := map[string]map[string]float32{}
	for _, mode := range []string{"learned", "fixed", "ema-clip"} {
		out := filepath.Join(dir, mode+".onnx")
		code, stdout, stderr := runCLI("qat", mlp, "--data", testData, "--n", "128", "--calib-n", "50", "--eval-n", "-1",
			"--method", "MIN_MAX_ASYM", "--batch", "16", "--ranges", mode, "-o", out, "--json")
		require.Equal(t, 0, code, stderr)
		var rep qatReport
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		assert.Equal(t, mode, rep.Ranges)
		m, err := graph.Load(out)
		require.NoError(t, err)
		scales[mode] = map[string]float32{}
		for _, n := range m.Graph.Nodes {
			if n.OpType == "QuantizeLinear" {
				scales[mode][n.Input(0)] = m.Graph.Initializers[n.Input(1)].F32()[0]
			}
		}
	}
	require.NotEmpty(t, scales["fixed"])
	require.Equal(t, len(scales["fixed"]), len(scales["learned"]))
	assert.NotEqual(t, scales["fixed"], scales["learned"], "the learned ranges moved")
	assert.Equal(t, scales["fixed"], scales["ema-clip"], "ema-clip still measuring its reference")

	out := filepath.Join(dir, "bad.onnx")
	code, _, stderr := runCLI("qat", mlp, "--data", testData, "--n", "64", "--ranges", "pact", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown range mode")
	assert.NoFileExists(t, out)
}

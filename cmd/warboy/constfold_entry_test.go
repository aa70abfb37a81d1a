package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/internal/testmodels"
)

// TestInspectFoldsShapeArithmetic: inspect infers shapes with the runtime's constant
// evaluator, so the MACs of a MatMul behind Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape are counted and complete.
func TestInspectFoldsShapeArithmetic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shape_arith.onnx")
	require.NoError(t, testmodels.ShapeArith().Save(path))
	code, out, errOut := runCLI("inspect", path, "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		MACs         int64 `json:"macs"`
		MACsComplete bool  `json:"macs_complete"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.MACsComplete)
	require.Equal(t, int64(testmodels.ShapeArithMACs), rep.MACs)
}

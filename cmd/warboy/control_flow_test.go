package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// control_flow_opset13.onnx (scripts/sweep_models.py testdata): a Conv backbone, then
// If (data-dependent, nested, and a shape check), Loop and the empty-detections If.
// Every command works on it; quantize keeps the control flow in float32 and the
// backbone int8; the int8 model still answers like ONNX Runtime's float model within
// int8 error.
func TestControlFlowCommands(t *testing.T) {
	model := filepath.Join(exportedDir, "control_flow_opset13.onnx")
	data := filepath.Join(exportedDir, "npy_control")
	code, out, errOut := runCLI("inspect", model, "--input-shape", "x=1,3,8,8")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Loop")

	dir := t.TempDir()
	o := filepath.Join(dir, "out.npz")
	code, _, errOut = runCLI("run", model, "--input", filepath.Join(data, "pos.npy"), "--output", o)
	require.Equal(t, 0, code, errOut)
	got, err := dataset.ReadNPZ(o)
	require.NoError(t, err)
	want, err := dataset.ReadNPZ(filepath.Join(data+"_ort", "pos.npz"))
	require.NoError(t, err)
	for k, w := range want {
		assert.NoError(t, runtime.CompareTensors(got[k], w, runtime.Tolerance{Rtol: 1e-5, Atol: 1e-6}), k)
	}

	q := filepath.Join(dir, "q.onnx")
	var warn strings.Builder
	code, _, errOut = runCLI("quantize", model, "--calib-data", data, "--batch", "1", "-o", q)
	require.Equal(t, 0, code, errOut)
	warn.WriteString(errOut)
	qm, err := graph.Load(q)
	require.NoError(t, err)
	ops := map[string]bool{}
	for _, n := range qm.Graph.Nodes {
		ops[n.OpType] = true
	}
	assert.True(t, ops["If"] && ops["Loop"], "control flow kept")
	assert.True(t, ops["QuantizeLinear"], "backbone quantized")
	s, err := runtime.NewSession(qm)
	require.NoError(t, err)
	assert.Equal(t, runtime.ModeInt8, s.Mode())
	for _, p := range s.Placement {
		if p.OpType == "Conv" || p.OpType == "QConv" {
			assert.True(t, p.Int8, "%s runs int8", p.Node)
		}
	}

	code, out, errOut = runCLI("compare", model, q, "--data", data, "--batch", "1", "--json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"shape_mismatches"`)
	code, out, errOut = runCLI("sim", q, "--input-shape", "x=1,3,8,8")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Loop")
}

package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/npu"
)

// TestPoolQParamsFlag: --pool-qparams means the same in every command that loads a
// quantized model. On tq_mbnet_fq (a PyTorch QAT export whose two average pools have no
// fake quantization after them), file (the default) runs those pools and what they feed
// in float32, and the warning names the option; input gives them their input's scale and
// zero point (PyTorch's convert), and every node runs int8.
func TestPoolQParamsFlag(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "qat_unseen15", "tq_mbnet_fq.onnx")
	placement := func(args ...string) (floatNodes []string) {
		code, out, errOut := runCLI(append([]string{"inspect", "--json", model}, args...)...)
		require.Equal(t, 0, code, errOut)
		var rep inspectReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.NotEmpty(t, rep.Placement)
		for _, p := range rep.Placement {
			if p.Runs != "int8" {
				floatNodes = append(floatNodes, p.OpType)
			}
		}
		return floatNodes
	}
	require.ElementsMatch(t, []string{"GlobalAveragePool", "Conv", "Relu", "AveragePool", "Conv", "Relu", "Conv", "Relu"}, placement())
	require.ElementsMatch(t, placement(), placement("--pool-qparams", "file"))
	require.Empty(t, placement("--pool-qparams", "input"))

	code, _, errOut := runCLI("run", model, "--data", testData)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, `GlobalAveragePool "/gap/GlobalAveragePool" runs in float32`)
	require.Contains(t, errOut, "--pool-qparams input")
	code, _, errOut = runCLI("run", model, "--data", testData, "--pool-qparams", "input")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, errOut, "runs in float32")
	require.Contains(t, errOut, `note: --pool-qparams input: GlobalAveragePool "/gap/GlobalAveragePool", AveragePool "/pool/AveragePool" quantized on their input's scale and zero point`)

	// A model without such pools runs as written, and says so.
	code, _, errOut = runCLI("inspect", filepath.Join(testModels, "fmnist_qat_torch.onnx"), "--pool-qparams", "input")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "the model runs as written")

	// The NPU simulator prices the rewritten model: fewer host operators.
	hosts := func(args ...string) int {
		code, out, errOut := runCLI(append([]string{"sim", model, "--json"}, args...)...)
		require.Equal(t, 0, code, errOut)
		var rep npu.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		return len(rep.HostFallbacks)
	}
	require.Less(t, hosts("--pool-qparams", "input"), hosts())

	for _, cmd := range [][]string{{"run", model}, {"eval", model}, {"inspect", model}, {"sim", model}, {"compare", model, model}, {"bench", "cpu", model}} {
		code, _, errOut := runCLI(append(cmd, "--pool-qparams", "pytorch")...)
		require.Equal(t, 2, code, "%v: %s", cmd, errOut)
		require.Contains(t, errOut, "unknown pool quantization \"pytorch\"", "%v", cmd)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/runtime"
)

// A model PyTorch quantized itself (eager mode, qnnpack) and torch.onnx exported:
// its activations go QuantizeLinear -> Cast(to=uint8) -> DequantizeLinear
// (scripts/make_torchq_testdata.py; qmobilenet_torchq of --unseen7). The Cast to the
// type its input already has is dropped (graph/optimize, and an alias in the NPU
// compiler): before, the int8 executor ran the 11 Casts in float32 and `sim` put
// each on the host (qmobilenet_torchq: 76 host fallbacks, 31.7 ms; after, none and
// 0.27 ms). Every operator runs int8 and the output equals ONNX Runtime's on the
// same file.
func TestTorchQuantizedModel(t *testing.T) {
	model := filepath.Join(exportedDir, "torchq_qnnpack_opset13.onnx")
	_, set, sess := exportedSession(t, "torchq_qnnpack_opset13.onnx", "npz_torchq", runtime.ModeInt8)
	require.Equal(t, 2, set.Len())
	for _, p := range sess.Placement {
		assert.NotEqual(t, "Cast", p.OpType, "node %s", p.Node)
		if !p.Shape {
			assert.True(t, p.Int8, "%s %s runs int8", p.OpType, p.Node)
		}
	}
	for i := 0; i < set.Len(); i++ {
		in, err := set.Batch(i, 1)
		require.NoError(t, err)
		ours, err := sess.RunTensors(in)
		require.NoError(t, err)
		ort, err := dataset.ReadNPZ(filepath.Join(exportedDir, "npz_torchq_ort", fmt.Sprintf("s%d.npz", i)))
		require.NoError(t, err)
		want, got := ort["output"], ours["output"]
		require.NotNil(t, want)
		require.Equal(t, want.Shape, got.Shape)
		assert.Equal(t, want.F32(), got.F32(), "sample %d", i)
	}

	code, out, errOut := runCLI("sim", model, "--json")
	require.Equal(t, 0, code, errOut)
	var rep npu.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Empty(t, rep.HostFallbacks)
}

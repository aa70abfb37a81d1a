package npu_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// If and Loop run on the host; their subgraphs read values of the enclosing graph,
// which the simulator's shape pass must see (it reported "dangling input" before),
// and the Conv backbone in front of them still runs on the NPU.
func TestControlFlowRunsOnHost(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "control_flow_opset13.onnx"))
	require.NoError(t, err)
	r, err := npu.Simulate(m, npu.Config{AssumeInt8: true, InputShapes: map[string][]int{"x": {1, 3, 8, 8}}})
	require.NoError(t, err)
	host := map[string]string{}
	for _, f := range r.HostFallbacks {
		host[f.OpType+" "+f.Name] = f.Reason
	}
	for _, name := range []string{"If if_pos", "Loop loop", "If if_empty"} {
		reason, ok := host[name]
		if assert.True(t, ok, "%s not a host fallback: %v", name, host) {
			assert.NotContains(t, reason, "dangling", name)
		}
	}
	for _, op := range r.Ops {
		if op.OpType == "Conv" || strings.HasPrefix(op.Name, "conv") {
			assert.Equal(t, npu.EngineNPU, op.Engine, op.Reason)
		}
	}
}

package npu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/internal/testmodels"
	"github.com/warboy-sim/warboy/npu"
)

// TestSimulateFoldsShapeArithmetic: the simulator's shape analysis folds the
// Shape -> Gather -> Unsqueeze -> Concat chain, so the MatMul after the Reshape has
// concrete shapes: it is timed on the NPU with its MACs, not sent to the host as
// "shape unknown".
func TestSimulateFoldsShapeArithmetic(t *testing.T) {
	rep, err := npu.Simulate(testmodels.ShapeArith(), npu.Config{AssumeInt8: true})
	require.NoError(t, err)
	for _, f := range rep.HostFallbacks {
		require.NotContains(t, f.Reason, "unknown", "%+v", f)
	}
	require.Equal(t, int64(testmodels.ShapeArithMACs), rep.MACs)
}

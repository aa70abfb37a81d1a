package npu_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/npu"
)

// A request count or batch far beyond what the simulator can hold is an error, not an
// out-of-memory crash (twenty-second session: sim --requests 1000000000 and --batch
// 100000000 allocated terabytes of scheduler tasks). A batch whose per-image schedule
// would be too large keeps the layer-major one.
func TestSimulateRefusesHugeSchedules(t *testing.T) {
	q, err := zoo.Quantized(zooModel(t, "tiny_cnn"))
	require.NoError(t, err)
	_, err = npu.Simulate(q, npu.Config{Requests: 1_000_000_000})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scheduler tasks, more than the simulator's limit")
	assert.Contains(t, err.Error(), "--requests")

	r, err := npu.Simulate(q, npu.Config{Batch: 1_000_000})
	require.NoError(t, err)
	assert.Equal(t, 1_000_000, r.Batch)
	assert.Positive(t, r.LatencyUS)
}

// Random calibration inputs are refused, not allocated, beyond the tensor size limit.
func TestRandomInputsRefusesHugeShapes(t *testing.T) {
	q, err := zoo.Quantized(zooModel(t, "tiny_cnn"))
	require.NoError(t, err)
	_, err = npu.RandomInputs(q, 1<<30, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "elements")
}

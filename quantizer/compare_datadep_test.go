package quantizer

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// A detector's outputs have data-dependent sizes (the number of boxes kept): compare
// counts the samples where float32 and int8 disagree on the size instead of failing,
// but still refuses two models whose static shapes differ.
func TestCompareDataDependentShapes(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "control_flow_opset13.onnx"))
	require.NoError(t, err)
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat))
	require.NoError(t, err)
	assert.True(t, dataDependent(s, "rows_out", []int{2}, []int{5}), "NonZero rows behind an If")
	assert.True(t, dataDependent(s, "loop_out", []int{1, 4}, []int{2, 4}))
	assert.False(t, dataDependent(s, "loop_out", []int{1, 4}, []int{1, 5}), "the static 4 differs")
	assert.False(t, dataDependent(s, "loop_out", []int{1, 4}, []int{4}), "rank differs")
	assert.False(t, dataDependent(s, "no_such_tensor", []int{1}, []int{2}))
}

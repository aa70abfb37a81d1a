package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// maskedModel is y = x * float(mask) with an int64 mask input that no Gather reads
// (HF-style attention masks, position-id cumsums): synthetic values for it would
// be a guess at what it means, so they are never drawn.
func maskedModel() *graph.Model {
	b := testmodels.New(1)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 6})
	m := b.Input("mask", graph.Dim{Size: 1}, graph.Dim{Size: 6})
	b.G.Values[m].DType = graph.Int64 // the same *Value as the graph input's
	c := b.Node("Cast", []string{m}, graph.IntAttr("to", int64(graph.Float32)))
	b.Output(b.Node("Mul", []string{x, c}))
	return b.Model()
}

// CPUBenchOptions.Inputs (`bench cpu --input`) times a model whose inputs cannot be
// synthesized (scatter_cumsum of --unseen6: "synthetic int64 data is drawn only for
// indices into a table of known size"); inputs it does not name are synthesized,
// and inputs the model does not have or of another type are refused.
func TestCPUBenchGivenInputs(t *testing.T) {
	m := maskedModel()
	_, err := RunCPUBench(m, CPUBenchOptions{Iterations: 2, Warmup: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mask")

	mask := graph.FromInt64([]int{1, 6}, []int64{1, 1, 1, 0, 0, 0})
	res, err := RunCPUBench(m, CPUBenchOptions{Iterations: 2, Warmup: -1, Inputs: map[string]*graph.Tensor{"mask": mask}})
	require.NoError(t, err)
	require.NotNil(t, res.Float32)
	assert.Equal(t, 2, res.Float32.Iterations)

	_, err = RunCPUBench(m, CPUBenchOptions{Iterations: 2, Inputs: map[string]*graph.Tensor{"mask": mask, "other": mask}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"other" is not an input`)

	_, err = RunCPUBench(m, CPUBenchOptions{Iterations: 2, Inputs: map[string]*graph.Tensor{"mask": graph.FromFloat32([]int{1, 6}, make([]float32, 6))}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "takes int64")
}

package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8SpatialMeanRunsAsPool: a QDQ model whose head is
// x.mean((2, 3), keepdim=True).flatten(1) (ReduceMean over both spatial axes
// between a DequantizeLinear and a QuantizeLinear) runs int8 once the graph
// pass writes the mean as a GlobalAveragePool: no float32 fallback, no
// warning, and the output within a few steps of the float simulation of the
// same QDQ model. (With keepdims 0 the pass adds a Flatten after the pool;
// the quantizer, which runs the pass before placing its QDQ pairs, then
// quantizes the pool's output: the exported MNASNet and ShuffleNetV2 run
// their heads int8 that way, TestExportedModelsInt8AgreeWithORT.)
func TestInt8SpatialMeanRunsAsPool(t *testing.T) {
	b := newMB(7)
	x := b.Input("x", batchDim(), graph.Dim{Size: 4}, graph.Dim{Size: 6}, graph.Dim{Size: 6})
	c := b.Node("Relu", []string{b.conv(x, 4, 8, 3, 1, 1, 1, true)})
	r := b.Node("ReduceMean", []string{c}, graph.IntsAttr("axes", []int{2, 3}), graph.IntAttr("keepdims", 1))
	f := b.Node("Flatten", []string{r}, graph.IntAttr("axis", 1))
	b.Output(b.Node("Gemm", []string{f, b.RandInit("fc", []int{5, 8}, 0.5)}, graph.IntAttr("transB", 1)))
	fm := b.Model()
	rng := rand.New(rand.NewSource(2))
	qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{4, 4, 6, 6}, -1, 1)}, qdqOptions{})
	var warns []string
	s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Empty(t, warns)
	for _, p := range s.Placement {
		assert.True(t, p.Int8 || p.OpType == "Flatten", "%s runs float32", p.OpType)
	}
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 4, 6, 6}, -1, 1)}
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	out := fm.Graph.Outputs[0].Name
	frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
	assert.GreaterOrEqual(t, frac, 0.95)
	assert.LessOrEqual(t, mx, 3.0)
}

package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// raggedModel keeps the elements of x above thr (NonZero, GatherND: an output
// whose length is set by the values) beside 2·x, a fixed-shape output.
func raggedModel(thr float32) *graph.Model {
	nd := func(op string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
		n := &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
		for _, a := range attrs {
			n.Attrs[a.Name] = a
		}
		return n
	}
	g := &graph.Graph{Name: "ragged", Values: map[string]*graph.Value{}, Initializers: map[string]*graph.Tensor{
		"thr": graph.ScalarFloat32(thr), "two": graph.ScalarFloat32(2)}}
	g.Nodes = []*graph.Node{
		nd("Greater", []string{"x", "thr"}, "pos"),
		nd("NonZero", []string{"pos"}, "nz"),
		nd("Transpose", []string{"nz"}, "idx", &graph.Attr{Name: "perm", Type: graph.AttrInts, Ints: []int64{1, 0}}),
		nd("GatherND", []string{"x", "idx"}, "kept"),
		nd("Mul", []string{"x", "two"}, "double"),
	}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 4}}, HasShape: true}}
	g.Outputs = []*graph.Value{{Name: "kept", DType: graph.Float32}, {Name: "double", DType: graph.Float32}}
	return &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": 13}}
}

// TestScoreRaggedOutputs: a model whose output keeps other elements than the
// float model's in some batches is scored on the batches' outputs of equal
// length, the others counted and said (this indexed past the reference and
// panicked, and misaligned every later batch before).
func TestScoreRaggedOutputs(t *testing.T) {
	xs := []*graph.Tensor{
		graph.FromFloat32([]int{1, 4}, []float32{0.2, 0.6, -1, 2}), // 0.6 kept by one threshold only
		graph.FromFloat32([]int{1, 4}, []float32{1, -1, 3, -2}),
		graph.FromFloat32([]int{1, 4}, []float32{0.3, 0.6, 0.7, 1}),
	}
	ev, err := NewEvaluator(raggedModel(0.5), sliceBatches{xs}, EvalOptions{BatchSize: 1, Threads: 1})
	require.NoError(t, err)
	sc, err := ev.Score(raggedModel(0.65))
	require.NoError(t, err)
	assert.Equal(t, 2, sc.Unmatched, "batches 0 and 2 keep other elements")
	assert.True(t, math.IsInf(float64(sc.SQNR), 1), "what is compared is equal: %v", sc.SQNR)
	assert.Contains(t, sc.String(), "2 batch outputs of another length than float32's not compared")
	same, err := ev.Score(raggedModel(0.5))
	require.NoError(t, err)
	assert.Zero(t, same.Unmatched)
	assert.NotContains(t, same.String(), "not compared")
}

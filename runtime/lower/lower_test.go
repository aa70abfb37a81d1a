package lower

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// The pass is exercised end to end through runtime sessions (runtime/int8_*_test.go);
// these tests cover what it does on its own.

// stubExecutor folds nothing (graph.NoFold): these tests do not link the kernels.
type stubExecutor struct {
	graph.NoFold
	evals int
}

func (s *stubExecutor) EvalFloat(*graph.Model, map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	s.evals++
	return nil, nil
}

func (s *stubExecutor) HasInt8Kernel(string, string) bool { return false }

func reluModel() *graph.Model {
	x := &graph.Value{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 4), HasShape: true}
	return &graph.Model{
		Graph: &graph.Graph{
			Name: "relu", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}},
			Values: map[string]*graph.Value{}, Initializers: map[string]*graph.Tensor{},
			Nodes: []*graph.Node{{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}},
		},
		Opsets: map[string]int64{"": 13},
	}
}

func TestLowerArguments(t *testing.T) {
	_, err := Lower(reluModel(), nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no executor")

	_, err = Lower(reluModel(), &Config{Requant: "bogus"}, &stubExecutor{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown requantization "bogus"`)
}

// A float operator with no quantized neighbour stays as it is, without warnings, and
// the lowered model declares the int8 dialect.
func TestLowerKeepsFloatOperators(t *testing.T) {
	src := reluModel()
	var warnings []string
	exec := &stubExecutor{}
	m, err := Lower(src, &Config{Warn: func(s string) { warnings = append(warnings, s) }}, exec)
	require.NoError(t, err)
	require.Len(t, m.Graph.Nodes, 1)
	assert.Equal(t, "Relu", m.Graph.Nodes[0].OpType)
	assert.Equal(t, int64(1), m.Opsets[Domain])
	assert.Empty(t, warnings)
	assert.Zero(t, exec.evals, "no lookup table to evaluate")
	assert.NotContains(t, src.Opsets, Domain, "the source model is not modified")
}

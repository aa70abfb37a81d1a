package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestEinsumRefused: equations whose gradient is not an Einsum of the same
// operands (a diagonal's included: "bii->bi" trains, TestGradientsMoreOps) are
// refused naming the node and the subscript.
func TestEinsumRefused(t *testing.T) {
	for _, tc := range []struct {
		eq   string
		in   []int
		want string
	}{
		{"...ii->...i", []int{3, 3}, `repeats subscript 'i' in operand 0 beside an ellipsis`},
		{"bii->b", []int{3, 3}, `sums subscript 'i' over operand 0 alone`}, // a trace
		{"bij->bi", []int{3, 4}, `sums subscript 'j' over operand 0 alone`},
	} {
		m := weightFirst(tinyModel{tc.in, []*graph.Node{node("Einsum", []string{"x"}, "y", strAttr("equation", tc.eq))}, nil}.model(), tc.in[len(tc.in)-1])
		_, err := New(m, Config{FloatOnly: true})
		require.ErrorIs(t, err, ErrNoGradient, tc.eq)
		require.ErrorContains(t, err, "y_node", tc.eq)
		require.ErrorContains(t, err, tc.want, tc.eq)
	}
}

package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// A node output beyond maxElements at the planned shapes is an error naming the node
// when the session is made, not an out-of-memory crash when it runs.
func TestSessionRefusesHugeValues(t *testing.T) {
	b := testmodels.New(1)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 1}, graph.Dim{Size: 50000}, graph.Dim{Size: 50000})
	w := b.RandInit("w", []int{8, 1, 1, 1}, 1)
	b.Output(b.Node("Conv", []string{x, w}))
	_, err := NewSession(b.Model(), WithMode(ModeFloat), WithThreads(1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Conv")
	assert.Contains(t, err.Error(), "has more than 2147483648 elements")
}

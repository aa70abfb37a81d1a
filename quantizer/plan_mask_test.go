package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/warboy-sim/warboy/graph"
)

// Both spellings of an additive attention mask: torch's Where(mask, -inf, 0) and
// Hugging Face's (1 - mask) * finfo(float32).min; the Softmax output is data again.
func TestMaskValues(t *testing.T) {
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{
		"ninf": graph.FromFloat32(nil, []float32{float32(math.Inf(-1))}),
		"fmin": graph.FromFloat32(nil, []float32{-math.MaxFloat32}),
		"one":  graph.FromFloat32(nil, []float32{1}),
	}}
	nd := func(op string, in []string, out string) *graph.Node {
		return &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	g.Nodes = []*graph.Node{
		nd("Where", []string{"m", "ninf", "zero"}, "tmask"),
		nd("Add", []string{"scores", "tmask"}, "tmasked"),
		nd("Softmax", []string{"tmasked"}, "probs"),
		nd("Sub", []string{"one", "am"}, "inv"),
		nd("Mul", []string{"inv", "fmin"}, "hmask"),
		nd("Add", []string{"scores", "hmask"}, "hmasked"),
		nd("Add", []string{"scores", "one"}, "plain"),
	}
	mv := maskValues(g)
	for _, name := range []string{"tmask", "tmasked", "hmask", "hmasked"} {
		assert.True(t, mv[name], name)
	}
	for _, name := range []string{"probs", "inv", "plain", "scores"} {
		assert.False(t, mv[name], name)
	}
	assert.Equal(t, []float32{1, 2}, dropInfinities([]float32{float32(math.Inf(-1)), 1, float32(math.Inf(1)), 2}))
}

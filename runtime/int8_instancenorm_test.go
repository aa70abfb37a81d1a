package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8InstanceNormMatchesSimulatedQuantization quantizes
// InstanceNormalization on 2-D maps, on a 1-D signal and inside a GroupNorm
// (Reshape -> InstanceNormalization -> Reshape), with int8 and uint8
// activations: it lowers to QInstanceNorm and its outputs stay within a step
// of the float executor running the QDQ graph.
func TestInt8InstanceNormMatchesSimulatedQuantization(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		build func(b *mb, x string) string
		u8    bool
	}{
		{"2d", []int{2, 6, 5, 7}, func(b *mb, x string) string {
			return b.Node("InstanceNormalization", []string{x, b.RandInit("s", []int{6}, 1.5), b.RandInit("t", []int{6}, 1)})
		}, false},
		{"1d uint8", []int{1, 8, 40}, func(b *mb, x string) string {
			return b.Node("InstanceNormalization", []string{x, b.RandInit("s", []int{8}, 1.5), b.RandInit("t", []int{8}, 1)}, tAttrF("epsilon", 1e-3))
		}, true},
		{"groupnorm", []int{1, 16, 30}, func(b *mb, x string) string {
			g := b.Node("Reshape", []string{x, b.i64(1, 4, -1)})
			g = b.Node("InstanceNormalization", []string{g, b.Init("one", graph.FromFloat32([]int{4}, filled(4, 1))),
				b.Init("zero", graph.FromFloat32([]int{4}, filled(4, 0)))})
			return b.Node("Reshape", []string{g, b.i64(1, 16, 30)})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(3)
			dims := make([]graph.Dim, len(tc.shape))
			for i, d := range tc.shape {
				dims[i] = graph.Dim{Size: d}
			}
			out := tc.build(b, b.Input("x", dims...))
			b.Output(out)
			fm := b.Model()
			rng := rand.New(rand.NewSource(4))
			qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, tc.shape, -3, 2)}, qdqOptions{uint8Acts: tc.u8})
			in := map[string]*graph.Tensor{"x": randInput(rng, tc.shape, -3, 2)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, threads := range []int{1, 2} {
				s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(threads))
				require.NoError(t, err)
				n := 0
				for _, p := range s.Placement {
					assert.True(t, p.Int8, "%s %s runs float", p.OpType, p.Node)
					if p.OpType == "QInstanceNorm" {
						n++
					}
				}
				require.Equal(t, 1, n)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
				assert.GreaterOrEqual(t, frac, 0.99)
				assert.LessOrEqual(t, mx, 1.0001)
			}
		})
	}
}

package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// An elementwise chain whose input is empty (a detector's RoI branch when no
// box is left, as Keypoint R-CNN's keypoint_roi_pool/Sqrt) still reports
// every tapped tensor: calibration counts a tensor it never saw as "not
// computed" and failed on such a sample.
func TestTapChainEmptyInput(t *testing.T) {
	mk := func(op, in, out string) *graph.Node {
		return &graph.Node{Name: op, OpType: op, Inputs: []string{in}, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	g := &graph.Graph{
		Initializers: map[string]*graph.Tensor{},
		Values:       map[string]*graph.Value{},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "n"}}}},
		Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
		Nodes:        []*graph.Node{mk("Sigmoid", "x", "a"), mk("Relu", "a", "b"), mk("Tanh", "b", "y")},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 8}
	names := []string{"x", "a", "b", "y"}
	seen := map[string]int{}
	s, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...), withTapPieceLen(4),
		WithTapFunc(func(name string, tt *graph.Tensor) error { seen[name]++; return nil }),
		WithTapPieces(func(name string, p []float32, off, total int) error {
			if off+len(p) == total {
				seen[name]++
			}
			return nil
		}))
	require.NoError(t, err)
	require.NotEmpty(t, s.chains, "the three activations run as a chain")
	for _, n := range []int{10, 0} {
		clear(seen)
		out, err := s.RunTensors(map[string]*graph.Tensor{"x": graph.FromFloat32([]int{n}, make([]float32, n))})
		require.NoError(t, err)
		assert.Equal(t, []int{n}, out["y"].Shape)
		for _, name := range names {
			assert.Equal(t, 1, seen[name], "%d elements: tensor %q reported once", n, name)
		}
	}
}

package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Before opset 14 a BatchNormalization with the extra outputs (mean, var,
// saved_mean, saved_var; older exporters write them even when nothing reads them)
// is in training mode: ONNX Runtime and the executor normalise with the batch's
// statistics. Folding it into the Conv as the affine map of the running statistics
// changed the function (a paddle2onnx-style opset-9 model lost 25 dB of SQNR).
func TestOptimizeKeepsTrainingModeBatchNorm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opset  int64
		extra  bool
		folded bool
	}{
		{"opset 9, one output: inference", 9, false, true},
		{"opset 9, five outputs: training", 9, true, false},
		{"opset 13, five outputs: training", 13, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(4))
			bn := bnNode("c", "y", "bn")
			if tc.extra {
				bn.Outputs = append(bn.Outputs, "m1", "v1", "sm", "sv")
			}
			m := newModel("x", []int{1, 2, 4, 4}, []string{"y"}, []*graph.Node{
				node("Conv", []string{"x", "w"}, []string{"c"}),
				bn,
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{3, 2, 1, 1}, 1)}, bnInits(rng, "bn", 3)))
			m.Opsets[""] = tc.opset
			opt, err := Optimize(m)
			require.NoError(t, err)
			if tc.folded {
				assert.Zero(t, countOps(opt)["BatchNormalization"])
			} else {
				assert.Equal(t, 1, countOps(opt)["BatchNormalization"])
			}
			x := map[string]*graph.Tensor{"x": randTensor(rng, []int{2, 2, 4, 4}, 1)}
			want, got := runFloat(t, m, x), runFloat(t, opt, x)
			assert.Less(t, maxAbsDiff(want["y"].F32(), got["y"].F32()), 1e-5)
		})
	}
}

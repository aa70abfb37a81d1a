package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// maxRelDiff compares every float output both sides have: float32, and the
// float16 and float64 outputs of such models (before the sixteenth session the
// latter were refused: "no float32 output to compare with ONNX Runtime").
func TestMaxRelDiffFloatWidths(t *testing.T) {
	half := func(v ...float32) *graph.Tensor {
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = graph.Float32ToFloat16(x)
		}
		return &graph.Tensor{DType: graph.Float16, Shape: []int{len(v)}, Data: d}
	}
	f64 := func(v ...float64) *graph.Tensor {
		return &graph.Tensor{DType: graph.Float64, Shape: []int{len(v)}, Data: v}
	}
	for _, tc := range []struct {
		name string
		a, b *graph.Tensor
		want float64
	}{
		{"float32", graph.FromFloat32([]int{2}, []float32{1, 2}), graph.FromFloat32([]int{2}, []float32{1, 4}), 0.5},
		{"float16", half(1, 2), half(1, 4), 0.5},
		{"float64", f64(3, -8), f64(3, -10), 0.2},
	} {
		got, err := maxRelDiff(map[string]*graph.Tensor{"y": tc.a}, map[string]*graph.Tensor{"y": tc.b})
		require.NoError(t, err, tc.name)
		assert.InDelta(t, tc.want, got, 1e-9, tc.name)
	}
	_, err := maxRelDiff(map[string]*graph.Tensor{"y": graph.FromInt64([]int{1}, []int64{1})},
		map[string]*graph.Tensor{"y": graph.FromInt64([]int{1}, []int64{1})})
	assert.ErrorContains(t, err, "no float output")
}

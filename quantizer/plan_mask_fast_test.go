package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/warboy-sim/warboy/graph"
)

// isMaskConst on float32 tensors (the vectorized min/max) agrees with the scan of
// every value it replaced: magnitudes at, below and above the threshold, either
// sign, infinities, NaNs hiding the extremes, lengths around the vector widths;
// a float64 tensor takes the scan.
func TestIsMaskConstMatchesScan(t *testing.T) {
	scan := func(v []float64, magnitude float64) bool {
		for _, x := range v {
			if math.IsInf(x, 0) || math.Abs(x) >= magnitude {
				return true
			}
		}
		return false
	}
	nan, inf := math.NaN(), math.Inf(1)
	for _, tt := range []struct {
		name string
		vals []float64
	}{
		{"small", []float64{0.5, -3, 2}},
		{"at the threshold", []float64{1, 1e4, 2}},
		{"at minus the threshold", []float64{1, -1e4, 2}},
		{"just below", []float64{9999.999, -9999.999}},
		{"+Inf", []float64{1, inf}},
		{"-Inf", []float64{-inf, 1}},
		{"NaN only", []float64{nan, 1, 2}},
		{"NaN and a large value", []float64{nan, 1, -2e4}},
		{"NaN and -Inf", []float64{1, nan, -inf}},
		{"-3.4e38", []float64{0, -3.4e38}},
		{"empty", nil},
	} {
		for _, n := range []int{1, 31, 32, 33, 100} {
			v := make([]float64, 0, n+len(tt.vals))
			for i := 0; i < n; i++ {
				v = append(v, float64(i%7)-3)
			}
			v = append(v, tt.vals...)
			f32 := graph.NewTensor(graph.Float32, []int{len(v)})
			for i, x := range v {
				f32.F32()[i] = float32(x)
			}
			f64 := graph.NewTensor(graph.Float64, []int{len(v)})
			copy(f64.Data.([]float64), v)
			for _, mag := range []float64{fillMagnitude, maskMagnitude} {
				want := scan(v, mag)
				assert.Equal(t, want, isMaskConst(f32, mag), "%s, %d values, float32, magnitude %g", tt.name, n, mag)
				assert.Equal(t, want, isMaskConst(f64, mag), "%s, %d values, float64, magnitude %g", tt.name, n, mag)
			}
		}
	}
}

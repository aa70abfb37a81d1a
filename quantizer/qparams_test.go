package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestParamsFromRange(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float32
		scale  float32
		zp     int8
	}{
		{"unit", 0, 1, 1.0 / 255, -128},
		{"relu", 0, 6, 6.0 / 255, -128},
		{"symmetric", -2, 2, 2.0 / 127, 0},
		{"lopsided", -1, 3, 4.0 / 255, -64},
		{"negative only", -5, -1, 5.0 / 255, 127},
		{"excludes zero", 1, 2, 2.0 / 255, -128},
		{"zero", 0, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paramsFromRange(tt.lo, tt.hi)
			assert.InDelta(t, tt.scale, p.scale, 1e-9)
			assert.Equal(t, tt.zp, p.zp)
			// Zero is always exactly representable.
			assert.Equal(t, p.zp, quantizeValue(0, p))
		})
	}
}

func TestQuantizeValue(t *testing.T) {
	p := qparams{scale: 0.5, zp: 10}
	tests := []struct {
		x    float32
		want int8
	}{
		{0, 10}, {0.25, 10}, {0.75, 12}, {-0.25, 10}, {1000, 127}, {-1000, -128}, {1.25, 12},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, quantizeValue(tt.x, p), "x=%v", tt.x)
	}
}

func TestPerChannelWeights(t *testing.T) {
	// [2 out, 3 in]: channel 0 max 1, channel 1 max 0.5.
	w := graph.FromFloat32([]int{2, 3}, []float32{1, -0.5, 0.25, 0.5, 0, -0.5})
	q, s := perChannelWeights(w, 0, nil)
	assert.Equal(t, []float32{1.0 / 127, 0.5 / 127}, s)
	assert.Equal(t, []int8{127, -64, 32, 127, 0, -127}, q)
	// Axis 1 of the same tensor: 3 channels.
	q, s = perChannelWeights(w, 1, nil)
	require.Len(t, s, 3)
	assert.InDelta(t, 1.0/127, s[0], 1e-9)
	assert.InDelta(t, 0.5/127, s[1], 1e-9)
	assert.Equal(t, int8(127), q[0])
	assert.Equal(t, int8(-127), q[1])
	// An all-zero channel gets a usable scale.
	z := graph.FromFloat32([]int{2, 1}, []float32{0, 3})
	_, s = perChannelWeights(z, 0, nil)
	assert.Equal(t, float32(1), s[0])
	for _, v := range q {
		assert.NotEqual(t, int8(-128), v, "weights are symmetric in [-127, 127]")
	}
}

func TestBiasAdjustment(t *testing.T) {
	// A huge bias with a tiny weight scale would overflow int32: the weight scale rises.
	w := graph.FromFloat32([]int{2, 1}, []float32{1e-6, 1})
	bias := []float32{1e6, 1}
	sIn := float32(1e-3)
	minScales := adjustForBias(bias, sIn, 2, func(i int) int { return i })
	_, s := perChannelWeights(w, 0, minScales)
	assert.Greater(t, float64(s[0]), 1e-6/127)
	q, bs := quantizeBias(bias, sIn, s, func(i int) int { return i })
	assert.LessOrEqual(t, math.Abs(float64(q[0])), float64(biasLimit)+1)
	assert.InDelta(t, 1e6, float64(q[0])*float64(bs[0]), 1e6*1e-6)
	assert.Equal(t, sIn*s[1], bs[1], "bias scale is s_in * s_w")
	assert.Equal(t, float32(1.0/127), s[1], "channels without overflow keep max|w|/127")
}

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func refQuant(v float64, zp int32, lo, hi int32) int8 {
	q := math.RoundToEven(v) + float64(zp)
	return int8(math.Max(float64(lo), math.Min(float64(hi), q)))
}

func TestQAddMul(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		as, bs, os    float32
		azp, bzp, ozp int32
		qmin, qmax    int32
	}{
		{0.02, 0.03, 0.05, 0, 0, 0, -128, 127},
		{0.1, 0.1, 0.1, -128, -128, -128, -128, 127},
		{0.007, 0.5, 0.2, 12, -7, 3, 3, 127},
		{1, 1, 1, 0, 0, 0, -128, 127}, // exact halves: round half to even
	}
	a := randI8(r, 1000, -128, 127)
	b := randI8(r, 1000, -128, 127)
	for i := 0; i < 256; i++ { // every value against every other value pattern
		a[i], b[i] = int8(i-128), int8(127-i)
	}
	for _, c := range cases {
		add := NewQAdd(c.as, c.azp, c.bs, c.bzp, c.os, c.ozp, c.qmin, c.qmax)
		mul := NewQMul(c.as, c.azp, c.bs, c.bzp, c.os, c.ozp, c.qmin, c.qmax)
		gotA := make([]int8, len(a))
		gotM := make([]int8, len(a))
		add.Apply(a, b, gotA)
		mul.Apply(a, b, gotM)
		for i := range a {
			// the QDQ file's arithmetic: two DequantizeLinear, a float32 Add/Mul, QuantizeLinear's division
			da, db := float32(int32(a[i])-c.azp)*c.as, float32(int32(b[i])-c.bzp)*c.bs
			sum := da + db
			va := sum / c.os
			if !assert.Equal(quietT{}, refQuant(float64(va), c.ozp, c.qmin, c.qmax), gotA[i]) {
				require.Equal(t, refQuant(float64(va), c.ozp, c.qmin, c.qmax), gotA[i], "add %v a=%d b=%d", c, a[i], b[i])
			}
			vm := (da * db) / c.os
			if !assert.Equal(quietT{}, refQuant(float64(vm), c.ozp, c.qmin, c.qmax), gotM[i]) {
				require.Equal(t, refQuant(float64(vm), c.ozp, c.qmin, c.qmax), gotM[i], "mul %v a=%d b=%d", c, a[i], b[i])
			}
			// the dequantized sum is within one output step (+ half) of the real sum
			real := float64(c.as)*float64(int32(a[i])-c.azp) + float64(c.bs)*float64(int32(b[i])-c.bzp)
			if q := real/float64(c.os) + float64(c.ozp); q > float64(c.qmin)+1 && q < float64(c.qmax)-1 {
				if !assert.InDelta(quietT{}, q, float64(gotA[i]), 0.5001) {
					require.InDelta(t, q, float64(gotA[i]), 0.5001)
				}
			}
		}
	}
	// in place
	x := []int8{1, 2, 3}
	NewQAdd(1, 0, 1, 0, 1, 0, -128, 127).Apply(x, x, x)
	require.Equal(t, []int8{2, 4, 6}, x)
}

func TestLUT(t *testing.T) {
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	lut := BuildLUT(sigmoid, 0.1, 3, 1.0/256, -128)
	in := make([]int8, 256)
	for i := range in {
		in[i] = int8(i - 128)
	}
	out := make([]int8, 256)
	lut.Apply(in, out)
	for i, q := range in {
		want := refQuant(sigmoid(0.1*float64(int32(q)-3))*256, -128, -128, 127)
		if !assert.Equal(quietT{}, want, out[i]) {
			require.Equal(t, want, out[i], "q=%d", q)
		}
	}
	// monotone, saturating
	for i := 1; i < 256; i++ {
		if !assert.GreaterOrEqual(quietT{}, out[i], out[i-1]) {
			require.GreaterOrEqual(t, out[i], out[i-1])
		}
	}
	require.Equal(t, int8(127), BuildLUT(func(float64) float64 { return 1e9 }, 1, 0, 1, 0)[0])
	require.Equal(t, int8(5), BuildLUT(func(float64) float64 { return math.NaN() }, 1, 0, 1, 5)[7])
	// round half to even
	require.Equal(t, int8(2), BuildLUT(func(x float64) float64 { return x / 2 }, 1, 0, 1, 0)[uint8(5)])
}

func TestQuantizeDequantize(t *testing.T) {
	in := []float32{0, 0.5, 1.5, 2.5, -0.5, -1.5, 1000, -1000, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0.26}
	out := make([]int8, len(in))
	QuantizeF32(in, 1, 0, out)
	require.Equal(t, []int8{0, 0, 2, 2, 0, -2, 127, -128, -128, 127, -128, 0}, out)
	QuantizeF32([]float32{0.26, -0.26}, 0.1, 10, out)
	require.Equal(t, []int8{13, 7}, out[:2])
	f := make([]float32, 3)
	DequantizeI8([]int8{-128, 0, 127}, 0.5, -10, f)
	require.Equal(t, []float32{-59, 5, 68.5}, f)
}

var poolCases = []PoolShape{
	{N: 1, H: 7, W: 7, C: 5, KH: 7, KW: 7}, // global
	{N: 2, H: 8, W: 9, C: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	{N: 1, H: 8, W: 8, C: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
	{N: 1, H: 9, W: 7, C: 2, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 1, DilH: 2},
	{N: 1, H: 5, W: 5, C: 3, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, CountIncludePad: true},
	// Large enough to be split over threads: by channel blocks (global pools)
	// and by output rows.
	{N: 1, H: 7, W: 7, C: 1280, KH: 7, KW: 7},
	{N: 2, H: 14, W: 14, C: 200, KH: 14, KW: 14},
	{N: 1, H: 56, W: 56, C: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	// Few channels (qMaxPoolRows): ShuffleNetV2's stem pool, and dilated
	// columns with windows that start in the padding.
	{N: 2, H: 112, W: 112, C: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	{N: 1, H: 6, W: 11, C: 31, KH: 2, KW: 3, StrideH: 3, StrideW: 1, PadTop: 1, PadLeft: 3, PadBottom: 2, PadRight: 3, DilW: 2},
}

// refQPools is the direct definition of QMaxPool and of QAvgPool with input
// scale 0.05 and zero point -3, output scale 0.04 and zero point 2.
func refQPools(s PoolShape, in []int8) (mx8, avg8 []int8) {
	sn := s.norm()
	oh, ow := s.OutH(), s.OutW()
	mx8, avg8 = make([]int8, s.N*oh*ow*s.C), make([]int8, s.N*oh*ow*s.C)
	for n := 0; n < s.N; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < s.C; c++ {
					mx, sum, cnt := -129, 0, 0
					for kh := 0; kh < s.KH; kh++ {
						for kw := 0; kw < s.KW; kw++ {
							ih, iw := y*sn.StrideH-s.PadTop+kh*sn.DilH, x*sn.StrideW-s.PadLeft+kw*sn.DilW
							if ih >= 0 && ih < s.H && iw >= 0 && iw < s.W {
								v := int(in[((n*s.H+ih)*s.W+iw)*s.C+c])
								mx = max(mx, v)
								sum += v + 3
								cnt++
							} else if s.CountIncludePad && ih < s.H+s.PadBottom && iw < s.W+s.PadRight {
								cnt++
							}
						}
					}
					i := ((n*oh+y)*ow+x)*s.C + c
					mx8[i] = int8(mx)
					avg8[i] = refQuant(float64(sum)*(float64(float32(0.05))/(float64(float32(0.04))*float64(cnt))), 2, -128, 127)
				}
			}
		}
	}
	return mx8, avg8
}

func TestQPools(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range poolCases {
		require.NoError(t, s.Validate())
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		oh, ow := s.OutH(), s.OutW()
		gotMax := make([]int8, s.N*oh*ow*s.C)
		gotAvg := make([]int8, len(gotMax))
		QMaxPool(s, in, gotMax, 0)
		QAvgPool(s, in, 0.05, -3, gotAvg, 0.04, 2, 0)
		for _, th := range []int{1, 2, 3} {
			m, a := make([]int8, len(gotMax)), make([]int8, len(gotMax))
			QMaxPool(s, in, m, th)
			QAvgPool(s, in, 0.05, -3, a, 0.04, 2, th)
			if !assert.Equal(quietT{}, gotMax, m) {
				require.Equal(t, gotMax, m, "%+v threads %d", s, th)
			}
			if !assert.Equal(quietT{}, gotAvg, a) {
				require.Equal(t, gotAvg, a, "%+v threads %d", s, th)
			}
		}
		wantMax, wantAvg := refQPools(s, in)
		if !assert.Equal(quietT{}, wantMax, gotMax) {
			require.Equal(t, wantMax, gotMax, "max %+v", s)
		}
		if !assert.Equal(quietT{}, wantAvg, gotAvg) {
			require.Equal(t, wantAvg, gotAvg, "avg %+v", s)
		}
	}
	require.Error(t, PoolShape{N: 1, H: 2, W: 2, C: 1, KH: 3, KW: 3}.Validate())
}

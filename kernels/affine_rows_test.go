package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAffineRowsF32 checks AffineRowsF32 against the definition: channel
// counts below, at and above the 16-lane blocks, strides wider than the
// channels, a Relu clamp and none; the channels of y outside each pixel's c
// are left untouched.
func TestAffineRowsF32(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		n, c, sx, sy int
		lo, hi       float32
	}{
		{n: 37, c: 64, sx: 64, sy: 256, lo: 0, hi: inf},
		{n: 5, c: 32, sx: 48, sy: 32, lo: -inf, hi: inf},
		{n: 9, c: 7, sx: 16, sy: 20, lo: 0, hi: inf},
		{n: 11, c: 45, sx: 48, sy: 96, lo: -0.5, hi: 0.75},
		{n: 1, c: 16, sx: 16, sy: 16, lo: 0, hi: 6},
	} {
		t.Run(fmt.Sprintf("n%d c%d sx%d sy%d", tc.n, tc.c, tc.sx, tc.sy), func(t *testing.T) {
			x := make([]float32, tc.n*tc.sx)
			for i := range x {
				x[i] = rng.Float32()*4 - 2
			}
			a, b := make([]float32, tc.c), make([]float32, tc.c)
			for i := range a {
				a[i], b[i] = rng.Float32()*2-1, rng.Float32()-0.5
			}
			y := make([]float32, tc.n*tc.sy)
			for i := range y {
				y[i] = 42
			}
			AffineRowsF32(x, tc.sx, tc.n, tc.c, a, b, y, tc.sy, tc.lo, tc.hi)
			for p := 0; p < tc.n; p++ {
				for k := 0; k < tc.sy; k++ {
					got := y[p*tc.sy+k]
					if k >= tc.c {
						if !assert.Equal(quietT{}, float32(42), got) {
							require.Equal(t, float32(42), got, "pixel %d channel %d is not its to write", p, k)
						}
						continue
					}
					want := min(max(float64(a[k])*float64(x[p*tc.sx+k])+float64(b[k]), float64(tc.lo)), float64(tc.hi))
					if !assert.InDelta(quietT{}, want, got, 1e-5) {
						require.InDelta(t, want, got, 1e-5, "pixel %d channel %d", p, k)
					}
				}
			}
		})
	}
	require.Panics(t, func() {
		AffineRowsF32(make([]float32, 8), 4, 2, 8, make([]float32, 8), make([]float32, 8), make([]float32, 16), 8, 0, 1)
	})
}

// BenchmarkAffineRowsF32 is DenseNet-121's largest Concat → BatchNormalization
// → Relu of the first dense block: 256 channels of 56×56 pixels, read from a
// block buffer of the same stride and written to their own.
func BenchmarkAffineRowsF32(b *testing.B) {
	const n, c = 56 * 56, 256
	x, y := make([]float32, n*c), make([]float32, n*c)
	a, bb := make([]float32, c), make([]float32, c)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	for i := range a {
		a[i], bb[i] = 0.5, 0.1
	}
	b.SetBytes(int64(2 * n * c * 4))
	for i := 0; i < b.N; i++ {
		AffineRowsF32(x, c, n, c, a, bb, y, c, 0, float32(math.Inf(1)))
	}
}

// TestAffineRowF32AndRowMeanVar checks AffineRowF32 (in place and not) and
// RowMeanVarF32 against float64 definitions, on rows shorter than, equal to
// and longer than the vector blocks.
func TestAffineRowF32AndRowMeanVar(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	inf := float32(math.Inf(1))
	for _, n := range []int{0, 1, 7, 16, 33, 98, 784, 1001} {
		for _, inPlace := range []bool{false, true} {
			x := make([]float32, n)
			for i := range x {
				x[i] = rng.Float32()*6 - 2
			}
			s, q := 0.0, 0.0
			for _, v := range x {
				s += float64(v)
			}
			mean := 0.0
			if n > 0 {
				mean = s / float64(n)
			}
			for _, v := range x {
				q += (float64(v) - mean) * (float64(v) - mean)
			}
			m, v := RowMeanVarF32(x)
			if !assert.InDelta(quietT{}, mean, m, 1e-5) {
				require.InDelta(t, mean, m, 1e-5, "n %d mean", n)
			}
			if n > 0 {
				if !assert.InDelta(quietT{}, q/float64(n), v, 1e-4) {
					require.InDelta(t, q/float64(n), v, 1e-4, "n %d variance", n)
				}
			}
			a, b, lo, hi := rng.Float32()*2-1, rng.Float32()-0.5, float32(-0.7), inf
			want := make([]float64, n)
			for i, e := range x {
				want[i] = math.Max(float64(a)*float64(e)+float64(b), float64(lo))
			}
			y := make([]float32, n)
			if inPlace {
				y = x
			}
			AffineRowF32(y, x, a, b, lo, hi)
			for i := range want {
				if !assert.InDelta(quietT{}, want[i], y[i], 1e-5) {
					require.InDelta(t, want[i], y[i], 1e-5, "n %d element %d", n, i)
				}
			}
		}
	}
	require.Panics(t, func() { AffineRowF32(make([]float32, 3), make([]float32, 4), 1, 0, 0, 1) })
}

// TestRowsMeanVarF32 checks the statistics of strided segments (a channel
// over a batch) against float64 definitions: one and several segments,
// lengths shorter than, equal to and longer than the vector blocks, gaps
// between segments, and the argument check.
func TestRowsMeanVarF32(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, tc := range []struct{ rows, n, gap int }{{1, 1, 0}, {1, 33, 0}, {4, 256, 768}, {3, 7, 5}, {2, 16, 16}, {8, 64, 1984}, {5, 1001, 3}} {
		stride := tc.n + tc.gap
		x := make([]float32, (tc.rows-1)*stride+tc.n)
		for i := range x {
			x[i] = rng.Float32()*6 - 2 + 3
		}
		s, cnt := 0.0, float64(tc.rows*tc.n)
		for r := 0; r < tc.rows; r++ {
			for _, v := range x[r*stride : r*stride+tc.n] {
				s += float64(v)
			}
		}
		mean, q := s/cnt, 0.0
		for r := 0; r < tc.rows; r++ {
			for _, v := range x[r*stride : r*stride+tc.n] {
				q += (float64(v) - mean) * (float64(v) - mean)
			}
		}
		m, v := RowsMeanVarF32(x, tc.rows, tc.n, stride)
		require.InDelta(t, mean, m, 1e-5*math.Abs(mean)+1e-6, "%+v mean", tc)
		require.InDelta(t, q/cnt, v, 1e-4*(q/cnt)+1e-6, "%+v variance", tc)
		if tc.rows == 1 {
			m1, v1 := RowMeanVarF32(x)
			require.Equal(t, m1, m, "%+v: one segment is RowMeanVarF32", tc)
			require.Equal(t, v1, v, "%+v: one segment is RowMeanVarF32", tc)
		}
	}
	m, v := RowsMeanVarF32(nil, 0, 4, 4)
	require.Zero(t, m)
	require.Zero(t, v)
	require.Panics(t, func() { RowsMeanVarF32(make([]float32, 10), 2, 6, 4) })
	require.Panics(t, func() { RowsMeanVarF32(make([]float32, 10), 2, 4, 8) })
}

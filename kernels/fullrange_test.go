package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Property tests of the packed kernels on full-range int8 weights (-128
// included, as PyTorch's per-channel qint8 writes them) against the plain
// int32 references, on every dispatch path this CPU runs (VNNI, AVX2 int16,
// AVX2 sign trick, Go; AMX where the CPU has it). The inputs are pushed to
// the extremes that make the VNNI/AVX2 arithmetic overflow if anything does:
// activations -128 and 127 (0 and 255 as the u8 operand of VPDPBUSD) against
// runs of -128 weights, with the zero points at both ends.

// fullRangeWeights returns n weights of which about one in four is -128 and
// the rest uniform over [-128, 127]; whole rows of -128 when rowLen > 0
// (every other row).
func fullRangeWeights(r *rand.Rand, n, rowLen int) []int8 {
	w := randI8(r, n, -128, 127)
	for i := range w {
		if r.IntN(4) == 0 {
			w[i] = -128
		}
	}
	if rowLen > 0 {
		for row := 0; row*rowLen < n; row += 2 {
			for i := row * rowLen; i < min(n, (row+1)*rowLen); i++ {
				w[i] = -128
			}
		}
	}
	return w
}

// extremeActivations returns n activations drawn from {-128, 127} mostly,
// with a few random values, and a first stretch of all -128 then all 127.
func extremeActivations(r *rand.Rand, n int) []int8 {
	a := make([]int8, n)
	for i := range a {
		switch r.IntN(5) {
		case 0, 1:
			a[i] = -128
		case 2, 3:
			a[i] = 127
		default:
			a[i] = int8(r.IntN(256) - 128)
		}
	}
	for i := 0; i < min(n, 64); i++ {
		a[i] = -128
		if i >= 32 {
			a[i] = 127
		}
	}
	return a
}

func TestQGemmFullRangeWeights(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(128, 1))
		for _, sh := range qgemmShapes {
			w := fullRangeWeights(r, sh.n*sh.k, sh.k)
			bias := randI32(r, sh.n, 1<<16)
			for _, zp := range []int32{-128, 0, 127} {
				lda, ldo := sh.k+r.IntN(3), sh.n+r.IntN(3)
				a := extremeActivations(r, (sh.m-1)*lda+sh.k)
				pw, err := PackQGemm(sh.n, sh.k, w, bias, zp)
				require.NoError(t, err)
				want := refQGemmAcc(sh.m, sh.n, sh.k, a, lda, w, bias, zp)
				for _, threads := range []int{1, 2} {
					got := make([]int32, (sh.m-1)*ldo+sh.n)
					QGemmInt32(sh.m, a, lda, pw, got, ldo, threads)
					for i := 0; i < sh.m; i++ {
						if !assert.Equal(quietT{}, want[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n]) {
							require.Equal(t, want[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n], "int32 %v zp=%d row %d threads %d", sh, zp, i, threads)
						}
					}
				}
				if sh.m <= 12 {
					got := make([]int32, (sh.m-1)*ldo+sh.n)
					QGemmInt32Few(sh.m, a, lda, pw, got, ldo)
					for i := 0; i < sh.m; i++ {
						require.Equal(t, want[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n], "few %v zp=%d row %d", sh, zp, i)
					}
				}
				scales := make([]float64, sh.n)
				for i := range scales {
					scales[i] = 1 / (100 * math.Sqrt(float64(sh.k))) * (0.5 + r.Float64())
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(256)-128), -128, 127)
					wantQ := refRequant(want, sh.n, rq)
					got := make([]int8, (sh.m-1)*ldo+sh.n)
					QGemm(sh.m, a, lda, pw, got, ldo, rq, 2)
					for i := 0; i < sh.m; i++ {
						if !assert.Equal(quietT{}, wantQ[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n]) {
							require.Equal(t, wantQ[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n], "int8 %v zp=%d mode=%v row %d", sh, zp, mode, i)
						}
					}
				}
			}
		}
	})
}

// TestQConvFullRangeWeights runs every convolution shape class (stem, depthwise,
// grouped, window, 1x1, implicit GEMM, im2col, dilated, AMX space-to-depth)
// with full-range weights.
func TestQConvFullRangeWeights(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(128, 2))
		cases := append(append([]struct {
			name string
			s    ConvShape
		}(nil), convCases...), fullRangeConvCases...)
		for _, tc := range cases {
			s := tc.s
			require.NoError(t, s.Validate(), tc.name)
			sn := s.norm()
			k := (s.C / sn.Groups) * s.KH * s.KW
			w := fullRangeWeights(r, s.OC*k, k)
			bias := randI32(r, s.OC, 1<<12)
			in := extremeActivations(r, s.N*s.H*s.W*s.C)
			for _, zp := range []int32{-128, 0, 127} {
				pw, err := PackQConv(s, w, bias, zp)
				require.NoError(t, err, tc.name)
				acc := refConvAcc(s, in, w, bias, zp)
				scales := make([]float64, s.OC)
				for i := range scales {
					scales[i] = 1 / (100 * math.Sqrt(float64(k))) * (0.5 + r.Float64())
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
					want := refRequant(acc, s.OC, rq)
					for _, threads := range []int{1, 2} {
						got := make([]int8, len(want))
						QConv(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%s zp=%d mode=%v threads=%d", tc.name, zp, mode, threads)
						}
					}
				}
			}
		}
	})
}

// fullRangeConvCases add the grouped and window kernels' shapes (4, 8, 16
// channels per group; outputs per group ≠ inputs) and a wide stem.
var fullRangeConvCases = []struct {
	name string
	s    ConvShape
}{
	{"grouped-cg4", ConvShape{N: 1, H: 9, W: 10, C: 32, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 8}},
	{"grouped-cg16-s2", ConvShape{N: 1, H: 9, W: 10, C: 64, OC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 4}},
	{"win-cg2-oc4", ConvShape{N: 1, H: 8, W: 9, C: 16, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 8}},
	{"stem-3x3s2-oc48", ConvShape{N: 1, H: 33, W: 34, C: 3, OC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"stem-c4-5x5", ConvShape{N: 1, H: 17, W: 18, C: 4, OC: 16, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}},
}

func TestPackFullRangeFlag(t *testing.T) {
	pw, err := PackQGemm(2, 3, []int8{1, 2, 3, -128, 5, 6}, nil, 0)
	require.NoError(t, err)
	assert.True(t, pw.full)
	pw, err = PackQGemm(2, 3, []int8{1, 2, 3, -127, 5, 6}, nil, 0)
	require.NoError(t, err)
	assert.False(t, pw.full)
	cw, err := PackQConv(ConvShape{N: 1, H: 4, W: 4, C: 2, OC: 2, KH: 1, KW: 1}, []int8{1, 2, -128, 4}, nil, 0)
	require.NoError(t, err)
	assert.True(t, cw.full)
}

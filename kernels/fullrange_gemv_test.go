package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Full-range (-128) property tests of the int8 products outside the packed
// GEMM/convolution of fullrange_test.go: the recurrent matrix-vector product
// (PackQGemv, QGemvDequant: the int8 LSTM/GRU steps) and the product of two
// activations (MatMulInt8, MatMulInt8Threads, MatMulInt8With: a
// MatMulInteger or QLinearMatMul whose B is computed at run time; a uint8
// activation's zeros arrive there as int8 -128). Every dispatch path of this
// CPU, adversarial values: weights or B with runs of -128 (none, a few, a
// quarter, all), activations at -128 and 127 (uint8 0 and 255, the extremes
// of a VPDPBUSD or VPMADDUBSW operand), zero points at both ends of int8,
// odd K, against plain int32 loops. A u8·s8 pair sum through int16
// (VPMADDUBSW) would saturate at 255·(-128)·2 here; none of these paths
// does it (the sign-trick GEMM, the only one that would, is bypassed for a
// B holding -128: QGemmWeights.full), and these tests hold them to that.

// minus128Share returns n int8 values with one in share equal to -128 (0:
// none, 1: all), the others drawn from {-128, 127} mostly; a stretch of
// -128 at the start when share > 0.
func minus128Share(r *rand.Rand, n, share int) []int8 {
	v := make([]int8, n)
	for i := range v {
		switch {
		case share > 0 && r.IntN(share) == 0:
			v[i] = -128
		case r.IntN(3) == 0:
			v[i] = int8(r.IntN(255) - 127)
		default:
			v[i] = []int8{-127, 127}[r.IntN(2)]
		}
	}
	if share > 0 {
		for i := 0; i < min(n, 9); i++ {
			v[i] = -128
		}
	}
	return v
}

func TestQGemvDequantFullRange(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(128, 3))
		for _, n := range []int{1, 16, 17, 48, 100, 288} {
			for _, k := range []int{1, 3, 5, 48, 97, 255} {
				for _, share := range []int{0, 16, 4, 1} {
					w := minus128Share(r, n*k, share)
					pw, err := PackQGemv(n, k, w)
					require.NoError(t, err)
					sum := make([]int32, n)
					for c := 0; c < n; c++ {
						for kk := 0; kk < k; kk++ {
							sum[c] += int32(w[c*k+kk])
						}
					}
					require.Equal(t, sum, pw.Sum())
					for _, zp := range []int32{-128, 0, 127} {
						rows := 1 + r.IntN(6)
						add := r.IntN(2) == 0
						ldq := k + r.IntN(3)
						q := extremeActivations(r, (rows-1)*ldq+(k+3)&^3)
						ws := make([]float32, n)
						for i := range ws {
							ws[i] = float32(r.Float64()*0.02 + 1e-4)
						}
						s := float32(r.Float64()*0.05 + 1e-3)
						ldd := n + r.IntN(3)
						dst := make([]float32, rows*ldd+2)
						for i := range dst {
							dst[i] = float32(r.NormFloat64())
						}
						want := slices.Clone(dst)
						qgemvDequantRef(want, ldd, q, ldq, rows, w, n, k, sum, ws, s, zp, add)
						QGemvDequant(dst, ldd, q, ldq, rows, pw, ws, s, zp, add)
						for i := range want {
							require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]),
								"n=%d k=%d share=%d rows=%d zp=%d at %d: got %v want %v", n, k, share, rows, zp, i, dst[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestMatMulInt8FullRange covers MatMulInt8's three ways (the int16 pair
// kernel of small products, the packed GEMM, the plain loop) with B from no
// -128 to all -128: the shapes straddle the pair kernel's bounds (1<<15 at
// any thread count, 1<<22 on one thread) and the packed GEMM's (k a
// multiple of 4 or not, 256 multiply-adds), the zero points the packed
// GEMM's range and beyond it (300: the plain loop).
func TestMatMulInt8FullRange(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(128, 4))
		shapes := []struct{ m, n, k int }{
			{1, 1, 1}, {3, 5, 7}, {4, 8, 8}, {24, 24, 16}, {17, 33, 65}, {1, 64, 255}, {64, 80, 96}, {130, 257, 129},
		}
		zps := [][2]int32{{-128, -128}, {127, 127}, {0, -128}, {-128, 127}, {127, 0}, {300, -5}}
		for _, sh := range shapes {
			big := sh.m*sh.n*sh.k > smallMatMulMax
			for _, share := range []int{0, 32, 4, 1} {
				a := extremeActivations(r, sh.m*sh.k)
				b := minus128Share(r, sh.k*sh.n, share)
				for zi, zp := range zps {
					if big && zi%2 == 1 {
						continue // the reference loop's time
					}
					want := refMatMulInt8(sh.m, sh.n, sh.k, a, zp[0], b, zp[1])
					for _, threads := range []int{1, 2} {
						got := make([]int32, sh.m*sh.n)
						MatMulInt8Threads(sh.m, sh.n, sh.k, a, zp[0], b, zp[1], got, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%v share=%d zp=%v threads=%d", sh, share, zp, threads)
						}
					}
					if !big {
						var buf MatMulScratch
						got := make([]int32, sh.m*sh.n)
						MatMulInt8With(&buf, sh.m, sh.n, sh.k, a, zp[0], b, zp[1], got)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "With %v share=%d zp=%v", sh, share, zp)
						}
					}
					if sh.k > 0 && zp[0] >= -128 && zp[0] <= 127 && sh.m*sh.n*sh.k >= 1<<8 {
						// The packed GEMM alone, whatever the size rules pick.
						for _, threads := range []int{1, 2} {
							got := make([]int32, sh.m*sh.n)
							matMulPacked(sh.m, sh.n, sh.k, a, zp[0], b, zp[1], got, threads)
							if !assert.Equal(quietT{}, want, got) {
								require.Equal(t, want, got, "packed %v share=%d zp=%v threads=%d", sh, share, zp, threads)
							}
						}
					}
				}
			}
		}
	})
}

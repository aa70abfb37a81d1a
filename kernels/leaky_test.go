package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leakyRef is the operators' arithmetic: one float32 product below zero.
func leakyRef(x, s float32) float32 {
	if x < 0 {
		return s * x
	}
	return x
}

// leakyInputs: random values of several scales, zeros of both signs, ±Inf,
// NaN, the extremes and subnormals, n of them.
func leakyInputs(r *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, 1e-40, -1e-40, -1e-45, 1, -1}
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		if i%5 == 3 {
			src[i] = special[r.IntN(len(special))]
		}
	}
	return src
}

// TestLeakyReluActExact: LeakyReluAct through ActF32 gives the reference's
// bits on every path, in place or not, for slopes of either sign, zero, one
// and above one, every length around the vector widths and any slice start.
func TestLeakyReluActExact(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 1))
		for _, alpha := range []float32{0.1, 0.01, 0, -0.25, 1, 2.5, 1e-30} {
			a := LeakyReluAct(alpha)
			if !assert.Equal(quietT{}, ActLeakyRelu, a.Kind()) {
				require.Equal(t, ActLeakyRelu, a.Kind())
			}
			if !assert.Equal(quietT{}, alpha, a.Alpha()) {
				require.Equal(t, alpha, a.Alpha())
			}
			for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 33, 100, 259} {
				src := leakyInputs(r, n)
				want := make([]float32, n)
				for i, v := range src {
					want[i] = leakyRef(v, alpha)
				}
				got := make([]float32, n)
				ActF32(a, got, src)
				requireSameBits(t, want, got, "alpha %g, n %d", alpha, n)
				ActF32(a, src, src)
				requireSameBits(t, want, src, "alpha %g, n %d, in place", alpha, n)
			}
		}
	})
}

// TestPReluF32Exact: PReluF32 and PReluRowsF32 give the reference's bits on
// every path, for rows of a whole number of vectors and not, at a pixel
// stride wider than the row (a Concat's buffer) and in place.
func TestPReluF32Exact(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 2))
		for _, c := range []int{1, 3, 8, 16, 24, 64, 72} {
			for _, extra := range []int{0, 5} {
				t.Run(fmt.Sprintf("c%d_stride+%d", c, extra), func(t *testing.T) {
					const rows = 9
					stride := c + extra
					slope := leakyInputs(r, c)
					src := leakyInputs(r, rows*stride)
					want := append([]float32(nil), src...)
					for p := 0; p < rows; p++ {
						for j := 0; j < c; j++ {
							want[p*stride+j] = leakyRef(src[p*stride+j], slope[j])
						}
					}
					got := append([]float32(nil), src...)
					PReluRowsF32(got, src, slope, rows, c, stride)
					requireSameBits(t, want, got, "out of place")
					PReluRowsF32(src, src, slope, rows, c, stride)
					requireSameBits(t, want, src, "in place")
					one := make([]float32, c)
					PReluF32(one, want[:c], slope)
					for j := range one {
						if !assert.Equal(quietT{}, math.Float32bits(leakyRef(want[j], slope[j])), math.Float32bits(one[j])) {
							require.Equal(t, math.Float32bits(leakyRef(want[j], slope[j])), math.Float32bits(one[j]))
						}
					}
				})
			}
		}
		require.Panics(t, func() { PReluF32(make([]float32, 4), make([]float32, 4), make([]float32, 3)) })
		require.Panics(t, func() { PReluRowsF32(make([]float32, 8), make([]float32, 8), make([]float32, 4), 2, 4, 5) })
	})
}

// TestLeakyReluActString names the activation with its slope.
func TestLeakyReluActString(t *testing.T) {
	require.Equal(t, "leakyrelu(0.1)", LeakyReluAct(0.1).String())
	require.Equal(t, "silu", ActSiLU.String())
	require.NotEqual(t, LeakyReluAct(0.1), LeakyReluAct(0.2))
	require.Equal(t, ActNone, ActNone.Kind())
}

// TestEluCeluActs: Elu and Celu with α in the Act give the bits of ELUF32
// with the operators' parameters on every path (the standalone steps run
// ELUF32), α = 1 is ActELU, and Celu refuses what CeluParams refuses.
func TestEluCeluActs(t *testing.T) {
	require.Equal(t, ActELU, EluAct(1))
	a, ok := CeluAct(1)
	require.True(t, ok)
	require.Equal(t, ActELU, a)
	_, ok = CeluAct(-0.5)
	require.False(t, ok)
	require.Equal(t, "elu(0.7)", EluAct(0.7).String())
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 3))
		for _, alpha := range []float32{0.7, 0.3, 2, 1e-3} {
			c, ok := CeluAct(alpha)
			if !assert.True(quietT{}, ok) {
				require.True(t, ok)
			}
			cp, _ := CeluParams(alpha)
			for _, tc := range []struct {
				a Act
				p ELU
			}{{EluAct(alpha), EluParams(alpha)}, {c, cp}} {
				for _, n := range []int{1, 15, 16, 33, 259} {
					src := leakyInputs(r, n)
					want, got := make([]float32, n), make([]float32, n)
					ELUF32(want, src, tc.p)
					ActF32(tc.a, got, src)
					requireSameBits(t, want, got, "%v, n %d", tc.a, n)
				}
			}
		}
	})
}

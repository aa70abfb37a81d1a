package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// qatewInput is n random values in ±8 with, per case, zeros of both signs,
// values half-way between quantization steps, saturating values, infinities
// and NaN at random places.
func qatewInput(r *rand.Rand, n int, scale float32, special bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
		if special && r.IntN(8) == 0 {
			switch r.IntN(7) {
			case 0:
				x[i] = float32(math.Copysign(0, -1))
			case 1:
				x[i] = 0
			case 2:
				x[i] = (float32(r.IntN(40)-20) + 0.5) * scale
			case 3:
				x[i] = 1e30
			case 4:
				x[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 5:
				x[i] = float32(math.NaN())
			case 6:
				x[i] = -300 * scale
			}
		}
	}
	return x
}

// TestQATElementwiseKernels checks MinMaxF32, FakeQuantF32, FakeQuantReluF32 (against
// a Go max before QuantizeF32), STEAddF32,
// STESetF32 (against STEAddF32 into zeros) and AddF32 on every path, at lengths around the vector blocks, bit for bit
// against the scalar references (the Go min/max fold, QuantizeF32 then
// DequantizeI8, a Go if, a Go add).
func TestQATElementwiseKernels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 11))
		for _, n := range []int{1, 7, 8, 15, 16, 31, 32, 33, 64, 100, 1000, 4099} {
			for _, special := range []bool{false, true} {
				t.Run(fmt.Sprintf("n%d/special=%v", n, special), func(t *testing.T) {
					scale, zp := float32(0.0371), int32(r.IntN(256)-128)
					x := qatewInput(r, n, scale, special)

					lo, hi := MinMaxF32(x)
					wlo, whi := x[0], x[0]
					for _, v := range x {
						wlo, whi = min(wlo, v), max(whi, v)
					}
					if wlo != wlo { // a NaN (payloads may differ)
						require.True(t, lo != lo && hi != hi, "NaN min/max: %v %v", lo, hi)
						lo, hi = wlo, whi
					}
					if wlo == 0 { // either zero may come back
						require.Zero(t, lo)
						lo = wlo
					}
					if whi == 0 {
						require.Zero(t, hi)
						hi = whi
					}
					require.Equal(t, math.Float32bits(wlo), math.Float32bits(lo), "min")
					require.Equal(t, math.Float32bits(whi), math.Float32bits(hi), "max")

					y := make([]float32, n)
					FakeQuantF32(x, y, scale, zp)
					q := make([]int8, n)
					QuantizeF32(x, scale, zp, q)
					want := make([]float32, n)
					DequantizeI8(q, scale, zp, want)
					require.Equal(t, bitsF32(want), bitsF32(y), "fake quantization")

					rx := make([]float32, n)
					for i, v := range x {
						rx[i] = max(v, 0)
					}
					QuantizeF32(rx, scale, zp, q)
					DequantizeI8(q, scale, zp, want)
					FakeQuantReluF32(x, y, scale, zp)
					require.Equal(t, bitsF32(want), bitsF32(y), "fake quantization of a Relu")

					g := qatewInput(r, n, 1, special)
					dx := qatewInput(r, n, 1, special)
					wdx := append([]float32(nil), dx...)
					l, h := float32(-128-zp)*scale, float32(127-zp)*scale
					for i, v := range x {
						if v >= l && v <= h {
							wdx[i] += g[i]
						}
					}
					STEAddF32(x, g, dx, l, h)
					require.Equal(t, bitsF32(wdx), bitsF32(dx), "straight-through gradient")

					set := make([]float32, n)
					for i := range set {
						set[i] = float32(r.NormFloat64()) // overwritten
					}
					wset := make([]float32, n)
					STEAddF32(x, g, wset, l, h)
					STESetF32(x, g, set, l, h)
					require.Equal(t, bitsF32(wset), bitsF32(set), "straight-through gradient, written")

					sum := append([]float32(nil), dx...)
					for i := range sum {
						sum[i] += g[i]
					}
					AddF32(dx, g)
					require.Equal(t, bitsF32(sum), bitsF32(dx), "add")
				})
			}
		}
	})
}

func bitsF32(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// binCase is one input of the binning property test.
type binCase struct {
	name string
	x    []float32
	// w is the bin width (a power of two); lo and nb the grid, set to cover x
	// when nb is 0.
	w      float64
	lo, nb int
}

// binCases returns inputs with the values the calibrator meets and the edges of
// the grid: bin boundaries (exact multiples of the width, on both sides of
// zero), the range ends, ±0, denormals, huge magnitudes, runs of equal values
// and ReLU-like zeros, at lengths around the vector widths.
func binCases(r *rand.Rand) []binCase {
	var cs []binCase
	lens := []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 40003} // the last over several assembly calls (binBlock)
	for _, n := range lens {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		cs = append(cs, binCase{name: fmt.Sprintf("normal/%d", n), x: x, w: 1.0 / 256})
		// ReLU with runs (constant regions) and exact zeros, ±0.
		y := make([]float32, n)
		for i := range y {
			switch r.IntN(5) {
			case 0:
				y[i] = 0
			case 1:
				y[i] = float32(math.Copysign(0, -1))
			case 2:
				if i > 0 {
					y[i] = y[i-1]
				}
			default:
				y[i] = float32(r.ExpFloat64())
			}
		}
		cs = append(cs, binCase{name: fmt.Sprintf("relu runs/%d", n), x: y, w: 1.0 / 512})
		// Bin boundaries: k·w exactly, and the float32 neighbours of them.
		w := 1.0 / 64
		b := make([]float32, n)
		for i := range b {
			v := float32(float64(r.IntN(400)-200) * w)
			switch r.IntN(3) {
			case 1:
				v = math.Nextafter32(v, float32(math.Inf(1)))
			case 2:
				v = math.Nextafter32(v, float32(math.Inf(-1)))
			}
			b[i] = v
		}
		cs = append(cs, binCase{name: fmt.Sprintf("boundaries/%d", n), x: b, w: w})
		// Denormals and the smallest normals, on a denormal grid.
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(uint32(r.IntN(1 << 12)))
			if r.IntN(2) == 0 {
				d[i] = -d[i]
			}
		}
		cs = append(cs, binCase{name: fmt.Sprintf("denormals/%d", n), x: d, w: math.Ldexp(1, -149)})
		// Huge magnitudes up to ±MaxFloat32 on a grid of width 2^117.
		h := make([]float32, n)
		for i := range h {
			h[i] = float32((r.Float64()*2 - 1) * math.MaxFloat32)
		}
		h[0] = math.MaxFloat32
		if n > 1 {
			h[n-1] = -math.MaxFloat32
		}
		cs = append(cs, binCase{name: fmt.Sprintf("huge/%d", n), x: h, w: math.Ldexp(1, 117)})
	}
	// Range ends: the grid set to exactly the bins of min and max.
	for _, n := range []int{16, 40} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.Float64()*10 - 2)
		}
		x[3], x[n-2] = -2, 8 // -2 and 8 are bin edges of width 1/8
		cs = append(cs, binCase{name: fmt.Sprintf("range ends/%d", n), x: x, w: 1.0 / 8, lo: -16, nb: 81})
	}
	return cs
}

// fillGrid sets lo and nb to the bins of x when the case does not fix them.
func (c *binCase) grid() (lo, nb int) {
	if c.nb != 0 {
		return c.lo, c.nb
	}
	kmin, kmax := 0, 0
	for _, v := range c.x {
		k := int(math.Floor(float64(v) / c.w))
		kmin, kmax = min(kmin, k), max(kmax, k)
	}
	return kmin, kmax - kmin + 1
}

func newGrid(inv float64, lo, nb int, tables int) *BinGrid {
	g := &BinGrid{Inv: inv, Lo: lo, NB: nb, Reps: make([]uint32, nb)}
	for t := range g.Tables {
		if t < tables {
			g.Tables[t] = make([]uint32, nb)
		} else {
			g.Tables[t] = g.Tables[0]
		}
	}
	return g
}

// neighbours returns the prev and next slices of x's flat order, with the NaN
// pattern where there is none.
func neighbours(x []float32) ([]float32, []float32) {
	none := math.Float32frombits(0x7fc00001)
	prev := append([]float32{none}, x[:len(x)-1]...)
	next := append(append([]float32{}, x[1:]...), none)
	return prev, next
}

// TestBinF32MatchesReference: on every dispatch path, the counters, runs, min,
// max and zeros are those of the scalar reference (binF32Go over the whole
// input), with four tables and with one.
func TestBinF32MatchesReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 15))
		for _, c := range binCases(r) {
			for _, tables := range []int{1, 4} {
				t.Run(fmt.Sprintf("%s/tables%d", c.name, tables), func(t *testing.T) {
					lo, nb := c.grid()
					prev, next := neighbours(c.x)
					want, wacc := newGrid(1/c.w, lo, nb, tables), NewBinAcc()
					require.True(t, binF32Go(c.x, prev, next, want, wacc, 0))
					got, gacc := newGrid(1/c.w, lo, nb, tables), NewBinAcc()
					require.True(t, BinF32(c.x, prev, next, got, gacc))
					require.Equal(t, want.Tables, got.Tables)
					require.Equal(t, want.Reps, got.Reps)
					wmn, wmx, wz := wacc.Result()
					gmn, gmx, gz := gacc.Result()
					require.Equal(t, wz, gz)
					// ±0 extremes may differ in sign (the callers read both as 0).
					require.True(t, wmn == gmn && wmx == gmx, "min/max %v %v, want %v %v", gmn, gmx, wmn, wmx)
				})
			}
		}
	})
}

// TestBinF32OutsideGrid: a value outside the grid, NaN or ±Inf anywhere (in the
// vector prefix or the tail) makes BinF32 report false, as the reference does.
func TestBinF32OutsideGrid(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 15))
		bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 4, -4.25, math.MaxFloat32}
		for _, n := range []int{1, 8, 16, 17, 40} {
			for _, b := range bad {
				for _, at := range []int{0, n / 2, n - 1} {
					t.Run(fmt.Sprintf("%d/%v/at%d", n, b, at), func(t *testing.T) {
						x := make([]float32, n)
						for i := range x {
							x[i] = float32(r.Float64()*8 - 4) // grid [-4, 4) of width 1/4: 4 is outside
						}
						x[at] = b
						prev, next := neighbours(x)
						require.False(t, binF32Go(x, prev, next, newGrid(4, -16, 32, 4), NewBinAcc(), 0))
						require.False(t, BinF32(x, prev, next, newGrid(4, -16, 32, 4), NewBinAcc()))
					})
				}
			}
		}
	})
}

func BenchmarkBinF32(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 15))
	x := make([]float32, 1<<16)
	for i := range x {
		v := r.NormFloat64() * 2
		x[i] = float32(v / (1 + math.Exp(-v))) // SiLU: the mass near zero
	}
	prev, next := neighbours(x)
	for _, tables := range []int{1, 4} {
		b.Run(fmt.Sprintf("silu/tables%d", tables), func(b *testing.B) {
			g, acc := newGrid(256, -100, 3000, tables), NewBinAcc()
			b.SetBytes(4 * int64(len(x)))
			for i := 0; i < b.N; i++ {
				if !BinF32(x, prev, next, g, acc) {
					b.Fatal("outside")
				}
			}
		})
	}
	b.Run("go", func(b *testing.B) {
		g, acc := newGrid(256, -100, 3000, 1), NewBinAcc()
		b.SetBytes(4 * int64(len(x)))
		for i := 0; i < b.N; i++ {
			if !binF32Go(x, prev, next, g, acc, 0) {
				b.Fatal("outside")
			}
		}
	})
}

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// deformGatherRef is DeformGatherF32 as a plain loop over the entries: the
// four corners of entry e weighted and summed left to right, times the mask.
func deformGatherRef(n int, plane []float32, idx []int32, w, mask []float32) []float32 {
	out := make([]float32, n)
	for e := range out {
		b, l := e/16, e%16
		var s float32
		for k := 0; k < 4; k++ {
			o := 64*b + 16*k + l
			if k == 0 {
				s = w[o] * plane[idx[o]]
			} else {
				s += w[o] * plane[idx[o]]
			}
		}
		if mask != nil {
			s *= mask[e]
		}
		out[e] = s
	}
	return out
}

// TestDeformGatherMatchesRef: every path gives the plain loop's bits for
// lengths around the block width (whole blocks on the vector paths, the tail
// in Go), with and without a mask, planes holding Inf and NaN read with zero
// weights (NaN results compared as NaN: which operand's NaN survives is not
// specified), indices at both ends of the plane, and nothing written past
// the destination.
func TestDeformGatherMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(22, 5))
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 48, 100, 576, 5184 + 9} {
			for _, withMask := range []bool{false, true} {
				hw := 1 + rng.IntN(700)
				plane := make([]float32, hw+1)
				for i := range plane[:hw] {
					plane[i] = float32(rng.NormFloat64())
					if rng.IntN(40) == 0 {
						plane[i] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}[rng.IntN(3)]
					}
				}
				nb := (n + 15) / 16
				idx := make([]int32, 64*nb)
				w := make([]float32, 64*nb)
				for i := range idx {
					switch rng.IntN(6) {
					case 0:
						idx[i] = int32(hw) // the zero after the plane
					case 1:
						idx[i] = 0
					default:
						idx[i] = int32(rng.IntN(hw + 1))
					}
					w[i] = rng.Float32()
					if rng.IntN(8) == 0 {
						w[i] = 0
					}
				}
				var mask []float32
				if withMask {
					mask = make([]float32, n)
					for i := range mask {
						mask[i] = rng.Float32()
					}
				}
				want := deformGatherRef(n, plane, idx, w, mask)
				got := make([]float32, n+16)
				for i := range got {
					got[i] = 1234.5
				}
				DeformGatherF32(got[:n], plane, idx, w, mask)
				for e := 0; e < n; e++ {
					if math.IsNaN(float64(want[e])) {
						require.Truef(t, math.IsNaN(float64(got[e])), "n %d mask %v entry %d: %g, want NaN", n, withMask, e, got[e])
						continue
					}
					require.Equalf(t, math.Float32bits(want[e]), math.Float32bits(got[e]), "n %d mask %v entry %d: %g, want %g", n, withMask, e, got[e], want[e])
				}
				for e := n; e < len(got); e++ {
					require.Equalf(t, float32(1234.5), got[e], "n %d: written past the destination at %d", n, e)
				}
			}
		}
	})
}

func TestDeformGatherRefusesShortTables(t *testing.T) {
	plane := make([]float32, 4)
	require.Panics(t, func() { DeformGatherF32(make([]float32, 32), plane, make([]int32, 64), make([]float32, 128), nil) })
	require.Panics(t, func() {
		DeformGatherF32(make([]float32, 16), plane, make([]int32, 64), make([]float32, 64), make([]float32, 8))
	})
}

// deformCornersRef is one point of DeformCornersF32 as DeformConv's scalar
// sample computes it (math.Floor): the four corners' indices and weights.
func deformCornersRef(h, wd int, y, x float32) ([4]int32, [4]float32) {
	zero := int32(h * wd)
	idx := [4]int32{zero, zero, zero, zero}
	if y != y || x != x || y <= -1 || float32(h) <= y || x <= -1 || float32(wd) <= x {
		return idx, [4]float32{}
	}
	yl, xl := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	for k, c := range [4][2]int{{yl, xl}, {yl, xl + 1}, {yl + 1, xl}, {yl + 1, xl + 1}} {
		if c[0] >= 0 && c[0] < h && c[1] >= 0 && c[1] < wd {
			idx[k] = int32(c[0]*wd + c[1])
		}
	}
	return idx, [4]float32{hy * hx, hy * lx, ly * hx, ly * lx}
}

// TestDeformCornersMatchesRef: every path gives the scalar sample's corner
// indices and weights, bit for bit, over random planes and points: inside,
// whole pixels, the borders exactly (-1, 0, h-1, h and just inside them),
// -0, NaN, ±Inf and far outside; lanes past the points read the zero index
// with weight 0.
func TestDeformCornersMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(22, 6))
		point := func(size int) float32 {
			s := float32(size)
			switch rng.IntN(12) {
			case 0:
				return float32(rng.IntN(size+4) - 2)
			case 1:
				return []float32{-1, 0, s - 1, s, float32(math.Copysign(0, -1))}[rng.IntN(5)]
			case 2:
				return []float32{math.Nextafter32(-1, 0), math.Nextafter32(s, 0), math.Nextafter32(s-1, s), math.Nextafter32(0, -1)}[rng.IntN(4)]
			case 3:
				return []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e9, -1e9}[rng.IntN(5)]
			default:
				return float32(rng.Float64()*float64(size+4) - 2)
			}
		}
		for trial := 0; trial < 300; trial++ {
			h, wd := 1+rng.IntN(40), 1+rng.IntN(40)
			n := rng.IntN(100)
			if trial%50 == 0 {
				n = 16 * (1 + rng.IntN(4))
			}
			ys, xs := make([]float32, n), make([]float32, n)
			for i := range ys {
				ys[i], xs[i] = point(h), point(wd)
			}
			nb := (n + 15) / 16
			idx, w := make([]int32, 64*nb), make([]float32, 64*nb)
			for i := range idx {
				idx[i], w[i] = -7, 99
			}
			DeformCornersF32(idx, w, ys, xs, h, wd)
			for e := 0; e < nb*16; e++ {
				wi, ww := [4]int32{int32(h * wd), int32(h * wd), int32(h * wd), int32(h * wd)}, [4]float32{}
				if e < n {
					wi, ww = deformCornersRef(h, wd, ys[e], xs[e])
				}
				o := 64*(e/16) + e%16
				for k := 0; k < 4; k++ {
					require.Equalf(t, wi[k], idx[o+16*k], "trial %d %dx%d point %d (%g, %g) corner %d index", trial, h, wd, e, ys[min(e, n-1)], xs[min(e, n-1)], k)
					require.Equalf(t, math.Float32bits(ww[k]), math.Float32bits(w[o+16*k]), "trial %d %dx%d point %d corner %d weight %g, want %g", trial, h, wd, e, k, w[o+16*k], ww[k])
				}
			}
		}
	})
}

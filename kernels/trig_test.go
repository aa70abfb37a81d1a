package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// trigInputs: uniform values over growing ranges (up to past TrigMax),
// multiples of π/2 and π/4 (the zeros and the reduction's quadrant
// boundaries), tiny and special values, in an order with no structure.
func trigInputs(rng *rand.Rand) []float32 {
	var in []float32
	for _, r := range []float64{1, 4, 100, 1000, 30000, TrigMax, 1e6} {
		for i := 0; i < 3000; i++ {
			in = append(in, float32((rng.Float64()*2-1)*r))
		}
	}
	for k := -2000; k <= 2000; k++ {
		in = append(in, float32(float64(k)*math.Pi/2), float32(float64(k)*math.Pi/4), math.Nextafter32(float32(float64(k)*math.Pi/2), 0))
	}
	in = append(in, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-45, 3e38, -3e38, TrigMax, -TrigMax,
		math.Nextafter32(TrigMax, 1e9), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	return in
}

// TestTrigAccuracy: Sin and Cos against float64 math within 1.2e-7 absolute
// for |x| ≤ TrigMax and exactly float64 math rounded beyond; Exp within 2 ulp
// of float64 math rounded to float32 where that is normal, 2.5e-45 absolute
// where it is subnormal, and the same Inf, 0 and NaN. On every path, at
// every length (tails) and in place.
func TestTrigAccuracy(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	in := trigInputs(rng)
	expIn := append([]float32(nil), in[:4000]...)
	for i := 0; i < 6000; i++ {
		expIn = append(expIn, float32(rng.Float64()*220-115))
	}
	expIn = append(expIn, 88.72, 88.73, 88.8, 89, -87.33, -87.34, -103.9, -104, -110, 1e-8, -1e-8)
	erfIn := append([]float32(nil), in[:4000]...)
	for i := 0; i < 6000; i++ {
		erfIn = append(erfIn, float32(rng.NormFloat64()*2))
	}
	erfIn = append(erfIn, 1e-30, -1e-30, 1e-45, 3.9, 4, 4.1, -4, 5, 1e-4)
	ulp := func(v float32) float64 {
		return float64(math.Nextafter32(float32(math.Abs(float64(v))), float32(math.Inf(1))) - float32(math.Abs(float64(v))))
	}
	forEachPath(t, func(t *testing.T) {
		for _, tc := range []struct {
			name string
			run  func(dst, src []float32)
			ref  func(float64) float64
			in   []float32
		}{
			{"sin", SinF32, math.Sin, in},
			{"cos", CosF32, math.Cos, in},
			{"exp", ExpF32, math.Exp, expIn},
			{"erf", ErfF32, math.Erf, erfIn},
		} {
			check := func(got []float32, src []float32) {
				worst := 0.0
				for i, x := range src {
					want := float32(tc.ref(float64(x)))
					g := got[i]
					switch {
					case math.IsNaN(float64(want)):
						require.True(t, math.IsNaN(float64(g)), "%s(%v) = %v, want NaN", tc.name, x, g)
						continue
					case math.IsInf(float64(want), 0) || want == 0 && tc.name == "exp":
						require.Equal(t, want, g, "%s(%v)", tc.name, x)
						continue
					}
					e := math.Abs(float64(g) - float64(want))
					var bound float64
					switch {
					case tc.name == "erf":
						bound = 3e-7*math.Abs(float64(want)) + 3e-45
					case tc.name != "exp" && math.Abs(float64(x)) > TrigMax:
						bound = 0
					case tc.name != "exp":
						bound = 1.2e-7
					case math.Abs(float64(want)) < 0x1p-126:
						bound = 2.5e-45
					default:
						bound = 2 * ulp(want)
					}
					require.LessOrEqual(t, e, bound, "%s(%v) = %v, want %v", tc.name, x, g, want)
					if bound > 0 {
						worst = max(worst, e/bound)
					}
				}
				t.Logf("%s: worst error %.2f of the bound", tc.name, worst)
			}
			got := make([]float32, len(tc.in))
			tc.run(got, tc.in)
			check(got, tc.in)
			// every tail length, and in place
			for n := 0; n < 40; n++ {
				src := tc.in[100 : 100+n]
				d := make([]float32, n)
				tc.run(d, src)
				require.Equal(t, got[100:100+n], d, "%s length %d", tc.name, n)
				ip := append([]float32(nil), tc.in[:300+n]...)
				tc.run(ip, ip)
				require.Equal(t, got[:300+n], ip, "%s in place, length %d", tc.name, 300+n)
			}
		}
	})
}

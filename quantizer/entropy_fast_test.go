package quantizer

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKLSearchMatchesReference: the memoized search returns the reference's
// threshold on histograms of every shape the calibrator makes (decaying, heavy
// tails, sparse with empty bins and levels, point masses, flat), for both level
// counts, a non-power-of-two one (the division path) and several starts.
func TestKLSearchMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	shapes := []struct {
		name string
		gen  func(n int) ([]float64, []float64)
	}{
		{"decaying", func(n int) ([]float64, []float64) {
			c := make([]float64, n)
			for j := range c {
				c[j] = math.Floor(1e5 * math.Exp(-float64(j)/float64(n)*8) * (0.5 + rng.Float64()))
			}
			return c, make([]float64, n)
		}},
		{"heavy tail", func(n int) ([]float64, []float64) {
			c := make([]float64, n)
			for j := range c {
				c[j] = math.Floor(1e6 / (1 + float64(j)*float64(j)) * rng.Float64())
			}
			return c, make([]float64, n)
		}},
		{"sparse", func(n int) ([]float64, []float64) {
			c := make([]float64, n)
			for j := range c {
				if rng.Intn(7) == 0 {
					c[j] = float64(1 + rng.Intn(50))
				}
			}
			return c, make([]float64, n)
		}},
		{"point masses", func(n int) ([]float64, []float64) {
			c, s := make([]float64, n), make([]float64, n)
			for j := range c {
				c[j] = math.Floor(3e4 * math.Exp(-float64(j)/float64(n)*4) * rng.Float64())
				if rng.Intn(60) == 0 {
					s[j] = float64(rng.Intn(20000))
				}
			}
			s[n-1] = 5000 // saturation
			return c, s
		}},
		{"dense point masses", func(n int) ([]float64, []float64) {
			// a point mass in every few bins, some without continuous mass (a
			// detector's letterbox borders: one constant per channel)
			c, s := make([]float64, n), make([]float64, n)
			for j := range c {
				if rng.Intn(4) > 0 {
					c[j] = math.Floor(5e4 * math.Exp(-float64(j)/float64(n)*6) * rng.Float64())
				}
				if rng.Intn(3) == 0 {
					s[j] = float64(1 + rng.Intn(3000))
				}
			}
			return c, s
		}},
		{"flat fractional", func(n int) ([]float64, []float64) {
			c := make([]float64, n)
			for j := range c {
				c[j] = 100 * rng.Float64()
			}
			return c, make([]float64, n)
		}},
	}
	for _, sh := range shapes {
		for _, n := range []int{129, 300, 1000, 2048} {
			for _, levels := range []int{128, 256, 100} {
				for _, start := range []int{entropyStart, levels} {
					t.Run(fmt.Sprintf("%s/n%d/levels%d/start%d", sh.name, n, levels, start), func(t *testing.T) {
						c, s := sh.gen(n)
						require.Equal(t, klSearchRef(c, s, levels, start), klSearch(c, s, levels, start))
					})
				}
			}
		}
	}
}

// klSearchRef is the session-start klSearch (the reference of TestKLSearchMatchesReference): the threshold search on a one-sided histogram split into its
// continuous part c and point masses s (same length n). It returns the number of bins
// of the last candidate with the smallest KL divergence (n if no candidate is finite
// or n <= start).
//
// Prefix sums make each candidate O(levels + point-mass bins) instead of O(i).
func klSearchRef(c, s []float64, levels, start int) int {
	n := len(c)
	if n <= start {
		return n
	}
	// Prefix sums over the continuous part: C counts, NZ non-empty bins; Cns and CLns
	// count and c*log(c) over the bins without a point mass (those are summed one by
	// one); Sp the point masses.
	C := make([]float64, n+1)
	NZ := make([]int, n+1)
	Cns := make([]float64, n+1)
	CLns := make([]float64, n+1)
	Sp := make([]float64, n+1)
	var spikeBins []int
	for j := 0; j < n; j++ {
		C[j+1], NZ[j+1], Cns[j+1], CLns[j+1], Sp[j+1] = C[j]+c[j], NZ[j], Cns[j], CLns[j], Sp[j]+s[j]
		if c[j] > 0 {
			NZ[j+1]++
		}
		if s[j] > 0 {
			spikeBins = append(spikeBins, j)
		} else if c[j] > 0 {
			Cns[j+1] += c[j]
			CLns[j+1] += c[j] * math.Log(c[j])
		}
	}
	total := C[n] + Sp[n]
	if total <= 0 {
		return n
	}
	logT := math.Log(total)
	mean := make([]float64, levels)
	best, bestKL := n, math.Inf(1)
	for i := start; i <= n; i++ {
		S := C[i] + Sp[i] // Q's mass: everything below the threshold
		if S <= 0 {
			continue
		}
		tail := total - S
		logS := math.Log(S)
		kl := 0.0
		for m := 0; m < levels; m++ {
			b0 := (m*i + levels - 1) / levels
			b1 := ((m+1)*i + levels - 1) / levels
			nz := NZ[b1] - NZ[b0]
			mean[m] = 0
			if nz == 0 {
				continue
			}
			mean[m] = (C[b1] - C[b0]) / float64(nz)
			e := min(b1, i-1) // the last bin carries the outliers: summed below
			if e <= b0 {
				continue
			}
			kl += (CLns[e] - CLns[b0]) - (Cns[e]-Cns[b0])*(logT+math.Log(mean[m])-logS)
		}
		term := func(j int, p float64) float64 {
			q := s[j]
			if c[j] > 0 {
				q += mean[j*levels/i]
			}
			if p <= 0 {
				return 0
			}
			if q <= 0 {
				return math.Inf(1)
			}
			return p * (math.Log(p) - logT - math.Log(q) + logS)
		}
		for _, j := range spikeBins {
			if j >= i-1 {
				break
			}
			kl += term(j, c[j]+s[j])
		}
		kl += term(i-1, c[i-1]+s[i-1]+tail)
		kl /= total
		if kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

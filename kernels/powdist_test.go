package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPowF32MatchesMathPow: every exponent, random positive inputs over the
// whole float32 range (subnormals included) and the special values, against
// math.Pow rounded to float32: within 1 ulp everywhere, and counted bit
// differences (none expected; at most a handful per million).
func TestPowF32MatchesMathPow(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, -2, -0.5, 2, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.MaxFloat32, math.SmallestNonzeroFloat32, 1.17549435e-38, 1 + 1.0/(1<<23)}
	for _, tc := range []struct {
		name string
		e    float64
	}{
		{"cdist", float64(float32(0.49999976))}, {"third", 1.0 / 3}, {"2.5", 2.5}, {"-1.5", -1.5},
		{"gamma", 1 / 2.2}, {"tiny", 1e-7}, {"big", 37.25}, {"-64", -64}, {"65 (Go path)", 65}, {"NaN", math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200003 // not a multiple of 8: the padded tail
			src := make([]float32, n)
			for i := range src {
				switch i % 4 {
				case 0: // any positive float32
					src[i] = math.Float32frombits(uint32(rng.Int63n(0x7f800000)))
				case 1:
					src[i] = float32(rng.Float64() * 4)
				case 2:
					src[i] = float32(math.Exp(rng.NormFloat64() * 10))
				default:
					src[i] = special[rng.Intn(len(special))]
				}
			}
			dst := make([]float32, n)
			PowF32(dst, src, tc.e)
			diff := 0
			for i, x := range src {
				want := float32(math.Pow(float64(x), tc.e))
				got := dst[i]
				if math.Float32bits(got) == math.Float32bits(want) || got != got && want != want {
					continue
				}
				diff++
				require.Falsef(t, want != want || got != got, "x=%g: got %g, want %g", x, got, want)
				ulp := math.Abs(float64(math.Float32bits(got)) - float64(math.Float32bits(want)))
				require.LessOrEqualf(t, ulp, 1.0, "x=%g e=%g: got %g, want %g", x, tc.e, got, want)
			}
			t.Logf("%d of %d results differ from math.Pow in their last bit", diff, n)
			assert.LessOrEqual(t, diff, 5, "bit differences in %d", n)
			// In place, and cut at any point: the same bits.
			cp := append([]float32(nil), src...)
			PowF32(cp[:13], cp[:13], tc.e)
			PowF32(cp[13:], cp[13:], tc.e)
			for i := range cp {
				require.Equal(t, math.Float32bits(dst[i]), math.Float32bits(cp[i]), "element %d", i)
			}
		})
	}
}

// TestSqDistF32MatchesReference: random row counts, lengths around the
// vector widths, strides 0 / packed / padded, L2 or not, against the
// sequential float64 sum of float32 differences.
func TestSqDistF32MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for trial := 0; trial < 400; trial++ {
		n, k := 1+rng.Intn(40), 1+rng.Intn(80)
		as, bs := []int{0, k, k + 3}[rng.Intn(3)], []int{0, k, k + 5}[rng.Intn(3)]
		l2 := rng.Intn(2) == 0
		a := make([]float32, (n-1)*as+k)
		b := make([]float32, (n-1)*bs+k)
		for i := range a {
			a[i] = float32(rng.NormFloat64() * 3)
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 3)
		}
		got := make([]float32, n+1)
		got[n] = 42 // nothing written past the rows
		SqDistF32(got[:n], a, as, b, bs, k, l2)
		want := make([]float32, n)
		sqDistF32Go(want, a, as, b, bs, k, l2)
		for j := range want {
			assert.InEpsilonf(t, want[j], got[j], 2e-7, "trial %d n=%d k=%d as=%d bs=%d l2=%v row %d", trial, n, k, as, bs, l2, j)
		}
		require.Equal(t, float32(42), got[n])
	}
	// Special values: NaN and Inf propagate, zero rows give 0.
	for _, tc := range []struct {
		name string
		a, b []float32
		want float32
	}{
		{"zero", []float32{1, 2, 3}, []float32{1, 2, 3}, 0},
		{"inf", []float32{float32(math.Inf(1)), 0, 0}, []float32{0, 0, 0}, float32(math.Inf(1))},
		{"big", []float32{3e38, -3e38}, []float32{-3e38, 3e38}, float32(math.Inf(1))},
	} {
		got := make([]float32, 1)
		SqDistF32(got, tc.a, 0, tc.b, 0, len(tc.a), false)
		assert.Equal(t, tc.want, got[0], tc.name)
	}
	got := make([]float32, 1)
	SqDistF32(got, []float32{float32(math.NaN()), 1}, 0, []float32{0, 0}, 0, 2, true)
	assert.True(t, got[0] != got[0])
}

func BenchmarkPowF32(b *testing.B) {
	src := make([]float32, 51200)
	for i := range src {
		src[i] = float32(i%977) + 0.5
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		PowF32(dst, src, 0.49999976)
	}
}

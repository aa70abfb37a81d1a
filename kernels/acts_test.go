package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// actsCases are the activations of acts.go with their float64 references and
// error bounds: |got − want| ≤ rel·|want| + abs. abs covers the exp's lower
// clamp (e^−87.3: results below 1e-36 or so are not resolved) and nothing else.
func actsCases() []struct {
	name     string
	run      func(dst, src []float32)
	ref      func(x float64) float64
	rel, abs float64
} {
	act := func(a Act) func(dst, src []float32) { return func(d, s []float32) { ActF32(a, d, s) } }
	elu := func(p ELU) func(dst, src []float32) { return func(d, s []float32) { ELUF32(d, s, p) } }
	eluRef := func(alpha, gamma, div float64) func(float64) float64 {
		return func(x float64) float64 {
			if x > 0 {
				return gamma * x
			}
			return gamma * alpha * math.Expm1(x/div)
		}
	}
	celu, ok := CeluParams(0.5)
	if !ok {
		panic("CeluParams(0.5)")
	}
	return []struct {
		name     string
		run      func(dst, src []float32)
		ref      func(x float64) float64
		rel, abs float64
	}{
		{"softplus", act(ActSoftplus), Softplus64, 6e-7, 2e-38},
		{"mish", act(ActMish), func(x float64) float64 { return x * math.Tanh(Softplus64(x)) }, 1e-6, 2e-35},
		{"logsigmoid", act(ActLogSigmoid), func(x float64) float64 { return -Softplus64(-x) }, 6e-7, 2e-38},
		{"softsign", act(ActSoftsign), func(x float64) float64 { return x / (1 + math.Abs(x)) }, 3e-7, 0},
		{"elu (ActELU)", act(ActELU), eluRef(1, 1, 1), 6e-7, 2e-38},
		{"selu (ActSELU)", act(ActSELU), eluRef(SeluAlpha, SeluGamma, 1), 6e-7, 2e-38},
		{"elu α=0.3", elu(EluParams(0.3)), eluRef(0.3, 1, 1), 6e-7, 2e-38},
		{"selu α=1.5 γ=2", elu(SeluParams(1.5, 2)), eluRef(1.5, 2, 1), 6e-7, 2e-38},
		{"celu α=0.5", elu(celu), eluRef(0.5, 1, 0.5), 6e-7, 2e-38},
		{"hardsigmoid α=0.2 β=0.5", func(d, s []float32) { HardSigmoidF32(d, s, 0.2, 0.5) },
			func(x float64) float64 { return max(0, min(1, float64(float32(0.2))*x+0.5)) }, 2.4e-7, 1e-45},
		{"clamp [0, 6]", func(d, s []float32) { ClampF32(d, s, 0, 6) }, clampRef(0, 6), 0, 0},
		{"clamp [-inf, 0.5]", func(d, s []float32) { ClampF32(d, s, float32(math.Inf(-1)), 0.5) }, clampRef(math.Inf(-1), 0.5), 0, 0},
		{"clamp lo > hi", func(d, s []float32) { ClampF32(d, s, 2, 1) }, clampRef(2, 1), 0, 0},
		{"hardsigmoid α=1/6 β=0.5", func(d, s []float32) { HardSigmoidF32(d, s, 1.0/6, 0.5) },
			func(x float64) float64 { return max(0, min(1, float64(float32(1.0/6))*x+0.5)) }, 2.4e-7, 1e-45},
	}
}

func actsInputs() []float32 {
	rng := rand.New(rand.NewSource(7))
	src := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-40, -1e-7, 1e-3, -1e-3, 0.4999999, 0.5, -0.5,
		1, -1, -3, 3, 9, -9, 19.9, 20, 20.1, -20, 40, -40, 87, -87, 88.5, -88.5, -100, 100, -200,
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)),
		-0.881374, -0.881373, 0.881374} // e^−|x| around √2−1, where Softplus's log1p changes form
	for i := 0; i < 4000; i++ {
		src = append(src, float32(rng.NormFloat64()*2), float32(rng.NormFloat64()*0.05),
			float32(rng.Float64()*60-30), float32(math.Ldexp(rng.Float64()-0.5, -rng.Intn(40))))
	}
	return append(src, 0.25, -0.125, 7) // a tail that is not a multiple of the vector width
}

// TestActsAgainstReference checks every activation of acts.go against its
// float64 reference on every dispatch path, in place and not, and that an
// element's result does not depend on where the slice starts (threads and
// row stores cut tensors anywhere).
func TestActsAgainstReference(t *testing.T) {
	src := actsInputs()
	for _, tc := range actsCases() {
		t.Run(tc.name, func(t *testing.T) {
			forEachPath(t, func(t *testing.T) {
				for _, inPlace := range []bool{false, true} {
					in := append([]float32(nil), src...)
					dst := make([]float32, len(src))
					if inPlace {
						dst = in
					}
					tc.run(dst, in)
					var maxRel float64
					for i, x := range src {
						// The reference rounded to float32 (overflow to ±Inf included).
						want, got := float64(float32(tc.ref(float64(x)))), float64(dst[i])
						if math.IsNaN(want) && math.IsInf(float64(x), 0) {
							continue // ∞/∞ and ∞·0 in the formula; the limits are not asked for
						}
						if math.IsInf(want, 0) || math.IsNaN(want) {
							if !assert.Equal(quietT{}, want, got) {
								require.Equalf(t, want, got, "%s(%g)", tc.name, x)
							}
							continue
						}
						e := math.Abs(got - want)
						if want != 0 && math.Abs(want) > 1e-30 {
							maxRel = max(maxRel, e/math.Abs(want))
						}
						if !assert.LessOrEqual(quietT{}, e, tc.rel*math.Abs(want)+tc.abs) {
							require.LessOrEqualf(t, e, tc.rel*math.Abs(want)+tc.abs, "%s(%g) = %g, want %g", tc.name, x, got, want)
						}
					}
					t.Logf("in place %v: max relative error %.3g", inPlace, maxRel)
				}
				// Slice offsets 1..3 and a short slice: the same bits.
				full := make([]float32, len(src))
				tc.run(full, src)
				for off := 1; off <= 3; off++ {
					part := make([]float32, len(src)-off)
					tc.run(part, src[off:])
					requireSameBits(t, full[off:], part, "offset %d", off)
				}
				short := make([]float32, 5)
				tc.run(short, src[10:15])
				requireSameBits(t, full[10:15], short, "a 5-element slice")
				// NaN stays NaN, in the vector body and in the tail.
				nan := make([]float32, 19)
				for i := range nan {
					nan[i] = float32(i) - 9
				}
				nan[0], nan[16] = float32(math.NaN()), float32(math.NaN())
				tc.run(nan, nan)
				require.True(t, math.IsNaN(float64(nan[0])), "NaN in the vector body: %g", nan[0])
				require.True(t, math.IsNaN(float64(nan[16])), "NaN in the tail: %g", nan[16])
			})
		})
	}
}

// TestActsStrings names the new activations (the runtime prints them in plans).
func TestActsStrings(t *testing.T) {
	for a, want := range map[Act]string{ActSoftplus: "softplus", ActMish: "mish", ActSoftsign: "softsign", ActELU: "elu", ActSELU: "selu", ActLogSigmoid: "logsigmoid"} {
		if !assert.Equal(quietT{}, want, a.String()) {
			require.Equal(t, want, a.String())
		}
	}
	_, ok := CeluParams(0)
	require.False(t, ok)
	_, ok = CeluParams(-1)
	require.False(t, ok)
	require.Panics(t, func() { ELUF32(make([]float32, 4), make([]float32, 4), ELU{1, 1, 0}) })
}

// requireSameBits fails at the first element whose bits differ (NaN included).
func requireSameBits(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "bits differ", "element %d: %g vs %g; "+msg, append([]any{i, want[i], got[i]}, args...)...)
		}
	}
}

// clampRef is Clip's reference: below lo gives lo, then above hi gives hi.
func clampRef(lo, hi float64) func(float64) float64 {
	return func(x float64) float64 {
		if x < lo {
			x = lo
		}
		if x > hi {
			x = hi
		}
		return x
	}
}

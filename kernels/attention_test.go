package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttentionVsReference checks Attention on every dispatch path against a
// float64 reference (scores, softmax and product in float64) and against the
// three steps it replaces run one by one (SgemmScaled, SoftmaxAddRowF32 or
// SoftmaxRowF32, SgemmScaled): ViT's and Swin's head shapes, a decoder's
// single query, key counts over one query block and over one reduction
// block, keys and values stored either way, row strides past the widths,
// position biases and padding masks (with -Inf), masks as Where selects
// (causal with −Inf, causal then a padding Add, an Add then a select that
// masks whole rows with finfo.min), the probabilities written
// out, 1-3 threads. Entries past each row's width must stay untouched.
func TestAttentionVsReference(t *testing.T) {
	type shape struct {
		m, n, d, dv   int
		kt, vt        bool
		bias          string // testScoreTerms' kinds
		withP         bool
		alpha, valpha float32
	}
	shapes := []shape{
		{m: 197, n: 197, d: 64, dv: 64, alpha: 0.125, valpha: 1},
		{m: 49, n: 49, d: 32, dv: 32, bias: "rows", alpha: 0.17677669, valpha: 1},
		{m: 11, n: 11, d: 24, dv: 24, bias: "mask", alpha: 0.2041, valpha: 1, withP: true},
		{m: 1, n: 1, d: 8, dv: 8, alpha: 1, valpha: 1},
		{m: 1, n: 37, d: 16, dv: 40, kt: true, alpha: 0.25, valpha: 0.5},
		{m: 30, n: 700, d: 16, dv: 16, bias: "inf", alpha: 0.25, valpha: 1},
		{m: 25, n: 13, d: 300, dv: 33, vt: true, alpha: 0.05, valpha: 2, withP: true},
		{m: 77, n: 50, d: 64, dv: 64, kt: true, vt: true, bias: "rows", alpha: 0.125, valpha: 1},
		{m: 49, n: 49, d: 32, dv: 32, bias: "two", alpha: 0.17677669, valpha: 1},
		{m: 32, n: 32, d: 16, dv: 16, bias: "causal", alpha: 0.25, valpha: 1, withP: true},
		{m: 7, n: 45, d: 64, dv: 64, bias: "causal", alpha: 0.125, valpha: 1},
		{m: 40, n: 40, d: 64, dv: 64, bias: "gpt2", alpha: 0.125, valpha: 1},
		{m: 30, n: 19, d: 8, dv: 12, kt: true, bias: "rows+select", alpha: 0.3, valpha: 1, withP: true},
	}
	forEachPath(t, func(t *testing.T) {
		for si, s := range shapes {
			for _, th := range []int{1, 2, 3} {
				name := fmt.Sprintf("%dx%dx%dx%d/kt=%v/vt=%v/bias=%s/p=%v/threads=%d", s.m, s.n, s.d, s.dv, s.kt, s.vt, s.bias, s.withP, th)
				r := rand.New(rand.NewPCG(uint64(si), 11))
				h := AttentionHead{M: s.m, N: s.n, D: s.d, DV: s.dv, Alpha: s.alpha, VAlpha: s.valpha, KT: s.kt, VT: s.vt}
				h.LdQ, h.LdO = s.d+3, s.dv+5
				h.Q = scaledF32(r, (s.m-1)*h.LdQ+s.d, 3)
				if s.kt {
					h.LdK = s.n + 2
					h.K = scaledF32(r, (s.d-1)*h.LdK+s.n, 3)
				} else {
					h.LdK = s.d + 1
					h.K = scaledF32(r, (s.n-1)*h.LdK+s.d, 3)
				}
				if s.vt {
					h.LdV = s.n + 4
					h.V = randF32(r, (s.dv-1)*h.LdV+s.n)
				} else {
					h.LdV = s.dv + 2
					h.V = randF32(r, (s.n-1)*h.LdV+s.dv)
				}
				h.Terms = testScoreTerms(r, s.bias, s.m, s.n)
				h.O = make([]float32, s.m*h.LdO)
				fillF32(h.O, 7)
				if s.withP {
					h.LdP = s.n + 1
					h.P = make([]float32, s.m*h.LdP)
					fillF32(h.P, 7)
				}
				Attention(&h, th)

				// The three steps, one by one.
				sc := make([]float32, s.m*s.n)
				SgemmScaled(!s.kt, s.m, s.n, s.d, s.alpha, h.Q, h.LdQ, h.K, h.LdK, sc, s.n, 1)
				for i := 0; i < s.m; i++ {
					row := sc[i*s.n : (i+1)*s.n]
					switch {
					case len(h.Terms) == 1 && h.Terms[0].Keep == nil:
						o := int(h.Terms[0].Row[i])
						SoftmaxAddRowF32(row, row, h.Terms[0].Vals[o:o+s.n])
					case len(h.Terms) == 2 && h.Terms[0].Keep == nil && h.Terms[1].Keep == nil:
						o0, o := int(h.Terms[0].Row[i]), int(h.Terms[1].Row[i])
						SoftmaxAdd2RowF32(row, row, h.Terms[0].Vals[o0:o0+s.n], h.Terms[1].Vals[o:o+s.n])
					default:
						// the Adds and Wheres as the graph runs them
						for _, st := range h.Terms {
							o := int(st.Row[i])
							for j := range row {
								switch {
								case st.Keep == nil:
									row[j] += st.Vals[o+j]
								case st.Keep[o+j] == 0:
									row[j] = st.Vals[o+j]
								}
							}
						}
						SoftmaxRowF32(row, row)
					}
				}
				steps := make([]float32, s.m*s.dv)
				SgemmScaled(s.vt, s.m, s.dv, s.n, s.valpha, sc, s.n, h.V, h.LdV, steps, s.dv, 1)

				for i := 0; i < s.m; i++ {
					// float64 reference
					p := make([]float64, s.n)
					mx := math.Inf(-1)
					for j := range p {
						var acc float64
						for q := 0; q < s.d; q++ {
							var kv float32
							if s.kt {
								kv = h.K[q*h.LdK+j]
							} else {
								kv = h.K[j*h.LdK+q]
							}
							acc += float64(h.Q[i*h.LdQ+q]) * float64(kv)
						}
						acc *= float64(s.alpha)
						for _, st := range h.Terms {
							o := int(st.Row[i]) + j
							switch {
							case st.Keep == nil:
								acc += float64(st.Vals[o])
							case st.Keep[o] == 0:
								acc = float64(st.Vals[o])
							}
						}
						p[j] = acc
						mx = math.Max(mx, acc)
					}
					var sum float64
					for j := range p {
						p[j] = math.Exp(p[j] - mx)
						sum += p[j]
					}
					for j := range p {
						p[j] /= sum
					}
					for j := 0; j < h.LdO; j++ {
						got := h.O[i*h.LdO+j]
						if j >= s.dv {
							if !assert.Equal(quietT{}, float32(7), got) {
								require.Equal(t, float32(7), got, "%s: O[%d][%d] past dv written", name, i, j)
							}
							continue
						}
						var want float64
						for q := range p {
							var vv float32
							if s.vt {
								vv = h.V[j*h.LdV+q]
							} else {
								vv = h.V[q*h.LdV+j]
							}
							want += p[q] * float64(vv)
						}
						want *= float64(s.valpha)
						if !assert.InDelta(quietT{}, want, got, 2e-5*math.Max(1, math.Abs(float64(s.valpha)))) {
							require.InDelta(t, want, got, 2e-5*math.Max(1, math.Abs(float64(s.valpha))), "%s: O[%d][%d]", name, i, j)
						}
						if !assert.InDelta(quietT{}, steps[i*s.dv+j], got, 1e-6) {
							require.InDelta(t, steps[i*s.dv+j], got, 1e-6, "%s: O[%d][%d] against the steps", name, i, j)
						}
					}
					if s.withP {
						for j := 0; j < h.LdP; j++ {
							got := h.P[i*h.LdP+j]
							if j >= s.n {
								if !assert.Equal(quietT{}, float32(7), got) {
									require.Equal(t, float32(7), got, "%s: P[%d][%d] past n written", name, i, j)
								}
								continue
							}
							if !assert.InDelta(quietT{}, p[j], got, 2e-6) {
								require.InDelta(t, p[j], got, 2e-6, "%s: P[%d][%d]", name, i, j)
							}
							if !assert.Equal(quietT{}, sc[i*s.n+j], got) {
								require.Equal(t, sc[i*s.n+j], got, "%s: P[%d][%d] against the steps", name, i, j)
							}
						}
					}
				}
			}
		}
	})
}

// TestAttentionRejectsBadArguments: short operands and bias rows out of
// range panic with the kernel's name instead of reading past the slices.
func TestAttentionRejectsBadArguments(t *testing.T) {
	ok := func() AttentionHead {
		return AttentionHead{M: 2, N: 3, D: 4, DV: 5, Alpha: 1, VAlpha: 1,
			Q: make([]float32, 8), LdQ: 4, K: make([]float32, 12), LdK: 4, V: make([]float32, 15), LdV: 5, O: make([]float32, 10), LdO: 5}
	}
	h := ok()
	require.NotPanics(t, func() { Attention(&h, 1) })
	for name, edit := range map[string]func(h *AttentionHead){
		"short Q":         func(h *AttentionHead) { h.Q = h.Q[:7] },
		"short K":         func(h *AttentionHead) { h.K = h.K[:11] },
		"short V":         func(h *AttentionHead) { h.VT = true },
		"short O":         func(h *AttentionHead) { h.LdO = 6 },
		"bias rows":       func(h *AttentionHead) { h.Terms = []ScoreTerm{{Vals: make([]float32, 3), Row: []int32{0}}} },
		"bias past end":   func(h *AttentionHead) { h.Terms = []ScoreTerm{{Vals: make([]float32, 3), Row: []int32{0, 1}}} },
		"no keys":         func(h *AttentionHead) { h.N = 0 },
		"short P":         func(h *AttentionHead) { h.P, h.LdP = make([]float32, 5), 3 },
		"negative offset": func(h *AttentionHead) { h.Terms = []ScoreTerm{{Vals: make([]float32, 6), Row: []int32{0, -1}}} },
		"short keep": func(h *AttentionHead) {
			h.Terms = []ScoreTerm{{Vals: make([]float32, 6), Keep: make([]uint32, 5), Row: []int32{0, 3}}}
		},
		"second term": func(h *AttentionHead) {
			h.Terms = []ScoreTerm{{Vals: make([]float32, 6), Row: []int32{0, 3}}, {Vals: make([]float32, 3), Row: []int32{0, 1}}}
		},
	} {
		h := ok()
		edit(&h)
		require.Panics(t, func() { Attention(&h, 1) }, name)
	}
}

// testScoreTerms returns the score terms of TestAttentionVsReference's
// kind: "" none, "rows" a bias row per query, "mask" one additive row for
// all with −10000, "inf" the same with −Inf, "two" rows then a two-row mask,
// "causal" Where(j ≤ i, s, −Inf), "gpt2" Where(j ≤ i, s, finfo.min) then an
// additive padding row of finfo.min (so −Inf where both mask), "rows+select"
// rows then Where(cond, finfo.min, s) masking every fifth query row whole.
func testScoreTerms(r *rand.Rand, kind string, m, n int) []ScoreTerm {
	rowsOf := func(f func(i int) int) []int32 {
		rows := make([]int32, m)
		for i := range rows {
			rows[i] = int32(f(i))
		}
		return rows
	}
	sel := func(keepIf bool, fill float32, cond func(i, j int) bool) ScoreTerm {
		c := make([]bool, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c[i*n+j] = cond(i, j)
			}
		}
		t := ScoreTerm{Vals: make([]float32, m*n), Keep: make([]uint32, m*n), Row: rowsOf(func(i int) int { return i * n })}
		SelectTerm(c, keepIf, fill, t.Keep, t.Vals)
		return t
	}
	oneRow := func(v float32, every int) ScoreTerm {
		t := ScoreTerm{Vals: make([]float32, n), Row: make([]int32, m)}
		for j := range t.Vals {
			if j%every == every-1 {
				t.Vals[j] = v
			}
		}
		return t
	}
	const finfoMin = -math.MaxFloat32
	switch kind {
	case "rows":
		return []ScoreTerm{{Vals: scaledF32(r, m*n, 2), Row: rowsOf(func(i int) int { return ((i * 7) % m) * n })}}
	case "mask":
		return []ScoreTerm{oneRow(-10000, 3)}
	case "inf":
		return []ScoreTerm{oneRow(float32(math.Inf(-1)), 3)}
	case "two":
		mask := ScoreTerm{Vals: make([]float32, 2*n), Row: rowsOf(func(i int) int { return (i % 2) * n })}
		for j := range mask.Vals {
			if j%5 == 1 {
				mask.Vals[j] = -100
			}
		}
		return []ScoreTerm{{Vals: scaledF32(r, m*n, 2), Row: rowsOf(func(i int) int { return i * n })}, mask}
	case "causal":
		return []ScoreTerm{sel(true, float32(math.Inf(-1)), func(i, j int) bool { return j <= i+n-m })}
	case "gpt2":
		return []ScoreTerm{sel(true, finfoMin, func(i, j int) bool { return j <= i }), oneRow(finfoMin, 4)}
	case "rows+select":
		return []ScoreTerm{{Vals: scaledF32(r, m*n, 2), Row: rowsOf(func(i int) int { return i * n })},
			sel(false, finfoMin, func(i, j int) bool { return i%5 == 4 || j%3 == 0 })}
	}
	return nil
}

func scaledF32(r *rand.Rand, n int, scale float32) []float32 {
	b := randF32(r, n)
	for i := range b {
		b[i] *= scale
	}
	return b
}

func fillF32(p []float32, v float32) {
	for i := range p {
		p[i] = v
	}
}

// BenchmarkAttention times one head fused (Attention) and as the three
// steps it replaces (SgemmScaled, SoftmaxRowF32 per row, SgemmScaled) on
// ViT-B/16's, Swin-T's and small encoders' head shapes, 1 thread; cpu-µs is
// the thread's CPU time per head (the machine is shared):
//
//	go test ./kernels -run '^$' -bench Attention -benchtime 2000x -count 3
func BenchmarkAttention(b *testing.B) {
	for _, s := range []struct{ m, d int }{{197, 64}, {49, 32}, {16, 8}, {128, 16}} {
		r := rand.New(rand.NewPCG(1, 2))
		q, k, v := randF32(r, s.m*s.d), randF32(r, s.m*s.d), randF32(r, s.m*s.d)
		o, sc := make([]float32, s.m*s.d), make([]float32, s.m*s.m)
		h := AttentionHead{M: s.m, N: s.m, D: s.d, DV: s.d, Alpha: 0.125, VAlpha: 1, Q: q, LdQ: s.d, K: k, LdK: s.d, V: v, LdV: s.d, O: o, LdO: s.d}
		b.Run(fmt.Sprintf("fused/%dx%d", s.m, s.d), func(b *testing.B) {
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for i := 0; i < b.N; i++ {
				Attention(&h, 1)
			}
			b.ReportMetric(float64(threadCPUNanos()-cpu0)/1e3/float64(b.N), "cpu-µs")
		})
		b.Run(fmt.Sprintf("steps/%dx%d", s.m, s.d), func(b *testing.B) {
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for i := 0; i < b.N; i++ {
				SgemmScaled(true, s.m, s.m, s.d, 0.125, q, s.d, k, s.d, sc, s.m, 1)
				for j := 0; j < s.m; j++ {
					SoftmaxRowF32(sc[j*s.m:(j+1)*s.m], sc[j*s.m:(j+1)*s.m])
				}
				SgemmScaled(false, s.m, s.d, s.m, 1, sc, s.m, v, s.d, o, s.d, 1)
			}
			b.ReportMetric(float64(threadCPUNanos()-cpu0)/1e3/float64(b.N), "cpu-µs")
		})
	}
}

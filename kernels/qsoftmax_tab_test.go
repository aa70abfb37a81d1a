package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// plainQSoftmaxRow is the simple reference of one row: float64 exponentials
// and sum, then QuantizeLinear (nil for a row whose maximum is not finite).
func plainQSoftmaxRow(s []int8, tab *[256]float32, terms []ScoreTerm, r int, scale float32, zp int32) []int8 {
	n := len(s)
	x := make([]float64, n)
	for j, c := range s {
		v := tab[uint8(c)]
		for _, st := range terms {
			o := int(st.Row[r]) + j
			if st.Keep != nil {
				v = math.Float32frombits(math.Float32bits(v)&st.Keep[o]) + st.Vals[o]
			} else {
				v += st.Vals[o]
			}
		}
		x[j] = float64(v)
	}
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	if math.IsInf(mx, 0) || math.IsNaN(mx) {
		return nil // every score masked: no probabilities to compare with
	}
	sum := 0.0
	for j, v := range x {
		x[j] = math.Exp(v - mx)
		sum += x[j]
	}
	out := make([]int8, n)
	for j, v := range x {
		q := math.RoundToEven(v/sum/float64(scale)) + float64(zp)
		out[j] = int8(math.Max(-128, math.Min(127, q)))
	}
	return out
}

func TestQSoftmaxTabRowsI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 19))
		for _, n := range []int{1, 7, 15, 16, 17, 24, 30, 31, 32, 33, 49, 64, 96, 97, 200} {
			for _, form := range []string{"none", "add", "select", "add+select", "select+add", "three"} {
				for _, fill := range []float32{-1e4, float32(math.Inf(-1)), -math.MaxFloat32} {
					name := fmt.Sprintf("n=%d/%s/fill=%g", n, form, fill)
					m := 1 + rng.IntN(4)
					if rng.IntN(4) == 0 {
						m = 15 + rng.IntN(20) // more rows than one kernel call takes
					}
					r0 := rng.IntN(3)
					rows := r0 + m
					var tab [256]float32
					a := float32(0.01 + rng.Float64()*0.5)
					if rng.IntN(2) == 0 {
						a = -a
					}
					b := float32(rng.NormFloat64())
					for c := range tab {
						tab[c] = a*float32(int8(uint8(c))) + b
					}
					var terms []ScoreTerm
					for _, kind := range map[string][]string{"add": {"a"}, "select": {"s"}, "add+select": {"a", "s"},
						"select+add": {"s", "a"}, "three": {"a", "s", "a"}}[form] {
						st := ScoreTerm{Vals: make([]float32, rows*n+3), Row: make([]int32, rows)}
						for rr := range st.Row {
							st.Row[rr] = int32(rng.IntN(4)) // rows may share or overlap
							if st.Row[rr]+int32(n) > int32(len(st.Vals)) {
								st.Row[rr] = 0
							}
						}
						if kind == "a" {
							for j := range st.Vals {
								st.Vals[j] = float32(rng.NormFloat64())
								if rng.IntN(5) == 0 {
									st.Vals[j] = fill // a mask Add
								}
							}
						} else {
							cond := make([]bool, len(st.Vals))
							for j := range cond {
								cond[j] = rng.IntN(3) > 0
							}
							st.Keep = make([]uint32, len(st.Vals))
							SelectTerm(cond, true, fill, st.Keep, st.Vals)
						}
						terms = append(terms, st)
					}
					s := make([]int8, m*n)
					for j := range s {
						s[j] = int8(rng.IntN(256) - 128)
					}
					scale := float32(1.0/255 + rng.Float64()*0.01)
					zp := int32(rng.IntN(256) - 128)
					if rng.IntN(3) == 0 {
						zp = -128
					}
					got := make([]int8, m*n)
					// scratch for one row (the Go path), one row per call, a
					// few rows per call, and as many as one call takes
					bufLen := []int{n, n + 1, 3*(n+1) + 2, QSoftmaxTabBufLen(m, n)}[rng.IntN(4)]
					QSoftmaxTabRowsI8(got, s, m, n, &tab, terms, r0, make([]float32, bufLen), scale, zp)
					for r := 0; r < m; r++ {
						want := make([]int8, n)
						qsoftmaxTabRowGo(want, s[r*n:(r+1)*n], &tab, terms, r0+r, make([]float32, n), scale, zp)
						require.Equal(t, want, got[r*n:(r+1)*n], "%s (%d rows, buf %d) row %d: not the three steps' codes", name, m, bufLen, r)
						plain := plainQSoftmaxRow(s[r*n:(r+1)*n], &tab, terms, r0+r, scale, zp)
						for j := range plain {
							require.InDelta(t, plain[j], got[r*n+j], 1, "%s row %d col %d: the float64 reference", name, r, j)
						}
					}
				}
			}
		}
	})
}

// TestQSoftmaxTabRowsI8Special: rows whose every score is masked (−Inf: NaN
// probabilities), NaN scores, +Inf, and −0/+0 maxima give the three steps'
// codes too.
func TestQSoftmaxTabRowsI8Special(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		nan, inf := float32(math.NaN()), float32(math.Inf(1))
		negZero := float32(math.Copysign(0, -1))
		for _, n := range []int{16, 19, 40} {
			for i, vals := range [][]float32{{float32(math.Inf(-1))}, {nan}, {inf}, {negZero, 0}, {nan, 1, -3}, {-1e30, 1e-40, -1e-40, 0}} {
				var tab [256]float32
				for c := range tab {
					tab[c] = vals[c%len(vals)]
				}
				s := make([]int8, 2*n)
				for j := range s {
					s[j] = int8(j*37 + i)
				}
				got, want := make([]int8, 2*n), make([]int8, 2*n)
				QSoftmaxTabRowsI8(got, s, 2, n, &tab, nil, 0, make([]float32, QSoftmaxTabBufLen(2, n)), 1.0/255, -128)
				for r := 0; r < 2; r++ {
					qsoftmaxTabRowGo(want[r*n:(r+1)*n], s[r*n:(r+1)*n], &tab, nil, r, make([]float32, n), 1.0/255, -128)
				}
				require.Equal(t, want, got, "n=%d values %v", n, vals)
			}
		}
	})
}

func TestQSoftmaxTabRowsI8Panics(t *testing.T) {
	var tab [256]float32
	require.Panics(t, func() {
		QSoftmaxTabRowsI8(make([]int8, 3), make([]int8, 4), 2, 2, &tab, nil, 0, make([]float32, 2), 1, 0)
	})
	require.Panics(t, func() {
		QSoftmaxTabRowsI8(make([]int8, 4), make([]int8, 4), 2, 2, &tab, nil, 0, make([]float32, 1), 1, 0)
	})
	require.Panics(t, func() {
		QSoftmaxTabRowsI8(make([]int8, 4), make([]int8, 4), 2, 2, &tab, []ScoreTerm{{Vals: make([]float32, 2), Row: []int32{0, 1}}}, 0, make([]float32, 2), 1, 0)
	})
}

func BenchmarkQSoftmaxTabRows(b *testing.B) {
	for _, n := range []int{16, 24, 96} {
		var tab [256]float32
		for c := range tab {
			tab[c] = 0.05 * float32(int8(uint8(c)))
		}
		m := 16
		mask := ScoreTerm{Vals: make([]float32, n), Row: make([]int32, m)}
		for j := n / 2; j < n; j++ {
			mask.Vals[j] = -1e4
		}
		s := make([]int8, m*n)
		for j := range s {
			s[j] = int8(j * 29)
		}
		p, buf := make([]int8, m*n), make([]float32, QSoftmaxTabBufLen(m, n))
		for _, fused := range []bool{true, false} {
			b.Run(fmt.Sprintf("n=%d/fused=%v", n, fused), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if fused {
						QSoftmaxTabRowsI8(p, s, m, n, &tab, []ScoreTerm{mask}, 0, buf, 1.0/255, -128)
						continue
					}
					for r := 0; r < m; r++ {
						qsoftmaxTabRowGo(p[r*n:(r+1)*n], s[r*n:(r+1)*n], &tab, []ScoreTerm{mask}, r, buf[:n], 1.0/255, -128)
					}
				}
			})
		}
	}
}

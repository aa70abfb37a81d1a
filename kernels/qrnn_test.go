package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQGemvDequant checks the int8 matrix-vector product on every dispatch
// path against an integer loop followed by DequantRowI32's Go reference, bit
// for bit: 1-6 rows (the kernel takes 4 at a time), column counts around the
// 16-column panels and the 4/2/1-panel groups, k not a multiple of 4, set
// and add, zero points at both ends of int8; the columns past n of each
// output row must stay untouched.
func TestQGemvDequant(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 11))
		for _, n := range []int{1, 12, 16, 17, 33, 48, 64, 80, 100, 192, 288} {
			for _, k := range []int{1, 5, 12, 48, 64, 97} {
				for _, rows := range []int{1, 2, 3, 4, 5, 6} {
					add := r.IntN(2) == 0
					zp := []int32{-128, -3, 0, 127}[r.IntN(4)]
					w := make([]int8, n*k)
					for i := range w {
						w[i] = int8(r.IntN(255) - 127)
					}
					pw, err := PackQGemv(n, k, w)
					require.NoError(t, err)
					ldq := k + r.IntN(3)
					kq := (k + 3) &^ 3
					q := make([]int8, (rows-1)*ldq+kq)
					for i := range q {
						q[i] = int8(r.IntN(256) - 128)
					}
					ws := make([]float32, n)
					for i := range ws {
						ws[i] = float32(r.Float64()*0.02 + 1e-4)
					}
					s := float32(r.Float64()*0.05 + 1e-3)
					ldd := n + r.IntN(5)
					dst := make([]float32, rows*ldd+3)
					for i := range dst {
						dst[i] = float32(r.NormFloat64())
					}
					want := slices.Clone(dst)
					sum := make([]int32, n)
					for c := 0; c < n; c++ {
						for kk := 0; kk < k; kk++ {
							sum[c] += int32(w[c*k+kk])
						}
					}
					qgemvDequantRef(want, ldd, q, ldq, rows, w, n, k, sum, ws, s, zp, add)
					QGemvDequant(dst, ldd, q, ldq, rows, pw, ws, s, zp, add)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]),
							"n=%d k=%d rows=%d add=%v zp=%d at %d: got %v want %v", n, k, rows, add, zp, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

func TestPackQGemvRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		n, k int
		w    []int8
	}{
		{"empty", 0, 4, nil},
		{"short", 2, 4, make([]int8, 7)},
	} {
		_, err := PackQGemv(c.n, c.k, c.w)
		require.Error(t, err, c.name)
	}
}

// cellInputs returns gate pre-activations for g gates at stride gs (wide
// values, so that the activations saturate on both sides) and a state.
func cellInputs(r *rand.Rand, g, gs, n int) (pre, state []float32) {
	pre = make([]float32, g*gs)
	for i := range pre {
		pre[i] = float32(r.NormFloat64() * 4)
		if r.IntN(10) == 0 {
			pre[i] *= 10
		}
	}
	state = make([]float32, n)
	for i := range state {
		state[i] = float32(r.NormFloat64() * 2)
	}
	return pre, state
}

var cellSizes = []int{1, 7, 8, 9, 15, 16, 17, 31, 48, 64, 96, 100}

func sig64(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }

// TestLSTMCellF32 checks the fused LSTM cell on every dispatch path against
// the unfused cell (lstmCellGo: ActF32 on the gate blocks, then the update,
// as the runtime ran it): within 8e-7 relative (measured up to 3.4e-7; the vector cells' refined
// reciprocal in place of the division; the Go path is that cell), within
// 1e-5 of float64 arithmetic, and nothing written past n.
func TestLSTMCellF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 9))
		worst := 0.0
		defer func() { t.Logf("largest difference from the unfused cell: %.3g", worst) }()
		for _, n := range cellSizes {
			for _, gs := range []int{n, n + 3} {
				pre, c0 := cellInputs(r, 4, gs, n)
				c, h, y := slices.Clone(c0), make([]float32, n+2), make([]float32, n+2)
				h[n], y[n+1] = 7, 9
				LSTMCellF32(slices.Clone(pre), gs, c, h[:n], y[:n])
				cw, hw, yw := slices.Clone(c0), make([]float32, n), make([]float32, n)
				lstmCellGo(slices.Clone(pre), gs, cw, hw, yw)
				for j := 0; j < n; j++ {
					require.InDelta(t, cw[j], c[j], 8e-7*(1+math.Abs(float64(cw[j]))), "n=%d gs=%d c[%d]", n, gs, j)
					require.InDelta(t, hw[j], h[j], 8e-7, "n=%d gs=%d h[%d]", n, gs, j)
					worst = max(worst, math.Abs(float64(hw[j]-h[j])), math.Abs(float64(cw[j]-c[j]))/(1+math.Abs(float64(cw[j]))))
					require.Equal(t, h[j], y[j])
					i, o, f, g := sig64(pre[j]), sig64(pre[gs+j]), sig64(pre[2*gs+j]), math.Tanh(float64(pre[3*gs+j]))
					c64 := f*float64(c0[j]) + i*g
					require.InDelta(t, c64, float64(c[j]), 1e-5*(1+math.Abs(c64)), "n=%d c[%d]", n, j)
					require.InDelta(t, o*math.Tanh(c64), float64(h[j]), 1e-5, "n=%d h[%d]", n, j)
				}
				require.Equal(t, float32(7), h[n])
				require.Equal(t, float32(9), y[n+1])
			}
		}
	})
}

// TestGRUCellF32 is TestLSTMCellF32 for the GRU cell (linear_before_reset),
// with and without a recurrent h-block bias (h within 8e-7 relative of the
// unfused cell).
func TestGRUCellF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 1))
		worst := 0.0
		defer func() { t.Logf("largest difference from the unfused cell: %.3g", worst) }()
		for _, n := range cellSizes {
			for _, gs := range []int{n, n + 5} {
				for _, bias := range []bool{false, true} {
					xg, h0 := cellInputs(r, 3, gs, n)
					hg, _ := cellInputs(r, 3, gs, n)
					rbh := make([]float32, n)
					if bias {
						for j := range rbh {
							rbh[j] = float32(r.NormFloat64())
						}
					}
					h, y := slices.Clone(h0), make([]float32, n+1)
					y[n] = 5
					GRUCellF32(slices.Clone(xg), hg, gs, rbh, h, y[:n])
					hw, yw := slices.Clone(h0), make([]float32, n)
					gruCellGo(slices.Clone(xg), hg, gs, rbh, hw, yw)
					for j := 0; j < n; j++ {
						d := math.Abs(float64(hw[j]-h[j])) / (1 + math.Abs(float64(hw[j])))
						require.Less(t, d, 8e-7, "n=%d gs=%d bias=%v h[%d]: %v, unfused %v", n, gs, bias, j, h[j], hw[j])
						worst = max(worst, d)
						require.Equal(t, h[j], y[j])
						z := sig64(xg[j] + hg[j])
						rr := sig64(xg[gs+j] + hg[gs+j])
						tt := math.Tanh(float64(xg[2*gs+j]) + rr*(float64(hg[2*gs+j])+float64(rbh[j])))
						require.InDelta(t, (1-z)*tt+z*float64(h0[j]), float64(h[j]), 1e-5*(1+math.Abs(float64(h0[j]))), "n=%d h[%d]", n, j)
					}
					require.Equal(t, float32(5), y[n])
				}
			}
		}
	})
}

// TestQRNNSequenceFusedVsUnfused runs int8 LSTM sequences (hidden 12-96,
// batch 1-3, 24 steps) as the runtime's old step did (QGemmInt32Few,
// DequantRowI32 per row, the unfused cell) and as the fused step does
// (QGemvDequant, LSTMCellF32), with the state requantized before every step
// as DynamicQuantizeLinear does. The cells differ by a few ulps, which can
// move a state value across a rounding boundary of the next step's
// quantization, so the sequences are compared within a tolerance: the
// largest difference of h over all steps stays below 1e-3 (h in [-1, 1];
// one code of the state is about 8e-3).
func TestQRNNSequenceFusedVsUnfused(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 5))
	worst := 0.0
	for _, c := range []struct{ hidden, batch int }{{12, 1}, {48, 2}, {64, 2}, {96, 3}} {
		h, b, n := c.hidden, c.batch, 4*c.hidden
		w := make([]int8, n*h)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		ws := make([]float32, n)
		for i := range ws {
			ws[i] = float32(0.5 / 127 / math.Sqrt(float64(h)) * (0.5 + r.Float64()))
		}
		pq, err := PackQGemm(n, h, w, nil, 0)
		require.NoError(t, err)
		pv, err := PackQGemv(n, h, w)
		require.NoError(t, err)
		sum := pv.Sum()
		type state struct{ h, c []float32 }
		run := func(fused bool, xs [][]float32) [][]float32 {
			st := state{make([]float32, b*h), make([]float32, b*h)}
			var out [][]float32
			ldq := (h + 3) &^ 3
			q := make([]int8, b*ldq)
			acc := make([]int32, b*n)
			for _, x := range xs {
				pre := append([]float32(nil), x...)
				lo, hi := MinMaxF32(st.h)
				lo, hi = min(lo, 0), max(hi, 0)
				s := (hi - lo) / 255
				if s > 0 {
					zp := int32(math.RoundToEven(float64(-lo/s))) - 128
					for i := 0; i < b; i++ {
						QuantizeF32(st.h[i*h:(i+1)*h], s, zp, q[i*ldq:])
					}
					if fused {
						QGemvDequant(pre, n, q, ldq, b, pv, ws, s, zp, true)
					} else {
						qq := make([]int8, b*h)
						for i := 0; i < b; i++ {
							copy(qq[i*h:], q[i*ldq:i*ldq+h])
						}
						QGemmInt32Few(b, qq, h, pq, acc, n)
						for i := 0; i < b; i++ {
							DequantRowI32(pre[i*n:(i+1)*n], acc[i*n:(i+1)*n], sum, ws, s, zp, true)
						}
					}
				}
				y := make([]float32, b*h)
				for i := 0; i < b; i++ {
					if fused {
						LSTMCellF32(pre[i*n:(i+1)*n], h, st.c[i*h:(i+1)*h], st.h[i*h:(i+1)*h], y[i*h:(i+1)*h])
					} else {
						lstmCellGo(pre[i*n:(i+1)*n], h, st.c[i*h:(i+1)*h], st.h[i*h:(i+1)*h], y[i*h:(i+1)*h])
					}
				}
				out = append(out, y)
			}
			return out
		}
		xs := make([][]float32, 24)
		for i := range xs {
			xs[i] = make([]float32, b*n)
			for j := range xs[i] {
				xs[i][j] = float32(r.NormFloat64())
			}
		}
		a, f := run(false, xs), run(true, xs)
		for s := range a {
			for j := range a[s] {
				worst = max(worst, math.Abs(float64(a[s][j]-f[s][j])))
			}
		}
	}
	t.Logf("largest difference of h between the fused and unfused steps: %.3g", worst)
	require.Less(t, worst, 1e-3)
}

// qgemvDequantRef is QGemvDequant's reference: each row's int32 products
// summed in a plain loop, then dequantRowGo.
func qgemvDequantRef(want []float32, ldd int, q []int8, ldq, rows int, w []int8, n, k int, sum []int32, ws []float32, s float32, zp int32, add bool) {
	acc := make([]int32, n)
	for i := 0; i < rows; i++ {
		for c := 0; c < n; c++ {
			acc[c] = 0
			for kk := 0; kk < k; kk++ {
				acc[c] += int32(q[i*ldq+kk]) * int32(w[c*k+kk])
			}
		}
		dequantRowGo(want[i*ldd:i*ldd+n], acc, sum, ws, s, zp, add)
	}
}

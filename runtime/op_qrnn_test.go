package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/kernels"
)

// TestQGRUResetFirstStepReference checks one step of the int8 GRU with
// linear_before_reset = 0 (resetFirstStep) against a scalar reference: the
// state quantized with DynamicQuantizeLinear's parameters, the integer
// products with R's z and r rows, the dequantization
// float32(acc − zp·Σw)·(s·w_scale), r = σ(x_r + h_r), r (.) H quantized with
// its own parameters, its integer product with R's h rows added to the h
// block of the projected rows. Bit for bit (the kernels' dequantization is
// this formula on every dispatch path), on hidden sizes that are and are not
// multiples of 4, batches 1-5, a zero state, and the recurrent h block left
// at zero; a quarter of R's weights are -128.
func TestQGRUResetFirstStepReference(t *testing.T) {
	for _, tc := range []struct{ hidden, batch int }{{4, 1}, {10, 2}, {16, 1}, {33, 3}, {12, 5}} {
		for _, zero := range []bool{false, true} {
			t.Run(fmt.Sprintf("h%d b%d zero=%v", tc.hidden, tc.batch, zero), func(t *testing.T) {
				rng := rand.New(rand.NewSource(int64(tc.hidden*10 + tc.batch)))
				hd, batch := tc.hidden, tc.batch
				gh := 3 * hd
				r := make([]int8, gh*hd)
				for i := range r {
					r[i] = int8(rng.Intn(255) - 127)
					if rng.Intn(4) == 0 {
						r[i] = -128 // the full int8 range (PackQGemv takes it)
					}
				}
				ws := make([]float32, gh)
				for i := range ws {
					ws[i] = (0.5 + rng.Float32()) / 127
				}
				zr, err := kernels.PackQGemv(2*hd, hd, r[:2*hd*hd])
				require.NoError(t, err)
				hh, err := kernels.PackQGemv(hd, hd, r[2*hd*hd:])
				require.NoError(t, err)
				p := &dynLSTMProj{hidden: hd, rSplit: []qgruResetR{{zr: zr, hh: hh, zrScale: ws[:2*hd], hScale: ws[2*hd:]}}}
				h := make([]float32, batch*hd)
				if !zero {
					for i := range h {
						h[i] = rng.Float32()*2 - 0.7
					}
				}
				xt := make([]float32, batch*gh)
				for i := range xt {
					xt[i] = rng.Float32()*4 - 2
				}
				hr := make([]float32, batch*gh)
				rh := make([]float32, batch*hd)
				got := append([]float32(nil), xt...)
				p.resetFirstStep(0, h, batch, got, hr, rh, &rnnProjScratch{})

				// The reference.
				quant := func(v []float32) ([]int8, float32, int32) {
					lo, hi := float32(0), float32(0)
					for _, x := range v {
						lo, hi = min(lo, x), max(hi, x)
					}
					s, z := DynamicQuantizeParams(lo, hi)
					q := make([]int8, len(v))
					if s != 0 {
						kernels.QuantizeF32(v, s, int32(z)-128, q)
					}
					return q, s, int32(z) - 128
				}
				product := func(q []int8, s float32, zp int32, rows []int8, sc []float32, b int) []float32 {
					out := make([]float32, len(sc))
					for c := range out {
						var acc, sum int32
						for k := 0; k < hd; k++ {
							acc += int32(q[b*hd+k]) * int32(rows[c*hd+k])
							sum += int32(rows[c*hd+k])
						}
						out[c] = float32(float32(acc-zp*sum) * float32(s*sc[c]))
					}
					return out
				}
				want := append([]float32(nil), xt...)
				wantHR := make([]float32, batch*gh)
				q, s, zp := quant(h)
				rhRef := make([]float32, batch*hd)
				for b := 0; b < batch; b++ {
					if s != 0 {
						copy(wantHR[b*gh:], product(q, s, zp, r[:2*hd*hd], ws[:2*hd], b))
					}
					rr := make([]float32, hd)
					for j := range rr {
						rr[j] = xt[b*gh+hd+j] + wantHR[b*gh+hd+j]
					}
					kernels.ActF32(kernels.ActSigmoid, rr, rr)
					for j := range rr {
						rhRef[b*hd+j] = rr[j] * h[b*hd+j]
					}
				}
				q2, s2, zp2 := quant(rhRef)
				for b := 0; b < batch && s2 != 0; b++ {
					for c, v := range product(q2, s2, zp2, r[2*hd*hd:], ws[2*hd:], b) {
						want[b*gh+2*hd+c] += v
					}
				}
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "projected row value %d: %v vs %v", i, got[i], want[i])
					require.Equal(t, math.Float32bits(wantHR[i]), math.Float32bits(hr[i]), "recurrent value %d: %v vs %v", i, hr[i], wantHR[i])
				}
			})
		}
	}
}

// TestMinMaxRow: the recurrent steps' range fold equals kernels.MinMaxF32
// (up to the sign of a zero, which either may return) on lengths 1-100, with
// NaN, infinities and signed zeros placed at random, so the quantization
// parameters are those of the vector fold.
func TestMinMaxRow(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for n := 1; n <= 100; n++ {
		for trial := 0; trial < 20; trial++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = rng.Float32()*6 - 3
			}
			if trial%3 == 0 {
				x[rng.Intn(n)] = special[rng.Intn(len(special))]
			}
			lo, hi := minMaxRow(x)
			wl, wh := kernels.MinMaxF32(x)
			if wl != wl {
				require.True(t, lo != lo && hi != hi, "n %d: NaN gives NaN, got %v %v", n, lo, hi)
				continue
			}
			require.Equal(t, wl, lo, "n %d min", n)
			require.Equal(t, wh, hi, "n %d max", n)
			s, z := dynamicParams(x)
			ws, wz := DynamicQuantizeParams(min(wl, 0), max(wh, 0))
			require.Equal(t, ws, s)
			require.Equal(t, int32(wz)-128, z)
		}
	}
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsPartsVsReference checks SgemmRowsPartsAct against a float64
// reference and, bit for bit, against SgemmRowsAct on each part alone: parts
// of different panel widths (RegNet's 400 = 320 + 48 + 32 columns), few rows
// (one block of row tiles, the chained panels) and many (several blocks:
// the parts one after the other), a one-row tail, gathered last tiles, a
// single row, every epilogue variant, the residual in place, 1-5 threads,
// every dispatch path.
func TestSgemmRowsPartsVsReference(t *testing.T) {
	shapes := []struct {
		m, k   int
		widths []int
	}{
		{49, 40, []int{320, 48, 32}}, {49, 7, []int{64, 48, 32}}, {13, 100, []int{48, 32}}, {1, 30, []int{64, 48}},
		{196, 24, []int{128, 32}}, {5, 9, []int{16, 64}}, {55, 520, []int{64, 16}}, {150, 520, []int{96, 32}}, {7, 33, []int{32}},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(61, 62))
		for _, sh := range shapes {
			for variant := 0; variant < 16; variant++ {
				if sh.k > 100 && variant%5 != 0 {
					continue // the long reductions: four variants (time)
				}
				withBias, withRes, clip, act := rowsVariant(variant)
				m, k := sh.m, sh.k
				n := 0
				for _, w := range sh.widths {
					n += w
				}
				lda := k + r.IntN(5)
				off := make([]int32, k)
				for p := range off {
					off[p] = int32(p)
				}
				size := (m-1)*lda + k
				if variant%3 == 0 {
					size += 6 * lda
				}
				x := randF32(r, size)
				w := randF32(r, k*n)
				var parts []RowsPart
				col := 0
				for _, wd := range sh.widths {
					parts = append(parts, RowsPart{B: PackRowsB(k, wd, w[col:], n), Col: col})
					col += wd
				}
				ldc := n + r.IntN(3)
				c0 := randF32(r, (m-1)*ldc+n)
				var bias, res []float32
				if withBias {
					bias = randF32(r, n)
				}
				if withRes {
					res = randF32(r, len(c0))
				}
				lo, hi := float32(-0.5), float32(3)
				// Each part alone.
				want32 := append([]float32(nil), c0...)
				for _, p := range parts {
					var bp, rp []float32
					if bias != nil {
						bp = bias[p.Col:]
					}
					if res != nil {
						rp = res[p.Col:]
					}
					SgemmRowsAct(p.B, x, lda, off, m, bp, want32[p.Col:], ldc, rp, clip, lo, hi, act, 1)
				}
				want := refRowsAct(x, lda, off, w, m, n, k, bias, res, ldc, clip, lo, hi, act)
				for th := 1; th <= 5; th += 2 {
					name := fmt.Sprintf("%v variant=%d threads=%d", sh, variant, th)
					c := append([]float32(nil), c0...)
					SgemmRowsPartsAct(parts, x, lda, off, m, bias, c, ldc, res, clip, lo, hi, act, th)
					checkClose(t, want, c, m, n, k, ldc, name)
					if !assert.Equal(quietT{}, want32, c) {
						require.Equal(t, want32, c, name+": as each part alone")
					}
					if withRes && ldc == n && k <= rowsKC(rowsWideNR) && k <= rowsKC(sgNR) {
						// The residual as C itself.
						c := append([]float32(nil), res...)
						SgemmRowsPartsAct(parts, x, lda, off, m, bias, c, ldc, c, clip, lo, hi, act, th)
						if !assert.Equal(quietT{}, want32, c) {
							require.Equal(t, want32, c, name+": residual in place")
						}
					}
				}
			}
		}
	})
}

// TestSgemmRowsPanelChains runs SgemmRowsAct on one block of rows (7x7 and
// 14x14 maps) on 1-6 threads, which split the weight panels in chains: every
// thread count gives the bits of one thread, also with more threads than
// panels.
func TestSgemmRowsPanelChains(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, sh := range []struct{ m, k, n int }{{49, 300, 512}, {49, 64, 128}, {196, 160, 160}, {7, 20, 2048}, {49, 600, 1024}, {12, 5, 48}} {
		x := randF32(r, sh.m*sh.k)
		off := make([]int32, sh.k)
		for p := range off {
			off[p] = int32(p)
		}
		pb := PackRowsB(sh.k, sh.n, randF32(r, sh.k*sh.n), sh.n)
		bias := randF32(r, sh.n)
		want := make([]float32, sh.m*sh.n)
		SgemmRowsAct(pb, x, sh.k, off, sh.m, bias, want, sh.n, nil, true, 0, 2, ActSiLU, 1)
		for th := 2; th <= 6; th++ {
			got := make([]float32, sh.m*sh.n)
			SgemmRowsAct(pb, x, sh.k, off, sh.m, bias, got, sh.n, nil, true, 0, 2, ActSiLU, th)
			if !assert.Equal(quietT{}, want, got) {
				require.Equal(t, want, got, "%v threads=%d", sh, th)
			}
		}
	}
}

func TestSgemmRowsPartsRejectsBadParts(t *testing.T) {
	x := make([]float32, 6*8)
	off := []int32{0, 1, 2}
	c := make([]float32, 6*48)
	a, b := PackRowsB(3, 32, make([]float32, 96), 32), PackRowsB(4, 16, make([]float32, 64), 16)
	require.Panics(t, func() {
		SgemmRowsPartsAct([]RowsPart{{a, 0}, {b, 32}}, x, 8, off, 6, nil, c, 48, nil, false, 0, 0, ActNone, 1)
	}, "different K")
	require.Panics(t, func() { SgemmRowsPartsAct([]RowsPart{{a, 32}}, x, 8, off, 6, nil, c, 48, nil, false, 0, 0, ActNone, 1) }, "past ldc")
	require.Panics(t, func() {
		SgemmRowsPartsAct([]RowsPart{{a, 0}}, x, 8, off, 6, make([]float32, 16), c, 48, nil, false, 0, 0, ActNone, 1)
	}, "short bias")
	require.NotPanics(t, func() { SgemmRowsPartsAct([]RowsPart{{a, 16}}, x, 8, off, 6, nil, c, 48, nil, false, 0, 0, ActNone, 1) })
}

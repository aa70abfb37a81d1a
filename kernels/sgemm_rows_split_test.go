package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRowsPanelBlock(t *testing.T) {
	for _, tc := range []struct{ qblocks, panels, threads, want int }{
		{1, 2, 1, 2},   // one thread: never split (a stem's two 16-wide panels)
		{4, 18, 1, 18}, // nor with several row blocks
		{1, 18, 2, 2},  // 7x7 map, 1152 channels: 9 items of 2 panels
		{1, 42, 2, 3},  // 14x14 map, 672 channels in 16-wide panels: 14 items
		{2, 9, 2, 2},   // 2 row blocks of 9 panels: 2 × 5 panel blocks
		{12, 6, 2, 6},  // enough row blocks: panels whole
		{1, 1, 2, 1},
		{1, 5, 4, 1},
	} {
		got := rowsPanelBlock(tc.qblocks, tc.panels, tc.threads)
		if !assert.Equal(quietT{}, tc.want, got) {
			require.Equal(t, tc.want, got, "%+v", tc)
		}
		items := tc.qblocks * ((tc.panels + got - 1) / got)
		if tc.threads > 1 && got > 1 {
			if !assert.GreaterOrEqual(quietT{}, items, rowsItemsPerThread*tc.threads) {
				require.GreaterOrEqual(t, items, rowsItemsPerThread*tc.threads, "%+v", tc)
			}
		}
	}
}

func TestRowsTileBlock(t *testing.T) {
	for _, tc := range []struct {
		name                           string
		tiles, qb, k, n, threads, want int
	}{
		{"one thread keeps the L2 block", 523, 113, 24, 144, 1, 113},
		{"56x56, 24 -> 144: rows split first", 523, 113, 24, 144, 2, 66},
		{"112x112, 16 -> 96", 2091, 682, 16, 96, 2, 262},
		{"enough row blocks already", 523, 40, 24, 144, 2, 40},
		{"7x7, 320 -> 1280: large weights split by panels", 8, 8, 320, 1280, 2, 8},
		{"14x14, 112 -> 672: weights over the L2 budget", 33, 33, 112, 672, 2, 33},
		{"fewer tiles than items", 5, 5, 24, 144, 2, 5},
		{"four threads", 523, 113, 24, 144, 4, 33},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rowsTileBlock(tc.tiles, tc.qb, tc.k, tc.n, tc.threads)
			require.Equal(t, tc.want, got)
			require.LessOrEqual(t, got, max(tc.qb, 1), "never larger than the L2 block")
		})
	}
}

// TestSgemmRowsActWholeRows checks that the activation applied over whole
// contiguous rows (ldc == n, one thread) and per row (a padded ldc, or
// panels split over threads) gives what SgemmRows followed by ActF32 on each
// row gives, bit for bit, for widths of one or several 16- and 64-wide panels
// and rows that are and are not whole vectors.
func TestSgemmRowsActWholeRows(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []struct{ m, n, k int }{{49, 32, 27}, {300, 16, 24}, {196, 144, 96}, {49, 1152, 192}, {61, 24, 40}, {7, 64, 5}, {3136, 144, 24}, {602, 40, 16}} {
		for _, act := range []Act{ActSiLU, ActSigmoid, ActHardSwish, ActTanh, LeakyReluAct(0.1)} {
			for _, th := range []int{1, 2} {
				for _, pad := range []int{0, 16} {
					t.Run(fmt.Sprintf("%dx%dx%d/act %v/%d threads/ldc n+%d", sh.m, sh.n, sh.k, act, th, pad), func(t *testing.T) {
						m, n, k := sh.m, sh.n, sh.k
						x := randF32(r, (m+6)*k)
						off := make([]int32, k)
						for p := range off {
							off[p] = int32(p)
						}
						pb := PackRowsB(k, n, randF32(r, k*n), n)
						bias := randF32(r, n)
						ldc := n + pad
						got, want := make([]float32, m*ldc), make([]float32, m*ldc)
						SgemmRowsAct(pb, x, k, off, m, bias, got, ldc, nil, true, -2, 4, act, th)
						SgemmRows(pb, x, k, off, m, bias, want, ldc, nil, true, -2, 4, th)
						for i := 0; i < m; i++ {
							row := want[i*ldc : i*ldc+n]
							ActF32(act, row, row)
						}
						require.Equal(t, want, got)
					})
				}
			}
		}
	}
}

// BenchmarkSgemmRowsAct times the 1x1 convolution shapes of the squeeze-excite
// networks with and without their SiLU at 1 and 2 threads; the 2-thread rows
// against the 1-thread rows of the same run show how the split scales.
func BenchmarkSgemmRowsAct(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, k, n int }{{3136, 24, 144}, {12544, 16, 96}, {196, 112, 672}, {49, 320, 1280}} {
		pb := PackRowsB(s.k, s.n, randF32(r, s.k*s.n), s.n)
		x := randF32(r, s.m*s.k)
		off := make([]int32, s.k)
		for i := range off {
			off[i] = int32(i)
		}
		c, bias := make([]float32, s.m*s.n), randF32(r, s.n)
		for _, act := range []Act{ActNone, ActSiLU} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/act %d/%d threads", s.m, s.k, s.n, act, th), func(b *testing.B) {
					defer KeepWorkersAwake()()
					for i := 0; i < b.N; i++ {
						SgemmRowsAct(pb, x, s.k, off, s.m, bias, c, s.n, nil, false, 0, 0, act, th)
					}
				})
			}
		}
	}
}

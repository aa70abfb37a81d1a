package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refRowsIdx is the float64 reference of SgemmRowsIdx on the rows' own
// copies: out[i][j] = act(clamp(bias + Σ x·B + res)).
func refRowsIdx(m, n, k int, x []float32, aoff, off []int32, b, bias, res []float32, coff []int32, clip bool, lo, hi float32, act Act) [][]float32 {
	out := make([][]float32, m)
	for i := 0; i < m; i++ {
		out[i] = make([]float32, n)
		for j := 0; j < n; j++ {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for p := 0; p < k; p++ {
				s += float64(x[int(aoff[i])+int(off[p])]) * float64(b[p*n+j])
			}
			if res != nil {
				s += float64(res[int(coff[i])+j])
			}
			v := float32(s)
			if clip {
				v = min(max(v, lo), hi)
			}
			out[i][j] = v
		}
		ActF32(act, out[i], out[i])
	}
	return out
}

// TestSgemmRowsIdxVsReference checks the indexed row tiles against a float64
// reference on every path: row counts that are and are not multiples of six
// (the short last tile repeats its last row), unevenly spaced and repeated A
// rows, C rows in any order, one to four panels, bias, residual (also the
// residual being C itself), clamp and SiLU.
func TestSgemmRowsIdxVsReference(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 16, 1}, {5, 16, 9}, {6, 16, 144}, {7, 32, 37}, {49, 16, 144}, {50, 48, 72}, {197, 64, 288}, {13, 16, 576},
	}
	checkRowsIdx(t, shapes, PackRowsB16)
}

// TestSgemmRowsIdxWidePanels is TestSgemmRowsIdxVsReference on the panels of
// PackRowsB, packed on this CPU (32, 48 and 64 columns wide where it has
// AVX-512: the zmm tiles of those widths) and run on every path, which must
// take them whatever their width (the Go tiles where no assembly kernel
// does).
func TestSgemmRowsIdxWidePanels(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 32, 1}, {5, 32, 27}, {7, 48, 37}, {12, 64, 27}, {49, 96, 144}, {50, 128, 147}, {197, 192, 9}, {13, 144, 300},
		{49, 256, 1152}, // 1.2 MB of weights: the tiles prefetch the next panel
	}
	checkRowsIdx(t, shapes, PackRowsB)
}

// checkRowsIdx runs SgemmRowsIdx on B packed by pack (once per shape,
// before the path is chosen) on every path against refRowsIdx.
func checkRowsIdx(t *testing.T, shapes []struct{ m, n, k int }, pack func(k, n int, b []float32, ldb int) *RowsB) {
	packed := map[[2]int]*RowsB{}
	bs := map[[2]int][]float32{}
	for i, sh := range shapes {
		b := randF32(rand.New(rand.NewPCG(uint64(i), 7)), sh.k*sh.n)
		bs[[2]int{sh.k, sh.n}] = b
		packed[[2]int{sh.k, sh.n}] = pack(sh.k, sh.n, b, sh.n)
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 6))
		for _, sh := range shapes {
			for variant := 0; variant < 16; variant++ {
				withBias, withRes, clip, act := rowsVariant(variant)
				inPlace := withRes && r.IntN(2) == 0
				m, n, k := sh.m, sh.n, sh.k
				t.Run(fmt.Sprintf("%dx%dx%d_v%d_inplace%v", m, n, k, variant, inPlace), func(t *testing.T) {
					off := make([]int32, k)
					maxOff := 0
					for p := range off {
						off[p] = int32(r.IntN(3*k + 5))
						maxOff = max(maxOff, int(off[p]))
					}
					aoff := make([]int32, m)
					for i := range aoff {
						aoff[i] = int32(r.IntN(4 * m))
					}
					if m > 2 {
						aoff[1] = aoff[0] // a repeated A row
					}
					x := randF32(r, 4*m+maxOff)
					// C rows: a permutation of m slots of ldc floats.
					ldc := n + r.IntN(3)*16
					coff := make([]int32, m)
					for i, s := range r.Perm(m) {
						coff[i] = int32(s * ldc)
					}
					b := bs[[2]int{k, n}]
					var bias, res []float32
					if withBias {
						bias = randF32(r, n)
					}
					c := randF32(r, m*ldc)
					if withRes {
						res = randF32(r, m*ldc)
						if inPlace {
							copy(c, res)
							res = append([]float32(nil), c...)
						}
					}
					lo, hi := float32(-0.5), float32(0.75)
					want := refRowsIdx(m, n, k, x, aoff, off, b, bias, res, coff, clip, lo, hi, act)
					if inPlace {
						res = c
					}
					SgemmRowsIdx(packed[[2]int{k, n}], x, aoff, off, bias, c, coff, res, clip, lo, hi, act)
					tol := 1e-5 * math.Sqrt(float64(k))
					for i := 0; i < m; i++ {
						got := c[coff[i] : int(coff[i])+n]
						for j := range got {
							if !assert.InDelta(quietT{}, want[i][j], got[j], tol*(1+math.Abs(float64(want[i][j])))) {
								require.InDelta(t, want[i][j], got[j], tol*(1+math.Abs(float64(want[i][j]))), "row %d col %d", i, j)
							}
						}
					}
				})
			}
		}
	})
}

// TestSgemmRowsIdxRejects checks the argument checks: offsets that do not
// fit, a negative offset, unpadded panels.
func TestSgemmRowsIdxRejects(t *testing.T) {
	b := PackRowsB16(2, 16, make([]float32, 32), 16)
	x, c := make([]float32, 10), make([]float32, 32)
	require.Panics(t, func() { SgemmRowsIdx(b, x, []int32{9}, []int32{0, 1}, nil, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdx(b, x, []int32{0}, []int32{0, -1}, nil, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdx(b, x, []int32{0}, []int32{0, 1}, nil, c, []int32{17}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() {
		SgemmRowsIdx(b, x, []int32{0, 1}, []int32{0, 1}, nil, c, []int32{0}, nil, false, 0, 0, ActNone)
	})
	require.Panics(t, func() { PackRowsB16(2, 20, make([]float32, 40), 20) })
	require.NotPanics(t, func() { SgemmRowsIdx(b, x, []int32{8}, []int32{0, 1}, nil, c, []int32{16}, nil, false, 0, 0, ActNone) })
}

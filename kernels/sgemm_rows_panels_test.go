package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRowsBPanels checks that SgemmRowsAct on column blocks of the packed
// weights writes, bit for bit, the columns SgemmRowsAct on the whole weights
// writes, on its own panels and on their 16-wide repacking (Panels16), (and
// that those agree with a float64 product), for widths that are
// and are not multiples of the panel width, a 7x7 map's 49 rows (the one-row
// tail), with a clamp and with SiLU, on every dispatch path.
func TestRowsBPanels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		for _, sh := range [][3]int{{49, 96, 576}, {196, 40, 240}, {13, 24, 72}, {49, 160, 960}, {49, 112, 672}, {30, 300, 96}} {
			m, k, n := sh[0], sh[1], sh[2]
			ldc := (n + 15) &^ 15
			a, b, bias := randF32(r, m*k+8*k), randF32(r, k*n), randF32(r, n)
			pb := PackRowsB(k, n, b, n)
			off := make([]int32, k)
			for i := range off {
				off[i] = int32(i)
			}
			for _, act := range []Act{ActNone, ActSiLU} {
				whole := make([]float32, m*ldc)
				SgemmRowsAct(pb, a, k, off, m, bias, whole, ldc, nil, true, -3, 3, act, 1)
				for _, b := range []*RowsB{pb, pb.Panels16()} {
					nr := b.PanelWidth()
					for _, bw := range []int{nr, 2 * nr, 3 * nr} {
						for c0 := 0; c0 < n; c0 += bw {
							c1 := min(n, c0+bw)
							cb := (c1 - c0 + 15) &^ 15
							got := make([]float32, m*cb)
							SgemmRowsAct(b.Panels(c0, c1), a, k, off, m, bias[c0:], got, cb, nil, true, -3, 3, act, 1)
							name := fmt.Sprintf("%dx%d→%d, %s, columns [%d, %d) of %d-wide panels", m, k, n, act, c0, c1, nr)
							for q := 0; q < m; q++ {
								if !assert.Equal(quietT{}, whole[q*ldc+c0:q*ldc+c1], got[q*cb:q*cb+c1-c0]) {
									require.Equal(t, whole[q*ldc+c0:q*ldc+c1], got[q*cb:q*cb+c1-c0], "%s row %d", name, q)
								}
							}
						}
					}
				}
				for q := 0; q < m; q++ {
					for j := 0; j < n; j++ {
						var want float64 = float64(bias[j])
						for p := 0; p < k; p++ {
							want += float64(a[q*k+p]) * float64(b[p*n+j])
						}
						want = min(max(want, -3), 3)
						want = refAct(act, want)
						if !assert.InDelta(quietT{}, want, float64(whole[q*ldc+j]), 1e-4*(1+abs64(want))) {
							require.InDelta(t, want, float64(whole[q*ldc+j]), 1e-4*(1+abs64(want)))
						}
					}
				}
			}
		}
	})
	require.Panics(t, func() { PackRowsB(4, 32, make([]float32, 128), 32).Panels(8, 16) })
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

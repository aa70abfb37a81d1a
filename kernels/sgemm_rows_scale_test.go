package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRowsBScaledRows checks the scaled packing against packing the scaled
// matrix, diag(s)·B (the same products: equal bit for bit), for full and
// partial panels of both widths, on every path; and that a wrong scale count
// or a short buffer is refused.
func TestRowsBScaledRows(t *testing.T) {
	shapes := []struct{ k, n int }{{1, 1}, {5, 16}, {9, 24}, {32, 40}, {96, 64}, {17, 128}, {144, 200}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%dx%d", sh.k, sh.n), func(t *testing.T) {
				w, s := randF32(r, sh.k*sh.n), randF32(r, sh.k)
				ws := make([]float32, len(w))
				for i := range ws {
					ws[i] = w[i] * s[i/sh.n]
				}
				pb := PackRowsB(sh.k, sh.n, w, sh.n)
				buf := randF32(r, pb.DataLen()+3)
				got := pb.ScaledRows(s, buf)
				want := PackRowsB(sh.k, sh.n, ws, sh.n)
				require.Equal(t, want.data, got.data)
				require.Equal(t, []int{want.k, want.n, want.nr}, []int{got.k, got.n, got.nr})
				require.Panics(t, func() { pb.ScaledRows(s[1:], buf) })
				require.Panics(t, func() { pb.ScaledRows(s, buf[:pb.DataLen()-1]) })
			})
		}
	})
}

package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScaledRowsThreads checks the panel-split scaling bit for bit against
// ScaledRows (the same products) and against a plain reference (the rows
// of B times the scales, packed), for widths that take 16- and 64-wide
// panels, partial panels, and 1, 2 and 3 threads.
func TestScaledRowsThreads(t *testing.T) {
	for _, tc := range []struct{ k, n int }{{1, 1}, {3, 16}, {24, 40}, {144, 24}, {672, 112}, {192, 1152}, {700, 200}} {
		for _, th := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%dx%d/%d threads", tc.k, tc.n, th), func(t *testing.T) {
				rng := rand.New(rand.NewSource(int64(tc.k*tc.n + th)))
				b := make([]float32, tc.k*tc.n)
				for i := range b {
					b[i] = rng.Float32()*2 - 1
				}
				s := make([]float32, tc.k)
				for i := range s {
					s[i] = rng.Float32() * 3
				}
				pb := PackRowsB(tc.k, tc.n, b, tc.n)
				want := pb.ScaledRows(s, make([]float32, pb.DataLen()))
				got := pb.ScaledRowsThreads(s, make([]float32, pb.DataLen()+7), th)
				require.Equal(t, want.data, got.data)
				require.Equal(t, [3]int{want.k, want.n, want.nr}, [3]int{got.k, got.n, got.nr})
				ref := make([]float32, len(b))
				for r := 0; r < tc.k; r++ {
					for j := 0; j < tc.n; j++ {
						ref[r*tc.n+j] = b[r*tc.n+j] * s[r]
					}
				}
				require.Equal(t, PackRowsB(tc.k, tc.n, ref, tc.n).data, got.data)
			})
		}
	}
	require.Panics(t, func() {
		PackRowsB(4, 16, make([]float32, 64), 16).ScaledRowsThreads(make([]float32, 3), make([]float32, 64), 2)
	})
}

package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackQGemmKN checks the row-by-row packing of a k×n B against
// packQGemm of its transpose (the layout the micro-kernels read), with -128
// values packed as -127 and reported, and the give-up when they are many.
func TestPackQGemmKN(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []struct{ n, k int }{{1, 1}, {5, 3}, {16, 4}, {17, 33}, {49, 32}, {32, 49}, {70, 9}} {
		for _, zp := range []int32{0, -128, 5, 127} {
			b := make([]int8, sh.k*sh.n)
			for i := range b {
				b[i] = int8(r.IntN(255) - 127) // no -128
			}
			want := make(map[[2]int]bool)
			for i := 0; i < 1+len(b)/40; i++ {
				p := r.IntN(len(b))
				b[p] = -128
				want[[2]int{p / sh.n, p % sh.n}] = true
			}
			pw, low := packQGemmKN(sh.n, sh.k, b, zp)
			ref := packQGemm(sh.n, sh.k, func(c, kk int) int8 { return max(b[kk*sh.n+c], -127) }, nil, zp)
			require.NotNil(t, pw, "n=%d k=%d", sh.n, sh.k)
			if !assert.Equal(quietT{}, ref, pw) {
				require.Equal(t, ref, pw, "n=%d k=%d zp=%d", sh.n, sh.k, zp)
			}
			got := make(map[[2]int]bool)
			for e := 0; e < len(low); e += 2 {
				got[[2]int{int(low[e]), int(low[e+1])}] = true
			}
			if !assert.Equal(quietT{}, want, got) {
				require.Equal(t, want, got)
			}
		}
	}
	b := make([]int8, 64)
	for i := range b {
		b[i] = -128
	}
	pw, _ := packQGemmKN(8, 8, b, 0)
	require.Nil(t, pw, "all -128: the plain loop is cheaper")
}

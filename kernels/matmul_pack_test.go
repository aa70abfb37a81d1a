package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackQGemmKN checks the row-by-row packing of a k×n B against
// packQGemm of its transpose (the layout the micro-kernels read): -128
// values packed as they are and recorded in full, from none to all of them.
func TestPackQGemmKN(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []struct{ n, k int }{{1, 1}, {5, 3}, {16, 4}, {17, 33}, {49, 32}, {32, 49}, {70, 9}} {
		for _, zp := range []int32{0, -128, 5, 127} {
			for _, share := range []int{0, 40, 4, 1} { // one B value in share is -128 (0: none)
				b := make([]int8, sh.k*sh.n)
				for i := range b {
					b[i] = int8(r.IntN(255) - 127) // no -128
					if share > 0 && r.IntN(share) == 0 {
						b[i] = -128
					}
				}
				if share > 0 {
					b[r.IntN(len(b))] = -128
				}
				pw := packQGemmKN(sh.n, sh.k, b, zp)
				ref := packQGemm(sh.n, sh.k, func(c, kk int) int8 { return b[kk*sh.n+c] }, nil, zp)
				require.Equal(t, share > 0, pw.full, "n=%d k=%d share=%d", sh.n, sh.k, share)
				if !assert.Equal(quietT{}, ref, pw) {
					require.Equal(t, ref, pw, "n=%d k=%d zp=%d share=%d", sh.n, sh.k, zp, share)
				}
			}
		}
	}
}

package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackQGemmKNNoMin covers the four-rows loop of a B free of -128 (the
// common case of attention operands), with recycled buffers of other sizes
// in between, against the generic packing of the transpose.
func TestPackQGemmKNNoMin(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	bufs := &packKNBufs{}
	for _, sh := range []struct{ n, k int }{{49, 32}, {32, 49}, {1, 1}, {16, 4}, {17, 5}, {197, 64}, {3, 130}, {49, 32}} {
		for _, zp := range []int32{0, -3, 100} {
			b := make([]int8, sh.k*sh.n)
			for i := range b {
				b[i] = int8(r.IntN(255) - 127)
			}
			if len(b) > 2 {
				b[0], b[1] = 127, -127
			}
			pw := packQGemmKNInto(sh.n, sh.k, b, zp, bufs)
			ref := packQGemm(sh.n, sh.k, func(c, kk int) int8 { return b[kk*sh.n+c] }, nil, zp)
			require.False(t, pw.full)
			if !assert.Equal(quietT{}, ref, pw) {
				require.Equal(t, ref, pw, "n=%d k=%d zp=%d", sh.n, sh.k, zp)
			}
		}
	}
}

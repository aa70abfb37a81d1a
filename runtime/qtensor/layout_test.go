package qtensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTransposeBytesChannelsLast checks the NCHW → NHWC fast paths (few and many
// channels, batches, chunk boundaries inside an image) against index arithmetic.
func TestTransposeBytesChannelsLast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][]int{{1, 3, 5, 7}, {2, 3, 67, 71}, {3, 1, 9, 8}, {2, 17, 6, 5}, {1, 15, 70, 70}} {
		n, c, h, w := shape[0], shape[1], shape[2], shape[3]
		src := make([]byte, n*c*h*w)
		for i := range src {
			src[i] = byte(r.IntN(256))
		}
		for _, threads := range []int{1, 2, 3} {
			dst := make([]byte, len(src))
			TransposeBytes(src, shape, []int{0, 2, 3, 1}, dst, 0, threads)
			for b := 0; b < n; b++ {
				for ch := 0; ch < c; ch++ {
					for p := 0; p < h*w; p++ {
						require.Equal(t, src[(b*c+ch)*h*w+p], dst[(b*h*w+p)*c+ch], "%v threads %d", shape, threads)
					}
				}
			}
		}
	}
}

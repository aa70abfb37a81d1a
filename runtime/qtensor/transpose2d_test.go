package qtensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// refTranspose is the plain multi-index transpose: dst[perm-order index] = src[index].
func refTranspose(src []byte, shape, perm []int) []byte {
	r := len(shape)
	out := PermuteShape(shape, perm)
	dst := make([]byte, len(src))
	strides := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	idx := make([]int, r)
	for o := range dst {
		rem := o
		for i := r - 1; i >= 0; i-- {
			idx[i] = rem % out[i]
			rem /= out[i]
		}
		off := 0
		for i := range idx {
			off += idx[i] * strides[perm[i]]
		}
		dst[o] = src[off]
	}
	return dst
}

func TestBlockSwap(t *testing.T) {
	for _, c := range []struct {
		shape, perm       []int
		ok                bool
		batch, rows, cols int
	}{
		{[]int{2, 16, 9, 11}, []int{0, 2, 3, 1}, true, 2, 16, 99},
		{[]int{1, 9, 10, 24}, []int{0, 3, 1, 2}, true, 1, 90, 24},
		{[]int{3, 17, 40}, []int{0, 2, 1}, true, 3, 17, 40},
		{[]int{64, 33}, []int{1, 0}, true, 1, 64, 33},
		{[]int{2, 3, 8, 8, 5}, []int{0, 1, 4, 2, 3}, true, 6, 64, 5},
		{[]int{4, 5, 6}, []int{2, 0, 1}, true, 1, 20, 6},
		{[]int{4, 5, 6, 7}, []int{0, 2, 1, 3}, false, 0, 0, 0},
		{[]int{4, 5, 6}, []int{1, 0, 2}, false, 0, 0, 0},
		{[]int{4, 5, 6}, []int{0, 1, 2}, false, 0, 0, 0},
		{[]int{4, 5, 6}, []int{1, 2}, false, 0, 0, 0},
	} {
		b, r, cl, ok := BlockSwap(c.shape, c.perm)
		require.Equal(t, c.ok, ok, "%v %v", c.shape, c.perm)
		if ok {
			require.Equal(t, []int{c.batch, c.rows, c.cols}, []int{b, r, cl}, "%v %v", c.shape, c.perm)
		}
	}
}

// TestTransposeBytesBlocked checks the blocked 8×8 transposes (edges of rows
// and columns that are not multiples of 8, batches, several threads) against
// the plain multi-index transpose.
func TestTransposeBytesBlocked(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ shape, perm []int }{
		{[]int{2, 16, 9, 11}, []int{0, 2, 3, 1}},
		{[]int{1, 32, 80, 80}, []int{0, 2, 3, 1}},
		{[]int{1, 80, 80, 32}, []int{0, 3, 1, 2}},
		{[]int{1, 9, 10, 24}, []int{0, 3, 1, 2}},
		{[]int{3, 17, 40}, []int{0, 2, 1}},
		{[]int{64, 33}, []int{1, 0}},
		{[]int{8, 8}, []int{1, 0}},
		{[]int{2, 3, 8, 8, 5}, []int{0, 1, 4, 2, 3}},
		{[]int{1, 1, 98, 64}, []int{0, 3, 1, 2}},
		{[]int{1, 200, 130}, []int{0, 2, 1}},
	} {
		src := make([]byte, 1)
		n := 1
		for _, d := range c.shape {
			n *= d
		}
		src = make([]byte, n)
		for i := range src {
			src[i] = byte(r.IntN(256))
		}
		want := refTranspose(src, c.shape, c.perm)
		for _, threads := range []int{1, 2, 3} {
			dst := make([]byte, n)
			TransposeBytes(src, c.shape, c.perm, dst, 0, threads)
			require.Equal(t, want, dst, "%v %v threads %d", c.shape, c.perm, threads)
		}
	}
}

func BenchmarkTransposeBytesNCHWToNHWC(b *testing.B) {
	shape := []int{1, 32, 80, 80}
	src := make([]byte, 32*80*80)
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		TransposeBytes(src, shape, []int{0, 2, 3, 1}, dst, 0, 1)
	}
}

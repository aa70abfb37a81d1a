package kernels

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// RowStatsI8 against the plain sums, at lengths around the vector widths.
func TestRowStatsI8(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range []int{0, 1, 15, 16, 17, 100, 1024, 70000} {
		src := make([]int8, n)
		var s, s2 int64
		for i := range src {
			src[i] = int8(rng.Intn(256) - 128)
			s += int64(src[i])
			s2 += int64(src[i]) * int64(src[i])
		}
		gs, gs2 := RowStatsI8(src)
		assert.Equal(t, s, gs, "n=%d", n)
		assert.Equal(t, s2, gs2, "n=%d", n)
	}
}

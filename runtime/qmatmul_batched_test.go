package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBatchedMatMulInt8Threads checks the batched int8 product against a plain
// loop at several thread counts: products shared out whole (many heads),
// split inside (one large product), broadcast batch dimensions and -128 in B
// (the packed path's correction).
func TestBatchedMatMulInt8Threads(t *testing.T) {
	cases := []struct {
		name     string
		as, bs   []int
		aZP, bZP int32
	}{
		{"attention heads", []int{4, 3, 49, 32}, []int{4, 3, 32, 49}, 3, -5},
		{"one large product", []int{1, 70, 64}, []int{1, 64, 90}, 0, 0},
		{"broadcast batch", []int{2, 1, 17, 40}, []int{1, 3, 40, 23}, -128, 7},
		{"small", []int{5, 3, 4}, []int{5, 4, 2}, 1, 2},
	}
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := make([]int8, prod(c.as))
			b := make([]int8, prod(c.bs))
			for i := range a {
				a[i] = int8(rng.Intn(256) - 128)
			}
			for i := range b {
				b[i] = int8(rng.Intn(256) - 128)
			}
			want, wshape := refBatchedMatMulInt8(a, c.as, c.aZP, b, c.bs, c.bZP)
			for _, th := range []int{1, 2, 3, 8} {
				got, shape, err := batchedMatMulInt8(a, c.as, c.aZP, b, c.bs, c.bZP, th)
				require.NoError(t, err)
				require.Equal(t, wshape, shape, "threads %d", th)
				require.Equal(t, want, got, "threads %d", th)
			}
		})
	}
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// refBatchedMatMulInt8 is the product written out index by index, for 3-D or
// 4-D operands of equal rank with numpy broadcasting of the batch dimensions.
func refBatchedMatMulInt8(a []int8, as []int, aZP int32, b []int8, bs []int, bZP int32) ([]int32, []int) {
	r := len(as)
	m, k, n := as[r-2], as[r-1], bs[r-1]
	batch := make([]int, r-2)
	for i := range batch {
		batch[i] = max(as[i], bs[i])
	}
	nb := prod(batch)
	out := make([]int32, nb*m*n)
	for bi := 0; bi < nb; bi++ {
		ao, bo, rem := 0, 0, bi
		sa, sb := 1, 1
		for d := len(batch) - 1; d >= 0; d-- {
			c := rem % batch[d]
			rem /= batch[d]
			if as[d] != 1 {
				ao += c * sa
			}
			if bs[d] != 1 {
				bo += c * sb
			}
			sa *= as[d]
			sb *= bs[d]
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s int32
				for p := 0; p < k; p++ {
					s += (int32(a[ao*m*k+i*k+p]) - aZP) * (int32(b[bo*k*n+p*n+j]) - bZP)
				}
				out[bi*m*n+i*n+j] = s
			}
		}
	}
	return out, append(batch, m, n)
}

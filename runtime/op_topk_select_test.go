package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// refTopK is the definition: a stable sort of each row's indices (better
// first, equal values lower index first), the first k kept.
func refTopK(x []float32, shape []int, axis, k int, largest bool) ([]float32, []int64) {
	outer, n, inner := 1, shape[axis], 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	vals := make([]float32, outer*k*inner)
	idxs := make([]int64, outer*k*inner)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			order := make([]int, n)
			for j := range order {
				order[j] = j
			}
			at := func(j int) float32 { return x[(o*n+j)*inner+in] }
			sort.SliceStable(order, func(p, q int) bool {
				if largest {
					return at(order[p]) > at(order[q])
				}
				return at(order[p]) < at(order[q])
			})
			for j := 0; j < k; j++ {
				vals[(o*k+j)*inner+in] = at(order[j])
				idxs[(o*k+j)*inner+in] = int64(order[j])
			}
		}
	}
	return vals, idxs
}

// TestTopKSelectMatchesSort runs topkTyped (the selection pass for small k,
// the sort otherwise) against the stable sort on rows with many ties (values
// from a few levels), distinct values, ±0, infinities and NaN, every axis,
// k from 0 to n, largest and smallest.
func TestTopKSelectMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		shape  []int
		levels int // 0: continuous values
		nan    bool
	}{
		{[]int{1, 3840}, 0, false},
		{[]int{1, 3840}, 7, false},
		{[]int{2, 100, 3}, 3, false},
		{[]int{4, 65}, 0, true},
		{[]int{3, 5, 40}, 2, false},
		{[]int{1, 200}, 1, false},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			if tc.levels > 0 {
				x[i] = float32(r.IntN(tc.levels)) - 1
			} else {
				x[i] = float32(r.NormFloat64())
			}
		}
		x[0], x[1%n] = float32(math.Inf(1)), float32(math.Copysign(0, -1))
		if tc.nan {
			x[n/2] = float32(math.NaN())
		}
		for axis := range tc.shape {
			d := tc.shape[axis]
			for _, k := range []int{0, 1, 2, 5, 20, d / 8, d/8 + 1, d} {
				if k > d {
					continue
				}
				for _, largest := range []bool{true, false} {
					t.Run(fmt.Sprintf("%v/levels%d/axis%d/k%d/largest%v", tc.shape, tc.levels, axis, k, largest), func(t *testing.T) {
						wv, wi := refTopK(x, tc.shape, axis, k, largest)
						gv, gi := topkTyped(x, tc.shape, axis, k, largest)
						require.Equal(t, wi, gi)
						require.Equal(t, len(wv), len(gv))
						for i := range wv {
							require.True(t, wv[i] == gv[i] || (wv[i] != wv[i] && gv[i] != gv[i]), "value %d", i)
						}
					})
				}
			}
		}
	}
}

package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// topkSortedRef is TopK written out: a stable sort of each line, the first k.
func topkSortedRef[T number](x []T, shape []int, axis, k int, largest bool) ([]T, []int64) {
	outer, n, inner := 1, shape[axis], 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	vals := make([]T, outer*k*inner)
	idxs := make([]int64, outer*k*inner)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			order := make([]int, n)
			for j := range order {
				order[j] = j
			}
			sort.SliceStable(order, func(p, q int) bool {
				a, b := x[base+order[p]*inner], x[base+order[q]*inner]
				if largest {
					return a > b
				}
				return a < b
			})
			for j := 0; j < k; j++ {
				vals[(o*k+j)*inner+in] = x[base+order[j]*inner]
				idxs[(o*k+j)*inner+in] = int64(order[j])
			}
		}
	}
	return vals, idxs
}

// TestTopKMatchesStableSort: TopK (the selection pass, and the sort it falls
// back to) against a stable sort of every line, float32 and int64, with ties,
// NaN, k from 0 to n, lines along inner axes.
func TestTopKMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	type tc struct {
		shape []int
		axis  int
		k     int
		vals  string // "ties": few distinct values; "wide": uniform; "sorted", "reversed"; "nan"
	}
	cases := []tc{
		{[]int{5000}, 0, 100, "wide"},
		{[]int{5000}, 0, 100, "ties"},
		{[]int{5000}, 0, 5000, "ties"},
		{[]int{5000}, 0, 0, "wide"},
		{[]int{5000}, 0, 1, "ties"},
		{[]int{3000}, 0, 50, "sorted"},
		{[]int{3000}, 0, 50, "reversed"},
		{[]int{2000}, 0, 20, "nan"},
		{[]int{3, 700, 4}, 1, 33, "ties"},
		{[]int{3, 700, 4}, 1, 700, "wide"},
		{[]int{2, 3, 90}, 2, 7, "ties"},
		{[]int{1}, 0, 1, "wide"},
		{[]int{17, 1}, 0, 9, "ties"},
	}
	gen := func(n int, kind string) []float32 {
		x := make([]float32, n)
		for i := range x {
			switch kind {
			case "ties":
				x[i] = float32(rng.Intn(7)) - 3
			case "sorted":
				x[i] = float32(i / 3)
			case "reversed":
				x[i] = float32(n - i/3)
			default:
				x[i] = rng.Float32()*2 - 1
			}
		}
		if kind == "nan" {
			x[rng.Intn(n)] = float32(math.NaN())
		}
		return x
	}
	for _, c := range cases {
		for _, largest := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v_axis%d_k%d_%s_largest%v", c.shape, c.axis, c.k, c.vals, largest), func(t *testing.T) {
				n := 1
				for _, d := range c.shape {
					n *= d
				}
				x := gen(n, c.vals)
				wantV, wantI := topkSortedRef(x, c.shape, c.axis, c.k, largest)
				gotV, gotI := topkTyped(x, c.shape, c.axis, c.k, largest)
				require.Equal(t, wantI, gotI)
				require.Equal(t, len(wantV), len(gotV))
				for i := range wantV {
					require.Equal(t, math.Float32bits(wantV[i]), math.Float32bits(gotV[i]), "value %d", i)
				}
				// the integer path: same order on the same values
				xi := make([]int64, n)
				for i, v := range x {
					if v == v {
						xi[i] = int64(v * 1000)
					}
				}
				wantIV, wantII := topkSortedRef(xi, c.shape, c.axis, c.k, largest)
				gotIV, gotII := topkTyped(xi, c.shape, c.axis, c.k, largest)
				require.Equal(t, wantII, gotII)
				require.Equal(t, wantIV, gotIV)
			})
		}
	}
}

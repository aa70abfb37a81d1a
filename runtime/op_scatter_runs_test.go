package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// scatterElementUpdatesRef is ScatterElements' updates one element at a time.
func scatterElementUpdatesRef(xs, is []int, a int, idx []int) []scatterUpdate {
	xst := graph.Strides(xs)
	ups := make([]scatterUpdate, len(idx))
	coord := make([]int, len(xs))
	for i := range idx {
		off := idx[i] * xst[a]
		for k := range coord {
			if k != a {
				off += coord[k] * xst[k]
			}
		}
		ups[i] = scatterUpdate{dst: off, src: i, n: 1}
		for k := len(coord) - 1; k >= 0; k-- {
			coord[k]++
			if coord[k] < is[k] {
				break
			}
			coord[k] = 0
		}
	}
	return ups
}

// TestScatterElementRunsMatchReference applies the merged runs and the
// element-by-element updates to the same data for random shapes, axes and
// indices (torchvision's expanded per-row index, duplicates, indices smaller
// than the data) under every reduction: the outputs are equal bit for bit,
// and an expanded index along axis 0 spanning the other axes becomes one run
// per row.
func TestScatterElementRunsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewSource(29))
	for it := 0; it < 300; it++ {
		r := 1 + rng.Intn(4)
		xs, is := make([]int, r), make([]int, r)
		for k := range xs {
			xs[k] = 1 + rng.Intn(5)
			is[k] = 1 + rng.Intn(xs[k])
		}
		a := rng.Intn(r)
		is[a] = 1 + rng.Intn(6)
		expanded := rng.Intn(2) == 0 // one index per position along axis a, the same along the others
		idx := make([]int, graph.NumElements(is))
		st := graph.Strides(is)
		rowIdx := make([]int, is[a])
		for i := range rowIdx {
			rowIdx[i] = rng.Intn(xs[a])
		}
		for i := range idx {
			if expanded {
				idx[i] = rowIdx[(i/st[a])%is[a]]
			} else {
				idx[i] = rng.Intn(xs[a])
			}
		}
		runs := scatterElementRuns(xs, is, a, idx)
		ref := scatterElementUpdatesRef(xs, is, a, idx)
		name := fmt.Sprintf("data %v indices %v axis %d expanded %v", xs, is, a, expanded)
		full := true // the indices span the data along every axis but a
		for k := range xs {
			full = full && (k == a || is[k] == xs[k])
		}
		if expanded && a == 0 && full {
			require.LessOrEqual(t, len(runs), is[0], name)
		}
		x, upd := randF32(rng, xs...), randF32(rng, is...)
		for _, red := range []string{"none", "add", "mul"} {
			want, err := applyScatter(x, upd, ref, red)
			require.NoError(t, err)
			got, err := applyScatter(x, upd, runs, red)
			require.NoError(t, err)
			require.Equal(t, want.F32(), got.F32(), "%s, reduction %s", name, red)
		}
	}
}

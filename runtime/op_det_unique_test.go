package runtime

import (
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// laplaceDet is the textbook cofactor expansion along the first row.
func laplaceDet(a []float64, m int) float64 {
	if m == 1 {
		return a[0]
	}
	det := 0.0
	sub := make([]float64, (m-1)*(m-1))
	for c := 0; c < m; c++ {
		k := 0
		for i := 1; i < m; i++ {
			for j := 0; j < m; j++ {
				if j != c {
					sub[k] = a[i*m+j]
					k++
				}
			}
		}
		sign := 1.0
		if c%2 == 1 {
			sign = -1
		}
		det += sign * a[c] * laplaceDet(sub, m-1)
	}
	return det
}

// TestDetMatchesCofactorExpansion checks Det against the cofactor expansion on
// batches of random matrices of sizes 1-5, a singular matrix and one that needs
// pivoting (a zero leading entry).
func TestDetMatchesCofactorExpansion(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	cases := []struct {
		name  string
		shape []int
		fill  func(i int) float32
	}{
		{name: "1x1 batch 3", shape: []int{3, 1, 1}},
		{name: "2x2", shape: []int{2, 2}},
		{name: "3x3 batch 2x2", shape: []int{2, 2, 3, 3}},
		{name: "4x4 batch 5", shape: []int{5, 4, 4}},
		{name: "5x5", shape: []int{5, 5}},
		{name: "singular", shape: []int{3, 3}, fill: func(i int) float32 { return float32(i%3 + 1) }},
		{name: "zero pivot", shape: []int{3, 3}, fill: func(i int) float32 { return []float32{0, 2, 1, 3, 0, 4, 1, 1, 0}[i] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, tc.shape)
			for i := range x.F32() {
				if tc.fill != nil {
					x.F32()[i] = tc.fill(i)
				} else {
					x.F32()[i] = float32(rng.NormFloat64())
				}
			}
			out, err := runSingleNode(t, 11, &graph.Node{Name: "det", OpType: "Det", Inputs: []string{"x"}, Outputs: []string{"y"}}, x)
			require.NoError(t, err)
			r := len(tc.shape)
			m := tc.shape[r-1]
			require.Equal(t, tc.shape[:r-2], out[0].Shape)
			v, _ := x.AsFloat64()
			for b := range out[0].F32() {
				want := laplaceDet(v[b*m*m:(b+1)*m*m], m)
				assert.InDelta(t, want, float64(out[0].F32()[b]), 1e-5*math.Max(1, math.Abs(want)), "matrix %d", b)
			}
		})
	}
	_, err := runSingleNode(t, 11, &graph.Node{Name: "det", OpType: "Det", Inputs: []string{"x"}, Outputs: []string{"y"}},
		graph.NewTensor(graph.Float32, []int{2, 3}))
	require.ErrorContains(t, err, "square")
}

// TestUniqueMatchesReference checks Unique's four outputs against a map-based
// reference, sorted and in order of first appearance, on int64 and float32.
func TestUniqueMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for _, tc := range []struct {
		name   string
		x      *graph.Tensor
		sorted int64
	}{
		{"int64 sorted", graph.FromInt64([]int{40}, randInts(rng, 40, -6, 9)), 1},
		{"int64 first appearance", graph.FromInt64([]int{4, 10}, randInts(rng, 40, -6, 9)), 0},
		{"float32 sorted", graph.FromFloat32([]int{2, 9}, randPicks(rng, 18, []float32{0.5, -1.25, 3, 0, -0.0, 2.5})), 1},
		{"float32 first appearance", graph.FromFloat32([]int{11}, randPicks(rng, 11, []float32{7, -2, 7.5})), 0},
		{"one element", graph.FromInt64([]int{1}, []int64{4}), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &graph.Node{Name: "u", OpType: "Unique", Inputs: []string{"x"}, Outputs: []string{"y", "first", "inv", "counts"},
				Attrs: map[string]*graph.Attr{"sorted": graph.IntAttr("sorted", tc.sorted)}}
			out, err := runSingleNode(t, 11, n, tc.x)
			require.NoError(t, err)
			v, _ := tc.x.AsFloat64()
			// Reference: first appearances in order, then sorted by value if asked.
			var vals []float64
			first := map[float64]int{}
			count := map[float64]int64{}
			for i, f := range v {
				if _, ok := first[f]; !ok {
					first[f] = i
					vals = append(vals, f)
				}
				count[f]++
			}
			if tc.sorted != 0 {
				sort.Float64s(vals)
			}
			got, _ := out[0].AsFloat64()
			require.Equal(t, vals, got)
			pos := map[float64]int64{}
			for k, f := range vals {
				pos[f] = int64(k)
				assert.Equal(t, int64(first[f]), out[1].I64()[k], "first index of %g", f)
				assert.Equal(t, count[f], out[3].I64()[k], "count of %g", f)
			}
			require.Len(t, out[2].I64(), len(v))
			for i, f := range v {
				assert.Equal(t, pos[f], out[2].I64()[i], "inverse of element %d", i)
			}
		})
	}
	// Unique slices along an axis: the rows of a matrix, by first appearance.
	x := graph.FromInt64([]int{4, 3}, []int64{1, 2, 3, 0, 0, 1, 1, 2, 3, 0, 0, 0})
	n := &graph.Node{Name: "u_axis", OpType: "Unique", Inputs: []string{"x"}, Outputs: []string{"y", "first", "inv", "counts"},
		Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0), "sorted": graph.IntAttr("sorted", 0)}}
	out, err := runSingleNode(t, 11, n, x)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 3}, out[0].Shape)
	assert.Equal(t, []int64{1, 2, 3, 0, 0, 1, 0, 0, 0}, out[0].I64())
	assert.Equal(t, []int64{0, 1, 3}, out[1].I64())
	assert.Equal(t, []int64{0, 1, 0, 2}, out[2].I64())
	assert.Equal(t, []int64{2, 1, 1}, out[3].I64())
}

func randInts(rng *rand.Rand, n int, lo, hi int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = lo + rng.Int63n(hi-lo)
	}
	return out
}

func randPicks(rng *rand.Rand, n int, from []float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = from[rng.Intn(len(from))]
	}
	return out
}

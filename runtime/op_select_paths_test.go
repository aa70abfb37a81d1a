package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestNonZeroMatchesReference: NonZero's counting and odometer passes against
// the coordinates unravelled one hit at a time, for every element type path
// (bool, float32 with -0 and NaN, int64, float16 bits through the float path)
// and ranks 0-4, empty and all-zero inputs included.
func TestNonZeroMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	shapes := [][]int{{}, {0}, {1}, {37}, {3, 5}, {2, 0, 4}, {2, 3, 4}, {2, 3, 1, 5}}
	ref := func(nz []bool, shape []int) *graph.Tensor {
		var hits []int
		for i, b := range nz {
			if b {
				hits = append(hits, i)
			}
		}
		r := len(shape)
		out := make([]int64, r*len(hits))
		for j, h := range hits {
			for k, c := range unravel(h, shape) {
				out[k*len(hits)+j] = int64(c)
			}
		}
		return graph.FromInt64([]int{r, len(hits)}, out)
	}
	for _, shape := range shapes {
		for _, density := range []float64{0, 0.3, 1} {
			n := graph.NumElements(shape)
			nz := make([]bool, n)
			f := make([]float32, n)
			l := make([]int64, n)
			h := make([]uint16, n)
			for i := range nz {
				nz[i] = rng.Float64() < density
				if nz[i] {
					f[i], l[i] = rng.Float32()+0.5, int64(rng.Intn(9)+1)
					if i%5 == 0 {
						f[i] = float32(math.NaN()) // NaN is not zero
					}
					h[i] = graph.Float32ToFloat16(f[i])
				} else if i%2 == 0 {
					f[i] = float32(math.Copysign(0, -1)) // -0 is zero
					h[i] = 0x8000
				}
			}
			want := ref(nz, shape)
			inputs := map[string]*graph.Tensor{
				"bool":    {DType: graph.Bool, Shape: shape, Data: nz},
				"float32": graph.FromFloat32(shape, f),
				"int64":   graph.FromInt64(shape, l),
				"float16": {DType: graph.Float16, Shape: shape, Data: h},
			}
			for name, x := range inputs {
				t.Run(fmt.Sprintf("%v_%v_%s", shape, density, name), func(t *testing.T) {
					got, err := runSingleNode(t, 13, mk("NonZero", 1, 1), x)
					require.NoError(t, err)
					require.Equal(t, want.Shape, got[0].Shape)
					require.Equal(t, want.Data, got[0].Data)
				})
			}
		}
	}
}

// TestGatherNDAndSplitPaths: GatherND of single elements (one Take) and Split's
// whole-input and one-column pieces against the element-by-element definitions.
func TestGatherNDAndSplitPaths(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	x := make([]float32, 4*6*5)
	for i := range x {
		x[i] = rng.Float32()
	}
	xt := graph.FromFloat32([]int{4, 6, 5}, x)
	t.Run("GatherND single elements", func(t *testing.T) {
		const m = 50
		idx := make([]int64, m*3)
		want := make([]float32, m)
		for j := 0; j < m; j++ {
			a, b, c := rng.Intn(4), rng.Intn(6), rng.Intn(5)
			idx[j*3], idx[j*3+1], idx[j*3+2] = int64(a), int64(b), int64(c)-5 // negative indices too
			want[j] = x[(a*6+b)*5+c]
		}
		got, err := runSingleNode(t, 13, mk("GatherND", 2, 1), xt, graph.FromInt64([]int{m, 3}, idx))
		require.NoError(t, err)
		require.Equal(t, []int{m}, got[0].Shape)
		require.Equal(t, want, got[0].Data)
		idx[7] = 6
		_, err = runSingleNode(t, 13, mk("GatherND", 2, 1), xt, graph.FromInt64([]int{m, 3}, idx))
		require.ErrorContains(t, err, "out of range")
	})
	t.Run("GatherND batch_dims 1, single elements", func(t *testing.T) {
		idx := []int64{5, 4, 0, 0, 3, 1, 2, 2}
		want := []float32{x[0*30+5*5+4], x[1*30+0*5+0], x[2*30+3*5+1], x[3*30+2*5+2]}
		n := mk("GatherND", 2, 1, aInt("batch_dims", 1))
		got, err := runSingleNode(t, 13, n, xt, graph.FromInt64([]int{4, 2}, idx))
		require.NoError(t, err)
		require.Equal(t, want, got[0].Data)
	})
	split := func(axis int, sizes ...int64) ([]*graph.Tensor, error) {
		n := mk("Split", 2, len(sizes), aInt("axis", int64(axis)))
		return runSingleNode(t, 13, n, xt, graph.FromInt64([]int{len(sizes)}, sizes))
	}
	at := func(i, j, k int) float32 { return x[(i*6+j)*5+k] }
	for _, tc := range []struct {
		name  string
		axis  int
		sizes []int64
	}{
		{"whole input", 1, []int64{6}},
		{"one-column pieces", 2, []int64{1, 3, 1}},
		{"rows", 1, []int64{2, 4}},
		{"outer axis", 0, []int64{1, 3}},
	} {
		t.Run("Split "+tc.name, func(t *testing.T) {
			got, err := split(tc.axis, tc.sizes...)
			require.NoError(t, err)
			off := 0
			for p, sz := range tc.sizes {
				shape := []int{4, 6, 5}
				shape[tc.axis] = int(sz)
				var want []float32
				for i := 0; i < shape[0]; i++ {
					for j := 0; j < shape[1]; j++ {
						for k := 0; k < shape[2]; k++ {
							c := [3]int{i, j, k}
							c[tc.axis] += off
							want = append(want, at(c[0], c[1], c[2]))
						}
					}
				}
				require.Equal(t, shape, got[p].Shape, "piece %d", p)
				require.Equal(t, want, got[p].Data, "piece %d", p)
				off += int(sz)
			}
		})
	}
}

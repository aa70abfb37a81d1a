package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// viewOffsets lists the buffer offsets of v's elements in row-major order
// (merged dimensions split over their parts, outermost first).
func viewOffsets(v i8View) []int {
	var sizes, strides []int
	for a := range v.shape {
		sizes, strides = v.parts(a, sizes, strides)
	}
	n := 1
	for _, s := range sizes {
		n *= s
	}
	out := make([]int, 0, n)
	idx := make([]int, len(sizes))
	for e := 0; e < n; e++ {
		o := v.off
		for a, i := range idx {
			o += i * strides[a]
		}
		out = append(out, o)
		for a := len(idx) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < sizes[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out
}

// sliceAxis slices n elements of axis a from start, as sliceView does.
func sliceAxis(v i8View, a, start, n int) (i8View, bool) {
	if start+n > v.shape[a] || v.compAt(a) != nil {
		return v, false
	}
	w := i8View{off: v.off + start*v.strides[a], shape: append([]int(nil), v.shape...), strides: v.strides, comp: v.comp}
	w.shape[a] = n
	return w, true
}

// TestI8ViewReshape: a reshape of a sliced or permuted view keeps the
// row-major order of its elements (what a Reshape step does to the
// materialized tensor), with merged dimensions where the merged ones are
// not one stride apart, and refuses what it cannot express.
func TestI8ViewReshape(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	for it := 0; it < 300; it++ {
		tt, b, e := 1+rng.Intn(5), 1+rng.Intn(3), []int{2, 4, 6, 8}[rng.Intn(4)]
		v := denseI8View([]int{tt, b, 3 * e})
		var ok bool
		v, ok = sliceAxis(v, 2, rng.Intn(3)*e, e)
		require.True(t, ok)
		if rng.Intn(2) == 0 {
			v, ok = v.permute([]int{1, 0, 2})
			require.True(t, ok)
		}
		h := []int{1, 2}[rng.Intn(2)]
		want := viewOffsets(v)
		for _, nd := range [][]int{
			{v.shape[0], v.shape[1] * h, e / h}, // heads from the channels, merged with the batch
			{v.shape[0] * v.shape[1], e},
			{v.shape[0], v.shape[1], h, e / h},
			{v.shape[0] * v.shape[1] * e},
		} {
			name := fmt.Sprintf("%v%v -> %v", v.shape, v.strides, nd)
			w, ok := v.reshape(nd)
			if !ok {
				continue
			}
			require.Equal(t, nd, w.shape, name)
			require.Equal(t, want, viewOffsets(w), name)
			// Back to the original shape.
			u, ok := w.reshape(v.shape)
			require.True(t, ok, name)
			require.Equal(t, want, viewOffsets(u), name)
		}
	}
	// Batch 2 of torch's MultiheadAttention: [T, 2, 3E] sliced to the k
	// part, viewed [T, 2H, d]: batch and heads merge (not one stride).
	v, ok := sliceAxis(denseI8View([]int{5, 2, 24}), 2, 8, 8)
	require.True(t, ok)
	w, ok := v.reshape([]int{5, 8, 2})
	require.True(t, ok)
	require.Equal(t, &i8Comp{sizes: []int{2, 4}, strides: []int{24, 2}}, w.compAt(1))
	p, ok := w.permute([]int{1, 0, 2})
	require.True(t, ok)
	offs, rs, cs, ok := p.matrixOffsets()
	require.True(t, ok)
	require.Equal(t, []int{8, 10, 12, 14, 32, 34, 36, 38}, offs)
	require.Equal(t, []int{48, 1}, []int{rs, cs})
	// A merged dimension splits again along its parts (and across them);
	// it cannot be a matrix dimension.
	for _, nd := range [][]int{{5, 2, 4, 2}, {5, 4, 2, 2}} {
		u, ok := w.reshape(nd)
		require.True(t, ok, "%v", nd)
		require.Equal(t, viewOffsets(w), viewOffsets(u), "%v", nd)
	}
	_, _, _, ok = w.matrixOffsets()
	require.False(t, ok)
}

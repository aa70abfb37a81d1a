package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// The planned broadcasting paths (broadcast_plan.go) against the textbook
// definition (naiveBroadcast, tensorutil_test.go) over random shape pairs of
// ranks 1-5 in which every axis independently is shared, broadcast on the
// left, broadcast on the right, 1 on both or missing from the shorter
// operand: float32 Add/Sub/Mul/Div on the block kernels and the generic row
// path (an int32 operator), at 1 and 2 threads, small and large, with the
// bits compared.

// randBroadcastPair draws two shapes that broadcast together.
func randBroadcastPair(r *rand.Rand, maxDim int) ([]int, []int) {
	rank := 1 + r.IntN(5)
	as, bs := make([]int, rank), make([]int, rank)
	for i := range as {
		d := 2 + r.IntN(maxDim-1)
		switch r.IntN(5) {
		case 0:
			as[i], bs[i] = d, d
		case 1:
			as[i], bs[i] = 1, d
		case 2:
			as[i], bs[i] = d, 1
		case 3:
			as[i], bs[i] = 1, 1
		default:
			as[i], bs[i] = d, d
			if r.IntN(2) == 0 {
				as[i] = 1
			} else {
				bs[i] = 1
			}
		}
	}
	// Drop leading axes of one operand (numpy aligns trailing axes).
	if k := r.IntN(rank + 1); r.IntN(2) == 0 {
		as = as[k:]
	} else {
		bs = bs[k:]
	}
	return as, bs
}

func randF32Slice(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = r.Float32()*4 - 2
	}
	return out
}

func TestBroadcastPlanMatchesReference(t *testing.T) {
	ops := []struct {
		name string
		op   kernels.BinOp
		f    func(x, y float32) float32
	}{
		{"Add", kernels.BinAdd, func(x, y float32) float32 { return x + y }},
		{"Sub", kernels.BinSub, func(x, y float32) float32 { return x - y }},
		{"Mul", kernels.BinMul, func(x, y float32) float32 { return x * y }},
		{"Div", kernels.BinDiv, func(x, y float32) float32 { return x / y }},
	}
	r := rand.New(rand.NewPCG(20, 10))
	for it := 0; it < 600; it++ {
		maxDim := 6
		if it%10 == 0 {
			maxDim = 40 // above parallelMinWork: the threaded split
		}
		as, bs := randBroadcastPair(r, maxDim)
		a, b := randF32Slice(r, graph.NumElements(as)), randF32Slice(r, graph.NumElements(bs))
		o := ops[it%len(ops)]
		want, os := naiveBroadcast(a, as, b, bs, o.f)
		for _, threads := range []int{1, 2} {
			got := make([]float32, len(want))
			require.True(t, broadcastF32(threads, o.op, a, as, b, bs, got, os))
			require.Equal(t, want, got, "%s %v %v threads %d", o.name, as, bs, threads)
			row := arithRow[float32](o.name)
			got2 := make([]float32, len(want))
			binaryBroadcastRows(threads, a, as, b, bs, got2, os, row)
			require.Equal(t, want, got2, "row path %s %v %v threads %d", o.name, as, bs, threads)
		}
	}
}

func TestBroadcastPlanGenericRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 300; it++ {
		maxDim := 5
		if it%10 == 0 {
			maxDim = 40
		}
		as, bs := randBroadcastPair(r, maxDim)
		a, b := make([]int32, graph.NumElements(as)), make([]int32, graph.NumElements(bs))
		for i := range a {
			a[i] = r.Int32N(1000)
		}
		for i := range b {
			b[i] = r.Int32N(1000)
		}
		os, err := graph.BroadcastInts(as, bs)
		require.NoError(t, err)
		// Reference: the float reference on exactly representable values.
		fa, fb := make([]float32, len(a)), make([]float32, len(b))
		for i, v := range a {
			fa[i] = float32(v)
		}
		for i, v := range b {
			fb[i] = float32(v)
		}
		ref, _ := naiveBroadcast(fa, as, fb, bs, func(x, y float32) float32 { return 3*x - y })
		for _, threads := range []int{1, 2} {
			got := make([]int32, len(ref))
			binaryBroadcast(threads, a, as, b, bs, got, os, func(x, y int32) int32 { return 3*x - y })
			for i := range got {
				require.Equal(t, int32(ref[i]), got[i], "%v %v threads %d element %d", as, bs, threads, i)
			}
		}
	}
}

// TestBroadcastPlanCollapse checks the collapsed loop nests of the patterns
// the planner is meant to recognise from the shapes.
func TestBroadcastPlanCollapse(t *testing.T) {
	cases := []struct {
		as, bs        []int
		shape, sa, sb []int
	}{
		{[]int{2, 32, 1}, []int{2, 1, 8}, []int{2, 32, 8}, []int{32, 1, 0}, []int{8, 0, 1}}, // outer product per batch
		{[]int{2, 32, 1}, []int{32, 8}, []int{2, 32, 8}, []int{32, 1, 0}, []int{0, 8, 1}},
		{[]int{256, 1, 56}, []int{1, 200, 56}, []int{256, 200, 56}, []int{56, 0, 1}, []int{0, 56, 1}},
		{[]int{1, 64, 7, 7}, []int{1, 64, 1, 1}, []int{64, 49}, []int{49, 1}, []int{1, 0}}, // squeeze-excite
		{[]int{4, 5, 6}, []int{4, 5, 6}, []int{120}, []int{1}, []int{1}},
		{[]int{4, 5, 6}, []int{6}, []int{20, 6}, []int{6, 1}, []int{0, 1}},
		{[]int{4, 5, 6}, nil, []int{120}, []int{1}, []int{0}},
		{[]int{1, 1}, []int{1}, []int{}, []int{}, []int{}},
	}
	for _, c := range cases {
		os, err := graph.BroadcastInts(c.as, c.bs)
		require.NoError(t, err)
		p, ok := planBroadcast(c.as, c.bs, os)
		require.True(t, ok)
		require.Equal(t, c.shape, p.shape[:p.rank], "%v %v", c.as, c.bs)
		require.Equal(t, c.sa, p.sa[:p.rank], "%v %v", c.as, c.bs)
		require.Equal(t, c.sb, p.sb[:p.rank], "%v %v", c.as, c.bs)
	}
	// Nine alternating axes do not fit: the general path takes them.
	as := []int{2, 1, 2, 1, 2, 1, 2, 1, 2}
	bs := []int{1, 2, 1, 2, 1, 2, 1, 2, 1}
	os, err := graph.BroadcastInts(as, bs)
	require.NoError(t, err)
	_, ok := planBroadcast(as, bs, os)
	require.False(t, ok)
	a, b := iota32(graph.NumElements(as)), iota32(graph.NumElements(bs))
	f := func(x, y float32) float32 { return x - 2*y }
	want, _ := naiveBroadcast(a, as, b, bs, f)
	got := make([]float32, len(want))
	binaryBroadcast(1, a, as, b, bs, got, os, f)
	require.Equal(t, want, got)
}

// TestBroadcastF32NoAllocs: the planned float32 path allocates nothing per
// call at one thread (Mamba's Scan body calls it 48 times a run).
func TestBroadcastF32NoAllocs(t *testing.T) {
	as, bs, os := []int{2, 32, 1}, []int{2, 1, 8}, []int{2, 32, 8}
	a, b, out := iota32(64), iota32(16), make([]float32, 512)
	allocs := testing.AllocsPerRun(50, func() {
		broadcastF32(1, kernels.BinMul, a, as, b, bs, out, os)
	})
	require.Zero(t, allocs)
}

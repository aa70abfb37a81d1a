package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// refBroadcastIndex maps output element o of shape os to the flat index of an
// input of shape s under numpy broadcasting (the simple reference).
func refBroadcastIndex(o int, os, s []int) int {
	idx, stride := 0, 1
	for k := 1; k <= len(os); k++ {
		d := os[len(os)-k] // output extent of axis -k
		c := o % d
		o /= d
		if k <= len(s) {
			if e := s[len(s)-k]; e != 1 {
				idx += c * stride
			}
			stride *= s[len(s)-k]
		}
	}
	return idx
}

// refVariadic is the element-by-element reference of Sum, Mean, Max and Min:
// left-to-right fold in float32, Max/Min propagating a NaN of the left operand
// as numpy's maximum (a NaN on the right gives the right), Mean dividing by
// the input count last.
func refVariadic(op string, in []*graph.Tensor) ([]int, []float32) {
	os := in[0].Shape
	for _, t := range in[1:] {
		var err error
		os, err = graph.BroadcastInts(os, t.Shape)
		if err != nil {
			panic(err)
		}
	}
	out := make([]float32, graph.NumElements(os))
	for o := range out {
		acc := in[0].F32()[refBroadcastIndex(o, os, in[0].Shape)]
		for _, t := range in[1:] {
			v := t.F32()[refBroadcastIndex(o, os, t.Shape)]
			switch op {
			case "Sum", "Mean":
				acc += v
			case "Max":
				if !(acc != acc || acc > v) {
					acc = v
				}
			case "Min":
				if !(acc != acc || acc < v) {
					acc = v
				}
			}
		}
		if op == "Mean" {
			acc /= float32(len(in))
		}
		out[o] = acc
	}
	return os, out
}

// TestVariadicF32ArenaMatchesReference: Sum, Mean, Max and Min of 2-4 float32
// inputs, same-shape and broadcasting, with NaN, ±Inf and ±0 among the values,
// give the reference's bits at 1 and 2 threads, through the kernel the
// executor builds.
func TestVariadicF32ArenaMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	rnd := func(shape ...int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		for i := range x.F32() {
			if r.Intn(10) == 0 {
				x.F32()[i] = special[r.Intn(len(special))]
			} else {
				x.F32()[i] = float32(r.Intn(7) - 3) // ties exercise the comparisons
				if r.Intn(2) == 0 {
					x.F32()[i] = r.Float32()*4 - 2
				}
			}
		}
		return x
	}
	shapes := []struct {
		name string
		in   [][]int
	}{
		{"three same", [][]int{{1, 8, 16, 16}, {1, 8, 16, 16}, {1, 8, 16, 16}}},
		{"two same", [][]int{{3, 5}, {3, 5}}},
		{"scalar left", [][]int{{}, {4, 7}}},
		{"scalar right", [][]int{{4, 7}, {1}}},
		{"channel bias", [][]int{{2, 6, 5, 5}, {6, 1, 1}, {2, 6, 5, 5}}},
		{"both broadcast", [][]int{{3, 1}, {1, 4}, {2, 1, 1}}},
		{"four", [][]int{{9}, {9}, {1}, {9}}},
	}
	for _, op := range []string{"Sum", "Mean", "Max", "Min"} {
		k, err := buildVariadic(&BuildContext{Node: &graph.Node{OpType: op}})
		require.NoError(t, err)
		for _, sc := range shapes {
			in := make([]*graph.Tensor, len(sc.in))
			for i, s := range sc.in {
				in[i] = rnd(s...)
			}
			ws, want := refVariadic(op, in)
			for _, th := range []int{1, 2} {
				ctx := &ExecContext{Threads: th, arena: &runArena{pool: &bufPool{}}}
				got, err := k.Run(ctx, in)
				require.NoError(t, err)
				require.Equal(t, ws, got[0].Shape, "%s %s", op, sc.name)
				for i, w := range want {
					g := got[0].F32()[i]
					require.Equal(t, math.Float32bits(w), math.Float32bits(g), "%s %s threads %d element %d: want %g got %g", op, sc.name, th, i, w, g)
				}
			}
		}
	}
}

// TestNegAbsF32Vector: the float32 Neg and Abs loops give the generic
// closures' bits (±0, NaN, ±Inf included).
func TestNegAbsF32Vector(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{2, 37})
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	r := rand.New(rand.NewSource(3))
	for i := range x.F32() {
		x.F32()[i] = r.Float32()*6 - 3
		if i < len(special) {
			x.F32()[i] = special[i]
		}
	}
	for _, tc := range []struct {
		op  string
		ref func(float32) float32
	}{
		{"Neg", func(v float32) float32 { return -v }},
		{"Abs", func(v float32) float32 {
			if v < 0 {
				return -v
			}
			return v
		}},
	} {
		n := &graph.Node{OpType: tc.op}
		vec := unaryVecF32(n)
		require.NotNil(t, vec, tc.op)
		got, ok := unaryF32Arena(&ExecContext{Threads: 1, arena: &runArena{pool: &bufPool{}}}, n, vec, x)
		require.True(t, ok)
		for i, v := range x.F32() {
			require.Equal(t, math.Float32bits(tc.ref(v)), math.Float32bits(got.F32()[i]), "%s(%g)", tc.op, v)
		}
	}
}

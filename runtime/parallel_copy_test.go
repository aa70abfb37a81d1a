package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// The data-movement and broadcast loops split over the thread pool give the
// one-thread result exactly, on sizes above the parallel thresholds.
func TestParallelDataMovementMatchesSerial(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	rnd := func(shape ...int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		for i := range x.F32() {
			x.F32()[i] = r.Float32()*2 - 1
		}
		return x
	}
	t.Run("transpose", func(t *testing.T) {
		for _, tc := range []struct {
			shape, perm []int
		}{
			{[]int{1, 2, 116, 56, 56}, []int{0, 2, 1, 3, 4}}, // channel shuffle
			{[]int{1, 116, 56, 56}, []int{0, 2, 3, 1}},
			{[]int{2, 64, 3000}, []int{2, 1, 0}},
		} {
			x := rnd(tc.shape...)
			want, err := transposeTensor(1, x, tc.perm)
			require.NoError(t, err)
			for _, th := range []int{2, 3} {
				got, err := transposeTensor(th, x, tc.perm)
				require.NoError(t, err)
				require.Equal(t, want.F32(), got.F32(), "%v %v threads %d", tc.shape, tc.perm, th)
			}
		}
	})
	t.Run("concat", func(t *testing.T) {
		for _, tc := range []struct {
			shapes [][]int
			axis   int
		}{
			{[][]int{{1, 58, 56, 56}, {1, 58, 56, 56}}, 1},
			{[][]int{{1, 24, 96, 96}, {1, 40, 96, 96}, {1, 8, 96, 96}}, 1},
			{[][]int{{3, 7, 500, 20}, {3, 7, 500, 5}}, 3},
			{[][]int{{1, 3}, {1, 300000}}, 1},
		} {
			var in []*graph.Tensor
			for _, s := range tc.shapes {
				in = append(in, rnd(s...))
			}
			k, err := buildConcat(&BuildContext{Node: &graph.Node{OpType: "Concat", Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", int64(tc.axis))}}})
			require.NoError(t, err)
			want, err := k.Run(&ExecContext{Threads: 1}, in)
			require.NoError(t, err)
			got, err := k.Run(&ExecContext{Threads: 2}, in)
			require.NoError(t, err)
			require.Equal(t, want[0].Shape, got[0].Shape)
			require.Equal(t, want[0].F32(), got[0].F32(), "%v", tc.shapes)
			// Against the definition: output row o, input i, element j.
			out, outer, off := want[0].F32(), 1, 0
			for _, d := range tc.shapes[0][:tc.axis] {
				outer *= d
			}
			rowOut := len(out) / outer
			for _, x := range in {
				row := len(x.F32()) / outer
				for o := 0; o < outer; o++ {
					require.Equal(t, x.F32()[o*row:(o+1)*row], out[o*rowOut+off:o*rowOut+off+row])
				}
				off += row
			}
		}
	})
	t.Run("broadcast", func(t *testing.T) {
		for _, tc := range [][2][]int{
			{{1, 96, 28, 28}, {1, 96, 1, 1}},
			{{2, 30, 40, 50}, {1, 30, 1, 50}},
			{{1, 1, 100, 200}, {3, 1, 200}},
		} {
			a, b := rnd(tc[0]...), rnd(tc[1]...)
			os, err := graph.BroadcastInts(a.Shape, b.Shape)
			require.NoError(t, err)
			mul := func(x, y float32) float32 { return x * y }
			want := make([]float32, graph.NumElements(os))
			got := make([]float32, len(want))
			binaryBroadcast(1, a.F32(), a.Shape, b.F32(), b.Shape, want, os, mul)
			binaryBroadcast(2, a.F32(), a.Shape, b.F32(), b.Shape, got, os, mul)
			require.Equal(t, want, got, "%v", tc)
		}
	})
	t.Run("nhwc global pool", func(t *testing.T) {
		for _, c := range []int{40, 96, 1280} {
			for _, isMax := range []bool{false, true} {
				st := pixelStride(c)
				x := rnd(2, 14, 14, st)
				k := &nhwcGlobalPoolKernel{c: c, isMax: isMax}
				want, err := k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{x})
				require.NoError(t, err)
				got, err := k.Run(&ExecContext{Threads: 2}, []*graph.Tensor{x})
				require.NoError(t, err)
				// Ranges of 1024 channels or fewer take the float32-block
				// sums: a few ulp from the float64 sum of a wider range.
				require.InDeltaSlice(t, want[0].F32(), got[0].F32(), 1e-6)
				for img := 0; img < 2; img++ {
					for ch := 0; ch < c; ch++ {
						var s float64
						m := float32(-1e30)
						for p := 0; p < 196; p++ {
							v := x.F32()[(img*196+p)*st+ch]
							s += float64(v)
							m = max(m, v)
						}
						ref := float32(s / 196)
						if isMax {
							ref = m
						}
						require.InDelta(t, ref, want[0].F32()[img*c+ch], 1e-5)
					}
				}
			}
		}
	})
}

// Relu and the broadcasting float32 arithmetic on arena buffers give what the
// generic path gives, at 1 and 2 threads; Sigmoid, HardSwish and Tanh (vector
// kernels) agree with it to float32 rounding.
func TestArenaElementwiseMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	rnd := func(shape ...int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		for i := range x.F32() {
			x.F32()[i] = r.Float32()*2 - 1
		}
		return x
	}
	x := rnd(1, 48, 56, 56)
	for _, th := range []int{1, 2} {
		ctx := &ExecContext{Threads: th, arena: &runArena{pool: &bufPool{}}}
		got, ok := unaryF32Arena(ctx, &graph.Node{OpType: "Relu"}, nil, x)
		require.True(t, ok)
		want, err := applyUnary(&graph.Node{OpType: "Relu"}, 1, x)
		require.NoError(t, err)
		require.Equal(t, want.F32(), got.F32())
		for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
			for _, b := range []*graph.Tensor{rnd(1, 48, 1, 1), rnd(1, 48, 56, 56), rnd(56)} {
				n := &graph.Node{OpType: op}
				got, ok := arithF32Arena(ctx, n, x, b)
				require.True(t, ok)
				want, err := arith(n, 1, x, b)
				require.NoError(t, err)
				require.Equal(t, want.Shape, got.Shape)
				require.Equal(t, want.F32(), got.F32(), "%s %v threads %d", op, b.Shape, th)
			}
		}
	}
	// The vector activations: within float32 rounding of the float64 generic path,
	// and the same bits at 1 and 2 threads (the split does not show).
	one := map[string][]float32{}
	xs := rnd(1, 48, 56, 57)
	for i := range xs.F32() {
		xs.F32()[i] *= 8
	}
	// The twelfth session's (kernels/acts.go), with their attributes.
	withAttr := func(op string, kv ...any) *graph.Node {
		n := &graph.Node{OpType: op, Attrs: map[string]*graph.Attr{}}
		for i := 0; i < len(kv); i += 2 {
			n.Attrs[kv[i].(string)] = &graph.Attr{Type: graph.AttrFloat, F: kv[i+1].(float32)}
		}
		return n
	}
	nodes := map[string]*graph.Node{
		"Softplus": withAttr("Softplus"), "Softsign": withAttr("Softsign"), "Elu": withAttr("Elu", "alpha", float32(0.7)),
		"Celu": withAttr("Celu", "alpha", float32(0.5)), "Selu": withAttr("Selu"),
		"Selu(2,1.5)": withAttr("Selu", "alpha", float32(2), "gamma", float32(1.5)),
		"HardSigmoid": withAttr("HardSigmoid"), "HardSigmoid(1/6,1/2)": withAttr("HardSigmoid", "alpha", float32(1.0/6), "beta", float32(0.5)),
	}
	for _, op := range []string{"Sigmoid", "HardSwish", "Tanh", "Sin", "Cos", "Exp"} {
		nodes[op] = &graph.Node{OpType: op}
	}
	for _, th := range []int{1, 2} {
		ctx := &ExecContext{Threads: th, arena: &runArena{pool: &bufPool{}}}
		for op, n := range nodes {
			got, ok := unaryF32Arena(ctx, n, unaryVecF32(n), xs)
			require.True(t, ok, op)
			want, err := applyUnary(n, 1, xs)
			require.NoError(t, err)
			for i, w := range want.F32() {
				require.InDelta(t, w, got.F32()[i], 1e-6*math.Abs(float64(w))+1e-7, "%s(%g)", op, xs.F32()[i])
			}
			if th == 1 {
				one[op] = got.F32()
			} else {
				require.Equal(t, one[op], got.F32(), "%s: 1 vs 2 threads", op)
			}
		}
	}
	floor := &graph.Node{OpType: "Floor"}
	_, ok := unaryF32Arena(&ExecContext{Threads: 1}, floor, unaryVecF32(floor), x)
	require.False(t, ok)
	// Celu with α ≤ 0 keeps the general formula.
	require.Nil(t, unaryVecF32(withAttr("Celu", "alpha", float32(-1))))
}

// concatCopyF32 against the concatenation written out index by index, on
// random pieces (empty ones included), YOLOv5's Detect pieces of 2, 2 and 81
// floats, and one outer row split into ranges, at 1 to 3 threads.
func TestConcatCopyF32(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	cases := []struct {
		rows  []int
		outer int
	}{
		{[]int{2, 2, 81}, 19200},
		{[]int{1, 0, 3}, 5},
		{[]int{700000, 3}, 1},
		{[]int{0, 0}, 4},
		{[]int{5}, 0},
	}
	for i := 0; i < 20; i++ {
		rows := make([]int, 1+r.Intn(4))
		for j := range rows {
			rows[j] = r.Intn(40)
		}
		cases = append(cases, struct {
			rows  []int
			outer int
		}{rows, 1 + r.Intn(3000)})
	}
	for _, tc := range cases {
		rowOut := 0
		srcs := make([][]float32, len(tc.rows))
		for i, n := range tc.rows {
			rowOut += n
			srcs[i] = make([]float32, n*tc.outer)
			for j := range srcs[i] {
				srcs[i][j] = r.Float32()
			}
		}
		want := make([]float32, 0, rowOut*tc.outer)
		for o := 0; o < tc.outer; o++ {
			for i, n := range tc.rows {
				want = append(want, srcs[i][o*n:(o+1)*n]...)
			}
		}
		for th := 1; th <= 3; th++ {
			got := make([]float32, len(want))
			for j := range got {
				got[j] = float32(math.NaN())
			}
			concatCopyF32(th, got, srcs, tc.rows, tc.outer, rowOut)
			require.Equal(t, want, got, "rows %v outer %d threads %d", tc.rows, tc.outer, th)
		}
	}
}

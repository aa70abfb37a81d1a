package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// reduceRef reduces x over the axes in float64 with the textbook definitions.
func reduceRef(op string, x *graph.Tensor, axes []int, keep bool) *graph.Tensor {
	red := make([]bool, len(x.Shape))
	for _, a := range axes {
		red[a] = true
	}
	var full, outShape []int
	for i, d := range x.Shape {
		if red[i] {
			full = append(full, 1)
			if keep {
				outShape = append(outShape, 1)
			}
		} else {
			full = append(full, d)
			outShape = append(outShape, d)
		}
	}
	groups := make([][]float64, graph.NumElements(full))
	for i, v := range x.F32() {
		idx := unravel(i, x.Shape)
		o := 0
		for a := range idx {
			if !red[a] {
				o = o*full[a] + idx[a]
			} else {
				o = o * full[a]
			}
		}
		groups[o] = append(groups[o], float64(v))
	}
	out := graph.NewTensor(graph.Float32, outShape)
	for o, g := range groups {
		var r float64
		switch op {
		case "ReduceSum", "ReduceMean", "ReduceLogSum":
			for _, v := range g {
				r += v
			}
			if op == "ReduceMean" {
				r /= float64(len(g))
			}
			if op == "ReduceLogSum" {
				r = math.Log(r)
			}
		case "ReduceMax":
			r = math.Inf(-1)
			for _, v := range g {
				r = math.Max(r, v)
			}
		case "ReduceMin":
			r = math.Inf(1)
			for _, v := range g {
				r = math.Min(r, v)
			}
		case "ReduceProd":
			r = 1
			for _, v := range g {
				r *= v
			}
		case "ReduceL1":
			for _, v := range g {
				r += math.Abs(v)
			}
		case "ReduceL2", "ReduceSumSquare":
			for _, v := range g {
				r += v * v
			}
			if op == "ReduceL2" {
				r = math.Sqrt(r)
			}
		case "ReduceLogSumExp":
			for _, v := range g {
				r += math.Exp(v)
			}
			r = math.Log(r)
		}
		out.F32()[o] = float32(r)
	}
	return out
}

func TestReduceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	shapes := []struct {
		shape []int
		axes  []int
	}{
		{[]int{3, 4, 5}, []int{1}},
		{[]int{3, 4, 5}, []int{2}},
		{[]int{3, 4, 5}, []int{0}},
		{[]int{3, 4, 5}, []int{0, 2}}, // not adjacent: transposed first
		{[]int{2, 3, 4, 5}, []int{1, 2}},
		{[]int{2, 3, 4, 5}, []int{0, 1, 3}},
		{[]int{2, 3, 4, 5}, nil}, // all axes
		{[]int{6}, []int{0}},
	}
	for _, op := range graph.ReduceOps {
		for _, sc := range shapes {
			for _, keep := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%v/axes%v/keep=%v", op, sc.shape, sc.axes, keep), func(t *testing.T) {
					x := randF32(r, sc.shape...)
					if op == "ReduceLogSum" || op == "ReduceProd" {
						for i, v := range x.F32() {
							x.F32()[i] = v*0.5 + 1 // positive, near 1
						}
					}
					axes := sc.axes
					if axes == nil {
						for a := range sc.shape {
							axes = append(axes, a)
						}
					}
					n := mk(op, 1, 1, aInt("keepdims", boolInt(keep)))
					ins := []*graph.Tensor{x}
					if op == "ReduceSum" {
						n.Inputs = append(n.Inputs, "x1")
						ins = append(ins, i64([]int{len(sc.axes)}, toI64(sc.axes)...))
					} else if sc.axes != nil {
						n.Attrs["axes"] = aInts("axes", toI64(sc.axes)...)
					}
					got, err := runNodeWith(t, 13, 2, n, nil, ins...)
					require.NoError(t, err)
					require.NoError(t, CompareTensors(got[0], reduceRef(op, x, axes, keep), Tolerance{Rtol: 1e-5, Atol: 1e-6}))
				})
			}
		}
	}
}

func TestReduceOps(t *testing.T) {
	x := i32([]int{2, 3}, 1, -2, 3, 4, 5, -6)
	runNodeCases(t, []nodeCase{
		{name: "int32 sum", node: mk("ReduceSum", 2, 1, aInt("keepdims", 0)), inputs: []*graph.Tensor{x, i64([]int{1}, 1)},
			want: []*graph.Tensor{i32([]int{2}, 2, 3)}},
		{name: "int32 max negative axis", node: mk("ReduceMax", 1, 1, aInts("axes", -2)), inputs: []*graph.Tensor{x},
			want: []*graph.Tensor{i32([]int{1, 3}, 4, 5, 3)}},
		{name: "int32 mean truncates", node: mk("ReduceMean", 1, 1, aInts("axes", 1), aInt("keepdims", 0)), inputs: []*graph.Tensor{x},
			want: []*graph.Tensor{i32([]int{2}, 0, 1)}},
		{name: "int64 prod", node: mk("ReduceProd", 1, 1, aInt("keepdims", 0)), inputs: []*graph.Tensor{i64([]int{3}, 1<<20, 1<<20, 1<<20)},
			want: []*graph.Tensor{i64(nil, 1<<60)}},
		{name: "int32 l1 and sum square", node: mk("ReduceSumSquare", 1, 1, aInts("axes", 0)), inputs: []*graph.Tensor{x},
			want: []*graph.Tensor{i32([]int{1, 3}, 17, 29, 45)}},
		{name: "float64 logsumexp", node: mk("ReduceLogSumExp", 1, 1, aInt("keepdims", 0)),
			inputs: []*graph.Tensor{{DType: graph.Float64, Shape: []int{2}, Data: []float64{1000, 1000}}},
			want:   []*graph.Tensor{{DType: graph.Float64, Shape: []int{}, Data: []float64{1000 + math.Ln2}}}},
		{name: "empty axes reduce all", node: mk("ReduceSum", 2, 1), inputs: []*graph.Tensor{f32([]int{2}, 1, 2), i64([]int{0})},
			want: []*graph.Tensor{f32([]int{1}, 3)}},
		{name: "empty axes noop", node: mk("ReduceSum", 2, 1, aInt("noop_with_empty_axes", 1)), inputs: []*graph.Tensor{f32([]int{2}, 1, 2), i64([]int{0})},
			want: []*graph.Tensor{f32([]int{2}, 1, 2)}},
		{name: "absent axes input", node: mk("ReduceSum", 1, 1, aInt("keepdims", 0)), inputs: []*graph.Tensor{f32([]int{2}, 1, 2)},
			want: []*graph.Tensor{f32(nil, 3)}},
		{name: "sum over empty axis", node: mk("ReduceSum", 2, 1), inputs: []*graph.Tensor{f32([]int{2, 0}), i64([]int{1}, 1)},
			want: []*graph.Tensor{f32([]int{2, 1}, 0, 0)}},
		{name: "float16 mean", node: mk("ReduceMean", 1, 1), inputs: []*graph.Tensor{f16([]int{2}, 1, 2)},
			want: []*graph.Tensor{f16([]int{1}, 1.5)}},
		{name: "opset 11 sum attr", opset: 11, node: mk("ReduceSum", 1, 1, aInts("axes", 0)), inputs: []*graph.Tensor{f32([]int{2}, 1, 2)},
			want: []*graph.Tensor{f32([]int{1}, 3)}},
		{name: "axis out of range", node: mk("ReduceMin", 1, 1, aInts("axes", 2)), inputs: []*graph.Tensor{x}, wantErr: `ReduceMin "n"`},
		{name: "bool input", node: mk("ReduceMax", 1, 1), inputs: []*graph.Tensor{bools([]int{1}, true)}, wantErr: "numeric"},
	})
	// Axes known only at run time are validated by the kernel.
	_, err := runNodeDynamic(t, mk("ReduceSum", 2, 1), f32([]int{2}, 1, 2), i64([]int{1}, 5))
	require.ErrorContains(t, err, `ReduceSum "n": axes: axis 5 is out of range for rank 1`)
	_, err = runNodeDynamic(t, mk("ReduceSum", 2, 1), f32([]int{2}, 1, 2), f32([]int{1}, 0))
	require.ErrorContains(t, err, "axes input is float32, expected int64")
}

// The contiguous-row path (reducing the last axes) keeps the general loop's NaN
// propagation: a NaN anywhere in a row is that row's Max, Min, Sum and Mean.
func TestReduceLastAxisNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, op := range []string{"ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean"} {
		for _, pos := range []int{0, 2, 4} {
			row := []float32{1, -2, 3, 0.5, -1}
			row[pos] = nan
			x := graph.FromFloat32([]int{2, 5}, append(append([]float32(nil), row...), 4, 5, -6, 7, 8))
			n := mk(op, 1, 1, aInt("keepdims", 0))
			ins := []*graph.Tensor{x}
			if op == "ReduceSum" {
				n.Inputs = append(n.Inputs, "x1")
				ins = append(ins, i64([]int{1}, 1))
			} else {
				n.Attrs["axes"] = aInts("axes", 1)
			}
			got, err := runNodeWith(t, 13, 1, n, nil, ins...)
			require.NoError(t, err)
			y := got[0].F32()
			assert.True(t, math.IsNaN(float64(y[0])), "%s with a NaN at %d: %v", op, pos, y[0])
			assert.False(t, math.IsNaN(float64(y[1])), "%s of the row without NaN", op)
		}
	}
}

// TestRowExtremes: the row maxima and minima of reduceRowFloat (the vector
// halving of rowMaxF32 from 64 elements, the four-accumulator loops below)
// against a plain loop, at every length to 300 (odd halves at each step),
// with a NaN at a random place in one row in three.
func TestRowExtremes(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	buf := make([]float32, 150)
	for n := 1; n <= 300; n++ {
		for trial := 0; trial < 3; trial++ {
			row := make([]float32, n)
			for i := range row {
				row[i] = float32(r.NormFloat64() * 100)
			}
			nan := trial == 2
			if nan {
				row[r.Intn(n)] = float32(math.NaN())
			}
			wantMax, wantMin := row[0], row[0]
			for _, v := range row {
				if v > wantMax || v != v || wantMax != wantMax {
					wantMax = max(wantMax, v)
				}
				wantMin = min(wantMin, v)
			}
			got := []float32{rowMax(row), rowMin(row)}
			if n >= rowMaxVecMin {
				got = append(got, rowMaxF32(row, buf))
			}
			for i, g := range got {
				want := wantMax
				if i == 1 {
					want = wantMin
				}
				if nan {
					require.True(t, math.IsNaN(float64(g)), "n %d case %d: %v", n, i, g)
					continue
				}
				require.Equal(t, want, g, "n %d case %d", n, i)
			}
		}
	}
}

package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// runSeqOp builds the kernel of one sequence node and runs it.
func runSeqOp(t *testing.T, op string, attrs map[string]int64, in ...*graph.Tensor) ([]*graph.Tensor, error) {
	t.Helper()
	n := &graph.Node{Name: "n", OpType: op, Attrs: map[string]*graph.Attr{}}
	for k, v := range attrs {
		n.SetAttrInt(k, v)
	}
	info := Lookup("", op)
	require.NotNil(t, info, op)
	k, err := info.Build(&BuildContext{Node: n, Opset: 13, Threads: 1})
	require.NoError(t, err)
	return k.Run(&ExecContext{Threads: 1}, in)
}

func seqIota(shape ...int) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i := range t.F32() {
		t.F32()[i] = float32(i)
	}
	return t
}

func seqI64s(v ...int64) *graph.Tensor { return graph.FromInt64([]int{len(v)}, v) }
func seqI64(v int64) *graph.Tensor     { return graph.FromInt64([]int{}, []int64{v}) }
func seqShapes(s []*graph.Tensor) [][]int {
	out := make([][]int, len(s))
	for i, e := range s {
		out[i] = e.Shape
	}
	return out
}

func TestSplitToSequenceKernel(t *testing.T) {
	x := seqIota(2, 5)
	for _, tc := range []struct {
		name   string
		split  *graph.Tensor
		axis   int64
		keep   int64
		shapes [][]int
		first  []float32
		err    string
	}{
		{"no split, keepdims", nil, 1, 1, [][]int{{2, 1}, {2, 1}, {2, 1}, {2, 1}, {2, 1}}, []float32{0, 5}, ""},
		{"no split, keepdims 0", nil, 1, 0, [][]int{{2}, {2}, {2}, {2}, {2}}, []float32{0, 5}, ""},
		{"no split, axis -2, keepdims 0", nil, -2, 0, [][]int{{5}, {5}}, []float32{0, 1, 2, 3, 4}, ""},
		{"scalar split, last shorter", seqI64(2), 1, 1, [][]int{{2, 2}, {2, 2}, {2, 1}}, []float32{0, 1, 5, 6}, ""},
		{"scalar split ignores keepdims", seqI64(2), 1, 0, [][]int{{2, 2}, {2, 2}, {2, 1}}, []float32{0, 1, 5, 6}, ""},
		{"scalar 1 with keepdims 0 drops the axis (unbind)", seqI64(1), 0, 0, [][]int{{5}, {5}}, []float32{0, 1, 2, 3, 4}, ""},
		{"list split, unequal", seqI64s(1, 4), 1, 1, [][]int{{2, 1}, {2, 4}}, []float32{0, 5}, ""},
		{"list split with a zero", seqI64s(0, 5), 1, 0, [][]int{{2, 0}, {2, 5}}, []float32{}, ""},
		{"list not adding up", seqI64s(1, 2), 1, 1, nil, nil, "add up to 3, the axis has 5"},
		{"negative size", seqI64s(-1, 6), 1, 1, nil, nil, "negative"},
		{"zero scalar", seqI64(0), 1, 1, nil, nil, "must be positive"},
		{"axis out of range", nil, 2, 1, nil, nil, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []*graph.Tensor{x}
			if tc.split != nil {
				in = append(in, tc.split)
			}
			out, err := runSeqOp(t, "SplitToSequence", map[string]int64{"axis": tc.axis, "keepdims": tc.keep}, in...)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			elems, ok := out[0].SeqElems()
			require.True(t, ok)
			assert.Equal(t, tc.shapes, seqShapes(elems))
			assert.Equal(t, tc.first, elems[0].F32())
		})
	}
}

func TestConcatFromSequenceKernel(t *testing.T) {
	a, b := seqIota(2, 1), seqIota(2, 3)
	for _, tc := range []struct {
		name    string
		elems   []*graph.Tensor
		axis    int64
		newAxis int64
		shape   []int
		data    []float32
		err     string
	}{
		{"concat, unequal", []*graph.Tensor{a, b}, 1, 0, []int{2, 4}, []float32{0, 0, 1, 2, 1, 3, 4, 5}, ""},
		{"concat, negative axis", []*graph.Tensor{a, b}, -1, 0, []int{2, 4}, []float32{0, 0, 1, 2, 1, 3, 4, 5}, ""},
		{"stack at 0", []*graph.Tensor{b, b}, 0, 1, []int{2, 2, 3}, append(seqIota(2, 3).F32(), seqIota(2, 3).F32()...), ""},
		{"stack at the end (-1)", []*graph.Tensor{a, a}, -1, 1, []int{2, 1, 2}, []float32{0, 0, 1, 1}, ""},
		{"stack needs equal shapes", []*graph.Tensor{a, b}, 0, 1, nil, nil, "element 1 has shape [2 3]"},
		{"concat needs equal other dims", []*graph.Tensor{a, seqIota(3, 1)}, 1, 0, nil, nil, "element 1 has shape [3 1]"},
		{"empty", nil, 0, 0, nil, nil, "empty sequence"},
		{"axis out of range", []*graph.Tensor{a}, 2, 0, nil, nil, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSeqOp(t, "ConcatFromSequence", map[string]int64{"axis": tc.axis, "new_axis": tc.newAxis},
				graph.NewSequence(graph.Float32, tc.elems))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.shape, out[0].Shape)
			assert.Equal(t, tc.data, out[0].F32())
		})
	}
}

func TestSequencePositions(t *testing.T) {
	s := graph.NewSequence(graph.Float32, []*graph.Tensor{graph.ScalarFloat32(0), graph.ScalarFloat32(1), graph.ScalarFloat32(2)})
	values := func(t *testing.T, seq *graph.Tensor) []float32 {
		e, ok := seq.SeqElems()
		require.True(t, ok)
		var out []float32
		for _, x := range e {
			out = append(out, x.F32()[0])
		}
		return out
	}
	nine := graph.ScalarFloat32(9)
	for _, tc := range []struct {
		name string
		op   string
		in   []*graph.Tensor
		want []float32
		err  string
	}{
		{"insert at the back", "SequenceInsert", []*graph.Tensor{s, nine}, []float32{0, 1, 2, 9}, ""},
		{"insert at 0", "SequenceInsert", []*graph.Tensor{s, nine, seqI64(0)}, []float32{9, 0, 1, 2}, ""},
		{"insert at 3 (after the last)", "SequenceInsert", []*graph.Tensor{s, nine, seqI64(3)}, []float32{0, 1, 2, 9}, ""},
		{"insert at -1", "SequenceInsert", []*graph.Tensor{s, nine, seqI64(-1)}, []float32{0, 1, 9, 2}, ""},
		{"insert at int32 1", "SequenceInsert", []*graph.Tensor{s, nine, graph.FromInt32([]int{}, []int32{1})}, []float32{0, 9, 1, 2}, ""},
		{"insert out of range", "SequenceInsert", []*graph.Tensor{s, nine, seqI64(4)}, nil, "position 4 is out of range"},
		{"insert of another type", "SequenceInsert", []*graph.Tensor{s, seqI64(1)}, nil, "inserts a int64 tensor"},
		{"erase the last", "SequenceErase", []*graph.Tensor{s}, []float32{0, 1}, ""},
		{"erase at -3", "SequenceErase", []*graph.Tensor{s, seqI64(-3)}, []float32{1, 2}, ""},
		{"erase at 3", "SequenceErase", []*graph.Tensor{s, seqI64(3)}, nil, "position 3 is out of range"},
		{"erase from empty", "SequenceErase", []*graph.Tensor{graph.NewSequence(graph.Float32, nil)}, nil, "empty sequence"},
		{"position of two elements", "SequenceErase", []*graph.Tensor{s, seqI64s(0, 1)}, nil, "2 elements, want 1"},
		{"a tensor for the sequence", "SequenceErase", []*graph.Tensor{nine}, nil, "is a tensor, want a sequence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSeqOp(t, tc.op, nil, tc.in...)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, values(t, out[0]))
			assert.Equal(t, []float32{0, 1, 2}, values(t, s), "the input sequence is not changed")
		})
	}
	for _, tc := range []struct {
		pos  int64
		want float32
		err  bool
	}{{0, 0, false}, {2, 2, false}, {-1, 2, false}, {-3, 0, false}, {3, 0, true}, {-4, 0, true}} {
		t.Run(fmt.Sprintf("at %d", tc.pos), func(t *testing.T) {
			out, err := runSeqOp(t, "SequenceAt", nil, s, seqI64(tc.pos))
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, out[0].F32()[0])
		})
	}
	out, err := runSeqOp(t, "SequenceLength", nil, s)
	require.NoError(t, err)
	assert.Equal(t, []int64{3}, out[0].I64())
	out, err = runSeqOp(t, "SequenceConstruct", nil, nine, graph.ScalarFloat32(8))
	require.NoError(t, err)
	assert.Equal(t, []float32{9, 8}, values(t, out[0]))
	_, err = runSeqOp(t, "SequenceConstruct", nil, nine, seqI64(1))
	require.ErrorContains(t, err, "a sequence holds one type")
	out, err = runSeqOp(t, "SequenceEmpty", map[string]int64{"dtype": int64(graph.Int64)})
	require.NoError(t, err)
	assert.Equal(t, graph.Int64, out[0].DType)
	assert.Empty(t, values(t, out[0]))
}

// The elements a sequence holds are its own: an input buffer changed after the
// insert (an arena buffer recycled after its last reader) does not change them.
func TestSequenceInsertCopies(t *testing.T) {
	x := seqIota(3)
	out, err := runSeqOp(t, "SequenceInsert", nil, graph.NewSequence(graph.Float32, nil), x)
	require.NoError(t, err)
	x.F32()[0] = 42
	e, _ := out[0].SeqElems()
	assert.Equal(t, []float32{0, 1, 2}, e[0].F32())
}

// Property: ConcatFromSequence(SplitToSequence(x, sizes, axis), axis) is x, for
// random shapes, axes and split lists (the reference: the identity).
func TestSplitConcatRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for it := 0; it < 60; it++ {
		rank := 1 + rng.Intn(4)
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = 1 + rng.Intn(5)
		}
		axis := rng.Intn(rank)
		var sizes []int64
		for left := shape[axis]; left > 0; {
			k := 1 + rng.Intn(left)
			sizes = append(sizes, int64(k))
			left -= k
		}
		x := seqIota(shape...)
		s, err := runSeqOp(t, "SplitToSequence", map[string]int64{"axis": int64(axis)}, x, seqI64s(sizes...))
		require.NoError(t, err)
		y, err := runSeqOp(t, "ConcatFromSequence", map[string]int64{"axis": int64(axis - rank)}, s[0])
		require.NoError(t, err)
		require.Equal(t, x.Shape, y[0].Shape, "shape %v axis %d sizes %v", shape, axis, sizes)
		require.Equal(t, x.F32(), y[0].F32(), "shape %v axis %d sizes %v", shape, axis, sizes)
		// Stacking the keepdims=0 unit chunks along the same axis is x too.
		u, err := runSeqOp(t, "SplitToSequence", map[string]int64{"axis": int64(axis), "keepdims": 0}, x)
		require.NoError(t, err)
		z, err := runSeqOp(t, "ConcatFromSequence", map[string]int64{"axis": int64(axis), "new_axis": 1}, u[0])
		require.NoError(t, err)
		require.Equal(t, x.F32(), z[0].F32(), "stack: shape %v axis %d", shape, axis)
	}
}

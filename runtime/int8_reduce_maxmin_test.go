package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8ReduceMaxMin is TextCNN's max over time as the quantizer writes it:
// DQ → ReduceMax / ReduceMin → Q, after a channels-last convolution and on a
// plain tensor, with and without keepdims and with the output's own
// parameters. The reduction runs on the int8 codes (nothing in float32) and
// gives the float executor's result on the same QDQ file exactly.
func TestInt8ReduceMaxMin(t *testing.T) {
	for _, op := range []string{"ReduceMax", "ReduceMin"} {
		for _, afterConv := range []bool{false, true} {
			for _, keep := range []int64{0, 1} {
				b := newMB(11)
				x := b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 8}, graph.Dim{Size: 5}, graph.Dim{Size: 7})
				f32 := func(v float32) string { return b.Init("s", graph.FromFloat32(nil, []float32{v})) }
				i8 := func(v int8) string { return b.Init("z", graph.FromInt8(nil, []int8{v})) }
				xs, xz := f32(0.05), i8(3)
				h := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{x, xs, xz}), xs, xz})
				if afterConv {
					ws := f32(0.01)
					w := make([]int8, 8*8*3*3)
					r := rand.New(rand.NewSource(5))
					for i := range w {
						w[i] = int8(r.Intn(255) - 127)
					}
					wd := b.Node("DequantizeLinear", []string{b.Init("w", graph.FromInt8([]int{8, 8, 3, 3}, w)), ws, i8(0)})
					c := b.Node("Conv", []string{h, wd}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
					cs, cz := f32(0.2), i8(-4)
					h = b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{c, cs, cz}), cs, cz})
				}
				red := b.Node(op, []string{h}, graph.IntsAttr("axes", []int{2, 3}), graph.IntAttr("keepdims", keep))
				ys, yz := f32(0.07), i8(1)
				y := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{red, ys, yz}), ys, yz})
				b.Output(y)
				qm := b.Model()
				var warns []string
				s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
				require.NoError(t, err)
				assert.Empty(t, warns)
				for _, p := range s.Placement {
					assert.True(t, p.Int8 || p.Shape, "%s %s runs in float32", p.OpType, p.Node)
				}
				ref, err := NewSession(qm, WithMode(ModeFloat))
				require.NoError(t, err)
				in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{2, 8, 5, 7}, -6, 6)}
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				require.Equal(t, want[y].Shape, got[y].Shape)
				frac, mx := outputSteps(t, got[y], want[y], 0.07)
				assert.Equal(t, 1.0, frac, "%s afterConv=%v keepdims=%d", op, afterConv, keep)
				assert.Equal(t, 0.0, mx, "%s afterConv=%v keepdims=%d: not exact", op, afterConv, keep)
			}
		}
	}
}

// PointNet's global max over points with a symbolic point count ([N, C, P],
// reduced over P; pointnet_op13 of --unseen12 ran its three ReduceMax in
// float32 before: "its input shape [?,256,1,?] may be empty"): lowered to the
// int8 codes and exact against the float executor on the same QDQ file at two
// point counts. With no points at all, the int8 result is the lowest code, as
// QuantizeLinear gives -inf (input and output share their parameters here, so
// the requantization keeps it).
func TestInt8ReduceMaxSymbolicAxis(t *testing.T) {
	for _, op := range []string{"ReduceMax", "ReduceMin"} {
		b := newMB(12)
		x := b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 6}, graph.Dim{Size: -1, Param: "P"})
		f32 := func(v float32) string { return b.Init("s", graph.FromFloat32(nil, []float32{v})) }
		i8 := func(v int8) string { return b.Init("z", graph.FromInt8(nil, []int8{v})) }
		xs, xz := f32(0.05), i8(3)
		h := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{x, xs, xz}), xs, xz})
		red := b.Node(op, []string{h}, graph.IntsAttr("axes", []int{2}), graph.IntAttr("keepdims", 1))
		y := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{red, xs, xz}), xs, xz})
		b.Output(y)
		qm := b.Model()
		var warns []string
		s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
		require.NoError(t, err)
		assert.Empty(t, warns, op)
		for _, p := range s.Placement {
			assert.True(t, p.Int8 || p.Shape, "%s %s runs in float32", p.OpType, p.Node)
		}
		ref, err := NewSession(qm, WithMode(ModeFloat))
		require.NoError(t, err)
		for _, pts := range []int{7, 33, 0} {
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(int64(pts))), []int{2, 6, pts}, -6, 6)}
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			require.Equal(t, want[y].Shape, got[y].Shape)
			assert.Equal(t, want[y].F32(), got[y].F32(), "%s over %d points", op, pts)
		}
	}
}

// An integer ReduceMax (ReduceMin) over an empty axis is the type's minimum
// (maximum), as ONNX defines it for types without infinities (it was 0).
func TestReduceIntEmptyAxis(t *testing.T) {
	for _, tc := range []struct {
		op   string
		x    *graph.Tensor
		want any
	}{
		{"ReduceMax", graph.FromInt8([]int{2, 0}, []int8{}), []int8{-128, -128}},
		{"ReduceMin", graph.FromInt8([]int{2, 0}, []int8{}), []int8{127, 127}},
		{"ReduceMax", graph.FromInt64([]int{1, 0}, []int64{}), []int64{math.MinInt64}},
		{"ReduceMin", graph.FromInt32([]int{3, 0}, []int32{}), []int32{math.MaxInt32, math.MaxInt32, math.MaxInt32}},
		{"ReduceMin", graph.NewTensor(graph.Uint8, []int{1, 0}), []uint8{255}},
		{"ReduceMax", graph.NewTensor(graph.Uint8, []int{1, 0}), []uint8{0}},
	} {
		n := &graph.Node{Name: "r", OpType: tc.op, Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: map[string]*graph.Attr{"axes": graph.IntsAttr("axes", []int{1}), "keepdims": graph.IntAttr("keepdims", 0)}}
		k, err := buildReduce(&BuildContext{Node: n, Opset: 13})
		require.NoError(t, err)
		out, err := k.Run(nil, []*graph.Tensor{tc.x})
		require.NoError(t, err)
		assert.Equal(t, tc.want, out[0].Data, "%s of %s", tc.op, tc.x.DType)
	}
}

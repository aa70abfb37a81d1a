package runtime

import (
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

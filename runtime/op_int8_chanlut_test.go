package runtime

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestChanLUTKernel: each element goes through its channel's table, on NCHW
// planes (axis 1) and channels-last pixels (the last axis), at 1 and 2
// threads.
func TestChanLUTKernel(t *testing.T) {
	rng := rand.New(rand.NewSource(41))
	for _, tc := range []struct {
		shape []int
		axis  int
	}{{[]int{2, 5, 7, 9}, 1}, {[]int{1, 9, 70, 3}, 3}, {[]int{1, 128, 64, 64}, 1}, {[]int{1, 56, 56, 64}, 3}, {[]int{3, 6}, 1}} {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v axis %d/%d threads", tc.shape, tc.axis, th), func(t *testing.T) {
				c := tc.shape[tc.axis]
				tbl := make([]int8, c*256)
				for i := range tbl {
					tbl[i] = int8(rng.Intn(256) - 128)
				}
				x := make([]int8, graph.NumElements(tc.shape))
				for i := range x {
					x[i] = int8(rng.Intn(256) - 128)
				}
				b := &BuildContext{Node: &graph.Node{Name: "p", OpType: "QChanLUT", Domain: Int8Domain, Inputs: []string{"x", "t"},
					Attrs: map[string]*graph.Attr{"axis": {Name: "axis", Type: graph.AttrInt, I: int64(tc.axis)}}},
					Consts: []*graph.Tensor{nil, graph.FromInt8([]int{c, 256}, tbl)}}
				k, err := buildChanLUT(b)
				require.NoError(t, err)
				y, err := k.Run(&ExecContext{Threads: th}, []*graph.Tensor{graph.FromInt8(tc.shape, x)})
				require.NoError(t, err)
				inner := graph.NumElements(tc.shape[tc.axis+1:])
				got := y[0].Data.([]int8)
				for i, v := range x {
					ch := i / inner % c
					require.Equal(t, tbl[ch*256+int(uint8(v))], got[i], "element %d", i)
				}
				_, err = k.Run(&ExecContext{Threads: th}, []*graph.Tensor{graph.FromInt8([]int{1, c + 1}, make([]int8, c+1))})
				require.Error(t, err)
			})
		}
	}
}

// TestInt8PReluPerChannel: a QDQ net with per-channel PRelus after its
// convolutions ([C,1,1] and [1,C,1,1] slopes, as torch.onnx writes
// nn.PReLU(C)) runs int8 throughout: the PRelus become QChanLUT, nothing
// falls back to float32, and the outputs agree with the QDQ graph run in
// float32.
func TestInt8PReluPerChannel(t *testing.T) {
	b := newMB(42)
	x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 12}, graph.Dim{Size: 12})
	y := b.Node("PRelu", []string{b.conv(x, 3, 16, 3, 1, 1, 1, true), b.RandInit("s", []int{16, 1, 1}, 0.5)})
	y = b.Node("PRelu", []string{b.conv(y, 16, 16, 3, 1, 1, 16, true), b.RandInit("s", []int{1, 16, 1, 1}, 0.5)})
	b.Output(b.conv(y, 16, 8, 1, 1, 0, 1, true))
	fm := b.Model()
	rng := rand.New(rand.NewSource(43))
	qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{8, 3, 12, 12}, -1, 1)}, qdqOptions{})
	var warns []string
	s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Empty(t, warns)
	ops := map[string]int{}
	for _, n := range s.Model().Graph.Nodes {
		ops[n.OpType]++
	}
	assert.Equal(t, 2, ops["QChanLUT"], "%v", ops)
	assert.Zero(t, ops["PRelu"], "%v", ops)
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 3, 12, 12}, -1, 1)}
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	out := fm.Graph.Outputs[0].Name
	frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
	t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
	assert.GreaterOrEqual(t, frac, 0.98)
	assert.LessOrEqual(t, mx, 4.0)
}

// TestInt8ChanConstGroups: elementwise groups between a DequantizeLinear and
// a QuantizeLinear whose float constants have one value per channel (an input
// normalisation's division by std [1,3,1,1], an unfolded BatchNorm's Mul and
// Add with the intermediate left in float32, an Add of a constant along the
// last axis) become QChanLUT, on NCHW and on the int8 executor's
// channels-last tensors, and agree with the QDQ graph run in float32.
// Constants along two different axes in one group cannot be one table per
// channel: that group stays on float32 and still agrees.
func TestInt8ChanConstGroups(t *testing.T) {
	pos := func(b *mb, shape []int) string {
		d := make([]float32, graph.NumElements(shape))
		for i := range d {
			d[i] = 0.2 + 0.15*float32(i)
		}
		return b.Init("std", graph.FromFloat32(shape, d))
	}
	for _, tc := range []struct {
		name  string
		build func(b *mb, x string) (string, map[string]bool)
		luts  int
		float []string // operators left in float32
	}{
		{"div-mul-add-addW", func(b *mb, x string) (string, map[string]bool) {
			y := b.Node("Div", []string{x, pos(b, []int{1, 3, 1, 1})})
			y = b.conv(y, 3, 16, 3, 1, 1, 1, true)
			m := b.Node("Mul", []string{y, b.RandInit("s", []int{16, 1, 1}, 1)})
			y = b.Node("Add", []string{m, b.RandInit("a", []int{1, 16, 1, 1}, 0.5)})
			y = b.Node("Relu", []string{y})
			y = b.Node("Add", []string{y, b.RandInit("w", []int{12}, 0.5)})
			return b.conv(y, 16, 8, 1, 1, 0, 1, true), map[string]bool{m: true}
		}, 3, nil},
		{"two-axes", func(b *mb, x string) (string, map[string]bool) {
			y := b.conv(x, 3, 8, 3, 1, 1, 1, true)
			m := b.Node("Mul", []string{y, b.RandInit("s", []int{8, 1, 1}, 1)})
			y = b.Node("Add", []string{m, b.RandInit("w", []int{12}, 0.5)})
			return b.conv(y, 8, 4, 1, 1, 0, 1, true), map[string]bool{m: true}
		}, 0, []string{"Mul", "Add"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(44)
			x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 12}, graph.Dim{Size: 12})
			y, float := tc.build(b, x)
			b.Output(y)
			fm := b.Model()
			rng := rand.New(rand.NewSource(45))
			qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{8, 3, 12, 12}, -1, 1)}, qdqOptions{float: float})
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 3, 12, 12}, -1, 1)}
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(th), WithWarnings(func(string) {}))
				require.NoError(t, err)
				ops := map[string]int{}
				for _, n := range s.Model().Graph.Nodes {
					ops[n.OpType]++
				}
				assert.Equal(t, tc.luts, ops["QChanLUT"], "%v", ops)
				for _, op := range []string{"Div", "Mul", "Add"} {
					if !slices.Contains(tc.float, op) {
						assert.Zero(t, ops[op], "%s in float32: %v", op, ops)
					} else {
						assert.NotZero(t, ops[op], "%s: %v", op, ops)
					}
				}
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				out := fm.Graph.Outputs[0].Name
				frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
				t.Logf("%d threads: within 1 step: %.4f, max %.2f steps", th, frac, mx)
				assert.GreaterOrEqual(t, frac, 0.98)
				assert.LessOrEqual(t, mx, 4.0)
			}
		})
	}
}

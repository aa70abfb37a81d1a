package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestDWQConv3DMatchesQConv3D checks the depthwise 3-D QConv on the
// interleaved 2-D depthwise kernel against kernels.QConv3D (exact against the
// integer definition: TestQConv3DVsReference), bit for bit: X3D's 3x3x3 with
// stride (1,2,2), depth strides and dilations, height dilation, asymmetric
// pads, windows in the depth padding, a channel multiplier of 2, channel
// counts off the vector width, batch 2, 1 and 2 threads.
func TestDWQConv3DMatchesQConv3D(t *testing.T) {
	cases := []struct {
		name       string
		n, d, h, w int
		c, mult    int
		k, s, dil  [3]int
		pads       [6]int
	}{
		{name: "3x3x3 pad 1", n: 1, d: 8, h: 14, w: 14, c: 54, mult: 1, k: [3]int{3, 3, 3}, s: [3]int{1, 1, 1}, dil: [3]int{1, 1, 1}, pads: [6]int{1, 1, 1, 1, 1, 1}},
		{name: "3x3x3 s(1,2,2)", n: 2, d: 4, h: 9, w: 10, c: 24, mult: 1, k: [3]int{3, 3, 3}, s: [3]int{1, 2, 2}, dil: [3]int{1, 1, 1}, pads: [6]int{1, 1, 1, 1, 1, 1}},
		{name: "(3,1,1) temporal", n: 1, d: 6, h: 5, w: 5, c: 16, mult: 1, k: [3]int{3, 1, 1}, s: [3]int{1, 1, 1}, dil: [3]int{1, 1, 1}, pads: [6]int{1, 0, 0, 1, 0, 0}},
		{name: "(2,3,3) depth s2 d2 asymmetric", n: 1, d: 7, h: 6, w: 7, c: 20, mult: 1, k: [3]int{2, 3, 3}, s: [3]int{2, 1, 2}, dil: [3]int{2, 2, 1}, pads: [6]int{2, 2, 0, 1, 1, 2}},
		{name: "3x3x3 mult 2", n: 1, d: 3, h: 5, w: 6, c: 8, mult: 2, k: [3]int{3, 3, 3}, s: [3]int{1, 1, 1}, dil: [3]int{1, 1, 1}, pads: [6]int{1, 1, 1, 1, 1, 1}},
		{name: "5x3x3 deep padding", n: 1, d: 2, h: 4, w: 4, c: 7, mult: 1, k: [3]int{5, 3, 3}, s: [3]int{1, 1, 1}, dil: [3]int{1, 1, 1}, pads: [6]int{3, 1, 1, 3, 1, 1}},
	}
	rng := rand.New(rand.NewSource(37))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oc := tc.c * tc.mult
			w := graph.NewTensor(graph.Int8, []int{oc, 1, tc.k[0], tc.k[1], tc.k[2]})
			wd := w.Data.([]int8)
			for i := range wd {
				wd[i] = int8(rng.Intn(255) - 127)
			}
			bias := graph.NewTensor(graph.Int32, []int{oc})
			for i, bd := 0, bias.Data.([]int32); i < oc; i++ {
				bd[i] = int32(rng.Intn(4001) - 2000)
			}
			scales := make([]float32, oc)
			for i := range scales {
				scales[i] = 0.001 + 0.004*rng.Float32()
			}
			n := &graph.Node{Name: "dw", OpType: "QConv", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range []*graph.Attr{graph.IntsAttr("strides", tc.s[:]), graph.IntsAttr("dilations", tc.dil[:]), graph.IntsAttr("pads", tc.pads[:]),
				graph.IntAttr("group", int64(tc.c)), graph.IntsAttr("x_zp", []int{rng.Intn(21) - 10}), graph.IntsAttr("w_zp", []int{0}),
				graph.FloatsAttr("scales", scales)} {
				n.Attrs[a.Name] = a
			}
			kern, err := buildQConv(&BuildContext{Node: n, Consts: []*graph.Tensor{nil, w, bias}})
			require.NoError(t, err)
			k := kern.(*qconv3DKernel)
			require.NotNil(t, k.dw, "the depthwise path is chosen")
			x := make([]int8, tc.n*tc.d*tc.h*tc.w*tc.c)
			for i := range x {
				x[i] = int8(rng.Intn(256) - 128)
			}
			in := []*graph.Tensor{graph.FromInt8([]int{tc.n, tc.d, tc.h, tc.w, tc.c}, x)}
			for _, threads := range []int{1, 2} {
				got, err := k.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				ref := *k
				ref.dw = nil
				want, err := ref.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				require.Equal(t, want[0].Shape, got[0].Shape)
				require.Equal(t, want[0].Data, got[0].Data, fmt.Sprintf("threads %d", threads))
			}
		})
	}
}

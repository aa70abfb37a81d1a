package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestChannelsLastSpatialPad runs Conv → PRelu → Pad → Conv chains (Paddle's
// p2o front: reflect and edge pads between convolutions; a constant pad with a
// value; asymmetric pads, pads as wide as the map allows, the opset-10
// attribute form) with the channels-last pass and without: the Pad runs
// channels-last between the two convolutions, which stay channels-last, and
// the outputs agree. A Pad of the channel axis or a cropping one stays NCHW.
func TestChannelsLastSpatialPad(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, tc := range []struct {
		mode   string
		pads   []int64 // N C H W begin, N C H W end
		value  float32
		opset  int64
		padded bool // runs channels-last
	}{
		{mode: "reflect", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, opset: 13, padded: true},
		{mode: "reflect", pads: []int64{0, 0, 0, 3, 0, 0, 6, 1}, opset: 13, padded: true},
		{mode: "edge", pads: []int64{0, 0, 2, 0, 0, 0, 1, 4}, opset: 13, padded: true},
		{mode: "constant", pads: []int64{0, 0, 1, 2, 0, 0, 3, 0}, value: 0.75, opset: 13, padded: true},
		{mode: "reflect", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, opset: 10, padded: true},
		{mode: "constant", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, value: -2, opset: 10, padded: true},
		{mode: "constant", pads: []int64{0, 1, 1, 1, 0, 0, 1, 1}, opset: 13},
		{mode: "reflect", pads: []int64{0, 0, -1, 1, 0, 0, 1, 1}, opset: 13},
	} {
		t.Run(fmt.Sprintf("%s %v opset %d", tc.mode, tc.pads, tc.opset), func(t *testing.T) {
			b := newMB(9)
			b.Opsets[""] = tc.opset
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 6}, graph.Dim{Size: 7}, graph.Dim{Size: 9})
			c1 := b.conv("x", 6, 20, 3, 1, 1, 1, true)
			pr := b.Node("PRelu", []string{c1, b.RandInit("slope", []int{20, 1, 1}, 0.3)})
			var pad string
			if tc.opset < 11 {
				pad = b.Node("Pad", []string{pr}, graph.StringAttr("mode", tc.mode), graph.IntsAttr("pads", toInts(tc.pads)),
					&graph.Attr{Name: "value", Type: graph.AttrFloat, F: tc.value})
			} else {
				ins := []string{pr, b.Init("pads", graph.FromInt64([]int{8}, tc.pads))}
				if tc.mode == "constant" {
					ins = append(ins, b.Init("cval", graph.ScalarFloat32(tc.value)))
				}
				pad = b.Node("Pad", ins, graph.StringAttr("mode", tc.mode))
			}
			cin := 20
			if tc.pads[1] != 0 {
				cin += int(tc.pads[1])
			}
			b.Output(b.conv(pad, cin, 8, 3, 1, 0, 1, true))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(2)), []int{1, 6, 7, 9}, -2, 2)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				n := 0
				for _, st := range s.steps {
					if _, ok := st.kernel.(*nhwcPadKernel); ok {
						n++
					}
				}
				require.Equal(t, tc.padded, n == 1, "a channels-last Pad step")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range s.Outputs() {
					require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, o.Name)
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
				}
			}
		})
	}
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQConvTransposeTiled checks that a QConvTranspose whose stride equals its
// kernel runs as a 1x1 convolution plus depth-to-space (the UNet upsampling of
// scripts/export_benchmodels.py --unseen3 took 9 ms of a 13 ms int8 run in the
// scalar loop) and gives exactly the scalar loop's answer; other geometries keep
// the scalar loop.
func TestQConvTransposeTiled(t *testing.T) {
	cases := []struct {
		name             string
		oneD             bool
		n, h, w, c, oc   int
		kh, kw, sh, sw   int
		pads             []int
		perChannel, bias bool
		wzp, xzp         int
		requant          string
		tiled            bool
	}{
		{name: "2x2 s2 per-channel bias", n: 1, h: 5, w: 7, c: 16, oc: 8, kh: 2, kw: 2, sh: 2, sw: 2, perChannel: true, bias: true, xzp: 3, tiled: true},
		{name: "2x2 s2 batch 2 no bias", n: 2, h: 4, w: 3, c: 5, oc: 3, kh: 2, kw: 2, sh: 2, sw: 2, xzp: -7, tiled: true},
		{name: "3x2 s3x2 fixed point", n: 1, h: 3, w: 4, c: 9, oc: 6, kh: 3, kw: 2, sh: 3, sw: 2, perChannel: true, bias: true, requant: "fixed", tiled: true},
		{name: "weight zero point", n: 1, h: 3, w: 3, c: 4, oc: 4, kh: 2, kw: 2, sh: 2, sw: 2, wzp: 2, bias: true, tiled: true},
		{name: "1-D k4 s4", oneD: true, n: 1, h: 1, w: 6, c: 8, oc: 5, kh: 1, kw: 4, sh: 1, sw: 4, perChannel: true, bias: true, tiled: true},
		// A mask head's up-convolution to one channel with a bias (paddle2onnx's
		// DBNet, --unseen10): the one bias value is repeated per tap too.
		{name: "2x2 s2 one output channel bias", n: 2, h: 3, w: 4, c: 8, oc: 1, kh: 2, kw: 2, sh: 2, sw: 2, bias: true, xzp: 1, tiled: true},
		{name: "3x3 s2 pad 1 (scalar)", n: 1, h: 4, w: 4, c: 4, oc: 4, kh: 3, kw: 3, sh: 2, sw: 2, pads: []int{1, 1, 1, 1}, bias: true},
	}
	rng := rand.New(rand.NewSource(5))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wshape := []int{tc.c, tc.oc, tc.kh, tc.kw}
			xshape := []int{tc.n, tc.h, tc.w, tc.c}
			attrs := []*graph.Attr{graph.IntsAttr("strides", []int{tc.sh, tc.sw}),
				graph.IntsAttr("x_zp", []int{tc.xzp}), graph.IntsAttr("w_zp", []int{tc.wzp})}
			if tc.oneD {
				wshape = []int{tc.c, tc.oc, tc.kw}
				xshape = []int{tc.n, tc.w, tc.c}
				attrs[0] = graph.IntsAttr("strides", []int{tc.sw})
			}
			if tc.pads != nil {
				attrs = append(attrs, graph.IntsAttr("pads", tc.pads))
			}
			if tc.requant != "" {
				attrs = append(attrs, graph.StringAttr("requant", tc.requant))
			}
			scales := []float32{0.013}
			if tc.perChannel {
				scales = make([]float32, tc.oc)
				for i := range scales {
					scales[i] = 0.004 + 0.02*rng.Float32()
				}
			}
			attrs = append(attrs, graph.FloatsAttr("scales", scales))
			w := graph.NewTensor(graph.Int8, wshape)
			wd := w.Data.([]int8)
			for i := range wd {
				wd[i] = int8(rng.Intn(255) - 127)
			}
			consts := []*graph.Tensor{nil, w}
			if tc.bias {
				b := graph.NewTensor(graph.Int32, []int{tc.oc})
				for i, bd := 0, b.Data.([]int32); i < len(bd); i++ {
					bd[i] = int32(rng.Intn(4001) - 2000)
				}
				consts = append(consts, b)
			}
			n := &graph.Node{Name: "up", OpType: "QConvTranspose", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range attrs {
				n.Attrs[a.Name] = a
			}
			kern, err := buildQConvTranspose(&BuildContext{Node: n, Consts: consts})
			require.NoError(t, err)
			k := kern.(*qconvTransposeKernel)
			require.Equal(t, tc.tiled, k.tiled != nil, "tiled path chosen")
			x := make([]int8, tc.n*tc.h*tc.w*tc.c)
			for i := range x {
				x[i] = int8(rng.Intn(256) - 128)
			}
			in := []*graph.Tensor{graph.FromInt8(xshape, x)}
			for _, threads := range []int{1, 2} {
				got, err := k.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				scalar := *k
				scalar.tiled, scalar.phases = nil, nil
				want, err := scalar.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				require.Equal(t, want[0].Shape, got[0].Shape)
				require.Equal(t, want[0].Data, got[0].Data, fmt.Sprintf("threads %d", threads))
			}
		})
	}
}

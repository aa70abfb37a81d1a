package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQConvTranspose3DVsReference checks the int8 3-D ConvTranspose (depth
// phases stacked as channels of the 2-D kernel) against the scatter
// definition, bit for bit: C3D's (1,2,2)-strided upsampling (the direct
// path), a 3-D UNet's 3x3x3 stride 2 with pads and output_padding, depth
// strides larger than the kernel (phases no tap reaches), depth dilation
// sharing a factor with the stride, groups, per-channel weight zero points,
// batch 2, 1 and 2 threads.
func TestQConvTranspose3DVsReference(t *testing.T) {
	cases := []struct {
		name             string
		n, d, h, w, c    int
		oc, groups       int // oc: output channels per group
		k, s, dil, outPd [3]int
		pads             [6]int
		perChannelZP     bool
	}{
		{name: "(1,2,2) s(1,2,2)", n: 2, d: 4, h: 5, w: 6, c: 32, oc: 16, groups: 1, k: [3]int{1, 2, 2}, s: [3]int{1, 2, 2}, dil: [3]int{1, 1, 1}},
		{name: "3x3x3 s2 p1 op1", n: 1, d: 4, h: 4, w: 5, c: 16, oc: 8, groups: 1, k: [3]int{3, 3, 3}, s: [3]int{2, 2, 2}, dil: [3]int{1, 1, 1},
			pads: [6]int{1, 1, 1, 1, 1, 1}, outPd: [3]int{1, 1, 1}},
		{name: "3x3x3 s2 groups 2 per-channel zp", n: 2, d: 3, h: 4, w: 4, c: 12, oc: 5, groups: 2, k: [3]int{3, 3, 3}, s: [3]int{2, 2, 2}, dil: [3]int{1, 1, 1},
			pads: [6]int{1, 0, 1, 0, 1, 1}, outPd: [3]int{1, 0, 1}, perChannelZP: true},
		{name: "(1,1,1) depth s3 (empty phases)", n: 1, d: 3, h: 3, w: 3, c: 8, oc: 6, groups: 1, k: [3]int{1, 1, 1}, s: [3]int{3, 1, 1}, dil: [3]int{1, 1, 1},
			outPd: [3]int{2, 0, 0}},
		{name: "(3,1,1) depth s2 d2", n: 1, d: 5, h: 3, w: 4, c: 8, oc: 8, groups: 1, k: [3]int{3, 1, 1}, s: [3]int{2, 1, 1}, dil: [3]int{2, 1, 1},
			pads: [6]int{2, 0, 0, 1, 0, 0}, outPd: [3]int{1, 0, 0}},
		{name: "depthwise (2,2,2) s2", n: 1, d: 3, h: 4, w: 4, c: 8, oc: 1, groups: 8, k: [3]int{2, 2, 2}, s: [3]int{2, 2, 2}, dil: [3]int{1, 1, 1}},
		{name: "(2,3,3) s(1,2,2) pads", n: 1, d: 4, h: 5, w: 5, c: 16, oc: 12, groups: 1, k: [3]int{2, 3, 3}, s: [3]int{1, 2, 2}, dil: [3]int{1, 1, 1},
			pads: [6]int{1, 1, 1, 0, 1, 1}, outPd: [3]int{0, 1, 1}},
	}
	rng := rand.New(rand.NewSource(19))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oc := tc.oc * tc.groups
			cg := tc.c / tc.groups
			w := graph.NewTensor(graph.Int8, []int{tc.c, tc.oc, tc.k[0], tc.k[1], tc.k[2]})
			wd := w.Data.([]int8)
			for i := range wd {
				wd[i] = int8(rng.Intn(255) - 127)
			}
			wzp := []int{rng.Intn(7) - 3}
			if tc.perChannelZP {
				wzp = make([]int, oc)
				for i := range wzp {
					wzp[i] = rng.Intn(9) - 4
				}
			}
			scales := make([]float32, oc)
			for i := range scales {
				scales[i] = 0.0005 + 0.002*rng.Float32()
			}
			bias := graph.NewTensor(graph.Int32, []int{oc})
			bd := bias.Data.([]int32)
			for i := range bd {
				bd[i] = int32(rng.Intn(4001) - 2000)
			}
			xzp := rng.Intn(21) - 10
			n := &graph.Node{Name: "up", OpType: "QConvTranspose", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range []*graph.Attr{graph.IntsAttr("strides", tc.s[:]), graph.IntsAttr("dilations", tc.dil[:]), graph.IntsAttr("pads", tc.pads[:]),
				graph.IntsAttr("output_padding", tc.outPd[:]), graph.IntAttr("group", int64(tc.groups)),
				graph.IntsAttr("x_zp", []int{xzp}), graph.IntsAttr("w_zp", wzp), graph.FloatsAttr("scales", scales)} {
				n.Attrs[a.Name] = a
			}
			kern, err := buildQConvTranspose(&BuildContext{Node: n, Consts: []*graph.Tensor{nil, w, bias}})
			require.NoError(t, err)
			k := kern.(*qconvTranspose3DKernel)
			x := make([]int8, tc.n*tc.d*tc.h*tc.w*tc.c)
			for i := range x {
				x[i] = int8(rng.Intn(256) - 128)
			}
			// The scatter definition: every input voxel and tap adds
			// (x − xzp)·(w − wzp) to the output voxel it reaches.
			var od, oh, ow int
			in3, out3 := [3]int{tc.d, tc.h, tc.w}, [3]int{}
			for a := range 3 {
				out3[a] = (in3[a]-1)*tc.s[a] - tc.pads[a] - tc.pads[3+a] + tc.dil[a]*(tc.k[a]-1) + 1 + tc.outPd[a]
			}
			od, oh, ow = out3[0], out3[1], out3[2]
			acc := make([]int32, tc.n*od*oh*ow*oc)
			for i := range acc {
				acc[i] = bd[i%oc]
			}
			zpOf := func(o int) int32 {
				if len(wzp) > 1 {
					return int32(wzp[o])
				}
				return int32(wzp[0])
			}
			for b := 0; b < tc.n; b++ {
				for iz := 0; iz < tc.d; iz++ {
					for iy := 0; iy < tc.h; iy++ {
						for ix := 0; ix < tc.w; ix++ {
							for kt := 0; kt < tc.k[0]; kt++ {
								for ky := 0; ky < tc.k[1]; ky++ {
									for kx := 0; kx < tc.k[2]; kx++ {
										z := iz*tc.s[0] - tc.pads[0] + kt*tc.dil[0]
										y := iy*tc.s[1] - tc.pads[1] + ky*tc.dil[1]
										xo := ix*tc.s[2] - tc.pads[2] + kx*tc.dil[2]
										if z < 0 || z >= od || y < 0 || y >= oh || xo < 0 || xo >= ow {
											continue
										}
										for o := 0; o < oc; o++ {
											g, og := o/tc.oc, o%tc.oc
											var s int32
											for c := 0; c < cg; c++ {
												ci := g*cg + c
												xv := int32(x[(((b*tc.d+iz)*tc.h+iy)*tc.w+ix)*tc.c+ci]) - int32(xzp)
												wv := int32(wd[(((ci*tc.oc+og)*tc.k[0]+kt)*tc.k[1]+ky)*tc.k[2]+kx]) - zpOf(o)
												s += xv * wv
											}
											acc[(((b*od+z)*oh+y)*ow+xo)*oc+o] += s
										}
									}
								}
							}
						}
					}
				}
			}
			want := make([]int8, len(acc))
			rq := k.phases[0].k.rq
			for p := 0; p < len(acc)/oc; p++ {
				requantRow(rq, acc[p*oc:(p+1)*oc], want[p*oc:(p+1)*oc], 0)
			}
			in := []*graph.Tensor{graph.FromInt8([]int{tc.n, tc.d, tc.h, tc.w, tc.c}, x)}
			for _, threads := range []int{1, 2} {
				got, err := k.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				require.Equal(t, []int{tc.n, od, oh, ow, oc}, got[0].Shape)
				require.Equal(t, want, got[0].Data, fmt.Sprintf("threads %d", threads))
			}
		})
	}
}

package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestGroupedIdxPlans checks the two plans of the indexed grouped path
// against the reference convolution: inputs read in place with border
// patches (direct: large maps, strides, dilations, uneven pads, a residual,
// a ragged last block) and laid-out inputs (small maps), one kernel run on
// several input sizes in turn (the plan is rebuilt per size), 1 and 2
// threads, batch 2.
func TestGroupedIdxPlans(t *testing.T) {
	type geo struct {
		c, m, groups, kh, kw, sh, sw, dh, dw int
		pads                                 [4]int
	}
	cases := []struct {
		name     string
		g        geo
		sizes    [][2]int
		direct   []bool
		residual bool
		act      kernels.Act
	}{
		{"regnet stride 2", geo{64, 64, 4, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, [][2]int{{32, 32}, {6, 6}, {31, 33}}, []bool{true, true, true}, false, kernels.ActNone},
		{"stride 1, residual, silu", geo{48, 48, 3, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, [][2]int{{50, 40}, {5, 5}, {40, 24}}, []bool{true, false, false}, true, kernels.ActSiLU},
		{"dilation 2, uneven pads, groups of 8", geo{104, 104, 13, 3, 3, 1, 2, 2, 1, [4]int{2, 0, 1, 2}}, [][2]int{{36, 30}}, []bool{true}, false, kernels.ActNone},
		{"5x5 no padding: no border", geo{32, 32, 2, 5, 5, 1, 1, 1, 1, [4]int{0, 0, 0, 0}}, [][2]int{{12, 12}}, []bool{true}, false, kernels.ActNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			cg := g.c / g.groups
			w, b := randF32(rng, g.m, cg, g.kh, g.kw), randF32(rng, g.m)
			node := &graph.Node{Name: "gconv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"group":        graph.IntAttr("group", int64(g.groups)),
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
				"strides":      graph.IntsAttr("strides", []int{g.sh, g.sw}),
				"dilations":    graph.IntsAttr("dilations", []int{g.dh, g.dw}),
				"pads":         graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]}),
			}}
			ck := &convKernel{node: node, group: g.groups}
			fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: tc.act, lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
			if tc.residual {
				fk.add = KernelFunc(nil)
			}
			k := newGroupedRowsKernel(ck, fk, w, b, 3, true, true)
			require.True(t, k.idx)
			const n = 2
			so := pixelStride(g.m)
			for si, sz := range tc.sizes {
				h, wd := sz[0], sz[1]
				x := randF32(rng, n, g.c, h, wd)
				oh := (h+g.pads[0]+g.pads[2]-(g.kh-1)*g.dh-1)/g.sh + 1
				ow := (wd+g.pads[1]+g.pads[3]-(g.kw-1)*g.dw-1)/g.sw + 1
				want := refGroupedConv(x.F32(), n, g.c, h, wd, w.F32(), g.m, g.kh, g.kw, g.groups, b.F32(), g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[1], oh, ow)
				in := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h, wd, pixelStride(g.c)}, Data: toNHWC(x.F32(), n, g.c, h*wd)}, w, b}
				if tc.residual {
					r := randF32(rng, n, g.m, oh, ow)
					for i, v := range r.F32() {
						want[i] += v
					}
					in = append(in, &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: toNHWC(r.F32(), n, g.m, oh*ow)})
				}
				kernels.ActF32(tc.act, want, want)
				wantT := &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: toNHWC(want, n, g.m, oh*ow)}
				for _, th := range []int{1, 2} {
					out, err := k.Run(&ExecContext{Threads: th}, in)
					require.NoError(t, err)
					require.Equal(t, tc.direct[si], k.plan.Load().direct, "size %v", sz)
					got := out[0].F32()
					for p := 0; p < n*oh*ow; p++ {
						for ch := g.m; ch < so; ch++ {
							got[p*so+ch] = 0
						}
					}
					require.NoError(t, CompareTensors(out[0], wantT, gemmTol), fmt.Sprintf("size %v, %d threads", sz, th))
				}
			}
		})
	}
}

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

// TestDenseNarrowIdx checks ungrouped convolutions on the indexed path of
// rowsConvKernel (conv_dense_idx.go) against the reference convolution:
// channels-last and NCHW inputs and outputs, strides, dilation, uneven pads,
// a residual in either layout (NCHW: added after, with the clamp and the
// activation), an output placed in a Concat view, 1 and 2 threads, batch 2;
// and that the path is taken (every panel width; not above narrowIdxMaxK).
func TestDenseNarrowIdx(t *testing.T) {
	type geo struct {
		c, m, h, w, kh, kw, sh, sw, dh, dw int
		pads                               [4]int
	}
	cases := []struct {
		name        string
		g           geo
		inNH, outNH bool
		residual    bool
		clip        bool
		act         kernels.Act
		view        bool
		taken       bool
	}{
		{"densenet 3x3, 128 -> 32", geo{128, 32, 30, 30, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, true, kernels.ActNone, false, true},
		{"small map, laid out", geo{128, 32, 7, 7, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, false, kernels.ActNone, false, true},
		{"stem: NCHW in, stride 2", geo{3, 32, 33, 31, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, false, true, false, true, kernels.ActHardSwish, false, true},
		{"48 out, residual NHWC, dilation", geo{24, 48, 20, 18, 3, 3, 1, 1, 2, 2, [4]int{2, 2, 2, 2}}, true, true, true, true, kernels.ActNone, false, true},
		{"NCHW out, residual after", geo{40, 16, 16, 16, 3, 3, 1, 1, 1, 1, [4]int{1, 0, 1, 2}}, true, false, true, true, kernels.ActSiLU, false, true},
		{"5x3, 80 out, into a concat view", geo{32, 80, 19, 23, 5, 3, 1, 2, 1, 1, [4]int{2, 1, 2, 1}}, true, true, false, false, kernels.ActNone, true, true},
		{"stem 3x3, 3 -> 16: 12-row runs", geo{3, 16, 41, 57, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, false, true, false, true, kernels.ActHardSwish, false, true},
		{"stem 3x3, 3 -> 16: runs, no padding, into a concat view", geo{3, 16, 30, 61, 3, 3, 2, 2, 1, 1, [4]int{0, 0, 0, 0}}, false, true, false, false, kernels.ActSiLU, true, true},
		{"stem 3x3/1, 3 -> 16: runs at stride 1", geo{3, 16, 26, 40, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, false, true, false, false, kernels.LeakyReluAct(0.1), false, true},
		{"stem 6x6/2, 3 -> 32: 12x32 runs", geo{3, 32, 44, 50, 6, 6, 2, 2, 1, 1, [4]int{2, 2, 2, 2}}, false, true, false, true, kernels.ActSiLU, false, true},
		{"stem 3x3/1, 3 -> 32: 12x32 runs, NCHW out", geo{3, 32, 27, 29, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, false, false, false, false, kernels.ActNone, false, true},
		{"stem 3x3, 3 -> 16 with a residual: no runs", geo{3, 16, 25, 53, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, false, true, true, false, kernels.ActNone, false, true},
		{"stem 7x7, 3 -> 64, wide panels", geo{3, 64, 37, 35, 7, 7, 2, 2, 1, 1, [4]int{3, 3, 3, 3}}, false, true, false, true, kernels.ActNone, false, true},
		{"stem 3x3, 3 -> 48, no padding", geo{3, 48, 31, 29, 3, 3, 2, 2, 1, 1, [4]int{0, 0, 0, 0}}, false, true, false, false, kernels.ActSiLU, false, true},
		{"stem 3x3, 1 -> 96, uneven pads, NCHW out", geo{1, 96, 17, 20, 3, 3, 2, 1, 1, 1, [4]int{0, 1, 1, 2}}, false, false, true, true, kernels.ActNone, false, true},
		{"stem 3x3, 4 -> 16, dilation, residual", geo{4, 16, 21, 21, 3, 3, 1, 2, 2, 1, [4]int{2, 1, 2, 1}}, false, true, true, false, kernels.ActHardSwish, false, true},
		{"stem 5x5, 3 -> 32, into a concat view", geo{3, 32, 14, 13, 5, 5, 2, 2, 1, 1, [4]int{2, 2, 2, 2}}, false, true, false, false, kernels.ActNone, true, true},
		{"64 out: wide panels", geo{32, 64, 12, 12, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, false, kernels.ActNone, false, true},
		{"1x7, 96 out (48-wide panels), residual", geo{64, 96, 17, 17, 1, 7, 1, 1, 1, 1, [4]int{0, 3, 0, 3}}, true, true, true, true, kernels.ActNone, false, true},
		{"7x1, 160 out (32-wide panels), NCHW out", geo{48, 160, 17, 15, 7, 1, 1, 1, 1, 1, [4]int{3, 0, 3, 0}}, true, false, false, false, kernels.ActSiLU, false, true},
		{"1x1 stride 2, 256 -> 384 projection, residual", geo{256, 384, 14, 13, 1, 1, 2, 2, 1, 1, [4]int{0, 0, 0, 0}}, true, true, true, true, kernels.ActNone, false, true},
		{"1x1 stride 2, 32 -> 400 (mixed widths: 16-wide panels)", geo{32, 400, 11, 12, 1, 1, 2, 2, 1, 1, [4]int{0, 0, 0, 0}}, true, true, false, false, kernels.ActNone, false, true},
		{"1x1 padded, NCHW out", geo{24, 48, 9, 9, 1, 1, 1, 1, 1, 1, [4]int{1, 0, 0, 1}}, true, false, false, false, kernels.ActSiLU, false, true},
		{"stem 7x7, 3 -> 64 on 96x90: border patches on two threads", geo{3, 64, 96, 90, 7, 7, 2, 2, 1, 1, [4]int{3, 3, 3, 3}}, false, true, false, true, kernels.ActNone, false, true},
		{"3x3 on 7x7, 64 -> 448 into a concat view: panel ranges at 2 threads", geo{64, 448, 7, 7, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, true, kernels.ActSiLU, true, true},
		{"3x3 stride 2, 96 -> 192, residual: three panel ranges at 2 threads", geo{96, 192, 9, 11, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, true, kernels.ActNone, false, true},
		{"1x1 stride 2 from NCHW: rows path", geo{16, 32, 10, 10, 1, 1, 2, 2, 1, 1, [4]int{0, 0, 0, 0}}, false, true, false, false, kernels.ActNone, false, false},
		{"K over the bound: rows path", geo{464, 16, 6, 6, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, false, kernels.ActNone, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			w, b := randF32(rng, g.m, g.c, g.kh, g.kw), randF32(rng, g.m)
			node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
				"strides":      graph.IntsAttr("strides", []int{g.sh, g.sw}),
				"dilations":    graph.IntsAttr("dilations", []int{g.dh, g.dw}),
				"pads":         graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]}),
			}}
			ck := &convKernel{node: node, group: 1, wConst: w, bConst: b}
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: tc.act, lo: lo, hi: hi}
			if tc.residual {
				fk.add = KernelFunc(nil)
			}
			if tc.clip {
				fk.act, fk.lo, fk.hi = KernelFunc(nil), -0.5, 0.75
				lo, hi = fk.lo, fk.hi
			}
			k := newRowsConvKernel(ck, fk, tc.inNH, tc.outNH)
			const n = 2
			so, yo := pixelStride(g.m), 0
			var vg *viewGroup
			if tc.view {
				vg = &viewGroup{stride: g.m + 32, total: g.m + 16}
				k.setView(&outView{g: vg, off: 16})
				so, yo = vg.stride, 16
			}
			x := randF32(rng, n, g.c, g.h, g.w)
			oh := (g.h+g.pads[0]+g.pads[2]-(g.kh-1)*g.dh-1)/g.sh + 1
			ow := (g.w+g.pads[1]+g.pads[3]-(g.kw-1)*g.dw-1)/g.sw + 1
			want := refGroupedConv(x.F32(), n, g.c, g.h, g.w, w.F32(), g.m, g.kh, g.kw, 1, b.F32(), g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[1], oh, ow)
			in := []*graph.Tensor{x, w, b}
			if tc.inNH {
				in[0] = &graph.Tensor{DType: graph.Float32, Shape: []int{n, g.h, g.w, pixelStride(g.c)}, Data: toNHWC(x.F32(), n, g.c, g.h*g.w)}
			}
			if tc.residual {
				r := randF32(rng, n, g.m, oh, ow)
				for i, v := range r.F32() {
					want[i] += v
				}
				if tc.outNH {
					r = &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: toNHWC(r.F32(), n, g.m, oh*ow)}
				}
				in = append(in, r)
			}
			for i, v := range want {
				want[i] = max(lo, min(hi, v))
			}
			kernels.ActF32(tc.act, want, want)
			// Sums of K = c·kh·kw products in another order: the absolute
			// error grows with √K (K = 1152 for DenseNet's layers).
			tol := Tolerance{Rtol: gemmTol.Rtol, Atol: 1e-6 * math.Sqrt(float64(g.c*g.kh*g.kw))}
			for _, th := range []int{1, 2} {
				k.narrow = &narrowIdx{}
				out, err := k.Run(&ExecContext{Threads: th}, in)
				require.NoError(t, err)
				require.Equal(t, tc.taken, k.narrow.plan.Load() != nil, "indexed path taken")
				if tc.taken {
					// The stems read their NCHW input in place.
					require.Equal(t, !tc.inNH && g.c <= stemMaxC, k.narrow.plan.Load().nchw, "NCHW input read in place")
					// Runs need twelve output pixels of a row whose taps are all inside.
					inside := 0
					for x := 0; x < ow; x++ {
						if x0 := x*g.sw - g.pads[1]; x0 >= 0 && x0+(g.kw-1)*g.dw < g.w {
							inside++
						}
					}
					runs := !tc.inNH && (g.m == 16 || g.m == 32) && k.pb.N() == k.pb.NR() && !tc.residual && kernels.StemFast(g.m, g.sw) && inside >= 12
					require.Equal(t, runs, len(k.narrow.plan.Load().runs) > 0, "12-row stem runs")
				}
				got := out[0].F32()
				if !tc.outNH {
					require.NoError(t, CompareTensors(out[0], graph.FromFloat32([]int{n, g.m, oh, ow}, want), tol), fmt.Sprintf("%d threads", th))
					continue
				}
				// Compare the m channels at the output's offset and stride.
				sel := make([]float32, n*oh*ow*g.m)
				for p := 0; p < n*oh*ow; p++ {
					copy(sel[p*g.m:(p+1)*g.m], got[p*so+yo:])
				}
				wantNH := toNHWC(want, n, g.m, oh*ow)
				if g.m != pixelStride(g.m) {
					t.Fatalf("test geometry: %d channels need a pixel stride of %d", g.m, pixelStride(g.m))
				}
				require.NoError(t, CompareTensors(graph.FromFloat32([]int{len(sel)}, sel), graph.FromFloat32([]int{len(sel)}, wantNH), tol), fmt.Sprintf("%d threads", th))
			}
		})
	}
}

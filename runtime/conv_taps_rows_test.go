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

// TestTapRowsKernelMatchesReference checks the sparse path of dilated
// convolutions on small maps against the textbook convolution: ASPP rates on
// maps smaller and larger than the rate, asymmetric pads, a 3×2 kernel, a
// batch of two, no bias, a clamp and an activation, 1 and 2 threads. Cases
// whose padding wastes little run the rows layout (sparse false).
func TestTapRowsKernelMatchesReference(t *testing.T) {
	type geo struct {
		n, c, h, w, m, kh, kw, dh, dw int
		pads                          [4]int // top, left, bottom, right
	}
	cases := []struct {
		name   string
		g      geo
		bias   bool
		clip   bool
		act    kernels.Act
		sparse bool
	}{
		{"ASPP rate 12 on 20x20", geo{1, 40, 20, 20, 24, 3, 3, 12, 12, [4]int{12, 12, 12, 12}}, true, true, kernels.ActNone, true},
		{"rate 6 on 9x7, asymmetric pads, batch 2", geo{2, 16, 9, 7, 32, 3, 3, 6, 4, [4]int{6, 3, 5, 4}}, true, false, kernels.ActHardSwish, true},
		{"3x2 kernel, no bias, rate 5", geo{1, 8, 6, 11, 16, 3, 2, 5, 5, [4]int{5, 0, 5, 5}}, false, true, kernels.ActNone, true},
		{"rate beyond the map (a dead tap row)", geo{1, 8, 4, 4, 16, 3, 3, 5, 1, [4]int{5, 1, 5, 1}}, true, false, kernels.ActNone, true},
		{"rate 2 on 40x40: rows layout", geo{1, 8, 40, 40, 16, 3, 3, 2, 2, [4]int{2, 2, 2, 2}}, true, true, kernels.ActNone, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			w := randF32(rng, g.m, g.c, g.kh, g.kw)
			x := randF32(rng, g.n, g.c, g.h, g.w)
			node := &graph.Node{Name: "aspp", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
				"dilations":    graph.IntsAttr("dilations", []int{g.dh, g.dw}),
				"pads":         graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]}),
			}}
			in := []*graph.Tensor{nil, w}
			ck := &convKernel{node: node, group: 1, wConst: w}
			var bd []float32
			if tc.bias {
				b := randF32(rng, g.m)
				bd = b.F32()
				node.Inputs = append(node.Inputs, "b")
				in = append(in, b)
				ck.bConst = b
			}
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			var fk *fusedConvKernel
			if tc.clip || tc.act != kernels.ActNone {
				fk = &fusedConvKernel{conv: ck, nConvIn: len(in), post: tc.act, lo: lo, hi: hi}
				if tc.clip {
					fk.act, fk.lo, fk.hi = KernelFunc(nil), -0.5, 0.75
					lo, hi = fk.lo, fk.hi
				}
			}
			k := newTapRowsKernel(newRowsConvKernel(ck, fk, true, true))
			tk, ok := k.(*tapRowsKernel)
			require.True(t, ok, "a dilated channels-last conv gets the tap kernel")
			oh := g.h + g.pads[0] + g.pads[2] - (g.kh-1)*g.dh
			ow := g.w + g.pads[1] + g.pads[3] - (g.kw-1)*g.dw
			want := refGroupedConv(x.F32(), g.n, g.c, g.h, g.w, w.F32(), g.m, g.kh, g.kw, 1, bd, 1, 1, g.dh, g.dw, g.pads[0], g.pads[1], oh, ow)
			for i, v := range want {
				want[i] = max(lo, min(hi, v))
			}
			kernels.ActF32(tc.act, want, want)
			wantT := &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, oh, ow, pixelStride(g.m)}, Data: toNHWC(want, g.n, g.m, oh*ow)}
			in[0] = &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, g.h, g.w, pixelStride(g.c)}, Data: toNHWC(x.F32(), g.n, g.c, g.h*g.w)}
			for _, th := range []int{1, 2} {
				out, err := k.Run(&ExecContext{Threads: th}, in)
				require.NoError(t, err)
				require.Equal(t, wantT.Shape, out[0].Shape)
				got := out[0].F32()
				s := pixelStride(g.m)
				for p := 0; p < g.n*oh*ow; p++ {
					for ch := g.m; ch < s; ch++ {
						got[p*s+ch] = 0
					}
				}
				require.NoError(t, CompareTensors(out[0], wantT, gemmTol), fmt.Sprintf("%d threads", th))
			}
			require.Equal(t, tc.sparse, len(tk.packed) > 0, "sparse path taken")
		})
	}
}

// TestTapRowsKernelOnlyDilated: undilated, strided and NCHW-output
// convolutions keep the rows kernel.
func TestTapRowsKernelOnlyDilated(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	w := randF32(rng, 16, 8, 3, 3)
	for _, c := range []struct {
		attrs       map[string]*graph.Attr
		outNHWC     bool
		wantWrapped bool
	}{
		{map[string]*graph.Attr{"dilations": graph.IntsAttr("dilations", []int{2, 2})}, true, true},
		{map[string]*graph.Attr{}, true, false},
		{map[string]*graph.Attr{"dilations": graph.IntsAttr("dilations", []int{2, 2}), "strides": graph.IntsAttr("strides", []int{2, 2})}, true, false},
		{map[string]*graph.Attr{"dilations": graph.IntsAttr("dilations", []int{2, 2})}, false, false},
	} {
		node := &graph.Node{Name: "c", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: c.attrs}
		k := newTapRowsKernel(newRowsConvKernel(&convKernel{node: node, group: 1, wConst: w}, nil, true, c.outNHWC))
		_, wrapped := k.(*tapRowsKernel)
		require.Equal(t, c.wantWrapped, wrapped, "%v", c.attrs)
	}
}

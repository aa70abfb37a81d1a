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

// TestMixedPanelSplit checks the parts of the channel counts no single wide
// panel width divides, and that the others are not split.
func TestMixedPanelSplit(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{80, []int{48, 32}}, {112, []int{64, 48}}, {208, []int{128, 48, 32}}, {400, []int{320, 48, 32}},
		{176, []int{128, 48}}, {272, []int{192, 48, 32}},
		{16, nil}, {48, nil}, {64, nil}, {96, nil}, {144, nil}, {160, nil}, {240, nil}, {72, nil}, {81, nil},
	} {
		got := mixedPanelSplit(tc.n)
		require.Equal(t, tc.want, got, "%d columns", tc.n)
		sum := 0
		for _, w := range got {
			require.True(t, w%64 == 0 || w == 48 || w == 32, "%d columns: part %d", tc.n, w)
			sum += w
		}
		if got != nil {
			require.Equal(t, tc.n, sum)
		}
	}
}

// TestMixedPanelsPointwise runs pointwise convolutions whose output channel
// counts take mixed panels (80, 112, 208, 400; 72 stored 80 wide) against
// the reference convolution: channels-last and NCHW outputs, a residual in
// either layout, the clamp, an activation, one pixel (the one-row product),
// 7x7 (a one-row tail), 1 and 2 threads, batch 2, stride 2 (the indexed
// path, one block per part: narrowBlocks); and that the parts are used
// where the CPU has AVX-512.
func TestMixedPanelsPointwise(t *testing.T) {
	cases := []struct {
		c, m, h  int
		s        int // stride (0: 1)
		outNH    bool
		residual bool
		clip     bool
		act      kernels.Act
	}{
		{24, 80, 9, 0, true, false, false, kernels.ActHardSwish},
		{24, 72, 8, 0, true, true, true, kernels.ActNone},
		{160, 400, 7, 0, true, true, false, kernels.ActNone},
		{400, 400, 7, 0, false, true, true, kernels.ActNone},
		{64, 112, 1, 0, true, false, false, kernels.ActSiLU},
		{96, 208, 14, 0, false, false, true, kernels.ActNone},
		{160, 400, 14, 2, true, true, false, kernels.ActNone},
		{24, 80, 9, 2, true, false, true, kernels.ActHardSwish},
		{40, 112, 15, 3, false, true, false, kernels.ActNone},
	}
	for _, tc := range cases {
		st := max(1, tc.s)
		t.Run(fmt.Sprintf("%d->%d_%dx%d_s%d_nhwc%v_res%v", tc.c, tc.m, tc.h, tc.h, st, tc.outNH, tc.residual), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.m + tc.h)))
			w, b := randF32(rng, tc.m, tc.c, 1, 1), randF32(rng, tc.m)
			node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{1, 1}),
				"strides":      graph.IntsAttr("strides", []int{st, st}),
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
			k := newRowsConvKernel(ck, fk, true, tc.outNH)
			if kernels.RowsPath() == "avx512" {
				require.NotNil(t, k.mixed, "mixed panels")
				if st > 1 { // the indexed path, a block per part
					require.NotNil(t, k.narrow)
					require.Len(t, k.narrowBlocks(), len(k.mixed))
				}
			}
			const n = 2
			oh := (tc.h-1)/st + 1
			hw := oh * oh
			so := pixelStride(tc.m)
			x := randF32(rng, n, tc.c, tc.h, tc.h)
			want := refGroupedConv(x.F32(), n, tc.c, tc.h, tc.h, w.F32(), tc.m, 1, 1, 1, b.F32(), st, st, 1, 1, 0, 0, oh, oh)
			in := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, tc.h, tc.h, pixelStride(tc.c)}, Data: toNHWC(x.F32(), n, tc.c, tc.h*tc.h)}, w, b}
			if tc.residual {
				r := randF32(rng, n, tc.m, oh, oh)
				for i, v := range r.F32() {
					want[i] += v
				}
				if tc.outNH {
					r = &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, oh, so}, Data: toNHWC(r.F32(), n, tc.m, hw)}
				}
				in = append(in, r)
			}
			for i, v := range want {
				want[i] = max(lo, min(hi, v))
			}
			kernels.ActF32(tc.act, want, want)
			tol := Tolerance{Rtol: gemmTol.Rtol, Atol: 1e-6 * math.Sqrt(float64(tc.c))}
			for _, th := range []int{1, 2} {
				out, err := k.Run(&ExecContext{Threads: th}, in)
				require.NoError(t, err)
				if !tc.outNH {
					require.NoError(t, CompareTensors(out[0], graph.FromFloat32([]int{n, tc.m, oh, oh}, want), tol), "%d threads", th)
					continue
				}
				got, wantNH := out[0].F32(), toNHWC(want, n, tc.m, hw)
				sel, wsel := make([]float32, n*hw*tc.m), make([]float32, n*hw*tc.m)
				for p := 0; p < n*hw; p++ {
					copy(sel[p*tc.m:(p+1)*tc.m], got[p*so:])
					copy(wsel[p*tc.m:(p+1)*tc.m], wantNH[p*so:])
				}
				require.NoError(t, CompareTensors(graph.FromFloat32([]int{len(sel)}, sel), graph.FromFloat32([]int{len(sel)}, wsel), tol), "%d threads", th)
			}
		})
	}
}

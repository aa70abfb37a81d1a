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

// TestConvNHWCToNCHW checks convolutions from a channels-last input to an
// NCHW output (conv_rows_nchw.go) against the reference convolution: output
// widths no panel divides (YOLO's 255-channel heads, rounded up to 256 for
// the GEMM), maps of several bands and partial transposition blocks, an NCHW
// residual with the clamp and the activation, batch 2, 1 and 2 threads, and
// a 3x3 layer of 255 outputs on the indexed path.
func TestConvNHWCToNCHW(t *testing.T) {
	cases := []struct {
		c, m, h, w, k int
		residual      bool
		act           kernels.Act
	}{
		{128, 255, 30, 29, 1, false, kernels.ActNone},
		{64, 255, 41, 37, 1, true, kernels.ActSiLU},
		{24, 40, 9, 11, 1, false, kernels.ActNone},
		{32, 18, 23, 5, 1, true, kernels.ActNone},
		{16, 64, 7, 7, 1, false, kernels.ActHardSwish},
		{48, 255, 13, 12, 3, true, kernels.ActNone},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d_%d_to_%d_k%d_res%v", tc.h, tc.w, tc.c, tc.m, tc.k, tc.residual), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.m*1000 + tc.h)))
			w, b := randF32(rng, tc.m, tc.c, tc.k, tc.k), randF32(rng, tc.m)
			pad := tc.k / 2
			node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{tc.k, tc.k}),
				"pads":         graph.IntsAttr("pads", []int{pad, pad, pad, pad}),
			}}
			ck := &convKernel{node: node, group: 1, wConst: w, bConst: b}
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: tc.act, lo: lo, hi: hi}
			if tc.residual {
				fk.add = KernelFunc(nil)
				fk.act, fk.lo, fk.hi = KernelFunc(nil), -0.5, 0.75
				lo, hi = fk.lo, fk.hi
			}
			k := newRowsConvKernel(ck, fk, true, false)
			const n = 2
			x := randF32(rng, n, tc.c, tc.h, tc.w)
			want := refGroupedConv(x.F32(), n, tc.c, tc.h, tc.w, w.F32(), tc.m, tc.k, tc.k, 1, b.F32(), 1, 1, 1, 1, pad, pad, tc.h, tc.w)
			in := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, tc.h, tc.w, pixelStride(tc.c)}, Data: toNHWC(x.F32(), n, tc.c, tc.h*tc.w)}, w, b}
			if tc.residual {
				r := randF32(rng, n, tc.m, tc.h, tc.w)
				for i, v := range r.F32() {
					want[i] += v
				}
				in = append(in, r)
			}
			for i, v := range want {
				want[i] = max(lo, min(hi, v))
			}
			kernels.ActF32(tc.act, want, want)
			tol := Tolerance{Rtol: gemmTol.Rtol, Atol: 1e-6 * math.Sqrt(float64(tc.c*tc.k*tc.k))}
			for _, th := range []int{1, 2} {
				out, err := k.Run(&ExecContext{Threads: th, arena: &runArena{pool: &bufPool{}}}, in)
				require.NoError(t, err)
				require.NoError(t, CompareTensors(out[0], graph.FromFloat32([]int{n, tc.m, tc.h, tc.w}, want), tol), fmt.Sprintf("%d threads", th))
			}
		})
	}
}

// TestTransposeBlockF32 checks the blocked transposition against the
// definition, with channel counts that leave a partial block of sixteen.
func TestTransposeBlockF32(t *testing.T) {
	for _, g := range []struct{ rows, cols, lds, ldd int }{{64, 255, 256, 100}, {7, 16, 16, 7}, {1, 3, 5, 1}, {33, 40, 48, 40}} {
		src := make([]float32, g.rows*g.lds)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, (g.cols-1)*g.ldd+g.rows)
		transposeBlockF32(src, g.lds, dst, g.ldd, g.rows, g.cols)
		for ch := 0; ch < g.cols; ch++ {
			for j := 0; j < g.rows; j++ {
				require.Equal(t, src[j*g.lds+ch], dst[ch*g.ldd+j], "%+v: channel %d pixel %d", g, ch, j)
			}
		}
	}
}

package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestTransposeChannelsLast runs ConvNeXt-style blocks (convolution →
// Transpose to [N, H, W, C] → Linear layers → Transpose back → layer scale →
// residual Add) and a ViT-style residual through the float32 executor against
// the operators run one by one (WithAllTaps), at 1 and 2 threads: same
// outputs within GEMM tolerance, and the expected steps rewritten. The cases
// cover channel counts whose pixel stride is the channel count (views) and
// one that is padded (24 → 32: the Transposes copy), a per-channel Add and Sub
// of constants, a scalar scale, a tapped intermediate that must stay
// unfused, and a residual that is the scaled branch's first input.
func TestTransposeChannelsLast(t *testing.T) {
	ints := func(name string, v ...int) *graph.Attr { return graph.IntsAttr(name, v) }
	linear := func(b *mb, x string, k, n int, bias bool) string {
		y := b.Node("MatMul", []string{x, b.RandInit("wl", []int{k, n}, 0.3)})
		if bias {
			y = b.Node("Add", []string{y, b.RandInit("bl", []int{n}, 0.2)})
		}
		return y
	}
	// block is ConvNeXt's: depthwise 3×3, Linear c→2c, Relu, Linear 2c→c, γ, residual.
	block := func(b *mb, x string, c int, scale []int, resFirst bool) string {
		h := b.conv(x, c, c, 3, 1, 1, c, true)
		h = b.Node("Transpose", []string{h}, ints("perm", 0, 2, 3, 1))
		h = b.Node("Relu", []string{linear(b, h, c, 2*c, true)})
		h = linear(b, h, 2*c, c, true)
		h = b.Node("Transpose", []string{h}, ints("perm", 0, 3, 1, 2))
		if scale != nil {
			h = b.Node("Mul", []string{b.RandInit("gamma", scale, 1), h})
		}
		if resFirst {
			return b.Node("Add", []string{x, h})
		}
		return b.Node("Add", []string{h, x})
	}
	cases := []struct {
		name        string
		x           []int
		build       func(b *mb) // input "x"
		views, ress int         // view Transposes and residual-fused MatMuls expected
		tap         string      // prefix of a node output to tap
	}{
		{name: "convnext blocks, 32 channels", x: []int{1, 3, 16, 16}, views: 4, ress: 2, build: func(b *mb) {
			s := b.conv("x", 3, 32, 2, 2, 0, 1, true) // patchify
			s = block(b, s, 32, []int{32, 1, 1}, false)
			s = block(b, s, 32, []int{1, 32, 1, 1}, true)
			s = b.Node("Sub", []string{b.Node("Add", []string{s, b.RandInit("bc", []int{32, 1, 1}, 1)}), b.RandInit("sc", []int{1}, 1)})
			s = b.Node("Transpose", []string{s}, ints("perm", 0, 2, 3, 1))
			s = b.Node("Transpose", []string{linear(b, s, 32, 16, false)}, ints("perm", 0, 3, 1, 2))
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(s, 16, 16, 2, 2, 0, 1, true)}))
		}},
		{name: "padded pixel stride, scalar scale", x: []int{2, 24, 6, 5}, views: 0, ress: 0, build: func(b *mb) {
			b.Output(block(b, "x", 24, []int{1}, false))
		}},
		{name: "tapped branch", x: []int{1, 16, 7, 7}, views: 1, ress: 0, tap: "Mul", build: func(b *mb) {
			s := b.conv("x", 16, 16, 1, 1, 0, 1, true)
			b.Output(b.conv(block(b, s, 16, []int{16, 1, 1}, false), 16, 8, 1, 1, 0, 1, true))
		}},
		{name: "vit residual, rank 3", x: []int{2, 5, 24}, views: 0, ress: 2, build: func(b *mb) {
			h := b.Node("Add", []string{"x", linear(b, b.Node("Relu", []string{linear(b, "x", 24, 48, true)}), 48, 24, true)})
			h = b.Node("Add", []string{linear(b, h, 24, 24, false), h})
			b.Output(h)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(29)
			b.Input("x", staticDims(tc.x...)...)
			tc.build(b)
			m := b.Model()
			var taps []string
			if tc.tap != "" {
				for _, n := range m.Graph.Nodes {
					if n.OpType == tc.tap {
						taps = append(taps, n.Outputs[0])
						break
					}
				}
			}
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), tc.x, -1, 1)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), WithTaps(taps...))
				require.NoError(t, err)
				views, ress := 0, 0
				for _, st := range s.steps {
					if _, ok := st.kernel.(nhwcViewKernel); ok {
						views++
					}
					if k, ok := st.kernel.(*packedMatMulKernel); ok && k.res {
						ress++
					}
				}
				require.Equal(t, tc.views, views, "view Transposes")
				require.Equal(t, tc.ress, ress, "residual-fused MatMuls")
				for run := 0; run < 2; run++ {
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
					}
					for _, tp := range taps {
						require.NoError(t, CompareTensors(got[tp], want[tp], gemmTol), tp)
					}
				}
			}
		})
	}
}

// TestChannelVector checks which constants count as per-channel.
func TestChannelVector(t *testing.T) {
	f := func(shape ...int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		for i := range x.F32() {
			x.F32()[i] = float32(i + 1)
		}
		return x
	}
	for _, tc := range []struct {
		k    *graph.Tensor
		want []float32
	}{
		{f(3, 1, 1), []float32{1, 2, 3}},
		{f(1, 3, 1, 1), []float32{1, 2, 3}},
		{f(1), []float32{1, 1, 1}},
		{f(), []float32{1, 1, 1}},
		{f(1, 1, 1), []float32{1, 1, 1}},
		{f(3), nil},          // broadcasts along W
		{f(3, 1), nil},       // along H
		{f(2, 3, 1, 1), nil}, // along N
		{f(1, 1, 3, 1, 1), nil},
	} {
		got, ok := channelVector(tc.k, 3)
		require.Equal(t, tc.want != nil, ok, "%v", tc.k.Shape)
		if ok {
			require.Equal(t, tc.want, got, "%v", tc.k.Shape)
		}
	}
}

package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestChannelsLastMatchesNCHW runs small ResNet-like graphs with the
// channels-last pass on and off: same outputs within GEMM tolerance, and the
// expected steps converted. The cases cover the stem (NCHW input, 7x7 stride
// 2), MaxPool with padding and ceil mode, a strided 1x1 and a strided 3x3,
// dilation, asymmetric pads, 512 channels (a padded pixel stride), fused
// residuals in both layouts, a channels-last input with an NCHW consumer, a
// tapped intermediate, GlobalAverage/MaxPool and a symbolic batch.
func TestChannelsLastMatchesNCHW(t *testing.T) {
	dims := func(n ...int) []graph.Dim {
		d := make([]graph.Dim, len(n))
		for i, v := range n {
			d[i] = graph.Dim{Size: v}
		}
		return d
	}
	convA := func(b *mb, x string, cin, cout, kh, kw int, strides, pads, dil []int) string {
		w := b.RandInit("w", []int{cout, cin, kh, kw}, 0.3)
		return b.Node("Conv", []string{x, w, b.RandInit("b", []int{cout}, 0.2)}, graph.IntsAttr("kernel_shape", []int{kh, kw}),
			graph.IntsAttr("strides", strides), graph.IntsAttr("pads", pads), graph.IntsAttr("dilations", dil))
	}
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cases := []struct {
		name  string
		in    []graph.Dim
		x     []int
		build func(b *mb) // input "x"
		rows  int         // steps expected to run channels-last convolutions
		taps  []string
	}{
		{name: "resnet stem and bottleneck", in: dims(2, 3, 30, 30), x: []int{2, 3, 30, 30}, rows: 6, build: func(b *mb) {
			s := relu(b, b.conv("x", 3, 16, 7, 2, 3, 1, true))
			p := b.Node("MaxPool", []string{s}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			a := relu(b, b.conv(p, 16, 32, 1, 1, 0, 1, true))
			a = relu(b, b.conv(a, 32, 32, 3, 2, 1, 1, true))
			a = b.conv(a, 32, 512, 1, 1, 0, 1, true)
			d := b.conv(p, 16, 512, 1, 2, 0, 1, false)
			r := relu(b, b.Node("Add", []string{a, d}))
			r = relu(b, b.Node("Add", []string{r, b.conv(r, 512, 512, 1, 1, 0, 1, true)}))
			g := b.Node("GlobalAveragePool", []string{r})
			b.Output(b.gemm(b.Node("Flatten", []string{g}), 512, 10))
		}},
		{name: "odd geometry, NCHW consumer, global max", in: dims(1, 5, 17, 13), x: []int{1, 5, 17, 13}, rows: 3, build: func(b *mb) {
			a := relu(b, convA(b, "x", 5, 24, 3, 2, []int{1, 2}, []int{2, 0, 1, 1}, []int{2, 1}))
			a = convA(b, a, 24, 20, 5, 3, []int{2, 1}, []int{2, 1, 2, 1}, []int{1, 1})
			c := b.Node("MaxPool", []string{a}, graph.IntsAttr("kernel_shape", []int{2, 3}), graph.IntsAttr("strides", []int{2, 2}), graph.IntAttr("ceil_mode", 1))
			c = convA(b, c, 20, 16, 1, 1, []int{1, 1}, []int{0, 0, 0, 0}, []int{1, 1})
			b.Output(b.Node("Sigmoid", []string{c}))
			b.Output(b.Node("GlobalMaxPool", []string{a}))
		}},
		{name: "tapped intermediate stays NCHW", in: dims(1, 8, 12, 12), x: []int{1, 8, 12, 12}, rows: 2, taps: []string{"Relu_out"}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 3, 1, 1, 1, true))
			a = relu(b, b.conv(a, 16, 16, 3, 1, 1, 1, true))
			b.Output(b.conv(a, 16, 8, 1, 1, 0, 1, true))
		}},
		// Output rows computed in bands (conv_rows.go bandedGEMM), 9 of them
		// for each 128x64 output, so that 2 threads run them in parallel: a
		// MobileNet stem (NCHW input, stride 2) and a 3x3 residual block with
		// 24 channels (pixel stride 32), the residual copied to the band and
		// added by the GEMM.
		{name: "banded rows: stride-2 stem, residual block", in: dims(1, 3, 256, 128), x: []int{1, 3, 256, 128}, rows: 3, build: func(b *mb) {
			s := relu(b, b.conv("x", 3, 32, 3, 2, 1, 1, true))
			a := relu(b, b.conv(s, 32, 24, 1, 1, 0, 1, true))
			r := b.Node("Add", []string{a, b.conv(a, 24, 24, 3, 1, 1, 1, true)})
			b.Output(b.Node("GlobalAveragePool", []string{relu(b, r)}))
		}},
		{name: "symbolic batch, residual from the input", in: []graph.Dim{{Size: -1, Param: "N"}, {Size: 16}, {Size: 9}, {Size: 9}}, x: []int{3, 16, 9, 9}, rows: 2, build: func(b *mb) {
			a := relu(b, b.conv("x", 16, 16, 3, 1, 1, 1, true))
			a = relu(b, b.Node("Add", []string{"x", b.conv(a, 16, 16, 3, 1, 1, 1, true)}))
			b.Output(b.Node("GlobalAveragePool", []string{a}))
		}},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(13)
			b.Input("x", tc.in...)
			tc.build(b)
			m := b.Model()
			var taps []string
			for _, tp := range tc.taps {
				for _, n := range m.Graph.Nodes {
					if len(n.Outputs[0]) > len(tp) && n.Outputs[0][:len(tp)] == tp {
						taps = append(taps, n.Outputs[0])
						break
					}
				}
			}
			x := randInput(rand.New(rand.NewSource(17)), tc.x, -1, 1)
			in := map[string]*graph.Tensor{"x": x}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...))
			require.NoError(t, err)
			channelsLastMode = true
			if tc.in[0].Size < 0 {
				// An empty batch runs through the same kernels.
				s, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...))
				require.NoError(t, err)
				empty := map[string]*graph.Tensor{"x": graph.NewTensor(graph.Float32, append([]int{0}, tc.x[1:]...))}
				got, err := s.RunTensors(empty)
				require.NoError(t, err)
				for name, g := range got {
					require.Zero(t, graph.NumElements(g.Shape), name)
				}
			}
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...), WithThreads(th))
				require.NoError(t, err)
				rows := 0
				for _, st := range s.steps {
					if _, ok := st.kernel.(*rowsConvKernel); ok {
						rows++
					}
				}
				require.Equal(t, tc.rows, rows, "channels-last convolutions")
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for run := 0; run < 2; run++ {
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					require.Equal(t, len(want), len(got))
					for name, w := range want {
						require.NoError(t, CompareTensors(got[name], w, gemmTol), fmt.Sprintf("%s, %d threads, run %d", name, th, run))
					}
				}
			}
		})
	}
}

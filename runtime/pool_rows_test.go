package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestMaxPoolRowsMatchesNCHW runs Conv -> MaxPool -> Conv chains (the pool
// channels-last between two channels-last convolutions) against the NCHW
// executor: the ResNet stem pool, stride 1, dilation, asymmetric pads, ceil
// mode with a clipped last window, channel counts below and above a vector
// and not a multiple of 16, a NaN in the input, 1 and 2 threads.
func TestMaxPoolRowsMatchesNCHW(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, c := range []struct {
		name            string
		ch, h, w        int
		kernel, strides []int
		pads, dil       []int
		ceil            int
		nan             bool
	}{
		{"resnet stem 3x3 s2 p1", 24, 16, 14, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}, []int{1, 1}, 0, false},
		{"3x3 s1 p1, 40 channels", 40, 9, 8, []int{3, 3}, []int{1, 1}, []int{1, 1, 1, 1}, []int{1, 1}, 0, false},
		{"2x3 dilation 2, asymmetric pads", 8, 11, 12, []int{2, 3}, []int{1, 2}, []int{1, 0, 0, 2}, []int{2, 2}, 0, false},
		{"ceil mode, clipped last window", 17, 10, 9, []int{3, 3}, []int{2, 2}, []int{0, 0, 0, 0}, []int{1, 1}, 1, false},
		{"NaN propagates", 16, 8, 8, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}, []int{1, 1}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newMB(5)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: c.h}, graph.Dim{Size: c.w})
			a := b.Node("Conv", []string{"x", b.RandInit("w", []int{c.ch, 3, 1, 1}, 0.5), b.RandInit("b", []int{c.ch}, 0.2)},
				graph.IntsAttr("kernel_shape", []int{1, 1}))
			p := b.Node("MaxPool", []string{a}, graph.IntsAttr("kernel_shape", c.kernel), graph.IntsAttr("strides", c.strides),
				graph.IntsAttr("pads", c.pads), graph.IntsAttr("dilations", c.dil), graph.IntAttr("ceil_mode", int64(c.ceil)))
			b.Output(b.Node("Conv", []string{p, b.RandInit("w2", []int{8, c.ch, 1, 1}, 0.5)}, graph.IntsAttr("kernel_shape", []int{1, 1})))
			m := b.Model()
			x := randInput(rand.New(rand.NewSource(3)), []int{1, 3, c.h, c.w}, -1, 1)
			if c.nan {
				x.F32()[c.w+3] = float32(math.NaN())
			}
			in := map[string]*graph.Tensor{"x": x}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				pooled := false
				for _, st := range s.steps {
					_, ok := st.kernel.(*nhwcMaxPoolKernel)
					pooled = pooled || ok
				}
				require.True(t, pooled, "the MaxPool runs channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for name, w := range want {
					g := got[name]
					if c.nan {
						// Same NaN pattern; the other values as close as the GEMMs.
						for i, v := range w.F32() {
							require.Equal(t, math.IsNaN(float64(v)), math.IsNaN(float64(g.F32()[i])), "element %d", i)
						}
						continue
					}
					require.NoError(t, CompareTensors(g, w, gemmTol), fmt.Sprintf("%s, %d threads", name, th))
				}
			}
		})
	}
}

// TestPoolRowsRandomGeometry is a property test of the channels-last
// MaxPool and AveragePool (pool_rows.go) against the NCHW executor's generic
// pool: random kernels of 1-4 taps per axis, strides 1-3, dilations 1-2,
// asymmetric pads below the kernel, ceil_mode, count_include_pad,
// channel counts around the vector runs, 1 and 2 threads.
func TestPoolRowsRandomGeometry(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	rng := rand.New(rand.NewSource(11))
	for it := 0; it < 24; it++ {
		op := "MaxPool"
		if it%2 == 1 {
			op = "AveragePool"
		}
		ch := []int{4, 16, 21, 40, 64, 88, 136}[rng.Intn(7)]
		h, w := 5+rng.Intn(9), 5+rng.Intn(9)
		k := []int{1 + rng.Intn(4), 1 + rng.Intn(4)}
		s := []int{1 + rng.Intn(3), 1 + rng.Intn(3)}
		d := []int{1 + rng.Intn(2), 1 + rng.Intn(2)}
		if op == "AveragePool" {
			d = []int{1, 1} // opset 11 AveragePool: no dilations
		}
		pads := make([]int, 4)
		for a := range pads {
			pads[a] = rng.Intn(k[a%2]) // below the kernel
		}
		attrs := []*graph.Attr{graph.IntsAttr("kernel_shape", k), graph.IntsAttr("strides", s), graph.IntsAttr("pads", pads),
			graph.IntAttr("ceil_mode", int64(rng.Intn(2)))}
		if op == "MaxPool" {
			attrs = append(attrs, graph.IntsAttr("dilations", d))
		} else {
			attrs = append(attrs, graph.IntAttr("count_include_pad", int64(rng.Intn(2))))
		}
		name := fmt.Sprintf("%s c%d %dx%d k%v s%v d%v pads%v", op, ch, h, w, k, s, d, pads)
		t.Run(name, func(t *testing.T) {
			b := newMB(int64(it))
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: h}, graph.Dim{Size: w})
			a := b.Node("Conv", []string{"x", b.RandInit("w", []int{ch, 3, 1, 1}, 0.5), b.RandInit("b", []int{ch}, 0.2)},
				graph.IntsAttr("kernel_shape", []int{1, 1}))
			p := b.Node(op, []string{a}, attrs...)
			b.Output(b.Node("Conv", []string{p, b.RandInit("w2", []int{8, ch, 1, 1}, 0.5)}, graph.IntsAttr("kernel_shape", []int{1, 1})))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(int64(it))), []int{1, 3, h, w}, -1, 1)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				pooled := false
				for _, st := range s.steps {
					switch st.kernel.(type) {
					case *nhwcMaxPoolKernel, *nhwcAvgPoolKernel:
						pooled = true
					}
				}
				require.True(t, pooled, "the pool runs channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for n, w := range want {
					require.NoError(t, CompareTensors(got[n], w, gemmTol), "%s, %d threads", n, th)
				}
			}
		})
	}
}

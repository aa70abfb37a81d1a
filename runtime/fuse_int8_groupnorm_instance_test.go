package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestInt8InstanceNormRegionIsOneStep: an InstanceNormalization (on 2-D maps
// and on 3-D volumes) followed by nothing, a Relu or a LeakyRelu, quantized as
// the quantizer's normalization region does (Q/DQ at its input and its output
// only, the inside float32; unet3d_op13's InstanceNorm + LeakyRelu pairs), runs
// in the int8 session as one int8 step (qGroupNormKernel: no Dequantize, no
// float32 normalisation, no Quantize), between int8 convolutions (channels-last
// in and out) or on the network input (planes in). Without an activation the
// quantizer quantizes the normalization's output itself (no region): the
// lowered QInstanceNorm, also one int8 step. Its output against the
// float executor running the same QDQ graph (the float32 reference path): at
// most one output step apart, nearly all equal; 1 and 2 threads.
func TestInt8InstanceNormRegionIsOneStep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shape    []int // the input [N, C, spatial...]
		act      string
		convs    bool // a convolution before and after the region
		planeBig bool
	}{
		{"3-D, LeakyRelu, between convolutions (unet3d)", []int{1, 8, 8, 16, 16}, "LeakyRelu", true, true},
		{"3-D, Relu, small volume", []int{2, 4, 3, 4, 5}, "Relu", true, false},
		{"3-D, no activation, on the input", []int{1, 6, 4, 8, 8}, "", false, true},
		{"2-D, LeakyRelu, between convolutions", []int{1, 16, 24, 24}, "LeakyRelu", true, true},
		{"2-D, Relu, on the input, batch 2", []int{2, 5, 9, 7}, "Relu", false, false},
		{"2-D, no activation, between convolutions", []int{1, 12, 20, 30}, "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(9)
			dims := make([]graph.Dim, len(tc.shape))
			for i, d := range tc.shape {
				dims[i] = graph.Dim{Size: d}
			}
			c, k := tc.shape[1], len(tc.shape)-2
			ones := make([]int, k)
			for i := range ones {
				ones[i] = 1
			}
			kernel := func() *graph.Attr { return graph.IntsAttr("kernel_shape", ones) }
			x := b.Input("x", dims...)
			wshape := append([]int{c, c}, ones...)
			if tc.convs {
				x = b.Node("Conv", []string{x, b.RandInit("w1", wshape, 0.5), b.RandInit("b1", []int{c}, 0.3)}, kernel())
			}
			norm := b.Node("InstanceNormalization", []string{x, b.RandInit("s", []int{c}, 1.5), b.RandInit("t", []int{c}, 1)})
			float := map[string]bool{}
			out := norm
			switch tc.act {
			case "LeakyRelu":
				out = b.Node("LeakyRelu", []string{norm}, tAttrF("alpha", 0.1))
				float[norm] = true
			case "Relu":
				out = b.Node("Relu", []string{norm})
				float[norm] = true
			}
			if tc.convs {
				out = b.Node("Conv", []string{out, b.RandInit("w2", wshape, 0.5)}, kernel())
			}
			b.Output(out)
			fm := b.Model()
			rng := rand.New(rand.NewSource(6))
			qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, tc.shape, -2, 2)}, qdqOptions{float: float})
			in := map[string]*graph.Tensor{"x": randInput(rng, tc.shape, -2, 2)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(th))
				require.NoError(t, err)
				fused := 0
				var kinds []string
				for _, st := range s.steps {
					kinds = append(kinds, fmt.Sprintf("%s/%T", st.node.OpType, st.kernel))
					switch st.kernel.(type) {
					case *qGroupNormKernel, *qinstanceNormKernel:
						fused++
					case *groupNormKernel, instanceNormKernel:
						t.Errorf("a float32 normalisation step is left: %v", kinds)
					}
				}
				require.Equal(t, 1, fused, "steps %v", kinds)
				if tc.convs && tc.act != "" {
					// int8 convolution, the region, int8 convolution, the output's Dequantize (and the input's Quantize)
					assert.LessOrEqual(t, len(s.steps), 5, "steps %v", kinds)
				}
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
				assert.GreaterOrEqual(t, frac, 0.99, "%d threads", th)
				assert.LessOrEqual(t, mx, 1.0001, "%d threads", th)
			}
		})
	}
}

// BenchmarkQInstanceNormChannelsLast is unet3d_op13's d1.1 region: an
// InstanceNormalization + LeakyRelu of 8 channels on an 8×16×16 volume,
// channels-last in and out.
func BenchmarkQInstanceNormChannelsLast(b *testing.B) {
	const c = 8
	gn := &groupNormKernel{c: c, groups: c, eps: 1e-5, post: kernels.LeakyReluAct(0.01), s: make([]float32, c), t: make([]float32, c),
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
	for i := range gn.s {
		gn.s[i] = 1
	}
	k := &qGroupNormKernel{gn: gn, inScale: 0.05, inZP: -7, outScale: 0.02, outZP: -40,
		inNHWC: true, dqPerm: []int{0, 4, 1, 2, 3}, outN: true, qPerm: []int{0, 2, 3, 4, 1}}
	x := make([]int8, 8*16*16*c)
	rng := rand.New(rand.NewSource(1))
	for i := range x {
		x[i] = int8(rng.Intn(256) - 128)
	}
	in := []*graph.Tensor{graph.FromInt8([]int{1, 8, 16, 16, c}, x)}
	ctx := &ExecContext{Threads: 1}
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

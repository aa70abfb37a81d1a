package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// refConvTranspose is the ConvTranspose by its definition, in float64: every
// input pixel's products added into y[o] for o = i·s − p + k·d.
func refConvTranspose(x []float32, n, c, h, w int, wt []float32, mg, kh, kw, groups int, bias []float32, sy, sx, dy, dx, py, px, oh, ow int) []float32 {
	m := mg * groups
	cg := c / groups
	acc := make([]float64, n*m*oh*ow)
	for img := 0; img < n; img++ {
		for ci := 0; ci < c; ci++ {
			g := ci / cg
			for iy := 0; iy < h; iy++ {
				for ix := 0; ix < w; ix++ {
					xv := float64(x[((img*c+ci)*h+iy)*w+ix])
					for oj := 0; oj < mg; oj++ {
						o := g*mg + oj
						for ky := 0; ky < kh; ky++ {
							oy := iy*sy - py + ky*dy
							if oy < 0 || oy >= oh {
								continue
							}
							for kx := 0; kx < kw; kx++ {
								ox := ix*sx - px + kx*dx
								if ox < 0 || ox >= ow {
									continue
								}
								acc[((img*m+o)*oh+oy)*ow+ox] += xv * float64(wt[((ci*mg+oj)*kh+ky)*kw+kx])
							}
						}
					}
				}
			}
		}
	}
	y := make([]float32, len(acc))
	for i, v := range acc {
		if bias != nil {
			v += float64(bias[(i/(oh*ow))%m])
		}
		y[i] = float32(v)
	}
	return y
}

// TestPhaseConvTransposeVsReference runs the phase kernel against the
// definition: strides 1-3 (phases with no tap: a 1x1 kernel at stride 2),
// dilations, uneven pads, output_padding and output_shape, groups (one,
// merged blocks, groups of 7 outputs, depthwise), outputs of fewer than 16
// channels and of a ragged panel, NCHW and channels-last in and out, batch
// 2, 1 and 2 threads, one kernel on several input sizes.
func TestPhaseConvTransposeVsReference(t *testing.T) {
	type geo struct {
		c, mg, groups, kh, kw, sy, sx, dy, dx int
		pads                                  [4]int
		outPad                                [2]int
	}
	cases := []struct {
		name   string
		g      geo
		shape  []int // output_shape attribute, or nil
		noBias bool
		sizes  [][2]int
	}{
		{"3x3 stride 2 pad 1 (tf2onnx)", geo{32, 16, 1, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, [2]int{1, 1}}, nil, false, [][2]int{{12, 12}, {5, 7}}},
		{"4x4 stride 2 pad 1 (DCGAN)", geo{24, 40, 1, 4, 4, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, [2]int{0, 0}}, nil, false, [][2]int{{8, 8}, {3, 9}}},
		{"3x3 stride 3 groups 3, 8 outputs each", geo{24, 8, 3, 3, 3, 3, 3, 1, 1, [4]int{0, 0, 0, 0}, [2]int{0, 0}}, nil, false, [][2]int{{10, 11}}},
		{"depthwise 4x4 stride 2", geo{32, 1, 32, 4, 4, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, [2]int{0, 0}}, nil, true, [][2]int{{16, 16}}},
		{"depthwise 3x3 stride 2 output_padding", geo{16, 1, 16, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, [2]int{1, 1}}, nil, false, [][2]int{{9, 8}}},
		{"1x1 stride 2: phases without taps", geo{8, 12, 1, 1, 1, 2, 2, 1, 1, [4]int{0, 0, 0, 0}, [2]int{1, 1}}, nil, false, [][2]int{{6, 5}}},
		{"5x3 strides 3x2 dilations 2x1 uneven pads", geo{20, 24, 1, 5, 3, 3, 2, 2, 1, [4]int{3, 0, 1, 2}, [2]int{2, 1}}, nil, false, [][2]int{{7, 9}, {1, 1}}},
		{"groups of 7 outputs", geo{30, 7, 6, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 0, 0}, [2]int{0, 0}}, nil, false, [][2]int{{6, 6}}},
		{"output_shape larger than the full output", geo{16, 16, 2, 3, 3, 2, 2, 1, 1, [4]int{0, 0, 0, 0}, [2]int{0, 0}}, []int{14, 13}, false, [][2]int{{6, 5}}},
		{"stride 2 pads larger than the stride", geo{16, 32, 1, 7, 7, 2, 2, 1, 1, [4]int{3, 4, 2, 3}, [2]int{0, 0}}, nil, false, [][2]int{{9, 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			m := g.mg * g.groups
			w := randF32(rng, g.c, g.mg, g.kh, g.kw)
			var b *graph.Tensor
			var bd []float32
			inputs := []string{"x", "w"}
			if !tc.noBias {
				b = randF32(rng, m)
				bd = b.F32()
				inputs = append(inputs, "b")
			}
			attrs := map[string]*graph.Attr{
				"group":          graph.IntAttr("group", int64(g.groups)),
				"kernel_shape":   graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
				"strides":        graph.IntsAttr("strides", []int{g.sy, g.sx}),
				"dilations":      graph.IntsAttr("dilations", []int{g.dy, g.dx}),
				"output_padding": graph.IntsAttr("output_padding", []int{g.outPad[0], g.outPad[1]}),
			}
			if tc.shape != nil {
				attrs["output_shape"] = graph.IntsAttr("output_shape", tc.shape)
			} else {
				attrs["pads"] = graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]})
			}
			node := &graph.Node{Name: "ct", OpType: "ConvTranspose", Inputs: inputs, Outputs: []string{"y"}, Attrs: attrs}
			for _, layout := range [][2]bool{{true, true}, {true, false}, {false, false}, {false, true}} {
				k, err := newPhaseConvTranspose(node, w, b, g.groups, layout[0], layout[1])
				require.NoError(t, err)
				const n = 2
				for _, sz := range tc.sizes {
					h, wd := sz[0], sz[1]
					geom, err := graph.ResolveConvTransposeGeom(node, []int{h, wd}, []int{g.kh, g.kw})
					require.NoError(t, err)
					oh, ow := geom.Out[0], geom.Out[1]
					x := randF32(rng, n, g.c, h, wd)
					want := refConvTranspose(x.F32(), n, g.c, h, wd, w.F32(), g.mg, g.kh, g.kw, g.groups, bd, g.sy, g.sx, g.dy, g.dx, geom.Pads[0], geom.Pads[1], oh, ow)
					xin := x
					if layout[0] {
						xin = &graph.Tensor{DType: graph.Float32, Shape: []int{n, h, wd, pixelStride(g.c)}, Data: toNHWC(x.F32(), n, g.c, h*wd)}
					}
					wantT := &graph.Tensor{DType: graph.Float32, Shape: []int{n, m, oh, ow}, Data: want}
					so := pixelStride(m)
					if layout[1] {
						wantT = &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: toNHWC(want, n, m, oh*ow)}
					}
					in := []*graph.Tensor{xin, w}
					if b != nil {
						in = append(in, b)
					}
					for _, th := range []int{1, 2} {
						out, err := k.Run(&ExecContext{Threads: th}, in)
						require.NoError(t, err)
						require.NoError(t, CompareTensors(out[0], wantT, gemmTol), fmt.Sprintf("layout %v, size %v, %d threads", layout, sz, th))
					}
				}
			}
		})
	}
}

// TestPhaseConvTransposeRejects checks that a run with other weights than
// the planned ones is an error, not a wrong result.
func TestPhaseConvTransposeRejects(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	w := randF32(rng, 8, 8, 3, 3)
	node := &graph.Node{Name: "ct", OpType: "ConvTranspose", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
		"strides": graph.IntsAttr("strides", []int{2, 2}),
	}}
	k, err := newPhaseConvTranspose(node, w, nil, 1, false, false)
	require.NoError(t, err)
	_, err = k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{randF32(rng, 1, 8, 4, 4), randF32(rng, 8, 8, 3, 3)})
	require.Error(t, err)
	_, err = k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{randF32(rng, 1, 6, 4, 4), w})
	require.Error(t, err)
	bad := &graph.Node{Name: "ct", OpType: "ConvTranspose", Attrs: map[string]*graph.Attr{"strides": graph.IntsAttr("strides", []int{0, 2})}}
	_, err = newPhaseConvTranspose(bad, w, nil, 1, false, false)
	require.Error(t, err)
}

// TestPhaseConvTransposeInSession builds decoders as exporters write them
// (a 3x3 stride-2 ConvTranspose with output_padding between convolutions,
// a 4x4 stride-2 depthwise one before a Relu, a grouped stride-3 one as the
// graph output, and one reading the graph input) and runs them with the
// channels-last pass and without: the ConvTransposes run on the phase kernel
// (channels-last in and out inside the chain, NCHW at the ends) and the
// outputs agree.
func TestPhaseConvTransposeInSession(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	b := newMB(7)
	b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, graph.Dim{Size: 9}, graph.Dim{Size: 11})
	c1 := b.Node("Relu", []string{b.conv("x", 8, 32, 3, 1, 1, 1, true)})
	ct1 := b.Node("ConvTranspose", []string{c1, b.RandInit("w1", []int{32, 24, 3, 3}, 0.3), b.RandInit("b1", []int{24}, 0.2)},
		graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntsAttr("output_padding", []int{1, 1}))
	c2 := b.conv(ct1, 24, 16, 3, 1, 1, 1, true)
	ct2 := b.Node("Relu", []string{b.Node("ConvTranspose", []string{c2, b.RandInit("w2", []int{16, 1, 4, 4}, 0.3)},
		graph.IntAttr("group", 16), graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))})
	o1 := b.conv(ct2, 16, 8, 1, 1, 0, 1, true)
	o2 := b.Node("ConvTranspose", []string{c2, b.RandInit("w3", []int{16, 4, 3, 3}, 0.3), b.RandInit("b3", []int{8}, 0.2)},
		graph.IntAttr("group", 2), graph.IntsAttr("strides", []int{3, 3}), graph.IntsAttr("pads", []int{1, 0, 0, 1}))
	o3 := b.Node("ConvTranspose", []string{"x", b.RandInit("w4", []int{8, 5, 3, 3}, 0.3)}, graph.IntsAttr("strides", []int{2, 2}))
	b.Output(o1, o2, o3)
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(8)), []int{1, 8, 9, 11}, -2, 2)}
	channelsLastMode = false
	ref, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	channelsLastMode = true
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		kinds := map[string]int{}
		for _, st := range s.steps {
			if k, ok := st.kernel.(*phaseConvTranspose); ok {
				kinds[fmt.Sprintf("in nhwc %v, out nhwc %v", k.inNHWC, k.outNHWC)]++
			}
		}
		require.Equal(t, map[string]int{"in nhwc true, out nhwc true": 2, "in nhwc true, out nhwc false": 1, "in nhwc false, out nhwc false": 1}, kinds)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		for _, o := range s.Outputs() {
			require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, o.Name)
			require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
		}
	}
}

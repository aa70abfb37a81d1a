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

// refGroupedConv is the textbook grouped 2-D convolution of NCHW x (every
// output a direct sum over its group's input channels and kernel taps).
func refGroupedConv(x []float32, n, c, h, w int, wt []float32, m, kh, kw, groups int, bias []float32,
	sh, sw, dh, dw, pt, pl, oh, ow int) []float32 {
	cg, mg := c/groups, m/groups
	y := make([]float32, n*m*oh*ow)
	for img := 0; img < n; img++ {
		for o := 0; o < m; o++ {
			g := o / mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if bias != nil {
						s = float64(bias[o])
					}
					for ci := 0; ci < cg; ci++ {
						for ki := 0; ki < kh; ki++ {
							iy := oy*sh - pt + ki*dh
							if iy < 0 || iy >= h {
								continue
							}
							for kj := 0; kj < kw; kj++ {
								ix := ox*sw - pl + kj*dw
								if ix < 0 || ix >= w {
									continue
								}
								s += float64(x[((img*c+g*cg+ci)*h+iy)*w+ix]) * float64(wt[((o*cg+ci)*kh+ki)*kw+kj])
							}
						}
					}
					y[((img*m+o)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y
}

// toNHWC lays NCHW data out channels-last at the executor's pixel stride.
func toNHWC(x []float32, n, c, plane int) []float32 {
	s := pixelStride(c)
	y := make([]float32, n*plane*s)
	for img := 0; img < n; img++ {
		for ch := 0; ch < c; ch++ {
			for p := 0; p < plane; p++ {
				y[(img*plane+p)*s+ch] = x[(img*c+ch)*plane+p]
			}
		}
	}
	return y
}

// TestGroupedRowsKernelMatchesReference checks the channels-last grouped
// convolution against refGroupedConv over group widths that merge into
// 16-lane blocks (4, 8), fill them (16, 32, 48, 64), leave a padded last block (13
// groups of 8), are wider than the input group (mg 24 from cg 12), do not
// divide 16 (groups of 7 and 9 with reductions of 54 steps and more: one
// group per block, spread into a scratch and gathered,
// conv_grouped_spread.go; groups of 3 on a 1x1: merged), stay under
// one panel (10 channels in all), with strides, dilation, asymmetric pads,
// a batch of two, both layouts on either side, a clamp, an activation and a
// fused residual; each with the reduced tiles (conv_grouped_red.go, where
// the CPU has them) and without.
func TestGroupedRowsKernelMatchesReference(t *testing.T) {
	type geo struct {
		n, c, h, w, m, groups, kh, kw, sh, sw, dh, dw int
		pads                                          [4]int // top, left, bottom, right
	}
	cases := []struct {
		name         string
		g            geo
		bias         bool
		clip         bool
		residual     bool
		act          kernels.Act
		inNH, outNH  bool
		wantBlocks   int
		wantBlockOut int // output channels of the first block
	}{
		{"resnext 32x4: 4 groups a block", geo{1, 128, 9, 9, 128, 32, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, kernels.ActNone, true, true, 8, 16},
		{"resnext 32x8, stride 2, NCHW out", geo{1, 256, 10, 11, 256, 32, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, false, false, kernels.ActNone, true, false, 16, 16},
		{"regnet group width 16", geo{2, 64, 8, 8, 64, 4, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, kernels.ActNone, true, true, 4, 16},
		{"group width 32, NCHW in", geo{1, 96, 7, 7, 96, 3, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, false, false, false, kernels.ActNone, false, true, 3, 32},
		{"group width 48 (RegNet-X-3.2GF): 48-wide panels", geo{1, 144, 8, 7, 144, 3, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, kernels.ActNone, true, true, 3, 48},
		{"group width 64, residual, stride 2", geo{1, 128, 9, 9, 128, 2, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, false, true, kernels.ActNone, true, true, 2, 64},
		{"7 groups of 4, residual, stride 2: a block of four and one of three", geo{1, 28, 9, 8, 28, 7, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActNone, true, true, 2, 16},
		{"groups of 12 and of 40 from 8, NCHW out", geo{1, 36, 7, 6, 36, 3, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, false, false, kernels.ActSiLU, true, false, 3, 16},
		{"groups of 40 from 8, residual NCHW out", geo{1, 16, 6, 6, 80, 2, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActNone, true, false, 1, 80},
		{"groups of 20 from 4", geo{2, 12, 5, 5, 60, 3, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, false, false, false, kernels.ActNone, false, true, 1, 64},
		{"13 groups of 8: padded last block", geo{1, 104, 6, 5, 104, 13, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, false, false, kernels.ActSiLU, true, true, 7, 16},
		{"mg 24 from cg 12, dilation, odd pads", geo{1, 48, 9, 8, 96, 4, 3, 2, 1, 2, 2, 1, [4]int{2, 0, 1, 1}}, true, true, false, kernels.ActNone, true, true, 2, 48},
		{"groups of 7 from 5, 5x5 dilated: spread", geo{1, 30, 12, 11, 42, 6, 5, 5, 1, 1, 2, 2, [4]int{4, 4, 4, 4}}, true, false, false, kernels.ActNone, true, true, 6, 16},
		{"groups of 9, clamp, NCHW out: spread", geo{2, 30, 8, 9, 45, 5, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, false, kernels.ActNone, true, false, 5, 16},
		{"groups of 3, 1x1, NCHW both: merged (short reduction)", geo{1, 147, 6, 6, 21, 7, 1, 1, 1, 1, 1, 1, [4]int{0, 0, 0, 0}}, false, false, false, kernels.ActNone, false, false, 1, 32},
		{"groups of 7 from 8, residual and SiLU, NHWC: spread", geo{1, 48, 7, 7, 42, 6, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActSiLU, true, true, 6, 16},
		{"groups of 7, residual, NCHW out, stride 2: spread", geo{1, 36, 9, 9, 42, 6, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActHardSwish, true, false, 6, 16},
		{"10 channels, 2 groups, 1x1", geo{1, 6, 5, 5, 10, 2, 1, 1, 1, 1, 1, 1, [4]int{0, 0, 0, 0}}, true, false, false, kernels.ActNone, false, false, 1, 10},
		{"residual, NHWC", geo{1, 64, 7, 7, 64, 8, 3, 3, 1, 1, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActNone, true, true, 4, 16},
		{"residual, NCHW out, stride 2", geo{1, 32, 9, 9, 64, 2, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}}, true, true, true, kernels.ActSiLU, true, false, 2, 32},
		{"5x5 stride 2 both NCHW", geo{1, 32, 11, 11, 64, 4, 5, 5, 2, 2, 1, 1, [4]int{2, 2, 2, 2}}, false, true, false, kernels.ActHardSwish, false, false, 4, 16},
	}
	defer func(v bool) { reducedGroupTiles = v }(reducedGroupTiles)
	for _, tc := range cases {
		for _, red := range []bool{true, false} {
			reducedGroupTiles = red
			t.Run(fmt.Sprintf("%s, reduced tiles %v", tc.name, red), func(t *testing.T) {
				g := tc.g
				rng := rand.New(rand.NewSource(int64(len(tc.name))))
				cg := g.c / g.groups
				w := randF32(rng, g.m, cg, g.kh, g.kw)
				var b *graph.Tensor
				var bd []float32
				if tc.bias {
					b = randF32(rng, g.m)
					bd = b.F32()
				}
				x := randF32(rng, g.n, g.c, g.h, g.w)
				node := &graph.Node{Name: "gconv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
					"group":        graph.IntAttr("group", int64(g.groups)),
					"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.kh, g.kw}),
					"strides":      graph.IntsAttr("strides", []int{g.sh, g.sw}),
					"dilations":    graph.IntsAttr("dilations", []int{g.dh, g.dw}),
					"pads":         graph.IntsAttr("pads", []int{g.pads[0], g.pads[1], g.pads[2], g.pads[3]}),
				}}
				in := []*graph.Tensor{nil, w}
				if tc.bias {
					node.Inputs = append(node.Inputs, "b")
					in = append(in, b)
				}
				ck := &convKernel{node: node, group: g.groups}
				var fk *fusedConvKernel
				lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
				if tc.clip || tc.act != kernels.ActNone || tc.residual {
					fk = &fusedConvKernel{conv: ck, nConvIn: len(in), post: tc.act, lo: lo, hi: hi}
					if tc.residual {
						fk.add = KernelFunc(nil)
					}
					if tc.clip {
						fk.act, fk.lo, fk.hi = KernelFunc(nil), -0.5, 0.75
						lo, hi = fk.lo, fk.hi
					}
				}
				nConvIn := len(in)
				k := newGroupedRowsKernel(ck, fk, w, b, nConvIn, tc.inNH, tc.outNH)
				if k.blocks[0].red > 0 {
					// The reduced tiles (conv_grouped_red.go, where the CPU
					// has them): blocks of whole groups or chunks of one,
					// covering the outputs in order.
					o := 0
					for _, blk := range k.blocks {
						require.Equal(t, o, blk.o0)
						o += blk.rw.Outputs()
					}
					require.Equal(t, g.m, o)
				} else {
					// Blocks of 16 outputs may run in pairs (conv_grouped_pair.go,
					// where the CPU has the paired tile): count each pair as two.
					nb := 0
					for _, blk := range k.blocks {
						nb++
						if blk.pair {
							nb++
							require.Equal(t, 32, blk.pb.N())
						}
					}
					require.Equal(t, tc.wantBlocks, nb)
					if k.blocks[0].pair {
						require.Equal(t, tc.wantBlockOut, 16)
					} else {
						require.Equal(t, tc.wantBlockOut, k.blocks[0].pb.N())
					}
				}

				oh := (g.h+g.pads[0]+g.pads[2]-(g.kh-1)*g.dh-1)/g.sh + 1
				ow := (g.w+g.pads[1]+g.pads[3]-(g.kw-1)*g.dw-1)/g.sw + 1
				want := refGroupedConv(x.F32(), g.n, g.c, g.h, g.w, w.F32(), g.m, g.kh, g.kw, g.groups, bd,
					g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[1], oh, ow)
				var res *graph.Tensor
				if tc.residual {
					res = randF32(rng, g.n, g.m, oh, ow)
					for i, r := range res.F32() {
						want[i] += r
					}
				}
				for i, v := range want {
					v = max(lo, min(hi, v))
					want[i] = v
				}
				kernels.ActF32(tc.act, want, want)
				in[0] = x
				if tc.inNH {
					in[0] = &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, g.h, g.w, pixelStride(g.c)}, Data: toNHWC(x.F32(), g.n, g.c, g.h*g.w)}
				}
				if res != nil {
					if tc.outNH {
						res = &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, oh, ow, pixelStride(g.m)}, Data: toNHWC(res.F32(), g.n, g.m, oh*ow)}
					}
					in = append(in, res)
				}
				wantT := graph.FromFloat32([]int{g.n, g.m, oh, ow}, want)
				wantShape := wantT.Shape
				if tc.outNH {
					wantT = &graph.Tensor{DType: graph.Float32, Shape: []int{g.n, oh, ow, pixelStride(g.m)}, Data: toNHWC(want, g.n, g.m, oh*ow)}
					wantShape = wantT.Shape
				}
				for _, th := range []int{1, 2} {
					out, err := k.Run(&ExecContext{Threads: th}, in)
					require.NoError(t, err)
					require.Len(t, out, 1)
					require.Equal(t, wantShape, out[0].Shape)
					got := out[0].F32()
					if tc.outNH {
						// Compare the real channels only: the stride's padding is unused.
						s := pixelStride(g.m)
						for p := 0; p < g.n*oh*ow; p++ {
							for ch := g.m; ch < s; ch++ {
								got[p*s+ch] = 0
							}
						}
					}
					require.NoError(t, CompareTensors(out[0], wantT, gemmTol), fmt.Sprintf("%d threads", th))
				}
			})
		}
	}
}

// TestGroupedRowsKernelRejects checks that the kernel errors (no panic) on
// inputs that are not the planned ones.
func TestGroupedRowsKernelRejects(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	w := randF32(rng, 32, 4, 3, 3)
	node := &graph.Node{Name: "gconv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
		"group": graph.IntAttr("group", 8), "pads": graph.IntsAttr("pads", []int{1, 1, 1, 1}),
	}}
	k := newGroupedRowsKernel(&convKernel{node: node, group: 8}, nil, w, nil, 2, true, true)
	for _, tc := range []struct {
		name string
		in   []*graph.Tensor
	}{
		{"other weights", []*graph.Tensor{randF32(rng, 1, 5, 5, 32), randF32(rng, 32, 4, 3, 3)}},
		{"wrong pixel stride", []*graph.Tensor{randF32(rng, 1, 5, 5, 48), w}},
		{"missing input", []*graph.Tensor{nil, w}},
		{"too few inputs", []*graph.Tensor{randF32(rng, 1, 5, 5, 32)}},
	} {
		_, err := k.Run(&ExecContext{Threads: 1}, tc.in)
		require.Error(t, err, tc.name)
	}
}

// TestChannelsLastGroupedGraphs runs ResNeXt- and RegNet-like blocks with the
// channels-last pass on and off: the grouped convolutions join the chain
// (their neighbours stay channels-last) and the outputs match.
func TestChannelsLastGroupedGraphs(t *testing.T) {
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cases := []struct {
		name          string
		in            []graph.Dim
		x             []int
		build         func(b *mb)
		grouped, rows int
	}{
		{name: "resnext bottleneck", in: staticDims(1, 16, 12, 12), x: []int{1, 16, 12, 12}, grouped: 2, rows: 4, build: func(b *mb) {
			s := relu(b, b.conv("x", 16, 64, 1, 1, 0, 1, true))
			a := relu(b, b.conv(s, 64, 64, 1, 1, 0, 1, true))
			a = relu(b, b.conv(a, 64, 64, 3, 1, 1, 16, true))
			r := relu(b, b.Node("Add", []string{s, b.conv(a, 64, 64, 1, 1, 0, 1, true)}))
			a = relu(b, b.conv(r, 64, 128, 3, 2, 1, 16, true))
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(a, 128, 32, 1, 1, 0, 1, true)}))
		}},
		{name: "regnet block with squeeze-excite", in: staticDims(2, 8, 10, 10), x: []int{2, 8, 10, 10}, grouped: 1, rows: 4, build: func(b *mb) {
			s := relu(b, b.conv("x", 8, 48, 1, 1, 0, 1, true))
			a := relu(b, b.conv(s, 48, 48, 3, 2, 1, 3, true))
			p := b.Node("GlobalAveragePool", []string{a})
			e := relu(b, b.conv(p, 48, 12, 1, 1, 0, 1, true))
			e = b.Node("Sigmoid", []string{b.conv(e, 12, 48, 1, 1, 0, 1, true)})
			b.Output(b.conv(b.Node("Mul", []string{a, e}), 48, 24, 1, 1, 0, 1, true))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(29)
			b.Input("x", tc.in...)
			tc.build(b)
			checkChannelsLastGraph(t, b.Model(), tc.x, map[string]int{"*runtime.groupedRowsKernel": tc.grouped, "*runtime.rowsConvKernel": tc.rows})
		})
	}
}

// staticDims is a shape of known sizes.
func staticDims(n ...int) []graph.Dim {
	d := make([]graph.Dim, len(n))
	for i, v := range n {
		d[i] = graph.Dim{Size: v}
	}
	return d
}

// checkChannelsLastGraph runs m on a random input of shape x with the
// channels-last pass off and on, at 1 and 2 threads: the outputs match within
// GEMM tolerance and the session has count steps of each kernel type named.
func checkChannelsLastGraph(t *testing.T, m *graph.Model, x []int, count map[string]int) {
	t.Helper()
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), x, -1, 1)}
	channelsLastMode = false
	ref, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	channelsLastMode = true
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		got := map[string]int{}
		for _, st := range s.steps {
			got[fmt.Sprintf("%T", st.kernel)]++
		}
		for typ, n := range count {
			require.Equal(t, n, got[typ], typ)
		}
		for _, st := range s.steps {
			if k, ok := st.kernel.(*channelShuffleKernel); ok {
				require.True(t, k.nhwc, "the test graphs' channel shuffles run channels-last")
			}
		}
		for run := 0; run < 2; run++ {
			out, err := s.RunTensors(in)
			require.NoError(t, err)
			require.Equal(t, len(want), len(out))
			for name, w := range want {
				require.NoError(t, CompareTensors(out[name], w, gemmTol), fmt.Sprintf("%s, %d threads, run %d", name, th, run))
			}
		}
	}
}

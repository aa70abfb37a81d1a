package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// conv3dSpec is one 3-D Conv of the tests: kernel, strides, dilations and
// pads (begin d, h, w, end d, h, w) per axis.
type conv3dSpec struct {
	cin, cout, group int
	k, s, dil        [3]int
	pads             [6]int
}

func (b *mb) conv3d(x string, c conv3dSpec, bias bool) string {
	w := b.RandInit("w3", []int{c.cout, c.cin / c.group, c.k[0], c.k[1], c.k[2]}, float32(1.5/math.Sqrt(float64(c.cin/c.group*c.k[0]*c.k[1]*c.k[2]))))
	ins := []string{x, w}
	if bias {
		ins = append(ins, b.RandInit("b3", []int{c.cout}, 0.2))
	}
	return b.Node("Conv", ins, graph.IntsAttr("kernel_shape", c.k[:]), graph.IntsAttr("strides", c.s[:]),
		graph.IntsAttr("dilations", c.dil[:]), graph.IntsAttr("pads", c.pads[:]), graph.IntAttr("group", int64(c.group)))
}

// refConv3D is the definition of a 3-D convolution (NCDHW, OIDHW weights):
// y[n, o, z, i, j] = b[o] + Σ x[n, g·cg + ci, z·sd − pd + kt·dd, ...]·w[o, ci, kt, ki, kj].
func refConv3D(x []float32, n, c, d, h, wd int, w []float32, bias []float32, sp conv3dSpec) ([]float32, []int) {
	in := [3]int{d, h, wd}
	var out [3]int
	for a := 0; a < 3; a++ {
		out[a] = (in[a]+sp.pads[a]+sp.pads[3+a]-(sp.k[a]-1)*sp.dil[a]-1)/sp.s[a] + 1
	}
	m, g := sp.cout, sp.group
	cg, mg := c/g, m/g
	y := make([]float32, n*m*out[0]*out[1]*out[2])
	for b := 0; b < n; b++ {
		for o := 0; o < m; o++ {
			gi := o / mg
			for z := 0; z < out[0]; z++ {
				for i := 0; i < out[1]; i++ {
					for j := 0; j < out[2]; j++ {
						var acc float64
						if bias != nil {
							acc = float64(bias[o])
						}
						for ci := 0; ci < cg; ci++ {
							for kt := 0; kt < sp.k[0]; kt++ {
								iz := z*sp.s[0] - sp.pads[0] + kt*sp.dil[0]
								if iz < 0 || iz >= d {
									continue
								}
								for ki := 0; ki < sp.k[1]; ki++ {
									iy := i*sp.s[1] - sp.pads[1] + ki*sp.dil[1]
									if iy < 0 || iy >= h {
										continue
									}
									for kj := 0; kj < sp.k[2]; kj++ {
										ix := j*sp.s[2] - sp.pads[2] + kj*sp.dil[2]
										if ix < 0 || ix >= wd {
											continue
										}
										xv := x[(((b*c+gi*cg+ci)*d+iz)*h+iy)*wd+ix]
										wv := w[(((o*cg+ci)*sp.k[0]+kt)*sp.k[1]+ki)*sp.k[2]+kj]
										acc += float64(xv) * float64(wv)
									}
								}
							}
						}
						y[(((b*m+o)*out[0]+z)*out[1]+i)*out[2]+j] = float32(acc)
					}
				}
			}
		}
	}
	return y, []int{n, m, out[0], out[1], out[2]}
}

// TestConv3DRowsVsReference runs single 3-D convolutions (with the fused
// Relu, and with a residual Add) through a session, channels-last pass on
// and off, against the definition: cubic and (1,3,3)/(3,1,1) kernels,
// strides, dilations, asymmetric pads, output slices whose depth window lies
// in the padding (bias only), groups, output widths that are not a multiple
// of 16 (R(2+1)D's 45 and 144) and of 512, batch 2 and 1-2 threads.
func TestConv3DRowsVsReference(t *testing.T) {
	one := [3]int{1, 1, 1}
	cases := []struct {
		name     string
		x        []int
		sp       conv3dSpec
		relu     bool
		residual bool
	}{
		{"3x3x3 pad 1, RGB stem", []int{2, 3, 5, 12, 11}, conv3dSpec{3, 16, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true, false},
		{"(1,3,3) stride (1,2,2), 45 outputs", []int{1, 8, 4, 13, 14}, conv3dSpec{8, 45, 1, [3]int{1, 3, 3}, [3]int{1, 2, 2}, one, [6]int{0, 1, 1, 0, 1, 1}}, true, false},
		{"(3,1,1) in place, 144 outputs, residual", []int{1, 48, 6, 5, 7}, conv3dSpec{48, 144, 1, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, true, true},
		{"(3,1,1) stride (2,1,1) dilated depth", []int{2, 16, 9, 4, 4}, conv3dSpec{16, 32, 1, [3]int{3, 1, 1}, [3]int{2, 1, 1}, [3]int{2, 1, 1}, [6]int{2, 0, 0, 1, 0, 0}}, false, false},
		{"depth window in the padding", []int{1, 4, 3, 6, 6}, conv3dSpec{4, 20, 1, [3]int{1, 3, 3}, one, one, [6]int{2, 1, 1, 2, 1, 1}}, true, true},
		{"2x2x2 stride 2, dilation (1,2,2), asymmetric", []int{1, 5, 8, 11, 9}, conv3dSpec{5, 24, 1, [3]int{2, 3, 2}, [3]int{2, 2, 2}, [3]int{1, 2, 2}, [6]int{0, 2, 1, 1, 0, 1}}, false, false},
		{"grouped (3,1,1), 4 groups", []int{1, 32, 4, 6, 6}, conv3dSpec{32, 32, 4, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, true, false},
		{"grouped 3x3x3, 2 groups, padded rows, residual", []int{2, 8, 4, 5, 5}, conv3dSpec{8, 12, 2, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true, true},
		{"1x1x1 stride 2 to 512", []int{1, 32, 4, 4, 4}, conv3dSpec{32, 512, 1, one, [3]int{2, 2, 2}, one, [6]int{}}, false, false},
		{"small map 3x3x3, 64 channels (im2col)", []int{1, 64, 3, 4, 4}, conv3dSpec{64, 64, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true, false},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(int64(31 + ci))
			dims := make([]graph.Dim, 5)
			for i, v := range tc.x {
				dims[i] = graph.Dim{Size: v}
			}
			b.Input("x", dims...)
			y := b.conv3d("x", tc.sp, true)
			var resName string
			if tc.residual {
				_, shape := refConv3D(make([]float32, graph.NumElements(tc.x)), tc.x[0], tc.x[1], tc.x[2], tc.x[3], tc.x[4],
					make([]float32, tc.sp.cout*tc.sp.cin/tc.sp.group*tc.sp.k[0]*tc.sp.k[1]*tc.sp.k[2]), nil, tc.sp)
				rd := make([]graph.Dim, 5)
				for i, v := range shape {
					rd[i] = graph.Dim{Size: v}
				}
				resName = "r"
				b.Input(resName, rd...)
				y = b.Node("Add", []string{y, resName})
			}
			if tc.relu {
				y = b.Node("Relu", []string{y})
			}
			b.Output(y)
			m := b.Model()
			rng := rand.New(rand.NewSource(int64(7 + ci)))
			x := randInput(rng, tc.x, -1, 1)
			w := m.Graph.Initializers[m.Graph.Nodes[0].Inputs[1]]
			bias := m.Graph.Initializers[m.Graph.Nodes[0].Inputs[2]]
			want, shape := refConv3D(x.F32(), tc.x[0], tc.x[1], tc.x[2], tc.x[3], tc.x[4], w.F32(), bias.F32(), tc.sp)
			in := map[string]*graph.Tensor{"x": x}
			if tc.residual {
				r := randInput(rng, shape, -1, 1)
				in[resName] = r
				for i, v := range r.F32() {
					want[i] += v
				}
			}
			if tc.relu {
				for i, v := range want {
					want[i] = max(v, 0)
				}
			}
			ref := graph.FromFloat32(shape, want)
			for _, mode := range []bool{false, true} {
				channelsLastMode = mode
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
					require.NoError(t, err)
					rows := 0
					for _, st := range s.steps {
						if _, ok := st.kernel.(*conv3dRowsKernel); ok {
							rows++
						}
					}
					require.Equal(t, map[bool]int{false: 0, true: 1}[mode], rows, "3-D rows convolutions")
					for run := 0; run < 2; run++ {
						got, err := s.RunTensors(in)
						require.NoError(t, err)
						require.NoError(t, CompareTensors(got[y], ref, gemmTol), fmt.Sprintf("channels-last %v, %d threads, run %d", mode, th, run))
					}
				}
			}
		})
	}
}

// TestChannelsLast3DMatchesNCDHW runs small 3-D networks with the
// channels-last pass on and off: the C3D-style chain (Conv → Relu → MaxPool
// → ...), an R(2+1)D block with the residual fused in the channels-last
// layout and the global pool reading it, average pools with pads, ceil mode
// and count_include_pad, a max pool with dilations and padding, a tapped
// intermediate that must stay NCDHW and a symbolic batch.
func TestChannelsLast3DMatchesNCDHW(t *testing.T) {
	one := [3]int{1, 1, 1}
	pool := func(b *mb, op, x string, k, s, pads, dil []int, extra ...*graph.Attr) string {
		attrs := []*graph.Attr{graph.IntsAttr("kernel_shape", k), graph.IntsAttr("strides", s), graph.IntsAttr("pads", pads)}
		if dil != nil {
			attrs = append(attrs, graph.IntsAttr("dilations", dil))
		}
		return b.Node(op, []string{x}, append(attrs, extra...)...)
	}
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cases := []struct {
		name string
		x    []int
		sym  bool
		taps []string
		nhwc int // steps expected to hand a channels-last tensor on (3-D convs and pools writing one)
		// build returns the graph output
		build func(b *mb) string
	}{
		// The closing 3-D mean is a GlobalAveragePool (graph/optimize/reduce_pool.go):
		// it reads channels-last, so the last conv and pool write channels-last too.
		{name: "c3d chain", x: []int{1, 3, 8, 16, 16}, nhwc: 6, build: func(b *mb) string {
			a := relu(b, b.conv3d("x", conv3dSpec{3, 16, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
			a = pool(b, "MaxPool", a, []int{1, 2, 2}, []int{1, 2, 2}, []int{0, 0, 0, 0, 0, 0}, nil)
			a = relu(b, b.conv3d(a, conv3dSpec{16, 32, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
			a = pool(b, "MaxPool", a, []int{2, 2, 2}, []int{2, 2, 2}, []int{0, 0, 0, 0, 0, 0}, nil)
			a = relu(b, b.conv3d(a, conv3dSpec{32, 32, 4, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, true))
			a = pool(b, "AveragePool", a, []int{2, 3, 3}, []int{2, 2, 2}, []int{1, 1, 1, 0, 1, 1}, nil, graph.IntAttr("count_include_pad", 1), graph.IntAttr("ceil_mode", 1))
			return b.Node("ReduceMean", []string{a}, graph.IntsAttr("axes", []int{2, 3, 4}), graph.IntAttr("keepdims", 0))
		}},
		{name: "r2plus1d block, global pool", x: []int{2, 3, 4, 14, 14}, nhwc: 7, sym: true, build: func(b *mb) string {
			s := relu(b, b.conv3d("x", conv3dSpec{3, 45, 1, [3]int{1, 7, 7}, [3]int{1, 2, 2}, one, [6]int{0, 3, 3, 0, 3, 3}}, false))
			s = relu(b, b.conv3d(s, conv3dSpec{45, 32, 1, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, false))
			a := relu(b, b.conv3d(s, conv3dSpec{32, 48, 1, [3]int{1, 3, 3}, one, one, [6]int{0, 1, 1, 0, 1, 1}}, false))
			a = relu(b, b.conv3d(a, conv3dSpec{48, 32, 1, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, false))
			a = b.conv3d(a, conv3dSpec{32, 48, 1, [3]int{1, 3, 3}, one, one, [6]int{0, 1, 1, 0, 1, 1}}, false)
			a = b.conv3d(a, conv3dSpec{48, 32, 1, [3]int{3, 1, 1}, one, one, [6]int{1, 0, 0, 1, 0, 0}}, false)
			r := relu(b, b.Node("Add", []string{a, s}))
			d := b.conv3d(r, conv3dSpec{32, 64, 1, one, [3]int{2, 2, 2}, one, [6]int{}}, false)
			g := b.Node("GlobalAveragePool", []string{relu(b, d)})
			return b.gemm(b.Node("Flatten", []string{g}), 64, 10)
		}},
		{name: "pools: dilated max, include-pad average, tapped", x: []int{1, 8, 7, 9, 10}, taps: []string{"Relu_out"}, nhwc: 4, build: func(b *mb) string {
			a := relu(b, b.conv3d("x", conv3dSpec{8, 16, 1, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
			c := b.conv3d(a, conv3dSpec{16, 24, 1, [3]int{1, 1, 1}, one, one, [6]int{}}, true)
			c = pool(b, "MaxPool", c, []int{2, 3, 2}, []int{1, 2, 2}, []int{1, 1, 0, 1, 1, 1}, []int{2, 1, 2})
			c = pool(b, "AveragePool", c, []int{3, 2, 2}, []int{2, 1, 2}, []int{1, 0, 1, 1, 1, 0}, nil, graph.IntAttr("count_include_pad", 1))
			c = pool(b, "AveragePool", c, []int{2, 2, 2}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, nil, graph.IntAttr("ceil_mode", 1))
			c = b.conv3d(c, conv3dSpec{24, 8, 1, one, one, one, [6]int{}}, true)
			return b.Node("Sigmoid", []string{c})
		}},
		{name: "x3d blocks: depthwise, multiplier 2, SiLU", x: []int{1, 3, 4, 12, 12}, nhwc: 5, build: func(b *mb) string {
			s := relu(b, b.conv3d("x", conv3dSpec{3, 24, 1, [3]int{1, 3, 3}, [3]int{1, 2, 2}, one, [6]int{0, 1, 1, 0, 1, 1}}, true))
			a := relu(b, b.conv3d(s, conv3dSpec{24, 54, 1, one, one, one, [6]int{}}, true))
			a = relu(b, b.conv3d(a, conv3dSpec{54, 54, 54, [3]int{3, 3, 3}, one, one, [6]int{1, 1, 1, 1, 1, 1}}, true))
			r := b.Node("Add", []string{b.conv3d(a, conv3dSpec{54, 24, 1, one, one, one, [6]int{}}, true), s})
			d := b.conv3d(r, conv3dSpec{24, 48, 24, [3]int{3, 3, 3}, [3]int{1, 2, 2}, one, [6]int{1, 1, 1, 1, 1, 1}}, true)
			d = b.Node("Mul", []string{d, b.Node("Sigmoid", []string{d})})
			g := b.Node("GlobalAveragePool", []string{d})
			return b.gemm(b.Node("Flatten", []string{g}), 48, 10)
		}},
		{name: "depthwise on the input, tapped, then NCDHW out", x: []int{2, 16, 5, 7, 9}, taps: []string{"Relu_out"}, nhwc: 1, build: func(b *mb) string {
			a := relu(b, b.conv3d("x", conv3dSpec{16, 16, 16, [3]int{3, 3, 3}, one, [3]int{2, 1, 1}, [6]int{2, 1, 1, 2, 1, 1}}, true))
			c := b.conv3d(a, conv3dSpec{16, 32, 1, one, one, one, [6]int{}}, true)
			c = b.conv3d(c, conv3dSpec{32, 32, 32, [3]int{2, 3, 3}, [3]int{2, 1, 2}, one, [6]int{0, 1, 1, 1, 1, 0}}, false)
			return b.Node("ReduceMean", []string{c}, graph.IntsAttr("axes", []int{3}), graph.IntAttr("keepdims", 1))
		}},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(int64(53 + ci))
			dims := make([]graph.Dim, 5)
			for i, v := range tc.x {
				dims[i] = graph.Dim{Size: v}
			}
			if tc.sym {
				dims[0] = graph.Dim{Size: -1, Param: "N"}
			}
			b.Input("x", dims...)
			y := tc.build(b)
			b.Output(y)
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
			x := randInput(rand.New(rand.NewSource(int64(17+ci))), tc.x, -1, 1)
			in := map[string]*graph.Tensor{"x": x}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...), WithThreads(th))
				require.NoError(t, err)
				cl := 0
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *conv3dRowsKernel:
						if k.outNHWC {
							cl++
						}
					case *dw3DRowsKernel:
						if k.outNHWC {
							cl++
						}
					case *nhwc3DPoolKernel:
						cl++
					}
				}
				require.Equal(t, tc.nhwc, cl, "steps writing channels-last 3-D tensors")
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

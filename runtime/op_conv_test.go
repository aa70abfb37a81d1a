package runtime

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// gemmTol is the tolerance for float32 results computed through Sgemm (FMA, blocked
// summation order) against float64 references.
var gemmTol = Tolerance{Rtol: 1e-4, Atol: 1e-5}

func randF32(r *rand.Rand, shape ...int) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i, d := 0, t.F32(); i < len(d); i++ {
		d[i] = r.Float32()*2 - 1
	}
	return t
}

// runNodeWith runs one node with some inputs bound as initializers (consts[i] true),
// so that builders see them in BuildContext.Consts, and with the given thread count.
func runNodeWith(t *testing.T, opset int64, threads int, n *graph.Node, consts []bool, inputs ...*graph.Tensor) ([]*graph.Tensor, error) {
	return runNodeOpt(t, opset, threads, false, n, consts, inputs...)
}

// runNodeDynamic runs one node whose graph inputs declare no shape, so that shape
// inference cannot catch bad shapes and the kernel's own checks are exercised.
func runNodeDynamic(t *testing.T, n *graph.Node, inputs ...*graph.Tensor) ([]*graph.Tensor, error) {
	return runNodeOpt(t, 17, 2, true, n, nil, inputs...)
}

func runNodeOpt(t *testing.T, opset int64, threads int, dynamic bool, n *graph.Node, consts []bool, inputs ...*graph.Tensor) ([]*graph.Tensor, error) {
	t.Helper()
	g := &graph.Graph{Name: "single", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	feed := map[string]*graph.Tensor{}
	for i, name := range n.Inputs {
		if name == "" || i >= len(inputs) || inputs[i] == nil {
			continue
		}
		if i < len(consts) && consts[i] {
			g.Initializers[name] = inputs[i]
			continue
		}
		g.Inputs = append(g.Inputs, &graph.Value{Name: name, DType: inputs[i].DType, Shape: graph.ShapeOf(inputs[i].Shape...), HasShape: !dynamic})
		feed[name] = inputs[i]
	}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &graph.Value{Name: o})
		}
	}
	g.Nodes = []*graph.Node{n}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset}}
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
	if err != nil {
		return nil, err
	}
	res, err := s.RunTensors(feed)
	if err != nil {
		return nil, err
	}
	outs := make([]*graph.Tensor, len(n.Outputs))
	for i, o := range n.Outputs {
		outs[i] = res[o]
	}
	return outs, nil
}

// convRef is the textbook N-d grouped convolution (float64 accumulation).
func convRef(x, w, b *graph.Tensor, group int, strides, dils, pads []int) *graph.Tensor {
	r := len(x.Shape) - 2
	n, c := x.Shape[0], x.Shape[1]
	m := w.Shape[0]
	in, k := x.Shape[2:], w.Shape[2:]
	out := make([]int, r)
	for i := range out {
		out[i] = (in[i]+pads[i]+pads[r+i]-(k[i]-1)*dils[i]-1)/strides[i] + 1
	}
	y := graph.NewTensor(graph.Float32, append([]int{n, m}, out...))
	cg, mg := c/group, m/group
	xd, wd, yd := x.F32(), w.F32(), y.F32()
	osz, isz, ksz := graph.NumElements(out), graph.NumElements(in), graph.NumElements(k)
	for img := 0; img < n; img++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for o := 0; o < osz; o++ {
				oi := unravel(o, out)
				var s float64
				if b != nil {
					s = float64(b.F32()[oc])
				}
				for ic := 0; ic < cg; ic++ {
					for kk := 0; kk < ksz; kk++ {
						ki := unravel(kk, k)
						off, ok := 0, true
						for a := 0; a < r; a++ {
							p := oi[a]*strides[a] - pads[a] + ki[a]*dils[a]
							if p < 0 || p >= in[a] {
								ok = false
								break
							}
							off = off*in[a] + p
						}
						if ok {
							s += float64(xd[(img*c+g*cg+ic)*isz+off]) * float64(wd[(oc*cg+ic)*ksz+kk])
						}
					}
				}
				yd[(img*m+oc)*osz+o] = float32(s)
			}
		}
	}
	return y
}

func TestConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	cases := []struct {
		name          string
		x, w          []int
		group         int
		strides, dils []int
		pads          []int
		bias          bool
	}{
		{"1x1 pointwise", []int{2, 8, 5, 5}, []int{6, 8, 1, 1}, 1, []int{1, 1}, []int{1, 1}, []int{0, 0, 0, 0}, true},
		{"1x1 stride 2", []int{1, 8, 7, 7}, []int{4, 8, 1, 1}, 1, []int{2, 2}, []int{1, 1}, []int{0, 0, 0, 0}, false},
		{"3x3 pad 1", []int{1, 3, 9, 9}, []int{5, 3, 3, 3}, 1, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"3x3 stride 2 asymmetric pads", []int{2, 4, 8, 7}, []int{6, 4, 3, 3}, 1, []int{2, 2}, []int{1, 1}, []int{1, 0, 2, 1}, true},
		{"dilated", []int{1, 2, 11, 10}, []int{3, 2, 3, 2}, 1, []int{1, 2}, []int{2, 3}, []int{2, 1, 2, 3}, false},
		{"grouped", []int{2, 6, 6, 6}, []int{9, 2, 3, 3}, 3, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"depthwise", []int{1, 5, 7, 7}, []int{5, 1, 3, 3}, 5, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"7x7 stride 2 stem", []int{1, 3, 20, 20}, []int{8, 3, 7, 7}, 1, []int{2, 2}, []int{1, 1}, []int{3, 3, 3, 3}, true},
		{"1d", []int{2, 3, 17}, []int{4, 3, 5}, 1, []int{3}, []int{2}, []int{4, 1}, true},
		{"3d", []int{1, 2, 5, 6, 4}, []int{3, 2, 3, 2, 3}, 1, []int{1, 2, 1}, []int{1, 1, 1}, []int{1, 0, 1, 1, 1, 0}, true},
		// The packed path's padded-gather im2col: several column blocks, a tail panel,
		// end pads that are partly or not at all reached.
		{"3x3 pad 1 wide", []int{1, 5, 23, 37}, []int{7, 5, 3, 3}, 1, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"3x3 stride 2 even size", []int{2, 3, 16, 16}, []int{4, 3, 3, 3}, 1, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, false},
		{"5x5 stride 3 uneven pads", []int{1, 2, 13, 11}, []int{3, 2, 5, 5}, 1, []int{3, 3}, []int{1, 1}, []int{3, 0, 4, 5}, true},
		{"dilated 3x3 pad 2", []int{1, 4, 19, 18}, []int{5, 4, 3, 3}, 1, []int{1, 1}, []int{2, 2}, []int{2, 2, 2, 2}, true},
		{"large pads, stride 5", []int{1, 2, 3, 2}, []int{3, 2, 1, 1}, 1, []int{5, 5}, []int{1, 1}, []int{4, 4, 0, 0}, true},
		{"pads beyond the kernel's reach", []int{1, 2, 1, 1}, []int{3, 2, 1, 1}, 1, []int{5, 5}, []int{1, 1}, []int{4, 4, 0, 0}, true},
		{"left pad beyond the kernel's reach", []int{1, 2, 3, 1}, []int{3, 2, 1, 1}, 1, []int{1, 5}, []int{1, 1}, []int{0, 4, 0, 0}, false},
		{"kernel larger than padded-free input", []int{1, 1, 3, 3}, []int{1, 1, 3, 3}, 1, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, false},
	}
	defer func(m int) { shiftedMode = m }(shiftedMode)
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			// Variable weights take the general path; constant ones the packed path,
			// with the shifted (implicit GEMM) or gather im2col by cost, or forced.
			for _, v := range []struct {
				constW bool
				mode   int
			}{{false, 0}, {true, 0}, {true, 1}, {true, -1}} {
				constW, mode := v.constW, v.mode
				shiftedMode = mode
				t.Run(fmt.Sprintf("%s/threads=%d/constW=%v/shifted=%d", tc.name, threads, constW, mode), func(t *testing.T) {
					x, w := randF32(r, tc.x...), randF32(r, tc.w...)
					var b *graph.Tensor
					ins := []*graph.Tensor{x, w}
					n := mk("Conv", 2, 1, aInt("group", int64(tc.group)), aInts("strides", toI64(tc.strides)...),
						aInts("dilations", toI64(tc.dils)...), aInts("pads", toI64(tc.pads)...))
					if tc.bias {
						b = randF32(r, tc.w[0])
						ins = append(ins, b)
						n.Inputs = append(n.Inputs, "x2")
					}
					got, err := runNodeWith(t, 13, threads, n, []bool{false, constW, constW}, ins...)
					require.NoError(t, err)
					want := convRef(x, w, b, tc.group, tc.strides, tc.dils, tc.pads)
					require.NoError(t, CompareTensors(got[0], want, gemmTol))
				})
			}
		}
	}
}

func toI64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// convTransposeRef scatters every input element times the kernel into the full output
// and crops the pads (float64 accumulation).
func convTransposeRef(x, w, b *graph.Tensor, group int, strides, dils, pads, outSpatial []int) *graph.Tensor {
	r := len(x.Shape) - 2
	n, c := x.Shape[0], x.Shape[1]
	mg := w.Shape[1]
	m := mg * group
	cg := c / group
	in, k := x.Shape[2:], w.Shape[2:]
	y := make([]float64, n*m*graph.NumElements(outSpatial))
	osz, isz, ksz := graph.NumElements(outSpatial), graph.NumElements(in), graph.NumElements(k)
	xd, wd := x.F32(), w.F32()
	for img := 0; img < n; img++ {
		for ic := 0; ic < c; ic++ {
			g := ic / cg
			for i := 0; i < isz; i++ {
				ii := unravel(i, in)
				xv := float64(xd[(img*c+ic)*isz+i])
				for j := 0; j < mg; j++ {
					oc := g*mg + j
					for kk := 0; kk < ksz; kk++ {
						ki := unravel(kk, k)
						off, ok := 0, true
						for a := 0; a < r; a++ {
							p := ii[a]*strides[a] - pads[a] + ki[a]*dils[a]
							if p < 0 || p >= outSpatial[a] {
								ok = false
								break
							}
							off = off*outSpatial[a] + p
						}
						if ok {
							y[(img*m+oc)*osz+off] += xv * float64(wd[(ic*mg+j)*ksz+kk])
						}
					}
				}
			}
		}
	}
	out := graph.NewTensor(graph.Float32, append([]int{n, m}, outSpatial...))
	for i, v := range y {
		if b != nil {
			v += float64(b.F32()[(i/osz)%m])
		}
		out.F32()[i] = float32(v)
	}
	return out
}

func TestConvTransposeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	cases := []struct {
		name                string
		x, w                []int
		group               int
		strides, dils, pads []int
		adj                 []int
	}{
		{"stride 2", []int{2, 4, 5, 5}, []int{4, 3, 3, 3}, 1, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, []int{1, 1}},
		{"grouped dilated", []int{1, 4, 4, 6}, []int{4, 2, 2, 3}, 2, []int{1, 3}, []int{2, 1}, []int{0, 1, 1, 0}, []int{0, 0}},
		{"1d", []int{1, 2, 7}, []int{2, 3, 4}, 1, []int{3}, []int{1}, []int{2, 1}, []int{2}},
		{"3d", []int{1, 1, 3, 2, 3}, []int{1, 2, 2, 2, 2}, 1, []int{2, 1, 2}, []int{1, 1, 1}, []int{0, 0, 1, 1, 0, 0}, []int{0, 0, 1}},
	}
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", tc.name, threads), func(t *testing.T) {
				x, w := randF32(r, tc.x...), randF32(r, tc.w...)
				b := randF32(r, tc.w[1]*tc.group)
				n := mk("ConvTranspose", 3, 1, aInt("group", int64(tc.group)), aInts("strides", toI64(tc.strides)...),
					aInts("dilations", toI64(tc.dils)...), aInts("pads", toI64(tc.pads)...), aInts("output_padding", toI64(tc.adj)...))
				got, err := runNodeWith(t, 13, threads, n, []bool{false, true, true}, x, w, b)
				require.NoError(t, err)
				rank := len(tc.x) - 2
				out := make([]int, rank)
				for a := range out {
					out[a] = (tc.x[a+2]-1)*tc.strides[a] + tc.adj[a] + (tc.w[a+2]-1)*tc.dils[a] + 1 - tc.pads[a] - tc.pads[rank+a]
				}
				want := convTransposeRef(x, w, b, tc.group, tc.strides, tc.dils, tc.pads, out)
				require.NoError(t, CompareTensors(got[0], want, gemmTol))
			})
		}
	}
}

func TestConvErrors(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 3, 5, 5})
	runNodeCases(t, []nodeCase{
		{name: "channel mismatch", node: mk("Conv", 2, 1), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 4, 3, 3})},
			wantErr: `Conv "n": weight W [2,4,3,3] with group 1 expects 4 input channels, X [1,3,5,5] has 3`},
		{name: "group does not divide", node: mk("Conv", 2, 1, aInt("group", 2)), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 1, 3, 3})},
			wantErr: "expects 2 input channels"},
		{name: "kernel larger than input", node: mk("Conv", 2, 1), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 7, 7})},
			wantErr: "smaller than the dilated kernel"},
		{name: "bias length", node: mk("Conv", 3, 1), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3}), graph.NewTensor(graph.Float32, []int{3})},
			wantErr: "bias B has 3 elements, expected 2"},
		{name: "bad auto_pad", node: mk("Conv", 2, 1, aStr("auto_pad", "SAME")), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3})},
			wantErr: `unsupported auto_pad "SAME"`},
		{name: "strides length", node: mk("Conv", 2, 1, aInts("strides", 1)), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3})},
			wantErr: "attribute strides has 1 values, expected 2"},
		{name: "dtype mismatch", node: mk("Conv", 2, 1), inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float64, []int{2, 3, 3, 3})},
			wantErr: "dtype mismatch"},
		{name: "rank 2 input", node: mk("Conv", 2, 1), inputs: []*graph.Tensor{graph.NewTensor(graph.Float32, []int{3, 5}), graph.NewTensor(graph.Float32, []int{2, 3})},
			wantErr: "expected [N, C, D1, ...]"},
		{name: "transpose output_padding too large", node: mk("ConvTranspose", 2, 1, aInts("strides", 2, 2), aInts("output_padding", 2, 0)),
			inputs: []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{3, 2, 3, 3})}, wantErr: "output_padding 2 on axis 0"},
	})
}

// TestConvKernelChecks feeds inputs whose shapes are not declared, so that the
// kernels' own validation (not shape inference) must reject them.
func TestConvKernelChecks(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{1, 3, 5, 5})
	cases := []struct {
		name    string
		node    *graph.Node
		inputs  []*graph.Tensor
		wantErr string
	}{
		{"channel mismatch", mk("Conv", 2, 1), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 4, 3, 3})},
			`Conv "n": weight W [2 4 3 3] does not match 3 input channels in 1 groups`},
		{"weight rank", mk("Conv", 2, 1), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3})}, "expected rank 4"},
		{"kernel too large", mk("Conv", 2, 1), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 6, 6})}, "smaller than the dilated kernel"},
		{"bias", mk("Conv", 3, 1), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3}), graph.NewTensor(graph.Float32, []int{5})}, "expected [2]"},
		{"kernel_shape disagrees", mk("Conv", 2, 1, aInts("kernel_shape", 2, 2)), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3})}, "does not match weight shape"},
		{"int input", mk("Conv", 2, 1), []*graph.Tensor{graph.NewTensor(graph.Int32, []int{1, 3, 5, 5}), graph.NewTensor(graph.Int32, []int{2, 3, 3, 3})}, "input X is int32"},
		{"truncated data", mk("Conv", 2, 1), []*graph.Tensor{{DType: graph.Float32, Shape: []int{1, 3, 5, 5}, Data: make([]float32, 7)}, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3})}, "does not match its data length"},
		{"transpose channels", mk("ConvTranspose", 2, 1), []*graph.Tensor{x, graph.NewTensor(graph.Float32, []int{2, 3, 3, 3})}, "does not match 3 input channels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = runNodeDynamic(t, tc.node, tc.inputs...) })
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestConvSameAutoPadSymbolicBatch(t *testing.T) {
	// Shape inference keeps the symbolic batch and resolves SAME_UPPER spatial sizes.
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{"w": graph.NewTensor(graph.Float32, []int{8, 3, 3, 3})}, Values: map[string]*graph.Value{}}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 3}, {Size: 15}, {Size: 16}}, HasShape: true}}
	n := mk("Conv", 0, 1, aStr("auto_pad", "SAME_UPPER"), aInts("strides", 2, 2))
	n.Inputs, n.Outputs = []string{"x", "w"}, []string{"y"}
	g.Nodes = []*graph.Node{n}
	g.Outputs = []*graph.Value{{Name: "y"}}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}}
	_, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()})
	require.NoError(t, err)
	require.Equal(t, "[N,8,8,8]", g.Values["y"].Shape.String())
	s, err := NewSession(m)
	require.NoError(t, err)
	for _, batch := range []int{1, 3} {
		x := randF32(rand.New(rand.NewSource(1)), batch, 3, 15, 16)
		out, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err)
		require.Equal(t, []int{batch, 8, 8, 8}, out["y"].Shape)
		// SAME_UPPER with stride 2: total pads 2 (rows) and 1 (cols), an odd one at the end.
		want := convRef(x, g.Initializers["w"], nil, 1, []int{2, 2}, []int{1, 1}, []int{1, 0, 1, 1})
		require.NoError(t, CompareTensors(out["y"], want, gemmTol))
	}
}

// TestNNOpsNeverPanic runs randomized cases of every operator of this part of the
// executor through shape inference and the kernels, with declared and with undeclared
// input shapes. Each case starts from a valid configuration (so that the kernels do
// run) and is then, two times in five, broken in one random way: a dimension, a dtype,
// an attribute. Every case must give a result or an error, never a panic.
func TestNNOpsNeverPanic(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	dims := func(n, lo, hi int) []int {
		v := make([]int, n)
		for i := range v {
			v[i] = lo + r.Intn(hi-lo+1)
		}
		return v
	}
	i64s := func(v []int) []int64 { return toI64(v) }
	type gen func() (*graph.Node, []*graph.Tensor)
	spatial := func() (int, []int) { k := 1 + r.Intn(3); return k, dims(k, 1, 6) }
	convLike := func(op string) gen {
		return func() (*graph.Node, []*graph.Tensor) {
			rank, in := spatial()
			g := 1 + r.Intn(2)
			c, m := g*(1+r.Intn(2)), g*(1+r.Intn(2))
			k := dims(rank, 1, 3)
			x := randF32(r, append([]int{1 + r.Intn(2), c}, in...)...)
			ws := append([]int{m, c / g}, k...)
			if op == "ConvTranspose" {
				ws = append([]int{c, m / g}, k...)
			}
			n := mk(op, 3, 1, aInt("group", int64(g)), aInts("strides", i64s(dims(rank, 1, 3))...),
				aInts("dilations", i64s(dims(rank, 1, 2))...), aInts("pads", i64s(dims(2*rank, 0, 2))...))
			if r.Intn(4) == 0 {
				n.Attrs["auto_pad"] = aStr("auto_pad", []string{"SAME_UPPER", "SAME_LOWER", "VALID"}[r.Intn(3)])
				delete(n.Attrs, "pads")
			}
			if op == "ConvTranspose" && r.Intn(3) == 0 {
				n.Attrs["output_padding"] = aInts("output_padding", i64s(dims(rank, 0, 1))...)
			}
			if op == "ConvTranspose" && r.Intn(4) == 0 {
				n.Attrs["output_shape"] = aInts("output_shape", i64s(dims(rank, 1, 9))...)
			}
			return n, []*graph.Tensor{x, randF32(r, ws...), randF32(r, m)}
		}
	}
	pool := func(op string) gen {
		return func() (*graph.Node, []*graph.Tensor) {
			rank, in := spatial()
			n := mk(op, 1, 1+r.Intn(2), aInts("kernel_shape", i64s(dims(rank, 1, 3))...), aInts("strides", i64s(dims(rank, 1, 3))...),
				aInts("pads", i64s(dims(2*rank, 0, 1))...), aInt("ceil_mode", int64(r.Intn(2))))
			if op == "AveragePool" {
				n.Outputs = n.Outputs[:1]
				n.Attrs["count_include_pad"] = aInt("count_include_pad", int64(r.Intn(2)))
			} else {
				n.Attrs["storage_order"] = aInt("storage_order", int64(r.Intn(2)))
				n.Attrs["dilations"] = aInts("dilations", i64s(dims(rank, 1, 2))...)
			}
			return n, []*graph.Tensor{randF32(r, append([]int{1 + r.Intn(2), 1 + r.Intn(3)}, in...)...)}
		}
	}
	gens := map[string]gen{
		"Conv": convLike("Conv"), "ConvTranspose": convLike("ConvTranspose"),
		"MaxPool": pool("MaxPool"), "AveragePool": pool("AveragePool"),
		"GlobalAveragePool": func() (*graph.Node, []*graph.Tensor) {
			return mk("GlobalAveragePool", 1, 1), []*graph.Tensor{randF32(r, dims(2+r.Intn(3), 1, 4)...)}
		},
		"MatMul": func() (*graph.Node, []*graph.Tensor) {
			k := 1 + r.Intn(4)
			a := append(dims(r.Intn(3), 1, 3), k)
			b := append([]int{k}, dims(r.Intn(2), 1, 3)...)
			if len(b) == 2 && r.Intn(2) == 0 {
				b = append(dims(1, 1, 3), b...)
			}
			return mk("MatMul", 2, 1), []*graph.Tensor{randF32(r, a...), randF32(r, b...)}
		},
		"Gemm": func() (*graph.Node, []*graph.Tensor) {
			m, n, k := 1+r.Intn(4), 1+r.Intn(4), 1+r.Intn(4)
			ta, tb := r.Intn(2) == 1, r.Intn(2) == 1
			as, bs := []int{m, k}, []int{k, n}
			if ta {
				as = []int{k, m}
			}
			if tb {
				bs = []int{n, k}
			}
			return mk("Gemm", 3, 1, aInt("transA", boolInt(ta)), aInt("transB", boolInt(tb)), aFloat("alpha", 0.5)),
				[]*graph.Tensor{randF32(r, as...), randF32(r, bs...), randF32(r, dims(r.Intn(3), 1, 1)...)}
		},
		"BatchNormalization": func() (*graph.Node, []*graph.Tensor) {
			x := dims(2+r.Intn(3), 1, 4)
			c := x[1]
			v := randF32(r, c)
			for i := range v.F32() {
				v.F32()[i] += 2
			}
			return mk("BatchNormalization", 5, 1, aInt("training_mode", int64(r.Intn(2)))),
				[]*graph.Tensor{randF32(r, x...), randF32(r, c), randF32(r, c), randF32(r, c), v}
		},
		"LayerNormalization": func() (*graph.Node, []*graph.Tensor) {
			x := dims(1+r.Intn(3), 1, 4)
			axis := r.Intn(len(x))
			return mk("LayerNormalization", 3, 3, aInt("axis", int64(axis))), []*graph.Tensor{randF32(r, x...), randF32(r, x[axis:]...), randF32(r, x[axis:]...)}
		},
		"Softmax": func() (*graph.Node, []*graph.Tensor) {
			x := dims(1+r.Intn(3), 1, 4)
			return mk("Softmax", 1, 1, aInt("axis", int64(r.Intn(2*len(x))-len(x)))), []*graph.Tensor{randF32(r, x...)}
		},
		"ReduceL2": func() (*graph.Node, []*graph.Tensor) {
			x := dims(1+r.Intn(4), 0, 3)
			return mk("ReduceL2", 1, 1, aInts("axes", int64(r.Intn(len(x)))), aInt("keepdims", int64(r.Intn(2)))), []*graph.Tensor{randF32(r, x...)}
		},
		"Pad": func() (*graph.Node, []*graph.Tensor) {
			x := dims(1+r.Intn(3), 1, 4)
			return mk("Pad", 2, 1, aStr("mode", []string{"constant", "reflect", "edge"}[r.Intn(3)])),
				[]*graph.Tensor{randF32(r, x...), i64([]int{2 * len(x)}, i64s(dims(2*len(x), -1, 3))...)}
		},
		"Resize": func() (*graph.Node, []*graph.Tensor) {
			x := dims(1+r.Intn(3), 1, 4)
			sc := make([]float32, len(x))
			for i := range sc {
				sc[i] = []float32{0.5, 1, 1.5, 2}[r.Intn(4)]
			}
			n := mk("Resize", 3, 1, aStr("mode", []string{"nearest", "linear", "cubic"}[r.Intn(3)]),
				aStr("coordinate_transformation_mode", []string{"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn"}[r.Intn(5)]))
			n.Inputs[1] = ""
			return n, []*graph.Tensor{randF32(r, x...), nil, f32([]int{len(sc)}, sc...)}
		},
		"LSTM": func() (*graph.Node, []*graph.Tensor) {
			h, in := 1+r.Intn(3), 1+r.Intn(3)
			d := 1 + r.Intn(2)
			dir := map[int]string{1: "forward", 2: "bidirectional"}[d]
			return mk("LSTM", 3, 3, aInt("hidden_size", int64(h)), aStr("direction", dir), aInt("layout", int64(r.Intn(2)))),
				[]*graph.Tensor{randF32(r, 1+r.Intn(3), 1+r.Intn(2), in), randF32(r, d, 4*h, in), randF32(r, d, 4*h, h)}
		},
		"GRU": func() (*graph.Node, []*graph.Tensor) {
			h, in := 1+r.Intn(3), 1+r.Intn(3)
			return mk("GRU", 3, 2, aInt("hidden_size", int64(h)), aInt("linear_before_reset", int64(r.Intn(2)))),
				[]*graph.Tensor{randF32(r, 1+r.Intn(3), 1+r.Intn(2), in), randF32(r, 1, 3*h, in), randF32(r, 1, 3*h, h)}
		},
	}
	// mutate breaks a case in one random way.
	mutate := func(n *graph.Node, ins []*graph.Tensor) {
		switch r.Intn(4) {
		case 0: // change one dimension of one input
			i := r.Intn(len(ins))
			if ins[i] != nil && len(ins[i].Shape) > 0 {
				s := append([]int(nil), ins[i].Shape...)
				s[r.Intn(len(s))] = r.Intn(4)
				ins[i] = randF32(r, s...)
			}
		case 1: // change a dtype
			i := r.Intn(len(ins))
			if ins[i] != nil {
				ins[i] = graph.NewTensor([]graph.DType{graph.Int64, graph.Float64, graph.Uint8, graph.Float16}[r.Intn(4)], ins[i].Shape)
			}
		case 2: // change the length or values of an ints attribute
			for name, a := range n.Attrs {
				if a.Type == graph.AttrInts {
					n.Attrs[name] = aInts(name, toI64(dims(r.Intn(5), -2, 3))...)
					break
				}
			}
		default: // change an int attribute
			for name, a := range n.Attrs {
				if a.Type == graph.AttrInt {
					n.Attrs[name] = aInt(name, int64(r.Intn(7)-2))
					break
				}
			}
		}
	}
	iters := 200
	if testing.Short() {
		iters = 50
	}
	names := make([]string, 0, len(gens))
	for name := range gens {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ran := 0
			for it := 0; it < iters; it++ {
				n, ins := gens[name]()
				for i, in := range ins {
					if in == nil {
						n.Inputs[i] = ""
					}
				}
				if len(n.Inputs) > len(ins) {
					n.Inputs = n.Inputs[:len(ins)]
				}
				valid := r.Intn(5) >= 2
				if !valid {
					mutate(n, ins)
				}
				dynamic := r.Intn(2) == 0
				var err error
				require.NotPanics(t, func() {
					_, err = runNodeOpt(t, 17, 1+r.Intn(2), dynamic, n, nil, ins...)
				}, "node %s attrs %v inputs %v", n.OpType, n.Attrs, shapesOf(ins))
				if err == nil {
					ran++
				}
			}
			// Most unmutated cases are valid: the kernels really ran.
			require.Greater(t, ran, iters/4, "only %d of %d cases ran", ran, iters)
		})
	}
}

func shapesOf(ts []*graph.Tensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = fmt.Sprintf("%s%v", t.DType, t.Shape)
		}
	}
	return out
}

package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQConvTransposePhases checks the int8 ConvTranspose on its phases
// against the scalar loop, bit for bit: strides 1-3, kernels smaller than
// the stride (phases no tap reaches), dilations sharing a factor with the
// stride, uneven pads larger than the stride, output_padding, groups (merged,
// depthwise), 1-D, per-channel weight zero points, weights of -128, batch 2,
// 1 and 2 threads.
func TestQConvTransposePhases(t *testing.T) {
	cases := []struct {
		name           string
		oneD           bool
		n, h, w, c, oc int // oc: output channels per group
		groups         int
		kh, kw, sh, sw int
		dh, dw         int
		pads, outPad   []int
		perChannelZP   bool
		minus128       bool
	}{
		{name: "3x3 s2 pad 1 outpad 1 (tf2onnx)", n: 1, h: 12, w: 12, c: 32, oc: 16, groups: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pads: []int{1, 1, 1, 1}, outPad: []int{1, 1}},
		{name: "4x4 s2 pad 1 depthwise", n: 2, h: 8, w: 7, c: 32, oc: 1, groups: 32, kh: 4, kw: 4, sh: 2, sw: 2, dh: 1, dw: 1, pads: []int{1, 1, 1, 1}},
		{name: "3x3 s3 groups 3", n: 1, h: 6, w: 9, c: 24, oc: 8, groups: 3, kh: 3, kw: 3, sh: 3, sw: 3, dh: 1, dw: 1, pads: []int{0, 1, 2, 0}},
		{name: "1x1 s2 (empty phases)", n: 1, h: 5, w: 4, c: 8, oc: 12, groups: 1, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1, outPad: []int{1, 1}},
		{name: "5x3 s3x2 d2x1 uneven pads", n: 1, h: 7, w: 6, c: 20, oc: 24, groups: 1, kh: 5, kw: 3, sh: 3, sw: 2, dh: 2, dw: 1, pads: []int{4, 0, 1, 3}, outPad: []int{2, 1}},
		{name: "3x3 s2 d2 per-channel zp", n: 1, h: 6, w: 6, c: 16, oc: 16, groups: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 2, pads: []int{1, 2, 1, 0}, perChannelZP: true},
		{name: "3x3 s2 weights of -128", n: 1, h: 5, w: 5, c: 12, oc: 20, groups: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pads: []int{1, 1, 1, 1}, minus128: true},
		{name: "1-D k5 s2", oneD: true, n: 2, h: 1, w: 9, c: 8, oc: 6, groups: 1, kh: 1, kw: 5, sh: 1, sw: 2, dh: 1, dw: 1, pads: []int{2, 1}, outPad: []int{1}},
		{name: "3x3 s1 pad 1", n: 1, h: 6, w: 5, c: 8, oc: 8, groups: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: []int{1, 1, 1, 1}},
	}
	rng := rand.New(rand.NewSource(9))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oc := tc.oc * tc.groups
			wshape := []int{tc.c, tc.oc, tc.kh, tc.kw}
			xshape := []int{tc.n, tc.h, tc.w, tc.c}
			strides, dil := []int{tc.sh, tc.sw}, []int{tc.dh, tc.dw}
			if tc.oneD {
				wshape, xshape = []int{tc.c, tc.oc, tc.kw}, []int{tc.n, tc.w, tc.c}
				strides, dil = []int{tc.sw}, []int{tc.dw}
			}
			wzp := []int{rng.Intn(7) - 3}
			if tc.perChannelZP {
				wzp = make([]int, oc)
				for i := range wzp {
					wzp[i] = rng.Intn(9) - 4
				}
			}
			scales := make([]float32, oc)
			for i := range scales {
				scales[i] = 0.002 + 0.01*rng.Float32()
			}
			attrs := []*graph.Attr{graph.IntsAttr("strides", strides), graph.IntsAttr("dilations", dil), graph.IntAttr("group", int64(tc.groups)),
				graph.IntsAttr("x_zp", []int{rng.Intn(21) - 10}), graph.IntsAttr("w_zp", wzp), graph.FloatsAttr("scales", scales)}
			if tc.pads != nil {
				attrs = append(attrs, graph.IntsAttr("pads", tc.pads))
			}
			if tc.outPad != nil {
				attrs = append(attrs, graph.IntsAttr("output_padding", tc.outPad))
			}
			w := graph.NewTensor(graph.Int8, wshape)
			wd := w.Data.([]int8)
			for i := range wd {
				wd[i] = int8(rng.Intn(255) - 127)
				if tc.minus128 && rng.Intn(5) == 0 {
					wd[i] = -128
				}
			}
			b := graph.NewTensor(graph.Int32, []int{oc})
			for i, bd := 0, b.Data.([]int32); i < len(bd); i++ {
				bd[i] = int32(rng.Intn(4001) - 2000)
			}
			n := &graph.Node{Name: "up", OpType: "QConvTranspose", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range attrs {
				n.Attrs[a.Name] = a
			}
			kern, err := buildQConvTranspose(&BuildContext{Node: n, Consts: []*graph.Tensor{nil, w, b}})
			require.NoError(t, err)
			k := kern.(*qconvTransposeKernel)
			require.NotNil(t, k.phases, "phases chosen")
			x := make([]int8, tc.n*tc.h*tc.w*tc.c)
			for i := range x {
				x[i] = int8(rng.Intn(256) - 128)
			}
			in := []*graph.Tensor{graph.FromInt8(xshape, x)}
			for _, threads := range []int{1, 2} {
				got, err := k.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				scalar := *k
				scalar.phases = nil
				want, err := scalar.Run(&ExecContext{Threads: threads}, in)
				require.NoError(t, err)
				require.Equal(t, want[0].Shape, got[0].Shape)
				require.Equal(t, want[0].Data, got[0].Data, fmt.Sprintf("threads %d", threads))
			}
		})
	}
}

// TestInt8ConvTransposeLowered quantizes decoders with ConvTransposes as
// exporters write them (3x3 stride 2 with pads and output_padding; grouped
// 3x3 stride 3 with weights quantized per output channel along axis 1; 4x4
// stride 2 depthwise; 3x3 stride 2 with auto_pad SAME_UPPER and output_shape,
// as tf2onnx writes it) and checks that every node runs int8, the
// ConvTransposes on their phases, and that the outputs stay within the
// quantization steps of the QDQ model run in float.
func TestInt8ConvTransposeLowered(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	b := newMB(11)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: 10}, graph.Dim{Size: 9})
	c1 := b.Node("Relu", []string{b.conv(x, 3, 24, 3, 1, 1, 1, true)})
	u1 := b.Node("Relu", []string{b.Node("ConvTranspose", []string{c1, b.RandInit("w1", []int{24, 16, 3, 3}, 0.2), b.RandInit("b1", []int{16}, 0.1)},
		graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntsAttr("output_padding", []int{1, 1}))})
	u2 := b.Node("Relu", []string{b.Node("ConvTranspose", []string{c1, b.RandInit("w2", []int{24, 8, 3, 3}, 0.2), b.RandInit("b2", []int{24}, 0.1)},
		graph.IntAttr("group", 3), graph.IntsAttr("strides", []int{3, 3}))})
	u3 := b.Node("ConvTranspose", []string{u1, b.RandInit("w3", []int{16, 1, 4, 4}, 0.3)},
		graph.IntAttr("group", 16), graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
	u4 := b.Node("ConvTranspose", []string{c1, b.RandInit("w4", []int{24, 8, 3, 3}, 0.2)}, graph.StringAttr("auto_pad", "SAME_UPPER"),
		graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("output_shape", []int{20, 18}), graph.IntsAttr("strides", []int{2, 2}))
	o1 := b.conv(u2, 24, 8, 1, 1, 0, 1, true)
	o2 := b.conv(u3, 16, 4, 1, 1, 0, 1, true)
	o3 := b.conv(b.Node("Relu", []string{u4}), 8, 4, 1, 1, 0, 1, true)
	b.Output(o1, o2, o3)
	fm := b.Model()
	qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 10, 9}, -1, 1)}, qdqOptions{})
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 3, 10, 9}, -1, 1)}
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(qm, WithMode(ModeInt8))
	require.NoError(t, err)
	nct := 0
	for _, p := range s.Placement {
		require.True(t, p.Int8, "%s %s runs float", p.OpType, p.Node)
	}
	for _, st := range s.steps {
		if k, ok := st.kernel.(*qconvTransposeKernel); ok {
			require.NotNil(t, k.phases)
			nct++
		}
	}
	require.Equal(t, 4, nct)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	for _, o := range fm.Graph.Outputs {
		step := float64(stepOf(t, qm, o.Name))
		frac, mx := outputSteps(t, got[o.Name], want[o.Name], step)
		t.Logf("%s: within 1 step %.4f, max %.2f steps", o.Name, frac, mx)
		require.GreaterOrEqual(t, frac, 0.98, o.Name)
		require.LessOrEqual(t, mx, 4.0, o.Name)
	}
}

package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// conv3dCase is one 3-D convolution geometry (NCDHW input, OIDHW weights).
type conv3dCase struct {
	name          string
	x, w          []int
	group         int
	strides, dils []int
	pads          []int // ONNX order: begins then ends
	autoPad       string
}

var conv3dCases = []conv3dCase{
	{"3x3x3 pad 1 (r3d / mc3)", []int{1, 3, 4, 6, 5}, []int{4, 3, 3, 3, 3}, 1, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, ""},
	{"1x3x3 stride 1,2,2 (r2plus1d spatial)", []int{2, 4, 3, 7, 6}, []int{5, 4, 1, 3, 3}, 1, []int{1, 2, 2}, []int{1, 1, 1}, []int{0, 1, 1, 0, 1, 1}, ""},
	{"3x1x1 stride 2 (r2plus1d temporal)", []int{1, 4, 7, 3, 3}, []int{6, 4, 3, 1, 1}, 1, []int{2, 1, 1}, []int{1, 1, 1}, []int{1, 0, 0, 1, 0, 0}, ""},
	{"grouped, dilated depth, asymmetric pads", []int{1, 4, 6, 5, 5}, []int{6, 2, 2, 2, 3}, 2, []int{1, 2, 1}, []int{2, 1, 1}, []int{2, 0, 1, 0, 1, 2}, ""},
	{"depth padding larger than the kernel reach", []int{1, 2, 2, 4, 4}, []int{3, 2, 1, 3, 3}, 1, []int{1, 1, 1}, []int{1, 1, 1}, []int{2, 1, 1, 2, 1, 1}, ""},
	{"auto_pad SAME_UPPER stride 2", []int{1, 3, 5, 6, 7}, []int{4, 3, 3, 3, 2}, 1, []int{2, 2, 2}, []int{1, 1, 1}, nil, "SAME_UPPER"},
	{"auto_pad SAME_LOWER", []int{1, 2, 4, 5, 5}, []int{2, 2, 2, 3, 3}, 1, []int{1, 2, 1}, []int{1, 1, 1}, nil, "SAME_LOWER"},
	{"empty batch", []int{0, 3, 4, 6, 5}, []int{4, 3, 3, 3, 3}, 1, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, ""},
}

// samePads3 resolves auto_pad for the float reference.
func samePads3(c conv3dCase) []int {
	if c.autoPad == "" {
		return c.pads
	}
	p := make([]int, 6)
	for i := 0; i < 3; i++ {
		in, s, k, d := c.x[2+i], c.strides[i], c.w[2+i], c.dils[i]
		o := (in + s - 1) / s
		total := max(0, (o-1)*s+d*(k-1)+1-in)
		p[i], p[3+i] = total/2, total-total/2
		if c.autoPad == "SAME_LOWER" {
			p[i], p[3+i] = p[3+i], p[i]
		}
	}
	return p
}

func conv3dNode(op string, c conv3dCase, ins []string) *graph.Node {
	attrs := []*graph.Attr{graph.IntsAttr("strides", c.strides), graph.IntsAttr("dilations", c.dils), graph.IntAttr("group", int64(c.group))}
	if c.autoPad != "" {
		attrs = append(attrs, graph.StringAttr("auto_pad", c.autoPad))
	} else {
		attrs = append(attrs, graph.IntsAttr("pads", c.pads))
	}
	n := &graph.Node{Name: "conv3d", OpType: op, Inputs: ins, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

// TestQOpConv3D: QLinearConv and ConvInteger on 5-D data (the QOperator form of a
// Conv3d, which `quantize --format qoperator` writes for torchvision's video nets;
// before, "weights must be 3-D or 4-D"). ConvInteger must equal the integer
// convolution exactly (a float64 reference of the zero-point-shifted values);
// QLinearConv must equal that accumulation plus the bias, requantized. Weights and
// parameters as initializers (prepared once) and as graph inputs (prepared per run),
// at 1 and 2 threads.
func TestQOpConv3D(t *testing.T) {
	for _, c := range conv3dCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			x := graph.NewTensor(graph.Uint8, c.x)
			for i := range x.U8() {
				x.U8()[i] = uint8(rng.Intn(256))
			}
			w := graph.NewTensor(graph.Int8, c.w)
			for i := range w.I8() {
				w.I8()[i] = int8(rng.Intn(255) - 127)
			}
			oc := c.w[0]
			const xzp = 121
			wzp := make([]int8, oc) // per-channel weight zero points, some nonzero (ConvInteger)
			for i := range wzp {
				wzp[i] = int8(rng.Intn(7) - 3)
			}
			// The float64 reference of the integer convolution.
			xf := graph.NewTensor(graph.Float32, c.x)
			for i, v := range x.U8() {
				xf.F32()[i] = float32(int(v) - xzp)
			}
			wf := graph.NewTensor(graph.Float32, c.w)
			per := graph.NumElements(c.w[1:])
			for i, v := range w.I8() {
				wf.F32()[i] = float32(int(v) - int(wzp[i/per]))
			}
			ref := convRef(xf, wf, nil, c.group, c.strides, c.dils, samePads3(c))

			for _, threads := range []int{1, 2} {
				for _, constant := range []bool{true, false} {
					// ConvInteger: x, w, x_zero_point, w_zero_point.
					ci := conv3dNode("ConvInteger", c, []string{"x", "w", "xz", "wz"})
					got, err := runNodeWith(t, 13, threads, ci, []bool{false, constant, constant, constant},
						x, w, graph.FromUint8(nil, []uint8{xzp}), graph.FromInt8([]int{oc}, wzp))
					require.NoError(t, err)
					require.Equal(t, ref.Shape, got[0].Shape)
					want := make([]int32, ref.Len())
					for i, v := range ref.F32() {
						want[i] = int32(v)
					}
					require.Equal(t, want, got[0].I32(), "threads %d, constant %v", threads, constant)

					// QLinearConv: symmetric weights, per-channel scales, int32 bias, uint8 output.
					zero := make([]int8, oc)
					ws := make([]float32, oc)
					bias := make([]int32, oc)
					for i := range ws {
						ws[i] = 0.002 + 0.001*float32(i)
						bias[i] = int32(rng.Intn(2001) - 1000)
					}
					const xs, ys, yzp = 0.02, 0.5, 100
					refW := graph.NewTensor(graph.Float32, c.w)
					for i, v := range w.I8() {
						refW.F32()[i] = float32(v)
					}
					acc := convRef(xf, refW, nil, c.group, c.strides, c.dils, samePads3(c))
					sc := make([]float64, oc)
					for i := range sc {
						sc[i] = float64(kernels.RequantScaleF32(xs, ws[i], ys))
					}
					rq := kernels.NewRequant(kernels.RequantFloat, sc, yzp-128, -128, 127)
					spatial := graph.NumElements(acc.Shape[2:])
					wantQ := make([]uint8, acc.Len())
					for i, v := range acc.F32() {
						ch := (i / spatial) % oc
						wantQ[i] = uint8(int(rq.Apply(int32(v)+bias[ch], ch)) + 128)
					}
					ql := conv3dNode("QLinearConv", c, []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"})
					got, err = runNodeWith(t, 13, threads, ql, []bool{false, constant, constant, constant, constant, constant, constant, constant, constant},
						x, graph.ScalarFloat32(xs), graph.FromUint8(nil, []uint8{xzp}), w, graph.FromFloat32([]int{oc}, ws),
						graph.FromInt8([]int{oc}, zero), graph.ScalarFloat32(ys), graph.FromUint8(nil, []uint8{yzp}), graph.FromInt32([]int{oc}, bias))
					require.NoError(t, err)
					require.Equal(t, acc.Shape, got[0].Shape)
					assert.Equal(t, wantQ, got[0].U8(), "threads %d, constant %v", threads, constant)
				}
			}
		})
	}
}

// TestQOpConv3DInt8Session: in an int8 session the lowering leaves a 3-D
// QLinearConv to this kernel; the result is the float-mode result.
func TestQOpConv3DInt8Session(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	c := conv3dCases[1]
	oc := c.w[0]
	w := graph.NewTensor(graph.Int8, c.w)
	for i := range w.I8() {
		w.I8()[i] = int8(rng.Intn(255) - 127)
	}
	ws := make([]float32, oc)
	for i := range ws {
		ws[i] = 0.003
	}
	inits := map[string]*graph.Tensor{
		"xs": graph.ScalarFloat32(0.05), "xz": graph.FromInt8(nil, []int8{3}), "w": w, "ws": graph.FromFloat32([]int{oc}, ws),
		"wz": graph.FromInt8([]int{oc}, make([]int8, oc)), "ys": graph.ScalarFloat32(0.1), "yz": graph.FromInt8(nil, []int8{-5}),
	}
	g := &graph.Graph{
		Name: "qop3d",
		Nodes: []*graph.Node{
			{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}, Attrs: map[string]*graph.Attr{}},
			conv3dNode("QLinearConv", c, []string{"xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"}),
			{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"y", "ys", "yz"}, Outputs: []string{"out"}, Attrs: map[string]*graph.Attr{}},
		},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(c.x...), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "out", DType: graph.Float32}},
		Initializers: inits,
		Values:       map[string]*graph.Value{},
	}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}}
	x := randF32(rng, c.x...)
	var outs []*graph.Tensor
	for _, mode := range []Mode{ModeFloat, ModeInt8} {
		s, err := NewSession(m, WithMode(mode), WithThreads(2))
		require.NoError(t, err)
		res, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
		require.NoError(t, err)
		outs = append(outs, res["out"])
	}
	assert.Equal(t, outs[0].Shape, outs[1].Shape)
	assert.Equal(t, outs[0].F32(), outs[1].F32())
}

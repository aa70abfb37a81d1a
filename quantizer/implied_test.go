package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// actGraph is op -> act -> Q with a scalar int8 output quantization, for
// activationImplied.
func actGraph(op string, lo, hi *float32, scale float32, zp int8) (*graph.Graph, *graph.Node, *graph.Node) {
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{
		"s": graph.FromFloat32(nil, []float32{scale}),
		"z": graph.FromInt8(nil, []int8{zp}),
	}}
	act := &graph.Node{Name: "act", OpType: op, Inputs: []string{"x"}, Outputs: []string{"y"}}
	if op == "Clip" {
		act.Inputs = append(act.Inputs, "", "")
		if lo != nil {
			act.Inputs[1] = "lo"
			g.Initializers["lo"] = graph.FromFloat32(nil, []float32{*lo})
		}
		if hi != nil {
			act.Inputs[2] = "hi"
			g.Initializers["hi"] = graph.FromFloat32(nil, []float32{*hi})
		}
	}
	q := &graph.Node{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"y", "s", "z"}, Outputs: []string{"yq"}}
	return g, act, q
}

func f32p(v float32) *float32 { return &v }

func TestActivationImplied(t *testing.T) {
	// The scale ONNX Runtime's failing hardtanh_op9 file gives the Clip(-1, 1) output.
	const s = float32(0.006763174)
	cases := []struct {
		name   string
		op     string
		lo, hi *float32
		scale  float32
		zp     int8
		want   bool
	}{
		{"hardtanh: min -1 quantizes to -128, range starts at -1.00095", "Clip", f32p(-1), f32p(1), s, 20, true},
		{"hardtanh: min -1 quantizes to -127", "Clip", f32p(-1), f32p(1), s, 21, false},
		{"hardtanh: max 1 quantizes to 127, range ends at 1.00095", "Clip", f32p(-1), f32p(1), s, -21, true},
		{"hardtanh: max 1 quantizes to 126", "Clip", f32p(-1), f32p(1), s, -22, false},
		{"range strictly inside the clamp", "Clip", f32p(-2), f32p(2), s, 0, true},
		{"relu6 with zero point -128 and scale 6/255", "Clip", f32p(0), f32p(6), 6.0 / 255, -128, true},
		{"relu6 whose 6 quantizes to 126", "Clip", f32p(0), f32p(6), 6.0 / 253, -128, false},
		{"Clip with only a max", "Clip", nil, f32p(1), s, -21, true},
		{"Clip with only a min, active", "Clip", f32p(-0.5), nil, s, 20, false},
		{"Relu, zero point -128", "Relu", nil, nil, s, -128, true},
		{"Relu, zero point -127", "Relu", nil, nil, s, -127, false},
		{"tie: -128.5 rounds to even -128", "Clip", f32p(-128.5), nil, 1, 0, true},
		{"tie: -127.5 rounds to even -128", "Clip", f32p(-127.5), nil, 1, 0, true},
		{"just above the tie rounds to -127", "Clip", f32p(math.Nextafter32(-126.5, 0)), nil, 1, -1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, act, q := actGraph(c.op, c.lo, c.hi, c.scale, c.zp)
			assert.Equal(t, c.want, activationImplied(g, act, q))
		})
	}
	t.Run("non-constant bound", func(t *testing.T) {
		g, act, q := actGraph("Clip", f32p(-1), f32p(1), s, 20)
		act.Inputs[1] = "computed"
		assert.False(t, activationImplied(g, act, q))
	})
	t.Run("per-axis output quantization", func(t *testing.T) {
		g, act, q := actGraph("Relu", nil, nil, s, -128)
		g.Initializers["s"] = graph.FromFloat32([]int{2}, []float32{s, s})
		assert.False(t, activationImplied(g, act, q))
	})
}

// A Conv -> Clip(-1, 1) whose calibrated output range is [-1, 0.7237] (a hardtanh's
// output starts at its bound) gets zero point 20, and the range's float start
// -1.00095 lies below the Clip's -1: ONNX Runtime 1.30's default optimiser refused
// that file ("two nodes with same node name"). The file we write has no Clip (the
// QuantizeLinear reads the Conv), and gives the same codes as the file with the
// Clip, in the int8 and the float executor, on inputs that drive the Conv past both
// bounds.
func TestQuantizeDropsImpliedClip(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	m := newModel("x", []int{1, 4, 6, 6}, []string{"y"}, []*graph.Node{
		node("Conv", []string{"x", "w", "b"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
		node("Clip", []string{"c", "lo", "hi"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"w":  randTensor(rng, []int{4, 4, 3, 3}, 0.3),
		"b":  randTensor(rng, []int{4}, 0.1),
		"lo": graph.FromFloat32(nil, []float32{-1}),
		"hi": graph.FromFloat32(nil, []float32{1}),
	})
	r := Ranges{"x": {-1, 1}, "c": {-3, 3}, "y": {-1, 0.7237}}
	missing, err := MissingRanges(m, r)
	require.NoError(t, err)
	require.Empty(t, missing, "the test's ranges cover every quantized tensor")

	for _, format := range []Format{FormatQDQ, FormatQOperator} {
		t.Run(format.String(), func(t *testing.T) {
			q, err := Quantize(m, r, QuantOptions{Format: format})
			require.NoError(t, err)
			assert.Zero(t, countOps(q)["Clip"], "the implied Clip is not written")

			// The case is ONNX Runtime's failing window: its ClipQuantFusion keeps the
			// Clip (float test), while min -1 quantizes to -128.
			var ql *graph.Node
			for _, n := range q.Graph.Nodes {
				if n.OpType == "QuantizeLinear" || n.OpType == "QLinearConv" {
					if len(n.Outputs) == 1 && (n.OpType == "QLinearConv" || q.Graph.Producers()[n.Input(0)] != nil) {
						ql = n
					}
				}
			}
			require.NotNil(t, ql)
			si, zi := 1, 2
			if ql.OpType == "QLinearConv" {
				si, zi = 6, 7
			}
			p := qparams{scale: q.Graph.Initializers[ql.Input(si)].F32()[0], zp: q.Graph.Initializers[ql.Input(zi)].I8()[0]}
			lower := p.scale * float32(-128-int(p.zp))
			assert.Greater(t, -1-lower, float32(1.1920929e-07), "the range starts below -1 by more than float32 epsilon")
			assert.Equal(t, int8(-128), quantizeValue(-1, p))
			if format == FormatQOperator {
				return
			}
			withClip := reinsertClip(t, q)
			for trial := 0; trial < 3; trial++ {
				x := randTensor(rng, []int{1, 4, 6, 6}, 2)
				for _, mode := range []runtime.Mode{runtime.ModeInt8, runtime.ModeFloat} {
					a := runMode(t, q, mode, x)
					b := runMode(t, withClip, mode, x)
					require.Equal(t, b, a, "mode %v: the file without the Clip gives other values", mode)
				}
			}
		})
	}
}

// reinsertClip puts Clip(-1, 1) back between the QuantizeLinear of y and its producer.
func reinsertClip(t *testing.T, q *graph.Model) *graph.Model {
	t.Helper()
	c := q.Clone()
	g := c.Graph
	g.Initializers["clip_lo"] = graph.FromFloat32(nil, []float32{-1})
	g.Initializers["clip_hi"] = graph.FromFloat32(nil, []float32{1})
	g.Values["clip_lo"] = &graph.Value{Name: "clip_lo", DType: graph.Float32, HasShape: true}
	g.Values["clip_hi"] = &graph.Value{Name: "clip_hi", DType: graph.Float32, HasShape: true}
	for i, n := range g.Nodes {
		if n.OpType != "QuantizeLinear" || g.Producers()[n.Input(0)] == nil || g.Producers()[n.Input(0)].OpType != "Conv" {
			continue
		}
		in := n.Input(0)
		g.Values["clipped"] = &graph.Value{Name: "clipped", DType: graph.Float32}
		clip := &graph.Node{Name: "reinserted_clip", OpType: "Clip", Inputs: []string{in, "clip_lo", "clip_hi"}, Outputs: []string{"clipped"}}
		n.Inputs[0] = "clipped"
		g.Nodes = append(g.Nodes[:i], append([]*graph.Node{clip}, g.Nodes[i:]...)...)
		return c
	}
	t.Fatal("no QuantizeLinear reads the Conv")
	return nil
}

func runMode(t *testing.T, m *graph.Model, mode runtime.Mode, x *graph.Tensor) []float32 {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.WithMode(mode))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	return append([]float32(nil), out["y"].F32()...)
}

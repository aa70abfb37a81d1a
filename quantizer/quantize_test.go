package quantizer

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// smallCNN: Conv -> Relu -> MaxPool -> Flatten -> Gemm -> Sigmoid, plus a Gemm output.
func smallCNN(rng *rand.Rand) *graph.Model {
	return newModel("x", []int{4, 2, 6, 6}, []string{"y", "z"}, []*graph.Node{
		node("Conv", []string{"x", "w", "b"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, []string{"r"}),
		node("MaxPool", []string{"r"}, []string{"p"}, ints("kernel_shape", 2, 2), ints("strides", 2, 2)),
		node("Flatten", []string{"p"}, []string{"f"}),
		node("Gemm", []string{"f", "fw", "fb"}, []string{"z"}, intAttr("transB", 1)),
		node("Sigmoid", []string{"z"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"w": randTensor(rng, []int{3, 2, 3, 3}, 0.5), "b": randTensor(rng, []int{3}, 0.1),
		"fw": randTensor(rng, []int{5, 27}, 0.3), "fb": randTensor(rng, []int{5}, 0.1),
	})
}

func producer(m *graph.Model, name string) *graph.Node { return m.Graph.Producers()[name] }

func scalarParams(t *testing.T, m *graph.Model, n *graph.Node) qparams {
	t.Helper()
	s, z := m.Graph.Initializers[n.Input(1)], m.Graph.Initializers[n.Input(2)]
	require.NotNil(t, s)
	require.NotNil(t, z)
	require.Len(t, s.F32(), 1)
	require.Len(t, z.I8(), 1)
	return qparams{scale: s.F32()[0], zp: z.I8()[0]}
}

func TestQuantizeStructure(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	m := smallCNN(rng)
	x := randTensor(rng, []int{4, 2, 6, 6}, 1)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": x})
	q, err := Quantize(m, r, QuantOptions{CalibMethod: "MIN_MAX_ASYM", CalibSamples: 4})
	require.NoError(t, err)
	g := q.Graph
	assert.Equal(t, int64(13), q.Opset())
	assert.Equal(t, "MIN_MAX_ASYM", q.Metadata[MetaMethod])
	assert.Equal(t, "4", q.Metadata[MetaSamples])
	assert.Equal(t, "qdq", q.Metadata[MetaFormat])

	// Conv reads dequantized int8 weights (per channel, axis 0) and an int32 bias with
	// scale s_in * s_w.
	conv := producer(q, "c")
	require.NotNil(t, conv, "the Conv keeps writing c: no Q/DQ between Conv and its Relu")
	assert.Equal(t, "Conv", conv.OpType)
	// The Relu's output range starts at 0 (zero point -128): the int8 range implies the
	// Relu, so the file has Conv -> QuantizeLinear (dropImpliedActivations).
	assert.Equal(t, "QuantizeLinear", g.Consumers()["c"][0].OpType)
	assert.Zero(t, countOps(q)["Relu"])
	wdq := producer(q, conv.Input(1))
	require.Equal(t, "DequantizeLinear", wdq.OpType)
	assert.Equal(t, int64(0), wdq.AttrInt("axis", 1))
	wq := g.Initializers[wdq.Input(0)]
	require.Equal(t, graph.Int8, wq.DType)
	for _, v := range wq.I8() {
		assert.GreaterOrEqual(t, v, int8(-127))
	}
	ws := g.Initializers[wdq.Input(1)].F32()
	require.Len(t, ws, 3)
	bdq := producer(q, conv.Input(2))
	bq := g.Initializers[bdq.Input(0)]
	require.Equal(t, graph.Int32, bq.DType)
	xdq := producer(q, conv.Input(0))
	require.Equal(t, "DequantizeLinear", xdq.OpType)
	sIn := scalarParams(t, q, xdq).scale
	bs := g.Initializers[bdq.Input(1)].F32()
	for c := range bs {
		assert.Equal(t, sIn*ws[c], bs[c])
	}
	// The weights dequantize to the originals within half a step.
	w := m.Graph.Initializers["w"].F32()
	for i, v := range wq.I8() {
		s := float64(ws[i/(wq.Len()/3)])
		assert.InDelta(t, float64(w[i]), float64(v)*s, s/2+1e-9)
	}

	// The Relu output is quantized; MaxPool and Flatten reuse its parameters.
	rq := scalarParams(t, q, producer(q, "r"))
	assert.Equal(t, int8(-128), rq.zp, "a ReLU output range starts at 0")
	assert.Equal(t, rq, scalarParams(t, q, producer(q, "p")))
	assert.Equal(t, rq, scalarParams(t, q, producer(q, "f")))
	// Sigmoid has the spec's fixed output parameters.
	assert.Equal(t, qparams{scale: 1.0 / 256, zp: -128}, scalarParams(t, q, producer(q, "y")))

	// Simulated quantization stays close to the float model.
	want := runFloat(t, m, map[string]*graph.Tensor{"x": x})
	got := runFloat(t, q, map[string]*graph.Tensor{"x": x})
	zs := scalarParams(t, q, producer(q, "z")).scale
	assert.Less(t, maxAbsDiff(want["z"].F32(), got["z"].F32()), 8*float64(zs))
	assert.Less(t, maxAbsDiff(want["y"].F32(), got["y"].F32()), 0.05)
}

func TestQuantizeWeightAxes(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	tests := []struct {
		name   string
		node   *graph.Node
		w      *graph.Tensor
		inits  map[string]*graph.Tensor
		shape  []int
		axis   int64
		nscale int
	}{
		{"gemm transB=1", node("Gemm", []string{"x", "w", "b"}, []string{"y"}, intAttr("transB", 1)), randTensor(rng, []int{4, 3}, 1),
			map[string]*graph.Tensor{"b": randTensor(rng, []int{4}, 1)}, []int{2, 3}, 0, 4},
		{"gemm transB=0", node("Gemm", []string{"x", "w", "b"}, []string{"y"}), randTensor(rng, []int{3, 4}, 1),
			map[string]*graph.Tensor{"b": randTensor(rng, []int{1, 4}, 1)}, []int{2, 3}, 1, 4},
		{"matmul", node("MatMul", []string{"x", "w"}, []string{"y"}), randTensor(rng, []int{3, 5}, 1), nil, []int{2, 3}, 1, 5},
		// stride 2: a stride-1 ConvTranspose is written as a Conv before quantization
		{"convtranspose", node("ConvTranspose", []string{"x", "w", "b"}, []string{"y"}, intAttr("group", 2), ints("strides", 2, 2)), randTensor(rng, []int{4, 3, 2, 2}, 1),
			map[string]*graph.Tensor{"b": randTensor(rng, []int{6}, 1)}, []int{1, 4, 3, 3}, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inits := merge(map[string]*graph.Tensor{"w": tt.w}, tt.inits)
			m := newModel("x", tt.shape, []string{"y"}, []*graph.Node{tt.node}, inits)
			x := randTensor(rng, tt.shape, 1)
			q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": x}), QuantOptions{})
			require.NoError(t, err)
			var op *graph.Node
			for _, n := range q.Graph.Nodes {
				if n.OpType == tt.node.OpType {
					op = n
				}
			}
			require.NotNil(t, op)
			wdq := producer(q, op.Input(1))
			require.Equal(t, "DequantizeLinear", wdq.OpType)
			assert.Equal(t, tt.axis, wdq.AttrInt("axis", -1))
			assert.Len(t, q.Graph.Initializers[wdq.Input(1)].F32(), tt.nscale)
			if b := op.Input(2); b != "" {
				bq := q.Graph.Initializers[producer(q, b).Input(0)]
				assert.Equal(t, graph.Int32, bq.DType)
				assert.Equal(t, []int{tt.inits["b"].Len()}, bq.Shape)
			}
			want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]
			got := runFloat(t, q, map[string]*graph.Tensor{"x": x})["y"]
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range want.F32() {
				lo, hi = min(lo, v), max(hi, v)
			}
			assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 0.05*float64(hi-lo))
		})
	}
}

// A Concat input read only by the Concat takes the output's parameters; an input read
// elsewhere too is requantized.
func TestQuantizeConcat(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	m := newModel("x", []int{2, 3}, []string{"y", "b2"}, []*graph.Node{
		node("MatMul", []string{"x", "w1"}, []string{"a"}),
		node("MatMul", []string{"x", "w2"}, []string{"b"}),
		node("Relu", []string{"b"}, []string{"b2"}),
		node("Concat", []string{"a", "b2", "k"}, []string{"y"}, intAttr("axis", 1)),
	}, map[string]*graph.Tensor{
		"w1": randTensor(rng, []int{3, 4}, 1), "w2": randTensor(rng, []int{3, 4}, 10), "k": randTensor(rng, []int{2, 2}, 1),
	})
	x := randTensor(rng, []int{2, 3}, 1)
	q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": x}), QuantOptions{})
	require.NoError(t, err)
	out := scalarParams(t, q, producer(q, "y"))
	assert.Equal(t, out, scalarParams(t, q, producer(q, "a")), "the single-use input shares the output's parameters")
	var cat *graph.Node
	for _, n := range q.Graph.Nodes {
		if n.OpType == "Concat" {
			cat = n
		}
	}
	require.NotNil(t, cat)
	for _, in := range cat.Inputs {
		dq := producer(q, in)
		require.Equal(t, "DequantizeLinear", dq.OpType, "input %s", in)
		if q.Graph.Initializers[dq.Input(0)] == nil {
			assert.Equal(t, out, scalarParams(t, q, dq), "input %s is at the output's scale", in)
		}
	}
	assert.NotEqual(t, out, scalarParams(t, q, producer(q, "b2")), "b2 keeps its own parameters for its other reader")
	want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]
	got := runFloat(t, q, map[string]*graph.Tensor{"x": x})["y"]
	// Weight rounding of the large MatMul dominates: within 3% of the output range.
	assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 0.03*255*float64(out.scale))
}

func TestQuantizeRefusesBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	m := smallCNN(rng)
	x := randTensor(rng, []int{4, 2, 6, 6}, 1)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": x})
	q, err := Quantize(m, r, QuantOptions{})
	require.NoError(t, err)

	_, err = Quantize(q, r, QuantOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrAlreadyQuantized))
	assert.Contains(t, err.Error(), "QuantizeLinear")
	_, err = NewCalibrator(q, MinMaxAsym, CalibOptions{})
	assert.True(t, errors.Is(err, ErrAlreadyQuantized))

	partial := Ranges{"x": r["x"]}
	_, err = Quantize(m, partial, QuantOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"r"`[1:2])
	assert.Contains(t, err.Error(), "no entry")

	bad := Ranges{"x": {2, 1}}
	_, err = Quantize(m, bad, QuantOptions{})
	assert.ErrorContains(t, err, "min > max")

	_, err = Quantize(m, r, QuantOptions{Exclude: []string{"nope"}})
	assert.ErrorContains(t, err, `"nope"`)
}

func TestQuantizeExclude(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	m := smallCNN(rng)
	x := randTensor(rng, []int{4, 2, 6, 6}, 1)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": x})
	var notes []string
	q, err := Quantize(m, r, QuantOptions{Exclude: []string{"Gemm_z"}, Notes: func(s string) { notes = append(notes, s) }})
	require.NoError(t, err)
	var gemm *graph.Node
	for _, n := range q.Graph.Nodes {
		if n.OpType == "Gemm" {
			gemm = n
		}
	}
	assert.Equal(t, "fw", gemm.Input(1), "an excluded node keeps its float weights")
	assert.NotEmpty(t, notes)

	// Ranges calibrated without any exclusion serve a later one (every float
	// activation has a range). Excluding the Conv leaves its output float32 for its
	// consumer: the ReLU takes float, and its output is quantized for the MaxPool.
	notes = nil
	q, err = Quantize(m, r, QuantOptions{Exclude: []string{"Conv_c"}, Notes: func(s string) { notes = append(notes, s) }})
	require.NoError(t, err)
	assert.Equal(t, "w", producer(q, "c").Input(1), "the excluded Conv keeps its float weights")
	assert.Equal(t, "Conv", producer(q, "c").OpType, "the excluded Conv's output is not quantized")
	assert.Equal(t, "Relu", q.Graph.Consumers()["c"][0].OpType, "the ReLU reads the float output")
	assert.Equal(t, "DequantizeLinear", producer(q, "r").OpType, "the ReLU's output is quantized for the MaxPool")
	assert.Contains(t, strings.Join(notes, "\n"), "float32 output of excluded")
	// The same with a calibrator told about the exclusion.
	c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{Exclude: []string{"Conv_c"}})
	require.NoError(t, err)
	require.NoError(t, c.Collect(map[string]*graph.Tensor{"x": x}))
	r2, err := c.ComputeRanges()
	require.NoError(t, err)
	_, err = Quantize(m, r2, QuantOptions{Exclude: []string{"Conv_c"}})
	require.NoError(t, err)
}

// A node excluded in front of a residual Add: the Add takes the float tensor (the
// reported bug quantized it for the Add with the bad range the exclusion was meant to
// drop).
func TestExcludeFeedsQuantizedAdd(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	m := newModel("x", []int{2, 2, 5, 5}, []string{"y"}, []*graph.Node{
		node("Conv", []string{"x", "w", "b"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, []string{"r"}),
		node("Conv", []string{"r", "w2", "b2"}, []string{"c2"}, ints("pads", 1, 1, 1, 1)),
		node("Add", []string{"c2", "r"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"w": randTensor(rng, []int{2, 2, 3, 3}, 0.5), "b": randTensor(rng, []int{2}, 0.1),
		"w2": randTensor(rng, []int{2, 2, 3, 3}, 0.5), "b2": randTensor(rng, []int{2}, 0.1),
	})
	x := randTensor(rng, []int{2, 2, 5, 5}, 1)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": x})
	q, err := Quantize(m, r, QuantOptions{Exclude: []string{"Relu_r"}})
	require.NoError(t, err)
	assert.Equal(t, "Relu", producer(q, "r").OpType, "the excluded output stays float32")
	for _, c := range q.Graph.Consumers()["r"] {
		assert.NotEqual(t, "QuantizeLinear", c.OpType, "%s quantizes the excluded output", c.Name)
	}
	// Both models compute the same function closely (the Add and the second Conv run
	// in float32 on the float ReLU).
	fs, err := newFloatSession(m)
	require.NoError(t, err)
	qs, err := newFloatSession(q)
	require.NoError(t, err)
	fo, err := fs.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	qo, err := qs.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	assert.InDeltaSlice(t, fo["y"].F32(), qo["y"].F32(), 0.1)
}

// Models at an older opset are raised to 13, rewriting changed signatures.
func TestQuantizeUpgradesOpset(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	m := newModel("x", []int{2, 1, 4}, []string{"y"}, []*graph.Node{
		node("Squeeze", []string{"x"}, []string{"s"}, ints("axes", 1)),
		node("MatMul", []string{"s", "w"}, []string{"m"}),
		node("Clip", []string{"m"}, []string{"c"}, floatAttr("min", 0), floatAttr("max", 6)),
		node("Softmax", []string{"c"}, []string{"y"}, intAttr("axis", 1)),
	}, map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 3}, 1)})
	m.Opsets[""] = 10 // Squeeze axes and Clip min/max attributes, Softmax 2-D coercion
	m10 := m
	x := randTensor(rng, []int{2, 1, 4}, 1)
	want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]
	up := m10.Clone()
	require.NoError(t, upgradeOpset(up, 13))
	assert.Equal(t, int64(13), up.Opset())
	for _, n := range up.Graph.Nodes {
		switch n.OpType {
		case "Squeeze":
			assert.False(t, n.HasAttr("axes"))
			assert.Equal(t, []int64{1}, up.Graph.Initializers[n.Input(1)].I64())
		case "Clip":
			assert.Len(t, n.Inputs, 3)
		case "Softmax":
			assert.Equal(t, int64(-1), n.AttrInt("axis", 0))
		}
	}
	got := runFloat(t, up, map[string]*graph.Tensor{"x": x})["y"]
	assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 1e-6)

	r := rangesFromData(t, up, map[string]*graph.Tensor{"x": x})
	q, err := Quantize(m10, r, QuantOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(13), q.Opset())
}

func TestQuantizeQOperator(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	m := smallCNN(rng)
	x := randTensor(rng, []int{4, 2, 6, 6}, 1)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": x})
	q, err := Quantize(m, r, QuantOptions{Format: FormatQOperator})
	require.NoError(t, err)
	ops := countOps(q)
	assert.Equal(t, 2, ops["QLinearConv"], "Conv+Relu and the Gemm (as a 1x1 conv) become QLinearConv: %v", ops)
	assert.Zero(t, ops["Conv"])
	assert.Zero(t, ops["Relu"], "the ReLU is implied by the output zero point")
	assert.Zero(t, ops["Gemm"])
	assert.Equal(t, "qoperator", q.Metadata[MetaFormat])
	for _, n := range q.Graph.Nodes {
		if n.OpType == "MaxPool" || n.OpType == "Flatten" {
			assert.Equal(t, graph.Int8, q.Graph.Values[n.Inputs[0]].DType, "%s runs on int8", n.OpType)
		}
	}
	qdq, err := Quantize(m, r, QuantOptions{})
	require.NoError(t, err)
	s1, err := newFloatSession(qdq)
	require.NoError(t, err)
	s2, err := newFloatSession(q)
	if err != nil {
		t.Skipf("the float executor cannot run the QOperator form yet: %v", err)
	}
	a, err := s1.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	b, err := s2.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	zs := scalarParams(t, qdq, producer(qdq, "z")).scale
	assert.LessOrEqual(t, maxAbsDiff(a["z"].F32(), b["z"].F32()), 1.01*float64(zs), "QDQ and QOperator agree within one step")
}

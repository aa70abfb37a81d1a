package runtime

import (
	"math/rand"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

func TestInt8TapsAndDequantized(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	fm := cnnModel(2)
	qm := qdqify(t, fm, map[string]*graph.Tensor{"input": randInput(rng, []int{8, 3, 12, 12}, -1, 1)}, qdqOptions{})
	in := map[string]*graph.Tensor{"input": randInput(rng, []int{2, 3, 12, 12}, -1, 1)}
	ref, err := NewSession(qm, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	// Relu outputs: fused into convolutions, held channels-last by int8 tensors.
	var names []string
	for _, n := range fm.Graph.Nodes {
		if n.OpType == "Relu" || n.OpType == "MaxPool" {
			names = append(names, n.Outputs[0])
		}
	}
	require.NotEmpty(t, names)

	t.Run("all taps", func(t *testing.T) {
		s, err := NewSession(qm, WithMode(ModeInt8), WithAllTaps())
		require.NoError(t, err)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		for _, name := range names {
			qi, ok := s.QuantInfo(name)
			require.True(t, ok, name)
			d, err := s.Dequantized(name, got)
			require.NoError(t, err, name)
			w := want[name+"_dq"]
			require.NotNil(t, w, name)
			frac, _ := outputSteps(t, d, w, float64(qi.Scale))
			assert.GreaterOrEqual(t, frac, 0.99, name)
			// the raw int8 tensor is channels-last
			assert.Equal(t, []int{0, 2, 3, 1}, qi.Perm, name)
		}
		_, err = s.Dequantized("no such tensor", got)
		assert.ErrorContains(t, err, "not computed")
	})

	t.Run("named taps are materialized", func(t *testing.T) {
		taps := []string{names[0] + "_dq", names[1] + "_q"}
		s, err := NewSession(qm, WithMode(ModeInt8), WithTaps(taps...))
		require.NoError(t, err)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		f := got[taps[0]]
		require.NotNil(t, f)
		assert.Equal(t, graph.Float32, f.DType)
		assert.Equal(t, want[taps[0]].Shape, f.Shape, "logical NCHW layout")
		q := got[taps[1]]
		require.NotNil(t, q)
		assert.Equal(t, graph.Int8, q.DType)
		assert.Equal(t, want[taps[1]].Shape, q.Shape)
		qi, _ := s.QuantInfo(taps[0])
		frac, _ := outputSteps(t, f, want[taps[0]], float64(qi.Scale))
		assert.GreaterOrEqual(t, frac, 0.99)
	})
}

func TestInt8ConcurrentRunsMatchSerial(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	fm := cnnModel(3)
	qm := qdqify(t, fm, map[string]*graph.Tensor{"input": randInput(rng, []int{8, 3, 12, 12}, -1, 1)}, qdqOptions{})
	s, err := NewSession(qm, WithMode(ModeInt8), WithThreads(2))
	require.NoError(t, err)
	const workers, iters = 6, 3
	inputs := make([]map[string]*graph.Tensor, workers)
	serial := make([]*graph.Tensor, workers)
	out := fm.Graph.Outputs[0].Name
	for i := range inputs {
		inputs[i] = map[string]*graph.Tensor{"input": randInput(rng, []int{1 + i%3, 3, 12, 12}, -1, 1)}
		r, err := s.RunTensors(inputs[i])
		require.NoError(t, err)
		serial[i] = r[out]
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*iters)
	results := make([][]*graph.Tensor, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < iters; i++ {
				r, err := s.RunTensors(inputs[w])
				if err != nil {
					errs <- err
					return
				}
				results[w] = append(results[w], r[out])
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for w := range results {
		require.Len(t, results[w], iters)
		for _, r := range results[w] {
			assert.Equal(t, serial[w].F32(), r.F32(), "worker %d", w)
		}
	}
}

// TestInt8RawInputOutput checks models edited to take raw uint8 input and give raw
// int8 output: they are consumed and produced as is, in NCHW.
func TestInt8RawInputOutput(t *testing.T) {
	b := newMB(9)
	g := b.G
	g.Inputs = []*graph.Value{{Name: "pixels", DType: graph.Uint8, HasShape: true, Shape: graph.Shape{batchDim(), {Size: 2}, {Size: 6}, {Size: 6}}}}
	g.Initializers["in_scale"] = graph.FromFloat32(nil, []float32{1.0 / 255})
	g.Initializers["in_zp"] = graph.FromUint8(nil, []uint8{0})
	g.Initializers["w_q"] = graph.FromInt8([]int{3, 2, 3, 3}, func() []int8 {
		d := make([]int8, 54)
		for i := range d {
			d[i] = int8(b.Rng.Intn(255) - 127)
		}
		return d
	}())
	g.Initializers["w_scale"] = graph.FromFloat32([]int{3}, []float32{0.01, 0.02, 0.015})
	g.Initializers["w_zp"] = graph.FromInt8([]int{3}, []int8{0, 0, 0})
	g.Initializers["y_scale"] = graph.FromFloat32(nil, []float32{0.05})
	g.Initializers["y_zp"] = graph.FromInt8(nil, []int8{-128})
	g.Nodes = []*graph.Node{
		{Name: "dq_in", OpType: "DequantizeLinear", Inputs: []string{"pixels", "in_scale", "in_zp"}, Outputs: []string{"x"}},
		{Name: "dq_w", OpType: "DequantizeLinear", Inputs: []string{"w_q", "w_scale", "w_zp"}, Outputs: []string{"w"}, Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0)}},
		{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]*graph.Attr{"pads": graph.IntsAttr("pads", []int{1, 1, 1, 1})}},
		{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
		{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"r", "y_scale", "y_zp"}, Outputs: []string{"y"}},
	}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Int8}}
	m := b.Model()
	px := make([]uint8, 3*2*6*6)
	for i := range px {
		px[i] = uint8(b.Rng.Intn(256))
	}
	in := map[string]*graph.Tensor{"pixels": graph.FromUint8([]int{3, 2, 6, 6}, px)}
	ref, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeInt8))
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	require.Equal(t, graph.Int8, got["y"].DType)
	require.Equal(t, []int{3, 3, 6, 6}, got["y"].Shape)
	diff := 0
	for i, v := range got["y"].I8() {
		d := int(v) - int(want["y"].I8()[i])
		assert.LessOrEqual(t, d*d, 1, "element %d", i)
		if d != 0 {
			diff++
		}
	}
	t.Logf("%d of %d values differ by one step", diff, got["y"].Len())
	relayouts := 0
	for _, p := range s.Placement {
		assert.True(t, p.Int8, p.OpType)
		if p.OpType == "Relayout" {
			relayouts++
		}
	}
	assert.Equal(t, 2, relayouts, "uint8 NCHW -> int8 NHWC in one pass, and back to NCHW at the output")
}

// TestInt8QOperatorLowering runs a QOperator graph (uint8, as ONNX Runtime's quantizer
// writes it) lowered to the channels-last int8 operators and compares it with the
// registered QOperator kernels (float32 mode runs them directly).
func TestInt8QOperatorLowering(t *testing.T) {
	b := newMB(11)
	g := b.G
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.Shape{batchDim(), {Size: 3}, {Size: 8}, {Size: 8}}}}
	u8 := func(n int, lo, hi int) []uint8 {
		d := make([]uint8, n)
		for i := range d {
			d[i] = uint8(lo + b.Rng.Intn(hi-lo+1))
		}
		return d
	}
	sc := func(v float32) *graph.Tensor { return graph.FromFloat32(nil, []float32{v}) }
	zp := func(v uint8) *graph.Tensor { return graph.FromUint8(nil, []uint8{v}) }
	in := g.Initializers
	in["xs"], in["xz"] = sc(0.02), zp(128)
	in["w1"], in["w1s"], in["w1z"] = graph.FromUint8([]int{4, 3, 3, 3}, u8(108, 0, 255)), sc(0.01), zp(120)
	in["b1"] = graph.FromInt32([]int{4}, []int32{100, -50, 7, 0})
	in["c1s"], in["c1z"] = sc(0.05), zp(100)
	in["w2"], in["w2s"], in["w2z"] = graph.FromUint8([]int{4, 4, 1, 1}, u8(16, 1, 255)), sc(0.02), zp(128)
	in["c2s"], in["c2z"] = sc(0.04), zp(128)
	in["as"], in["az"] = sc(0.06), zp(110)
	in["gs"], in["gz"] = sc(0.03), zp(90)
	in["fw"], in["fws"], in["fwz"] = graph.FromUint8([]int{4, 5}, u8(20, 0, 255)), sc(0.02), zp(128)
	in["os"], in["oz"] = sc(0.1), zp(128)
	in["ss"], in["sz"] = sc(1.0/256), zp(0)
	in["shape"] = graph.FromInt64([]int{2}, []int64{-1, 4})
	ms := "com.microsoft"
	g.Nodes = []*graph.Node{
		{OpType: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}},
		{Name: "conv1", OpType: "QLinearConv", Inputs: []string{"xq", "xs", "xz", "w1", "w1s", "w1z", "c1s", "c1z", "b1"}, Outputs: []string{"c1"},
			Attrs: map[string]*graph.Attr{"pads": graph.IntsAttr("pads", []int{1, 1, 1, 1})}},
		{Name: "pool", OpType: "MaxPool", Inputs: []string{"c1"}, Outputs: []string{"p1"}, Attrs: map[string]*graph.Attr{"kernel_shape": graph.IntsAttr("kernel_shape", []int{2, 2}), "strides": graph.IntsAttr("strides", []int{2, 2})}},
		{Name: "conv2", OpType: "QLinearConv", Inputs: []string{"p1", "c1s", "c1z", "w2", "w2s", "w2z", "c2s", "c2z"}, Outputs: []string{"c2"}},
		{Name: "add", OpType: "QLinearAdd", Domain: ms, Inputs: []string{"c2", "c2s", "c2z", "p1", "c1s", "c1z", "as", "az"}, Outputs: []string{"a"}},
		{Name: "sig", OpType: "QLinearSigmoid", Domain: ms, Inputs: []string{"a", "as", "az", "ss", "sz"}, Outputs: []string{"s"}},
		{Name: "mul", OpType: "QLinearMul", Domain: ms, Inputs: []string{"a", "as", "az", "s", "ss", "sz", "as", "az"}, Outputs: []string{"m"}},
		{Name: "gap", OpType: "QLinearGlobalAveragePool", Domain: ms, Inputs: []string{"m", "as", "az", "gs", "gz"}, Outputs: []string{"gp"}},
		{Name: "flat", OpType: "Reshape", Inputs: []string{"gp", "shape"}, Outputs: []string{"f"}},
		{Name: "fc", OpType: "QLinearMatMul", Inputs: []string{"f", "gs", "gz", "fw", "fws", "fwz", "os", "oz"}, Outputs: []string{"o"}},
		{OpType: "DequantizeLinear", Inputs: []string{"o", "os", "oz"}, Outputs: []string{"y"}},
	}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	m := b.Model()
	input := map[string]*graph.Tensor{"x": randInput(b.Rng, []int{2, 3, 8, 8}, -2, 2)}
	ref, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(input)
	require.NoError(t, err)
	var warns []string
	s, err := NewSession(m, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Empty(t, warns)
	for _, n := range s.Model().Graph.Nodes {
		assert.Equal(t, Int8Domain, n.Domain, n.Label())
		assert.NotEqual(t, "Relayout", n.OpType, "no layout conversion expected: %s", n.Label())
	}
	got, err := s.RunTensors(input)
	require.NoError(t, err)
	assert.Equal(t, want["y"].Shape, got["y"].Shape)
	assert.Equal(t, want["y"].F32(), got["y"].F32())
}

// TestInt8DynamicQuantization runs DynamicQuantizeLinear + MatMulInteger models (as
// quantize_dynamic writes them) natively.
func TestInt8DynamicQuantization(t *testing.T) {
	b := newMB(13)
	g := b.G
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.Shape{batchDim(), {Size: 16}}}}
	wq := make([]int8, 16*8)
	for i := range wq {
		wq[i] = int8(b.Rng.Intn(255) - 127)
	}
	g.Initializers["wq"] = graph.FromInt8([]int{16, 8}, wq)
	g.Initializers["wz"] = graph.FromInt8(nil, []int8{0})
	g.Initializers["ws"] = graph.FromFloat32(nil, []float32{0.01})
	g.Initializers["bias"] = graph.FromFloat32([]int{8}, []float32{0.1, -0.2, 0.3, 0, 0.5, -0.1, 0.05, 0.2})
	g.Nodes = []*graph.Node{
		{Name: "dq", OpType: "DynamicQuantizeLinear", Inputs: []string{"x"}, Outputs: []string{"xq", "xs", "xz"}},
		{Name: "mmi", OpType: "MatMulInteger", Inputs: []string{"xq", "wq", "xz", "wz"}, Outputs: []string{"acc"}},
		{Name: "cast", OpType: "Cast", Inputs: []string{"acc"}, Outputs: []string{"accf"}, Attrs: map[string]*graph.Attr{"to": graph.IntAttr("to", int64(graph.Float32))}},
		{Name: "scale", OpType: "Mul", Inputs: []string{"xs", "ws"}, Outputs: []string{"s"}},
		{Name: "mul", OpType: "Mul", Inputs: []string{"accf", "s"}, Outputs: []string{"mm"}},
		{Name: "add", OpType: "Add", Inputs: []string{"mm", "bias"}, Outputs: []string{"y"}},
	}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(b.Rng, []int{5, 16}, -3, 2)}
	ref, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	var warns []string
	s, err := NewSession(m, WithMode(ModeAuto), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Equal(t, ModeInt8, s.Mode())
	assert.Empty(t, warns)
	placed := map[string]bool{}
	for _, p := range s.Placement {
		placed[p.OpType] = p.Int8
	}
	assert.True(t, placed["DynamicQuantize"])
	assert.True(t, placed["MatMulInteger"])
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	assert.Equal(t, want["y"].F32(), got["y"].F32())
}

// TestInt8QuantConformanceLowered runs ONNX's conformance cases of the quantization
// operators through the int8 lowering (the conformance harness runs them in float32
// mode, i.e. on the registered kernels).
func TestInt8QuantConformanceLowered(t *testing.T) {
	if _, err := os.Stat(conformanceDir); err != nil {
		t.Skip("ONNX conformance data not installed")
	}
	cases, _ := testmodels.ConformanceCases()
	ran := 0
	for _, c := range cases {
		if !containsAny(c.Name, "quantizelinear", "qlinear", "integer") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			m, err := graph.Load(c.Model())
			require.NoError(t, err)
			s, err := NewSession(m, WithMode(ModeInt8))
			require.NoError(t, err)
			sets, _ := c.DataSets()
			require.NotEmpty(t, sets)
			for _, set := range sets {
				in := map[string]*graph.Tensor{}
				for i, v := range s.Inputs() {
					tt, _, err := LoadTensorFile(testmodels.InputFile(set, i))
					require.NoError(t, err)
					in[v.Name] = tt
				}
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for i, o := range s.Outputs() {
					want, _, err := LoadTensorFile(testmodels.OutputFile(set, i))
					require.NoError(t, err)
					require.NoError(t, CompareTensors(got[o.Name], want, ONNXTolerance), o.Name)
				}
			}
			ran++
		})
	}
	assert.GreaterOrEqual(t, ran, 17)
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return strings.Contains(s, x) })
}

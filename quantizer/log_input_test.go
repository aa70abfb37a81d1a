package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A log-power front end: x -> Mul(x, x) -> MatMul (a filter bank) -> Clip(1e-10) ->
// Log -> MatMul. The power spans decades; quantized linearly, the small values
// all became code 0, then 1e-10, then -23 after Log (whisper_stft_op17 of
// --unseen9: 12.1 dB). The Clip and the filter-bank MatMul, read only by Log, now
// stay float32; the MatMul after the Log is still int8.
func TestQuantizeKeepsLogInputsFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	fb := graph.NewTensor(graph.Float32, []int{16, 8})
	for i := range fb.F32() {
		fb.F32()[i] = rng.Float32() * 0.2
	}
	m := newModel("x", []int{1, 16}, []string{"y"}, []*graph.Node{
		node("Mul", []string{"x", "x"}, []string{"pow"}),
		node("MatMul", []string{"pow", "fb"}, []string{"mel"}),
		node("Clip", []string{"mel", "eps", ""}, []string{"melc"}),
		node("Log", []string{"melc"}, []string{"logmel"}),
		node("MatMul", []string{"logmel", "w"}, []string{"y"}),
	}, map[string]*graph.Tensor{"fb": fb, "eps": graph.ScalarFloat32(1e-10), "w": randTensor(rng, []int{8, 4}, 0.5)})
	in := graph.NewTensor(graph.Float32, []int{8, 16})
	for i := range in.F32() {
		// amplitudes over four decades, as a spectrum's
		in.F32()[i] = float32(math.Pow(10, -4*rng.Float64())) * (rng.Float32()*2 - 1)
	}
	feed := map[string]*graph.Tensor{"x": in}
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	quantized := dequantizedNames(q)
	assert.False(t, quantized["pow"], "the power (read only by the filter bank) stays float32")
	assert.False(t, quantized["mel"], "the filter bank's output stays float32")
	assert.False(t, quantized["melc"], "the Clip's output stays float32")
	assert.True(t, quantized["logmel"], "the MatMul after the Log is int8")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "y"), 30.0, "int8 against float32, dB")
}

// A diffusion model's timestep embedding: t [N, 1] (0-1000) -> Mul(freqs) -> Sin,
// Cos -> Concat -> MatMul. The angle t*f spans 1000 radians: quantized, its step
// is 4 radians and sin/cos of it noise (ddpm_unet_op13 of --unseen12: the
// embedding at -0.5 dB, the model's output 17 dB from float32). The Mul, read
// only by Sin and Cos, stays float32; the MatMul after them is still int8.
func TestQuantizeKeepsAngleInputsFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	freqs := graph.NewTensor(graph.Float32, []int{1, 16})
	for i := range freqs.F32() {
		freqs.F32()[i] = float32(math.Exp(-math.Log(10000) * float64(i) / 16))
	}
	m := newModel("t", []int{1, 1}, []string{"y"}, []*graph.Node{
		node("Mul", []string{"t", "freqs"}, []string{"args"}),
		node("Sin", []string{"args"}, []string{"sin"}),
		node("Cos", []string{"args"}, []string{"cos"}),
		node("Concat", []string{"cos", "sin"}, []string{"emb"}, intAttr("axis", 1)),
		node("MatMul", []string{"emb", "w"}, []string{"y"}),
	}, map[string]*graph.Tensor{"freqs": freqs, "w": randTensor(rng, []int{32, 8}, 0.5)})
	in := graph.NewTensor(graph.Float32, []int{16, 1})
	for i := range in.F32() {
		in.F32()[i] = float32(rng.Intn(1000))
	}
	feed := map[string]*graph.Tensor{"t": in}
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	quantized := dequantizedNames(q)
	assert.False(t, quantized["args"], "the angle (read only by Sin and Cos) stays float32")
	assert.True(t, quantized["emb"], "the MatMul after Sin and Cos is int8")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "y"), 30.0, "int8 against float32, dB")
}

// StyleGAN's modulated convolution: the weight is computed at run time (a
// constant times a per-sample style from a Gemm, demodulated by the root of its
// sum of squares), so the Conv runs float32. Its weight chain (the style Gemm,
// the modulation, the demodulation) stays float32 too: quantizing the weight per
// tensor on its way only added error (stylegan_modconv_op13 of --unseen12).
func TestQuantizeKeepsComputedConvWeightFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	m := newModel("x", []int{1, 8, 10, 10}, []string{"y"}, []*graph.Node{
		node("Gemm", []string{"z", "a", "ab"}, []string{"style"}),
		node("Reshape", []string{"style", "s4shape"}, []string{"s4"}),
		node("Mul", []string{"wp", "s4"}, []string{"wmod"}),
		node("Mul", []string{"wmod", "wmod"}, []string{"sq"}),
		node("ReduceSum", []string{"sq", "axes"}, []string{"ss"}, intAttr("keepdims", 1)),
		node("Sqrt", []string{"ss"}, []string{"nrm"}),
		node("Div", []string{"wmod", "nrm"}, []string{"wd"}),
		node("Conv", []string{"x", "wd"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, []string{"r"}),
		node("Conv", []string{"r", "w2"}, []string{"y"}),
	}, map[string]*graph.Tensor{
		"a": randTensor(rng, []int{16, 8}, 0.3), "ab": graph.FromFloat32([]int{8}, []float32{1, 1, 1, 1, 1, 1, 1, 1}),
		"s4shape": graph.FromInt64([]int{4}, []int64{1, 8, 1, 1}), "wp": randTensor(rng, []int{6, 8, 3, 3}, 1),
		"axes": graph.FromInt64([]int{3}, []int64{1, 2, 3}), "w2": randTensor(rng, []int{4, 6, 1, 1}, 0.5),
	})
	// The style vector is a second input (a constant one would fold the chain).
	z := &graph.Value{Name: "z", DType: graph.Float32, Shape: graph.ShapeOf(1, 16), HasShape: true}
	m.Graph.Inputs = append(m.Graph.Inputs, z)
	m.Graph.Values["z"] = z
	feed := map[string]*graph.Tensor{"x": randTensor(rng, []int{1, 8, 10, 10}, 1), "z": randTensor(rng, []int{1, 16}, 1)}
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	quantized := dequantizedNames(q)
	for _, name := range []string{"style", "s4", "wmod", "wd"} {
		assert.False(t, quantized[name], "%s (only the float32 Conv's weight needs it) stays float32", name)
	}
	assert.True(t, quantized["r"], "the constant-weight Conv after it is int8")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "y"), 38.0, "int8 against float32, dB (36.0 with the weight quantized)")
}

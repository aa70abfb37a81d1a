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

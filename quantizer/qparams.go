package quantizer

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// qparams are per-tensor int8 quantization parameters: real = (q - zp) * scale.
type qparams struct {
	scale float32
	zp    int8
}

// QParams are a tensor's quantization parameters, real = (q - ZeroPoint) * Scale.
type QParams struct {
	Scale     float32
	ZeroPoint int
}

// PixelParams map raw uint8 pixels to pixel/255, the preprocessing of the bundled
// Fashion-MNIST models: with these input parameters a model takes raw pixels.
var PixelParams = QParams{Scale: 1.0 / 255, ZeroPoint: 0}

// minScale keeps weight scales of (nearly) all-zero channels usable: a scale that
// small would give requantization multipliers outside any fixed-point range.
const minScale = 1e-10

// minActScale is the floor of an activation's scale. It is far below minScale
// (nineteenth session): an activation's scale only enters the kernels through ratios
// (s_in·s_w/s_out) and the bias scale s_in·s_w, which stays a normal float32 down to
// s_in = 1e-20 with any weight scale at or above minScale. With minScale as the
// floor, a tensor whose values are all below 2.5e-8 got fewer than 256 codes: the
// torchvision EfficientNet-B0 of the named set (random weights, activations of 1e-9
// from block 5 on) had its inputs of 5x5 depthwise convolutions on about 20 codes,
// output 0.0 dB from float32.
const minActScale = 1e-20

// paramsFromRange computes int8 activation parameters for [lo, hi] (0 is always made
// representable). A symmetric range (lo == -hi) gets zero point 0 and scale hi/127, as
// ONNX Runtime and TFLite do for symmetric activations; any other range uses all 256
// levels: scale (hi-lo)/255, zero point round(-128 - lo/scale) (half to even).
func paramsFromRange(lo, hi float32) qparams {
	l, h := math.Min(float64(lo), 0), math.Max(float64(hi), 0)
	if h-l <= 0 {
		return qparams{scale: 1, zp: 0}
	}
	if l < 0 && l == -h {
		return qparams{scale: float32(math.Max(h/127, minActScale)), zp: 0}
	}
	s := float32(math.Max((h-l)/255, minActScale))
	zp := math.RoundToEven(-128 - l/float64(s))
	return qparams{scale: s, zp: int8(math.Max(-128, math.Min(127, zp)))}
}

// quantizeValue is ONNX QuantizeLinear on one value: round half to even, saturate.
func quantizeValue(x float32, p qparams) int8 {
	q := math.RoundToEven(float64(x)/float64(p.scale)) + float64(p.zp)
	return int8(math.Max(-128, math.Min(127, q)))
}

// perChannelWeights quantizes a weight symmetrically to [-127, 127] per slice along
// axis (scale = max|w|/127, zero point 0, as the TFLite spec requires). minScales, if
// not nil, raises individual channel scales (see adjustForBias).
func perChannelWeights(w *graph.Tensor, axis int, minScales []float64) ([]int8, []float32) {
	data := w.F32()
	outer, ch, inner := graph.SplitAxis(w.Shape, axis)
	amax := make([]float64, ch)
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			base := (o*ch + c) * inner
			for _, v := range data[base : base+inner] {
				amax[c] = math.Max(amax[c], math.Abs(float64(v)))
			}
		}
	}
	scales := make([]float32, ch)
	for c := range scales {
		s := amax[c] / 127
		if minScales != nil && minScales[c] > s {
			s = minScales[c]
		}
		if s == 0 {
			s = 1 // an all-zero channel: any scale represents it exactly
		}
		scales[c] = float32(math.Max(s, minScale))
	}
	q := make([]int8, len(data))
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			base := (o*ch + c) * inner
			s := float64(scales[c])
			for i, v := range data[base : base+inner] {
				r := math.RoundToEven(float64(v) / s)
				q[base+i] = int8(math.Max(-127, math.Min(127, r)))
			}
		}
	}
	return q, scales
}

// biasLimit is the largest magnitude of a quantized bias: TFLite keeps biases in the
// middle half of the int32 range so that the accumulation has headroom.
const biasLimit = 1 << 30

// adjustForBias returns per-channel lower bounds for the weight scales such that the
// bias quantized with scale sIn*sW[c] stays within biasLimit (TFLite's
// AdjustWeightsForBiasScale: the weight scale is raised rather than letting the bias
// overflow). chanOf maps a bias index to its weight channel.
func adjustForBias(bias []float32, sIn float32, nch int, chanOf func(int) int) []float64 {
	out := make([]float64, nch)
	for i, b := range bias {
		need := math.Abs(float64(b)) / (float64(sIn) * biasLimit)
		c := chanOf(i)
		out[c] = math.Max(out[c], need)
	}
	return out
}

// quantizeBias quantizes a bias to int32 with scale sIn*sW[chanOf(i)] and zero point 0.
func quantizeBias(bias []float32, sIn float32, sW []float32, chanOf func(int) int) ([]int32, []float32) {
	q := make([]int32, len(bias))
	scales := make([]float32, len(bias))
	for i, b := range bias {
		s := sIn * sW[chanOf(i)]
		scales[i] = s
		r := math.RoundToEven(float64(b) / float64(s))
		q[i] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, r)))
	}
	return q, scales
}

// constParams quantizes a float constant per tensor with its own min/max.
func constParams(t *graph.Tensor) qparams {
	lo, hi := float32(0), float32(0)
	for _, v := range t.F32() {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return paramsFromRange(lo, hi)
}

package graph

// The opset-17 signal operators besides STFT: HannWindow, HammingWindow,
// BlackmanWindow, DFT and MelWeightMatrix, as the ONNX function library and
// onnxruntime-extensions write a log-mel front end (framing, window, DFT, power,
// mel filter bank) and as spectral-masking denoisers write an inverse DFT. The
// windows and the filter bank fold to constants when their sizes are constants.
// Float32 results only.

import (
	"fmt"
	"math"
)

// WindowValues returns a window of size n: the generalized cosine window
// a0 - a1·cos(2πk/N) + a2·cos(4πk/N), N = n when periodic, n-1 otherwise (Hann
// a0 = a1 = 0.5; Hamming a0 = 25/46, a1 = 21/46; Blackman 0.42, 0.5, 0.08), as
// ONNX Runtime computes it.
func WindowValues(op string, n int, periodic bool) ([]float32, error) {
	var a0, a1, a2 float64
	switch op {
	case "HannWindow":
		a0, a1 = 0.5, 0.5
	case "HammingWindow":
		a0, a1 = 25.0/46, 21.0/46
	case "BlackmanWindow":
		a0, a1, a2 = 0.42, 0.5, 0.08
	default:
		return nil, fmt.Errorf("%s is not a window operator", op)
	}
	if n < 0 || n > 1<<24 {
		return nil, fmt.Errorf("window size %d is out of range", n)
	}
	den := float64(n)
	if !periodic {
		den = float64(n - 1)
	}
	out := make([]float32, n)
	for k := range out {
		if den == 0 {
			out[k] = float32(a0 - a1 + a2)
			continue
		}
		out[k] = float32(a0 - a1*math.Cos(2*math.Pi*float64(k)/den) + a2*math.Cos(4*math.Pi*float64(k)/den))
	}
	return out, nil
}

func checkFloatOutputType(c *InferContext) error {
	if dt := DType(c.Node.AttrInt("output_datatype", int64(Float32))); dt != Float32 {
		return nnUnsupported(c, "output_datatype %s (float32 only)", dt)
	}
	return nil
}

func inferWindow(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkFloatOutputType(c); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	out := unknownDims(1)
	n, ok, err := scalarConst(c, 0, "size")
	if err != nil {
		return nil, nil, err
	}
	if ok {
		if n < 0 {
			return nil, nil, c.Errorf("size %d is negative", n)
		}
		out[0] = Dim{Size: n}
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

// MelWeights returns the [dft/2+1, bins] triangular mel filter bank of
// MelWeightMatrix, in ONNX Runtime's float32 arithmetic: bins+2 points evenly
// spaced on the mel scale (2595·log10(1 + hz/700)) from lower by (upper-lower)/(bins+2)
// (ONNX Runtime's step: the last point falls short of upper), each
// mapped to the FFT bin floor((dft+1)·hz / rate); triangles rising over
// [left, center] and falling over [center, right).
func MelWeights(bins, dft, rate int, lower, upper float32) ([]float32, int, error) {
	if bins < 1 || dft < 1 || rate < 1 {
		return nil, 0, fmt.Errorf("num_mel_bins %d, dft_length %d and sample_rate %d must be positive", bins, dft, rate)
	}
	spec := dft/2 + 1
	if int64(spec)*int64(bins) > 1<<26 {
		return nil, 0, fmt.Errorf("a filter bank of %d x %d is too large", spec, bins)
	}
	if !(lower >= 0 && lower < upper) {
		return nil, 0, fmt.Errorf("lower_edge_hertz %g must be at least 0 and below upper_edge_hertz %g", lower, upper)
	}
	toMel := func(hz float32) float32 { return float32(2595 * math.Log10(float64(1+hz/700))) }
	toHz := func(mel float32) float32 { return 700 * (float32(math.Pow(10, float64(mel/2595))) - 1) }
	index := func(hz float32) float64 { return math.Floor(float64(float32(dft+1) * hz / float32(rate))) }
	for _, hz := range []float32{lower, upper} {
		if i := index(hz); i < 0 || i >= float64(spec) {
			return nil, 0, fmt.Errorf("edge %g Hz falls outside the %d bins of a %d-point DFT at %d Hz", hz, spec, dft, rate)
		}
	}
	lo, hi := toMel(lower), toMel(upper)
	step := (hi - lo) / float32(bins+2) // ONNX Runtime divides by the number of points, not the gaps
	pts := make([]int, bins+2)
	for i := range pts {
		p := int(index(toHz(lo + step*float32(i))))
		if p < 0 || p >= spec {
			return nil, 0, fmt.Errorf("mel point %d falls on bin %d, outside the %d bins", i, p, spec)
		}
		pts[i] = p
	}
	w := make([]float32, spec*bins)
	for i := 0; i < bins; i++ {
		l, m, r := pts[i], pts[i+1], pts[i+2]
		if m == l {
			w[m*bins+i] = 1
		} else {
			for j := l; j <= m; j++ {
				w[j*bins+i] = float32(j-l) / float32(m-l)
			}
		}
		for j := m; j < r; j++ {
			w[j*bins+i] = float32(r-j) / float32(r-m)
		}
	}
	return w, spec, nil
}

func inferMelWeightMatrix(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 5, 5); err != nil {
		return nil, nil, err
	}
	if err := checkFloatOutputType(c); err != nil {
		return nil, nil, err
	}
	out := unknownDims(2)
	bins, okB, err := scalarConst(c, 0, "num_mel_bins")
	if err != nil {
		return nil, nil, err
	}
	dft, okD, err := scalarConst(c, 1, "dft_length")
	if err != nil {
		return nil, nil, err
	}
	if okB {
		out[1] = Dim{Size: bins}
	}
	if okD {
		if dft < 1 {
			return nil, nil, c.Errorf("dft_length %d is not positive", dft)
		}
		out[0] = Dim{Size: dft/2 + 1}
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

// DFTAxis returns the signal axis of a DFT on an input of rank r (the last axis
// holds the 1 or 2 components): axis may count from the back; it must not be
// the batch-free component axis.
func DFTAxis(axis int64, r int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r)-1 {
		return 0, fmt.Errorf("axis %d is out of range for an input of rank %d (the last axis holds the real/imaginary parts)", axis, r)
	}
	return int(a), nil
}

// DFTOutLength is the output length along the DFT axis: the transform length
// (dft_length, or the signal's), halved + 1 when onesided.
func DFTOutLength(n int, onesided bool) int {
	if onesided {
		return n/2 + 1
	}
	return n
}

func inferDFT(c *InferContext) ([]*Value, []*Tensor, error) {
	maxIn := 2
	if c.Opset >= 20 {
		maxIn = 3
	}
	if err := requireInputs(c, 1, maxIn); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if x.DType != Float32 && x.DType != Undefined {
		return nil, nil, nnUnsupported(c, "input of type %s (float32 only)", x.DType)
	}
	onesided := c.Node.AttrInt("onesided", 0) != 0
	if onesided && c.Node.AttrInt("inverse", 0) != 0 {
		return nil, nil, nnUnsupported(c, "onesided inverse DFT (the real inverse of a half spectrum)")
	}
	if !x.HasShape {
		return finish(c, &Value{DType: Float32})
	}
	r := len(x.Shape)
	if r < 2 {
		return nil, nil, c.Errorf("input must have a signal axis and a last axis of 1 or 2, has shape %s", x.Shape)
	}
	if d := x.Shape[r-1]; d.Known() && d.Size != 1 && d.Size != 2 {
		return nil, nil, c.Errorf("input's last axis must be 1 (real) or 2 (complex), has shape %s", x.Shape)
	} else if d.Known() && d.Size == 2 && onesided {
		return nil, nil, c.Errorf("onesided DFT of a complex input (ONNX defines it for real inputs only)")
	}
	out := append(Shape{}, x.Shape...)
	out[r-1] = Dim{Size: 2}
	axisV := c.Node.AttrInt("axis", 1)
	if c.Opset >= 20 {
		if c.Node.HasAttr("axis") {
			return nil, nil, errorf(c.Node, "%w attribute \"axis\" at opset %d (it became an input in opset 20)", ErrUnsupported, c.Opset)
		}
		axisV = -2
		if len(c.Node.Inputs) > 2 && c.Node.Inputs[2] != "" {
			v, ok, err := scalarConst(c, 2, "axis")
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return finish(c, &Value{DType: Float32, Shape: unknownDims(r), HasShape: true})
			}
			axisV = int64(v)
		}
	}
	axis, err := DFTAxis(axisV, r)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	n := x.Shape[axis]
	if len(c.Node.Inputs) > 1 && c.Node.Inputs[1] != "" {
		v, ok, err := scalarConst(c, 1, "dft_length")
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			out[axis] = Dim{Size: -1}
			return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
		}
		if v < 1 {
			return nil, nil, c.Errorf("dft_length %d is not positive", v)
		}
		n = Dim{Size: v}
	}
	switch {
	case n.Known():
		out[axis] = Dim{Size: DFTOutLength(n.Size, onesided)}
	case onesided:
		out[axis] = Dim{Size: -1} // half of a symbolic length: unknown, never guessed
	default:
		out[axis] = n
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

func init() {
	for _, op := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		RegisterOp(OpSchema{OpType: op, SinceOpset: 17, Attrs: []string{"output_datatype", "periodic"}, Infer: inferWindow})
	}
	RegisterOp(OpSchema{OpType: "MelWeightMatrix", SinceOpset: 17, Attrs: []string{"output_datatype"},
		Infer: inferMelWeightMatrix})
	RegisterOp(OpSchema{OpType: "DFT", SinceOpset: 17, Attrs: []string{"axis", "inverse", "onesided"}, Infer: inferDFT})
}

package runtime

import "math"

// Antialiased downscaling (Resize-18's antialias=1, eighteenth session): a
// preprocessing graph that shrinks a decoded image as torchvision's Resize does
// (PIL's filter) widens the interpolation filter by 1/scale, so that every input
// pixel contributes. As in the ONNX reference and ONNX Runtime, output o reads the
// taps floor(x) + j for j in [start, start + footprint) around its original
// coordinate x (the coordinate transformation mode's), clamped to the edge, with the
// triangle (linear) or Keys (cubic) kernel evaluated at (j - frac(x)) · scale and
// the weights normalised to sum to one; exclude_outside zeroes the taps outside the
// input before normalising. Upscaling, and a scale of 1, interpolate as without it.

// antialiasMap is the axisMap of an antialiased downscaling (scale < 1).
func (k *resizeKernel) antialiasMap(in, out int, scale float64) *axisMap {
	support := 1.0 // the kernel's half-width at scale 1: 1 linear, 2 cubic
	if k.mode == "cubic" {
		support = 2
	}
	start := int(math.Floor(-support/scale)) + 1
	taps := int(2*support) - 2*start
	m := &axisMap{in: in, out: out, taps: taps, idx: make([]int, out*taps), w: make([]float64, out*taps)}
	for o := 0; o < out; o++ {
		x, _ := k.original(o, in, out, scale, nil)
		base := math.Floor(x)
		frac := x - base
		sum := 0.0
		for j := 0; j < taps; j++ {
			p := int(base) + start + j
			t := math.Abs((float64(start+j) - frac) * scale)
			var w float64
			if k.mode == "cubic" {
				w = keys(t, k.cubicA)
			} else if t < 1 {
				w = 1 - t
			}
			if k.excludeOutside && (p < 0 || p >= in) {
				w = 0
			}
			m.idx[o*taps+j] = min(max(p, 0), in-1)
			m.w[o*taps+j] = w
			sum += w
		}
		if sum != 0 {
			for j := 0; j < taps; j++ {
				m.w[o*taps+j] /= sum
			}
		}
	}
	return m
}

// keys is the Keys cubic convolution kernel with parameter a at distance t >= 0.
func keys(t, a float64) float64 {
	switch {
	case t < 1:
		return ((a+2)*t-(a+3))*t*t + 1
	case t < 2:
		return ((t-5)*t+8)*t*a - 4*a
	}
	return 0
}

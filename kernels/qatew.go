package kernels

// float32 elementwise kernels of quantization-aware training (package qat):
// the batch min/max of an activation, its fake quantization, the
// straight-through gradient and gradient accumulation. The assembly
// (kernels/_gen/gen_qatew.go, AVX2) runs on the vector-aligned prefix, the Go
// reference below on the tail; both give the same bits.

// MinMaxF32 returns the smallest and largest value of x (not empty), as a fold
// with Go's min and max: a NaN anywhere gives NaN for both. Of -0 and +0 either
// may be returned when both occur.
func MinMaxF32(x []float32) (float32, float32) {
	if len(x) == 0 {
		panic("kernels.MinMaxF32: empty slice")
	}
	lo, hi, v := minMaxF32Vec(x)
	if v == 0 {
		lo, hi = x[0], x[0]
	}
	for _, e := range x[v:] {
		lo, hi = min(lo, e), max(hi, e)
	}
	return lo, hi
}

// minMaxF32Go is the reference: four independent running minima and maxima
// (min and max are exact, so the result is that of one running pair).
func minMaxF32Go(seg []float32) (float32, float32) {
	l0, h0 := seg[0], seg[0]
	l1, l2, l3, h1, h2, h3 := l0, l0, l0, h0, h0, h0
	i := 0
	for ; i+4 <= len(seg); i += 4 {
		v := (*[4]float32)(seg[i:])
		l0, h0 = min(l0, v[0]), max(h0, v[0])
		l1, h1 = min(l1, v[1]), max(h1, v[1])
		l2, h2 = min(l2, v[2]), max(h2, v[2])
		l3, h3 = min(l3, v[3]), max(h3, v[3])
	}
	for ; i < len(seg); i++ {
		l0, h0 = min(l0, seg[i]), max(h0, seg[i])
	}
	return min(l0, l1, l2, l3), max(h0, h1, h2, h3)
}

// FakeQuantF32 sets y[i] to x[i] quantized to int8 with (scale, zp) and
// dequantized: QuantizeF32 followed by DequantizeI8 (float32 division, clamp to
// the int8 codes with NaN going to -128, round half to even, float32(q-zp) ·
// scale; a value rounded to zero gives +0). len(y) >= len(x).
func FakeQuantF32(x, y []float32, scale float32, zp int32) {
	y = y[:len(x)]
	v := fakeQuantF32Vec(x, y, scale, zp)
	fakeQuantF32Go(x[v:], y[v:], scale, zp)
}

func fakeQuantF32Go(x, y []float32, scale float32, zp int32) {
	var q [256]int8
	for len(x) > 0 {
		m := min(len(x), len(q))
		quantizeF32Go(x[:m], scale, zp, q[:m])
		DequantizeI8(q[:m], scale, zp, y[:m])
		x, y = x[m:], y[m:]
	}
}

// FakeQuantReluF32 is FakeQuantF32 of max(x[i], 0) (Go's max: NaN stays NaN, -0
// becomes +0): a Relu fused into the fake quantization that is its only reader.
func FakeQuantReluF32(x, y []float32, scale float32, zp int32) {
	y = y[:len(x)]
	v := fakeQuantReluF32Vec(x, y, scale, zp)
	fakeQuantReluF32Go(x[v:], y[v:], scale, zp)
}

func fakeQuantReluF32Go(x, y []float32, scale float32, zp int32) {
	y = y[:len(x)]
	for i, e := range x {
		y[i] = max(e, 0)
	}
	fakeQuantF32Go(y, y, scale, zp)
}

// STEAddF32 adds g[i] to dx[i] where lo <= x[i] <= hi (a NaN x passes
// nothing) and leaves dx[i] as it is elsewhere: the straight-through estimator's
// gradient through a clamp (fake quantization, Clip, Relu with lo the smallest
// positive float32 and hi +Inf). len(g), len(dx) >= len(x).
func STEAddF32(x, g, dx []float32, lo, hi float32) {
	g, dx = g[:len(x)], dx[:len(x)]
	v := steAddF32Vec(x, g, dx, lo, hi)
	steAddF32Go(x[v:], g[v:], dx[v:], lo, hi)
}

func steAddF32Go(x, g, dx []float32, lo, hi float32) {
	g, dx = g[:len(x)], dx[:len(x)]
	for i, v := range x {
		if v >= lo && v <= hi {
			dx[i] += g[i]
		}
	}
}

// STESetF32 is STEAddF32 into a cleared dx, without reading it: dx[i] = g[i] + 0
// where lo <= x[i] <= hi, +0 elsewhere (the bits of 0 + g[i]).
func STESetF32(x, g, dx []float32, lo, hi float32) {
	g, dx = g[:len(x)], dx[:len(x)]
	v := steSetF32Vec(x, g, dx, lo, hi)
	steSetF32Go(x[v:], g[v:], dx[v:], lo, hi)
}

func steSetF32Go(x, g, dx []float32, lo, hi float32) {
	g, dx = g[:len(x)], dx[:len(x)]
	for i, v := range x {
		var d float32
		if v >= lo && v <= hi {
			d += g[i]
		}
		dx[i] = d
	}
}

// AddF32 sets dst[i] += src[i] for i < len(dst) (len(src) >= len(dst)).
func AddF32(dst, src []float32) {
	src = src[:len(dst)]
	v := addF32Vec(dst, src)
	addF32Go(dst[v:], src[v:])
}

func addF32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

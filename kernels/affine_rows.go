package kernels

import "fmt"

// AffineRowsF32 writes y = clamp(a·x + b, lo, hi) per channel for n pixels of
// c channels: x at pixel stride sx, y at pixel stride sy (both at least c);
// only the c channels of each output pixel are written. It is an inference
// BatchNormalization (and the Relu after it) of a channels-last map, written
// into its place in a wider one: DenseNet's Concat → BatchNormalization →
// Relu becomes one such call per concatenated map. On AVX-512 every channel
// runs on affineRowsF32AVX512 (asm_pool_amd64.s), pixel after pixel (twelfth
// session: sweeping 16-lane blocks of a row of pixels at the 4 KB pixel
// stride of a dense block's buffer ran at a fraction of the memory speed);
// without it, the channels in whole 16-lane blocks on the depthwise row
// kernel (one tap), the rest in Go.
func AffineRowsF32(x []float32, sx, n, c int, a, b []float32, y []float32, sy int, lo, hi float32) {
	if n <= 0 || c <= 0 {
		return
	}
	if sx < c || sy < c || len(a) < c || len(b) < c || len(x) < (n-1)*sx+c || len(y) < (n-1)*sy+c {
		panic("kernels.AffineRowsF32: strides below the channel count or buffers too short")
	}
	if affineRowsVec(x, sx, n, c, a, b, y, sy, lo, hi) {
		return
	}
	cv := c &^ 15
	ep := [2]float32{lo, hi}
	if cv == 0 || !dwRowF32Wide(x, []int64{0}, 1, sx*4, n, a, b, y, cv, sy, &ep) {
		cv = 0
	}
	if cv == c {
		return
	}
	for p := 0; p < n; p++ {
		xs, ys := x[p*sx+cv:p*sx+c], y[p*sy+cv:p*sy+c]
		for k, v := range xs {
			ys[k] = min(max(a[cv+k]*v+b[cv+k], lo), hi)
		}
	}
}

// AffineRowF32 writes dst[i] = clamp(a·src[i] + b, lo, hi) for one contiguous
// row (dst may be src): the per-row scale and shift of an instance or group
// normalisation once its statistics are known. Whole 16-element blocks run as
// pixels of 16 equal lanes on AffineRowsF32's vector path, the tail in Go.
func AffineRowF32(dst, src []float32, a, b, lo, hi float32) {
	n := len(src)
	if len(dst) < n {
		panic(fmt.Sprintf("kernels.AffineRowF32: dst %d < src %d", len(dst), n))
	}
	var av, bv [16]float32
	for i := range av {
		av[i], bv[i] = a, b
	}
	nv := n &^ 15
	if nv > 0 {
		AffineRowsF32(src, 16, nv/16, 16, av[:], bv[:], dst, 16, lo, hi)
	}
	for i := nv; i < n; i++ {
		dst[i] = min(max(a*src[i]+b, lo), hi)
	}
}

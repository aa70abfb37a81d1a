package kernels

import "fmt"

// Blend2F32 is the two-tap step of a linear (bilinear) Resize on
// channels-last pixels: for each of n output pixels p,
//
//	dst[p·ostride + i] = w[2p]·src[off[2p] + i] + w[2p+1]·src[off[2p+1] + i]   (i < c)
//
// with off in floats. One call does a whole horizontal pass of an output row
// (each output pixel from its two input pixels) or, with n = 1 and c a whole
// row, the vertical pass (the blend of two input rows). The arithmetic is
// float32, the second tap added by a fused multiply-add on the vector paths
// (ONNX Runtime's bilinear kernels are float32 too); the Go path rounds the
// same two operations separately, so paths may differ in the last bit.
func Blend2F32(dst []float32, ostride int, src []float32, off []int64, w []float32, n, c int) {
	if n <= 0 || c <= 0 {
		return
	}
	if len(off) < 2*n || len(w) < 2*n || (n-1)*ostride+c > len(dst) {
		panic(fmt.Sprintf("kernels.Blend2F32: %d pixels of %d floats at stride %d: off %d, w %d, dst %d", n, c, ostride, len(off), len(w), len(dst)))
	}
	for _, o := range off[:2*n] {
		if o < 0 || int(o)+c > len(src) {
			panic(fmt.Sprintf("kernels.Blend2F32: offset %d + %d floats outside src of %d", o, c, len(src)))
		}
	}
	done := blend2Asm(dst, ostride, src, off, w, n, c)
	if done == c {
		return
	}
	for p := 0; p < n; p++ {
		a, b := src[off[2*p]+int64(done):], src[off[2*p+1]+int64(done):]
		wa, wb := w[2*p], w[2*p+1]
		d := dst[p*ostride+done : p*ostride+c]
		for i := range d {
			d[i] = wa*a[i] + wb*b[i]
		}
	}
}

package kernels

import "fmt"

// RoiBinsF32 is RoiAlign's average over channels-last pixels: for each of n
// bins b and every channel i < c,
//
//	acc = Σ_{s < per} (((w[4k]·src[off[4k]+i] + w[4k+1]·src[off[4k+1]+i]) + w[4k+2]·src[off[4k+2]+i]) + w[4k+3]·src[off[4k+3]+i]),  k = b·per + s
//	dst[b·ostride + i] = acc / count
//
// with off in floats: per bilinear samples of four weighted corners each. Every
// product and sum is rounded to float32 on its own in that order, on every path
// (no fused multiply-add): ONNX Runtime's RoiAlign sums its pre-computed
// corners so, and the vector paths then give the Go path's bits. The vector
// paths run over all channels of a bin at once, so a detector's 256 channels
// read each corner pixel as four 64-byte vectors instead of 256 scalar loads.
func RoiBinsF32(dst []float32, ostride int, src []float32, off []int64, w []float32, n, per, c int, count float32) {
	if n <= 0 || c <= 0 {
		return
	}
	if per < 0 || len(off) < 4*n*per || len(w) < 4*n*per || (n-1)*ostride+c > len(dst) {
		panic(fmt.Sprintf("kernels.RoiBinsF32: %d bins of %d samples, %d floats at stride %d: off %d, w %d, dst %d", n, per, c, ostride, len(off), len(w), len(dst)))
	}
	for _, o := range off[:4*n*per] {
		if o < 0 || int(o)+c > len(src) {
			panic(fmt.Sprintf("kernels.RoiBinsF32: offset %d + %d floats outside src of %d", o, c, len(src)))
		}
	}
	done := 0
	if per > 0 {
		done = roiBinsAsm(dst, ostride, src, off, w, n, per, c, count)
	}
	if done == c {
		return
	}
	for b := 0; b < n; b++ {
		d := dst[b*ostride+done : b*ostride+c]
		clear(d)
		for s := b * per * 4; s < (b+1)*per*4; s += 4 {
			w1, w2, w3, w4 := w[s], w[s+1], w[s+2], w[s+3]
			p1, p2 := src[int(off[s])+done:], src[int(off[s+1])+done:]
			p3, p4 := src[int(off[s+2])+done:], src[int(off[s+3])+done:]
			for i := range d {
				// float32() on each product and sum: no fusion, ORT's order
				v := float32(float32(float32(w1*p1[i])+float32(w2*p2[i]))+float32(w3*p3[i])) + float32(w4*p4[i])
				d[i] = float32(d[i] + v)
			}
		}
		for i := range d {
			d[i] /= count
		}
	}
}

package kernels

import "fmt"

// LeakyRelu and PRelu (thirteenth session): x < 0 ? s·x : x with one float32
// product, the arithmetic of the runtime's operators, so a convolution that
// applies them as it stores its rows gives the bits of the unfused graph. A
// single slope is an Act (LeakyReluAct: the epilogues pass it through like
// any parameter-free activation); a slope per channel goes through
// PReluF32, which takes one slope per element of the row it is given (a
// channels-last pixel's channels).

// leakyGo is LeakyReluAct(alpha) on the Go path.
func leakyGo(dst, src []float32, alpha float32) {
	for i, v := range src {
		if v < 0 {
			v = alpha * v
		}
		dst[i] = v
	}
}

// PReluF32 writes src[i] < 0 ? slope[i]·src[i] : src[i] to dst[i]; dst may be
// src, slope has at least len(src) elements. A tail shorter than a vector runs
// in Go: unlike the exp-based activations the arithmetic is one product,
// identical on every path, so where a slice is cut does not change a bit.
func PReluF32(dst, src, slope []float32) {
	if len(dst) < len(src) || len(slope) < len(src) {
		panic(fmt.Sprintf("kernels.PReluF32: dst %d, slope %d < src %d", len(dst), len(slope), len(src)))
	}
	done := preluAsm(dst, src, slope)
	for i := done; i < len(src); i++ {
		v := src[i]
		if v < 0 {
			v = slope[i] * v
		}
		dst[i] = v
	}
}

// PReluRowsF32 applies PReluF32 to rows pixels of c channels at pixel stride
// stride (channels-last): dst[p*stride+j] from src[p*stride+j] with slope[j].
func PReluRowsF32(dst, src, slope []float32, rows, c, stride int) {
	if rows == 0 || c == 0 {
		return
	}
	if last := (rows-1)*stride + c; len(src) < last || len(dst) < last || len(slope) < c {
		panic(fmt.Sprintf("kernels.PReluRowsF32: %d rows of %d at stride %d: dst %d, src %d, slope %d", rows, c, stride, len(dst), len(src), len(slope)))
	}
	for p := 0; p < rows; p++ {
		o := p * stride
		PReluF32(dst[o:o+c], src[o:o+c], slope[:c])
	}
}

//go:build amd64 && !purego && !noasm

package kernels

import "math"

// Dispatch of the elementwise int8 kernels (kernels/_gen/int8ew.go): the
// assembly runs on the vector-aligned prefix, the Go reference on the tail.

// maxI8 sets dst[i] = max(dst[i], src[i]) for i < len(dst).
func maxI8(dst, src []int8) {
	n := len(dst)
	src = src[:n]
	v := 0
	if simdPath != isaGo && n >= 32 {
		v = n &^ 31
		maxI8AVX2(&dst[0], &src[0], v)
	}
	maxI8Go(dst[v:], src[v:])
}

// lutApply maps in through t into out (len(out) >= len(in)).
func lutApply(t *LUT, in, out []int8) {
	n := len(in)
	out = out[:n]
	v := 0
	if lutVBMIOK && n >= 64 {
		v = n &^ 63
		lutVBMI(&in[0], &out[0], v, (*[256]int8)(t))
	}
	lutApplyGo(t, in[v:], out[v:])
}

// qbinaryApply computes out[i] = a[i] op b[i] for i < len(out).
func (p *QBinary) apply(a, b, out []int8) {
	n := len(out)
	a, b = a[:n], b[:n]
	v := 0
	if ew512OK && n >= 32 {
		v = n &^ 31
		if p.mul {
			qmulAVX512(&a[0], &b[0], &out[0], v, &p.vec)
		} else {
			qaddAVX512(&a[0], &b[0], &out[0], v, &p.vec)
		}
	}
	if simdPath != isaGo && n-v >= 8 {
		w := (n - v) &^ 7
		if p.mul {
			qmulAVX2(&a[v], &b[v], &out[v], w, &p.vec)
		} else {
			qaddAVX2(&a[v], &b[v], &out[v], w, &p.vec)
		}
		v += w
	}
	p.applyGo(a[v:], b[v:], out[v:])
}

var sumPixelsI8Table = [4]func(acc *int32, src *int8, npix int, stride int){
	sumPixelsI8AVX2_1, sumPixelsI8AVX2_2, sumPixelsI8AVX2_3, sumPixelsI8AVX2_4,
}

// sumPixelsI8 adds npix ≥ 1 pixels (pixel stride stride) of len(acc) channels into acc.
func sumPixelsI8(acc []int32, src []int8, npix, stride int) {
	c := len(acc)
	_ = src[(npix-1)*stride+c-1]
	v := 0
	for simdPath != isaGo && v+8 <= c {
		nb := min(4, (c-v)/8)
		sumPixelsI8Table[nb-1](&acc[v], &src[v], npix, stride)
		v += 8 * nb
	}
	if v < c {
		sumPixelsI8Go(acc[v:], src[v:], npix, stride)
	}
}

// quantizeF32Vec quantizes the vector-aligned prefix of in and returns its length.
func quantizeF32Vec(in []float32, scale float32, zp int32, out []int8) int {
	v := len(in) &^ 7
	if simdPath == isaGo || v == 0 || zp < -128 || zp > 127 {
		return 0
	}
	p := [4]int32{int32(math.Float32bits(scale)), int32(math.Float32bits(float32(-128 - zp))), int32(math.Float32bits(float32(127 - zp))), zp}
	quantizeF32AVX2(&in[0], &out[0], v, &p)
	return v
}

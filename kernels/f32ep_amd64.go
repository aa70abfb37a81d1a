//go:build amd64 && !purego && !noasm

package kernels

// f32Lanes is the vector width of this CPU's float32 kernels (0 when it has
// none).
func f32Lanes() int {
	switch {
	case f32Wide:
		return 16
	case f32Path == isaAVX2:
		return 8
	}
	return 0
}

// actAsm applies a (Sigmoid, SiLU, GELU, HardSwish or Tanh; the activations
// of acts.go through actsAsm) to the longest vector-width prefix of src on
// this CPU's path and returns its length.
func actAsm(a Act, dst, src []float32) int {
	w := f32Lanes()
	if w == 0 {
		return 0
	}
	if a.Kind() == ActLeakyRelu {
		return leakyAsm(dst, src, a.Alpha()) // leaky_amd64.go
	}
	if p, ok := a.eluOf(); ok {
		return eluAsm(dst, src, p) // acts_amd64.go
	}
	switch a {
	case ActTanh:
		return tanhAsm(dst, src) // upsample_amd64.go
	case ActSoftplus, ActMish, ActSoftsign, ActELU, ActSELU, ActLogSigmoid:
		return actsAsm(a, dst, src) // acts_amd64.go
	}
	n := len(src) &^ (w - 1)
	if n == 0 {
		return 0
	}
	_ = dst[n-1]
	d, s, wide := &dst[0], &src[0], w == 16
	switch {
	case a == ActSigmoid && wide:
		sigmoidF32AVX512(d, s, n)
	case a == ActSigmoid:
		sigmoidF32AVX2(d, s, n)
	case a == ActSiLU && wide:
		siluF32AVX512(d, s, n)
	case a == ActSiLU:
		siluF32AVX2(d, s, n)
	case a == ActGELU && wide:
		geluF32AVX512(d, s, n)
	case a == ActGELU:
		geluF32AVX2(d, s, n)
	case a == ActHardSwish && wide:
		hardSwishF32AVX512(d, s, n)
	case a == ActHardSwish:
		hardSwishF32AVX2(d, s, n)
	default:
		return 0
	}
	return n
}

var dwF32ZTable = [2][4]func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int, ep *float32){
	{depthwiseF32AVX512_1x1, depthwiseF32AVX512_1x2, depthwiseF32AVX512_1x3, depthwiseF32AVX512_1x4},
	{depthwiseF32AVX512_4x1, depthwiseF32AVX512_4x2, depthwiseF32AVX512_4x3, depthwiseF32AVX512_4x4},
}

// dwRowF32Wide computes one output row with the AVX-512 kernel, clamped to
// ep = {lo, hi}; cp is a multiple of 16 and the output pixel stride ostride
// floats. It reports false when this CPU has no AVX-512.
func dwRowF32Wide(base []float32, off []int64, taps, pstride, ow int, w, bias, out []float32, cp, ostride int, ep *[2]float32) bool {
	if !f32Wide {
		return false
	}
	maxOff := int64(0)
	for _, o := range off[:taps] {
		maxOff = max(maxOff, o)
	}
	_ = base[(ow-1)*pstride/4+int(maxOff)/4+cp-1]
	_ = w[taps*cp-1]
	_ = out[(ow-1)*ostride+cp-1]
	for c := 0; c < cp; c += 64 {
		nb := min(4, (cp-c)/16)
		ow4, px0 := ow&^3, 0
		if nb < 4 {
			// Eight pixels per step where the blocks are too few for the
			// four-pixel kernel (dwf32_amd64.go); the rest of the row as before.
			if px0 = ow &^ 7; px0 > 0 {
				dwF32Z8Table[nb-1](&base[c], &off[0], taps, pstride, px0, &w[c], cp*4, &bias[c], &out[c], ostride*4, &ep[0])
			}
		}
		if ow4 > px0 {
			dwF32ZTable[1][nb-1](&base[c+px0*pstride/4], &off[0], taps, pstride, ow4-px0, &w[c], cp*4, &bias[c], &out[c+px0*ostride], ostride*4, &ep[0])
		}
		if ow > ow4 {
			dwF32ZTable[0][nb-1](&base[c+ow4*pstride/4], &off[0], taps, pstride, ow-ow4, &w[c], cp*4, &bias[c], &out[c+ow4*ostride], ostride*4, &ep[0])
		}
	}
	return true
}

// sumPixelsWide writes dst[c] = Σ_{p<n} x[p*stride+c] for the first
// len(dst)&^15 channels with the AVX-512 kernel and returns how many.
func sumPixelsWide(dst, x []float32, n, stride int) int {
	if !f32Wide || n == 0 {
		return 0
	}
	c := len(dst) &^ 15
	if c > 0 {
		_ = x[(n-1)*stride+c-1]
	}
	for b := 0; b < c; b += 16 {
		sumPixelsF32AVX512(&dst[b], &x[b], n, stride*4)
	}
	return c
}

// expShiftSumAsm writes exp(src[i] − shift) for the longest vector-width
// prefix of src on this CPU's path and returns the sum and the prefix length.
func expShiftSumAsm(dst, src []float32, shift float32) (float32, int) {
	w := f32Lanes()
	if w == 0 {
		return 0, 0
	}
	n := len(src) &^ (w - 1)
	if n == 0 {
		return 0, 0
	}
	_ = dst[n-1]
	if w == 16 {
		return expShiftSumAVX512(&dst[0], &src[0], n, shift), n
	}
	return expShiftSumAVX2(&dst[0], &src[0], n, shift), n
}

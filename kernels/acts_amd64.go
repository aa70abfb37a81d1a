//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set acts -out ../asm_acts_amd64.s -stubs ../stubs_acts_amd64.go -pkg kernels"

// actsAsm applies a (Softplus, Mish, Softsign, ELU, SELU or LogSigmoid) to the longest
// vector-width prefix of src on this CPU's path and returns its length (0
// for other activations).
func actsAsm(a Act, dst, src []float32) int {
	switch a {
	case ActELU:
		return eluAsm(dst, src, eluOne)
	case ActSELU:
		return eluAsm(dst, src, seluDefault)
	}
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	d, s, wide := &dst[0], &src[0], w == 16
	switch {
	case a == ActSoftplus && wide:
		softplusF32AVX512(d, s, n)
	case a == ActSoftplus:
		softplusF32AVX2(d, s, n)
	case a == ActMish && wide:
		mishF32AVX512(d, s, n)
	case a == ActMish:
		mishF32AVX2(d, s, n)
	case a == ActSoftsign && wide:
		softsignF32AVX512(d, s, n)
	case a == ActSoftsign:
		softsignF32AVX2(d, s, n)
	case a == ActLogSigmoid:
		// −softplus(−x): the Softplus kernel between two negations.
		for i, v := range src[:n] {
			dst[i] = -v
		}
		if wide {
			softplusF32AVX512(d, d, n)
		} else {
			softplusF32AVX2(d, d, n)
		}
		for i, v := range dst[:n] {
			dst[i] = -v
		}
	default:
		return 0
	}
	return n
}

// eluAsm is actsAsm for ELUF32.
func eluAsm(dst, src []float32, p ELU) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	q := [3]float32{p.Pos, p.Neg, p.Scale}
	if w == 16 {
		eluF32AVX512(&dst[0], &src[0], n, &q[0])
	} else {
		eluF32AVX2(&dst[0], &src[0], n, &q[0])
	}
	return n
}

// hardSigmoidAsm is actsAsm for HardSigmoidF32.
func hardSigmoidAsm(dst, src []float32, alpha, beta float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	q := [2]float32{alpha, beta}
	if w == 16 {
		hardSigmoidF32AVX512(&dst[0], &src[0], n, &q[0])
	} else {
		hardSigmoidF32AVX2(&dst[0], &src[0], n, &q[0])
	}
	return n
}

// clampAsm is actsAsm for ClampF32.
func clampAsm(dst, src []float32, lo, hi float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	q := [2]float32{lo, hi}
	if w == 16 {
		clampF32AVX512(&dst[0], &src[0], n, &q[0])
	} else {
		clampF32AVX2(&dst[0], &src[0], n, &q[0])
	}
	return n
}

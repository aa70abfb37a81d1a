//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set trig -out ../asm_trig_amd64.s -stubs ../stubs_trig_amd64.go -pkg kernels"

// trigAsm runs the vector Sin (Cos when cos) over the longest vector-width
// prefix of src on this CPU's path and returns its length and whether some
// |src[i]| there exceeds TrigMax (the caller redoes those).
func trigAsm(cos bool, dst, src []float32) (int, bool) {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0, false
	}
	_ = dst[n-1]
	var mx [16]float32
	d, s := &dst[0], &src[0]
	switch {
	case w == 16 && cos:
		cosF32AVX512(d, s, n, &mx[0])
	case w == 16:
		sinF32AVX512(d, s, n, &mx[0])
	case cos:
		cosF32AVX2(d, s, n, &mx[0])
	default:
		sinF32AVX2(d, s, n, &mx[0])
	}
	for _, v := range mx[:w] {
		if v > TrigMax {
			return n, true
		}
	}
	return n, false
}

// expAsm is actsAsm for ExpF32 (erfAsm for ErfF32).
func expAsm(dst, src []float32) int { return mapAsm(false, dst, src) }

func erfAsm(dst, src []float32) int { return mapAsm(true, dst, src) }

func mapAsm(erf bool, dst, src []float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	switch {
	case w == 16 && erf:
		erfF32AVX512(&dst[0], &src[0], n)
	case w == 16:
		expF32AVX512(&dst[0], &src[0], n)
	case erf:
		erfF32AVX2(&dst[0], &src[0], n)
	default:
		expF32AVX2(&dst[0], &src[0], n)
	}
	return n
}

package main

// Row passes of LayerNorm and Softmax on AVX-512 and AVX2: the sum of a row,
// the sum of its squared deviations from the mean, the normalisation with
// scale and bias, the row maximum and the scaling by a constant (with
// Softmax's flush of subnormals). Each covers n floats, n a multiple of the
// vector width (the Go wrappers do the tails).
// Before, LayerNorm ran these as scalar Go loops in float64 and Softmax its
// maximum and its scaling: on Swin-T's 49-wide attention rows and on the
// 96-768-wide LayerNorm rows of ConvNeXt and the transformers, the scalar
// passes cost three to four times the ONNX Runtime operators.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rowStatsKernels is called from main.
func rowStatsKernels() {
	for _, wide := range []bool{true, false} {
		rowSum(wide)
		rowSqDevSum(wide)
		rowNormAffine(wide)
		rowMax(wide)
		rowScaleFlush(wide)
		rowAdd(wide)
		rowSelect(wide)
		rowsAddI32(wide)
	}
}

func rowName(base string, wide bool) string {
	if wide {
		return base + "AVX512"
	}
	return base + "AVX2"
}

// reduceLanes leaves in X(i) lane 0 the sum of the lanes of vector register i
// (register i+1 is scratch).
func reduceLanes(wide bool, i int, add func(a, b, dst Op)) {
	if wide {
		VEXTRACTF64X4(Imm(1), zmm(i), ymm(i+1))
		add(ymm(i+1), ymm(i), ymm(i))
	}
	x, t := xmm(i), xmm(i+1)
	VEXTRACTF128(Imm(1), ymm(i), t)
	add(t, x, x)
	VMOVHLPS(x, x, t)
	add(t, x, x)
	VMOVSHDUP(x, t)
	add(t, x, x)
}

func xmm(i int) VecPhysical {
	return []VecPhysical{X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15}[i]
}

// rowLoop emits the loop over n floats in vectors: body gets the offset of
// the current vector from each base pointer (advanced together).
func rowLoop(name string, width int, n GPPhysical, ptrs []GPPhysical, body func()) {
	Label(name + "_loop")
	body()
	for _, p := range ptrs {
		ADDQ(Imm(uint64(4*width)), p)
	}
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
}

// rowSum emits rowSumAVX512/AVX2(src, n) = Σ src[i].
func rowSum(wide bool) {
	name := rowName("rowSum", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(src *float32, n int) float32",
		fmt.Sprintf("%s returns the sum of n floats (n a multiple of %d).", name, width))
	src, n := RSI, RCX
	loadArgs("src n", src, n)
	acc := vec(0)
	VXORPS(acc, acc, acc)
	rowLoop(name, width, n, []GPPhysical{src}, func() {
		VADDPS(Mem{Base: src}, acc, acc)
	})
	reduceLanes(wide, 0, func(a, b, d Op) { VADDPS(a, b, d) })
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// rowSqDevSum emits rowSqDevSumAVX512/AVX2(src, n, mean) = Σ (src[i] − mean)².
func rowSqDevSum(wide bool) {
	name := rowName("rowSqDevSum", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(src *float32, n int, mean float32) float32",
		fmt.Sprintf("%s returns the sum of (src[i] − mean)² over n floats (n a multiple of %d).", name, width))
	src, n := RSI, RCX
	loadArgs("src n mean", src, n, X15)
	mean, acc, x := vec(15), vec(0), vec(2)
	VBROADCASTSS(X15, mean)
	VXORPS(acc, acc, acc)
	rowLoop(name, width, n, []GPPhysical{src}, func() {
		VMOVUPS(Mem{Base: src}, x)
		VSUBPS(mean, x, x)
		VFMADD231PS(x, x, acc)
	})
	reduceLanes(wide, 0, func(a, b, d Op) { VADDPS(a, b, d) })
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// rowNormAffine emits rowNormAffineAVX512/AVX2(dst, src, scale, bias, n,
// mean, inv): dst[i] = (src[i] − mean)·inv·scale[i] + bias[i].
func rowNormAffine(wide bool) {
	name := rowName("rowNormAffine", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, scale *float32, bias *float32, n int, mean float32, inv float32)",
		fmt.Sprintf("%s writes (src[i] − mean)·inv·scale[i] + bias[i] to dst[i] for n floats (n a multiple of %d).", name, width))
	dst, src, sc, bi, n := RDI, RSI, R8, R9, RCX
	loadArgs("dst src scale bias n mean inv", dst, src, sc, bi, n, X14, X15)
	mean, inv, x, s := vec(14), vec(15), vec(0), vec(1)
	VBROADCASTSS(X14, mean)
	VBROADCASTSS(X15, inv)
	rowLoop(name, width, n, []GPPhysical{dst, src, sc, bi}, func() {
		VMOVUPS(Mem{Base: src}, x)
		VSUBPS(mean, x, x)
		VMULPS(inv, x, x)
		VMOVUPS(Mem{Base: sc}, s)
		VFMADD213PS(Mem{Base: bi}, s, x)
		VMOVUPS(x, Mem{Base: dst})
	})
	ret()
}

// rowMax emits rowMaxAVX512/AVX2(src, n) = max src[i] (n ≥ the width).
func rowMax(wide bool) {
	name := rowName("rowMax", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(src *float32, n int) float32",
		fmt.Sprintf("%s returns the maximum of n floats (n a positive multiple of %d).", name, width))
	src, n := RSI, RCX
	loadArgs("src n", src, n)
	acc := vec(0)
	VMOVUPS(Mem{Base: src}, acc)
	rowLoop(name, width, n, []GPPhysical{src}, func() {
		VMAXPS(Mem{Base: src}, acc, acc)
	})
	reduceLanes(wide, 0, func(a, b, d Op) { VMAXPS(a, b, d) })
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// rowScaleFlush emits rowScaleFlushAVX512/AVX2(dst, n, c): dst[i] *= c, then
// a subnormal product (0 < |x| < 2⁻¹²⁶) becomes a zero of its sign (FTZ). Softmax's final
// scaling: the flush was a scalar Go loop after the scaling, 200 ns of the
// 280 ns of a 197-wide ViT attention row, more than the exponentials.
func rowScaleFlush(wide bool) {
	name := rowName("rowScaleFlush", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, n int, c float32)",
		fmt.Sprintf("%s multiplies n floats by c in place and sets the positive subnormal results to 0 (n a multiple of %d).", name, width))
	dst, n := RDI, RCX
	loadArgs("dst n c", dst, n, X15)
	// A subnormal product (the exponentials of masked scores times 1/sum)
	// took a microcode assist each; the results are flushed anyway. FTZ
	// only: the flush of a subnormal product keeps its sign (−0 for a
	// negative one, as flushSubnormals), a subnormal operand times c > 1
	// stays exact.
	csr := ftzEnter(false) // gen_softmax.go
	c, minv, zero, x := vec(15), vec(14), vec(13), vec(0)
	VBROADCASTSS(X15, c)
	MOVL(U32(0x00800000), EAX) // the smallest normal float32, 2⁻¹²⁶
	VMOVD(EAX, X14)
	VBROADCASTSS(X14, minv)
	VXORPS(zero, zero, zero)
	rowLoop(name, width, n, []GPPhysical{dst}, func() {
		VMULPS(Mem{Base: dst}, c, x)
		// keep = x >= 2⁻¹²⁶ or NaN (predicate NLT_UQ) | x <= 0 (LE_OQ)
		if wide {
			VCMPPS(Imm(0x15), minv, x, K1)
			VCMPPS(Imm(0x12), zero, x, K2)
			KORW(K2, K1, K1)
			VMOVAPS_Z(x, K1, x)
		} else {
			t, t2 := vec(1), vec(2)
			VCMPPS(Imm(0x15), minv, x, t)
			VCMPPS(Imm(0x12), zero, x, t2)
			VORPS(t2, t, t)
			VANDPS(t, x, x)
		}
		VMOVUPS(x, Mem{Base: dst})
	})
	ftzLeave(csr)
	ret()
}

// rowAdd emits rowAddAVX512/AVX2(dst, a, b, n): dst[i] = a[i] + b[i].
func rowAdd(wide bool) {
	name := rowName("rowAdd", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, a *float32, b *float32, n int)",
		fmt.Sprintf("%s writes a[i] + b[i] to dst[i] for n floats (n a multiple of %d).", name, width))
	dst, a, b, n := RDI, RSI, R8, RCX
	loadArgs("dst a b n", dst, a, b, n)
	x := vec(0)
	rowLoop(name, width, n, []GPPhysical{dst, a, b}, func() {
		VMOVUPS(Mem{Base: a}, x)
		VADDPS(Mem{Base: b}, x, x)
		VMOVUPS(x, Mem{Base: dst})
	})
	ret()
}

// rowSelect emits rowSelectAVX512/AVX2(dst, a, keep, fill, n): dst[i] =
// (a[i] AND keep[i]) + fill[i], keep[i] all ones or zero. With fill[i] = 0
// where keep[i] is all ones and the Where's constant where it is zero, this
// is Where(cond, a, c) exactly (a masked element, NaN or not, becomes +0 +
// c = c; a kept one a + 0): the causal and padding masks that torch's
// masked_fill and HF's torch.where write, folded into the softmax's row
// pass (sixteenth session).
func rowSelect(wide bool) {
	name := rowName("rowSelect", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, a *float32, keep *uint32, fill *float32, n int)",
		fmt.Sprintf("%s writes (a[i] AND keep[i]) + fill[i] to dst[i] for n floats (n a multiple of %d).", name, width))
	dst, a, k, f, n := RDI, RSI, R8, R9, RCX
	loadArgs("dst a keep fill n", dst, a, k, f, n)
	x := vec(0)
	rowLoop(name, width, n, []GPPhysical{dst, a, k, f}, func() {
		VMOVUPS(Mem{Base: a}, x)
		VANDPS(Mem{Base: k}, x, x)
		VADDPS(Mem{Base: f}, x, x)
		VMOVUPS(x, Mem{Base: dst})
	})
	ret()
}

// rowsAddI32 emits rowsAddI32AVX512/AVX2(dst, ld, rows, n, c): dst[r·ld + j]
// += c[r] for j < n (a multiple of the width), r < rows. The int8 MatMul of
// two activations subtracts B's zero point times each row sum of A − aZP
// from every accumulator of that row; as a scalar Go loop this was ~35% of
// an attention product with inner size 16 (sixteenth session).
func rowsAddI32(wide bool) {
	name := rowName("rowsAddI32", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *int32, ld int, rows int, n int, c *int32)",
		fmt.Sprintf("%s adds c[r] to the first n int32 of each of rows rows (ld apart) of dst (n a multiple of %d).", name, width))
	dst, ld, rows, n, c := RDI, RBX, R8, R9, R10
	loadArgs("dst ld rows n c", dst, ld, rows, n, c)
	SHLQ(Imm(2), ld)
	cv := vec(15)
	Label(name + "_row")
	MOVQ(dst, RSI)
	MOVQ(n, RCX)
	VPBROADCASTD(Mem{Base: c}, cv)
	rowLoop(name, width, RCX, []GPPhysical{RSI}, func() {
		x := vec(0)
		VPADDD(Mem{Base: RSI}, cv, x)
		storeVecI32(wide, x, Mem{Base: RSI})
	})
	ADDQ(ld, dst)
	ADDQ(Imm(4), c)
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	ret()
}

// storeVecI32 stores an int32 vector (VMOVDQU32 for a ZMM register).
func storeVecI32(wide bool, x VecPhysical, m Mem) {
	if wide {
		VMOVDQU32(x, m)
		return
	}
	VMOVDQU(x, m)
}

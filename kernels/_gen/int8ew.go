package main

// Elementwise int8 kernels of the int8 executor's non-GEMM operators: max pooling
// rows (VPMAXSB), 256-entry lookup tables (AVX-512 VBMI VPERMI2B), QAdd/QMul with
// requantization (float32 arithmetic identical to the Go reference), and the
// channel sums of global average pooling.

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func int8EWKernels() {
	maxI8AVX2()
	lutVBMI()
	for _, wide := range []bool{false, true} {
		qbinary(wide, false)
		qbinary(wide, true)
	}
	for nb := 1; nb <= 4; nb++ {
		sumPixelsI8AVX2(nb)
	}
	quantizeF32AVX2()
}

// quantizeF32AVX2: out = int8(cvtps2dq(min(max(in / scale, lo), hi)) + zp), 8 values
// per step (n a multiple of 8); p = [bits(scale), bits(-128-zp), bits(127-zp), zp].
// VDIVPS is the float32 division of the Go reference, VMAXPS turns NaN into lo.
func quantizeF32AVX2() {
	kernel("quantizeF32AVX2", "func(in *float32, out *int8, n int, p *[4]int32)",
		"quantizeF32AVX2 quantizes n float32 (a multiple of 8) to int8 as QuantizeF32.")
	in, out, n, p := RSI, RDI, RCX, RDX
	loadArgs("in out n p", in, out, n, p)
	VBROADCASTSS(Mem{Base: p}, Y8)           // scale
	VBROADCASTSS(Mem{Base: p, Disp: 4}, Y9)  // lo
	VBROADCASTSS(Mem{Base: p, Disp: 8}, Y10) // hi
	VPBROADCASTD(Mem{Base: p, Disp: 12}, Y11)
	blocks("qf", n, 3, nil, func() {
		VMOVUPS(Mem{Base: in}, Y0)
		VDIVPS(Y8, Y0, Y0)
		clampCvtZP(Y0, Y9, Y10, Y11)
		packStore8(Y0, Y1, Mem{Base: out})
		ADDQ(Imm(32), in)
		ADDQ(Imm(8), out)
	})
}

// maxI8AVX2: dst[i] = max(dst[i], src[i]) (signed bytes), n a multiple of 32.
func maxI8AVX2() {
	kernel("maxI8AVX2", "func(dst *int8, src *int8, n int)",
		"maxI8AVX2 sets dst[i] = max(dst[i], src[i]) for i < n, n a multiple of 32.")
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, src, n)
	blocks("mxb", n, 5, nil, func() {
		VMOVDQU(Mem{Base: src}, Y0)
		VPMAXSB(Mem{Base: dst}, Y0, Y0)
		VMOVDQU(Y0, Mem{Base: dst})
		ADDQ(Imm(32), dst)
		ADDQ(Imm(32), src)
	})
}

// lutVBMI: dst[i] = table[uint8(src[i])], n a multiple of 64. Two VPERMI2B
// look the low 7 bits up in each 128-byte half of the table; the sign bit
// (VPMOVB2M) picks the half.
func lutVBMI() {
	kernel("lutVBMI", "func(src *int8, dst *int8, n int, table *[256]int8)",
		"lutVBMI maps n bytes (a multiple of 64) through a 256-entry table (AVX-512 VBMI).")
	src, dst, n, t := RSI, RDI, RCX, RDX
	loadArgs("src dst n table", src, dst, n, t)
	blocks("lut", n, 6, func() {
		VMOVDQU64(Mem{Base: t}, Z0)
		VMOVDQU64(Mem{Base: t, Disp: 64}, Z1)
		VMOVDQU64(Mem{Base: t, Disp: 128}, Z2)
		VMOVDQU64(Mem{Base: t, Disp: 192}, Z3)
	}, func() {
		VMOVDQU64(Mem{Base: src}, Z4)
		VMOVDQA64(Z4, Z5)
		VPMOVB2M(Z4, K1)
		VPERMI2B(Z1, Z0, Z4) // Z4 = t[0:128][idx & 127]
		VPERMI2B(Z3, Z2, Z5) // Z5 = t[128:256][idx & 127]
		VPBLENDMB(Z5, Z4, K1, Z4)
		VMOVDQU64(Z4, Mem{Base: dst})
		ADDQ(Imm(64), src)
		ADDQ(Imm(64), dst)
	})
}

// qbinary emits qaddAVX2 / qmulAVX2: out = clamp(round(f(a, b)) + zp, qmin, qmax), 8 values per step,
// n a multiple of 8, with
//
//	add: f = (float32(a-aZP)·aScale + float32(b-bZP)·bScale) / outScale
//	mul: f = (float32(a-aZP)·aScale · float32(b-bZP)·bScale) / outScale
//
// (the QDQ file's arithmetic: DequantizeLinear twice, a float32 Add or Mul,
// QuantizeLinear's division; VDIVPS, not a multiplication by the reciprocal, which
// differs at ties),
// the float value clamped to [qmin-zp, qmax-zp] before VCVTPS2DQ (round half to
// even; a NaN becomes qmin-zp as in the Go reference). p = [aZP, bZP, zp,
// bits(aScale), bits(bScale), bits(qmin-zp), bits(qmax-zp), bstride,
// bits(outScale)]: bstride
// 0 repeats b's first 8 values (a broadcast row of 8 is not supported: b is
// always read with stride 8 unless bstride is 0).
//
// qbinary(true, mul) is the AVX-512 version on zmm registers, 32 values per
// step (two independent 16-lane halves), n a multiple of 32; the saturating
// VPMOVSDB stores 16 bytes per half (the values are already clamped). b
// stride: p[7] is ignored there (b always advances with a).
func qbinary(wide, mul bool) {
	name := map[bool]string{false: "qadd", true: "qmul"}[mul]
	vec, halves, step := ymm, 1, 8
	doc := "%s computes n (a multiple of 8) requantized int8 results of QBinary (see kernels/_gen/int8ew.go)."
	if wide {
		name += "AVX512"
		vec, halves, step = zmm, 2, 32
		doc = "%s computes n (a multiple of 32) requantized int8 results of QBinary with AVX-512."
	} else {
		name += "AVX2"
	}
	kernel(name, "func(a *int8, b *int8, out *int8, n int, p *[9]int32)", fmt.Sprintf(doc, name))
	a, b, out, n, p := RSI, RBX, RDI, RCX, RDX
	loadArgs("a b out n p", a, b, out, n, p)
	aZP, bZP, zp, ra, rb, lo, hi := vec(8), vec(9), vec(10), vec(11), vec(12), vec(13), vec(14)
	VPBROADCASTD(Mem{Base: p}, aZP)
	VPBROADCASTD(Mem{Base: p, Disp: 4}, bZP)
	VPBROADCASTD(Mem{Base: p, Disp: 8}, zp)
	VBROADCASTSS(Mem{Base: p, Disp: 12}, ra) // aScale
	VBROADCASTSS(Mem{Base: p, Disp: 16}, rb)
	VBROADCASTSS(Mem{Base: p, Disp: 20}, lo)
	VBROADCASTSS(Mem{Base: p, Disp: 24}, hi)
	sy := vec(15)
	VBROADCASTSS(Mem{Base: p, Disp: 32}, sy)
	if !wide {
		MOVLQSX(Mem{Base: p, Disp: 28}, R8) // b stride
	}
	blocks(name, n, uint64(bits.TrailingZeros(uint(step))), nil, func() {
		for h := 0; h < halves; h++ {
			x, y := vec(2*h), vec(2*h+1)
			VPMOVSXBD(Mem{Base: a, Disp: 16 * h}, x)
			VPMOVSXBD(Mem{Base: b, Disp: 16 * h}, y)
			VPSUBD(aZP, x, x)
			VPSUBD(bZP, y, y)
			if mul {
				VCVTDQ2PS(x, x)
				VCVTDQ2PS(y, y)
				VMULPS(ra, x, x)
				VMULPS(rb, y, y)
				VMULPS(y, x, x)
				VDIVPS(sy, x, x)
			} else {
				VCVTDQ2PS(x, x)
				VCVTDQ2PS(y, y)
				VMULPS(ra, x, x)
				VMULPS(rb, y, y)
				VADDPS(y, x, x)
				VDIVPS(sy, x, x)
			}
			clampCvtZP(x, lo, hi, zp)
			if wide {
				VPMOVSDB(x, Mem{Base: out, Disp: 16 * h})
			} else {
				packStore8(x, y, Mem{Base: out})
			}
		}
		ADDQ(Imm(uint64(step)), a)
		if wide {
			ADDQ(Imm(uint64(step)), b)
		} else {
			ADDQ(R8, b)
		}
		ADDQ(Imm(uint64(step)), out)
	})
}

// sumPixelsI8AVX2_nb: acc[c] += Σ_p src[p·stride + c] for c < 8·nb (sign-extended
// int32 sums over npix ≥ 1 pixels), the accumulators held in nb ymm registers.
func sumPixelsI8AVX2(nb int) {
	name := fmt.Sprintf("sumPixelsI8AVX2_%d", nb)
	kernel(name, "func(acc *int32, src *int8, npix int, stride int)",
		fmt.Sprintf("%s adds npix channels-last pixels of %d int8 channels into int32 sums.", name, 8*nb))
	acc, src, n, stride := RDI, RSI, RCX, RDX
	loadArgs("acc src npix stride", acc, src, n, stride)
	for i := 0; i < nb; i++ {
		VMOVDQU(Mem{Base: acc, Disp: 32 * i}, ymm(i))
	}
	Label(name + "_loop")
	for i := 0; i < nb; i++ {
		VPMOVSXBD(Mem{Base: src, Disp: 8 * i}, ymm(4+i))
		VPADDD(ymm(4+i), ymm(i), ymm(i))
	}
	ADDQ(stride, src)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	for i := 0; i < nb; i++ {
		VMOVDQU(ymm(i), Mem{Base: acc, Disp: 32 * i})
	}
	ret()
}

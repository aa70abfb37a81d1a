package main

// float32 elementwise kernels of quantization-aware training (package qat): the
// "qatew" set, asm_qatew_amd64.s. AVX2 only: they stream memory, and on the
// eleventh session's Xeon a zmm FMA or compare issues no faster than two ymm
// ones (gen_sgemm512.go), so an AVX-512 form would add code, not speed.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func qatewKernels() {
	minMaxSumF32AVX2()
	fakeQuantF32AVX2()
	steAddF32AVX2()
	steSetF32AVX2()
	addF32AVX2()
}

// minMaxSumF32AVX2 generates the lane-wise minimum, maximum and sum of x (n a
// positive multiple of 32) into out[0:8], out[8:16], out[16:24]. The caller
// reduces the lanes, and rescans in Go when the sum is NaN: VMINPS/VMAXPS drop a
// NaN of x, the sum keeps it (and turns NaN on ±Inf or overflow, rescanned too).
func minMaxSumF32AVX2() {
	kernel("minMaxSumF32AVX2", "func(x *float32, n int, out *float32)",
		"minMaxSumF32AVX2 writes the lane-wise min, max and sum of x[:n] (n a positive multiple of 32) to out[0:24].")
	x, n, out := RSI, RCX, RDI
	loadArgs("x n out", x, n, out)
	for v := 0; v < 4; v++ {
		VMOVUPS(Mem{Base: x, Disp: 32 * v}, ymm(v))
		VMOVAPS(ymm(v), ymm(4+v))
		VMOVAPS(ymm(v), ymm(8+v))
	}
	ADDQ(Imm(128), x)
	SHRQ(Imm(5), n)
	DECQ(n)
	JZ(LabelRef("mms_reduce"))
	Label("mms_loop")
	for v := 0; v < 4; v++ {
		VMOVUPS(Mem{Base: x, Disp: 32 * v}, ymm(12+v))
		VMINPS(ymm(12+v), ymm(v), ymm(v))
		VMAXPS(ymm(12+v), ymm(4+v), ymm(4+v))
		VADDPS(ymm(12+v), ymm(8+v), ymm(8+v))
	}
	ADDQ(Imm(128), x)
	loopBack(n, "mms_loop")
	Label("mms_reduce")
	for _, base := range []int{0, 4, 8} {
		op := []func(...Op){VMINPS, VMAXPS, VADDPS}[base/4]
		op(ymm(base+1), ymm(base), ymm(base))
		op(ymm(base+3), ymm(base+2), ymm(base+2))
		op(ymm(base+2), ymm(base), ymm(base))
		VMOVUPS(ymm(base), Mem{Base: out, Disp: 8 * base})
	}
	ret()
}

// fakeQuantF32AVX2 generates y = float32(clamp(round(x / scale), lo, hi)) ·
// scale, the int8 QuantizeLinear → DequantizeLinear round trip of
// kernels.QuantizeF32 and DequantizeI8 (lo = -128 - zp, hi = 127 - zp): float32
// division, clamp with NaN going to lo, round half to even by the conversion,
// back to float32 (a rounded zero is +0), times scale. n a multiple of 8.
func fakeQuantF32AVX2() {
	kernel("fakeQuantF32AVX2", "func(x *float32, y *float32, n int, scale float32, lo float32, hi float32)",
		"fakeQuantF32AVX2 sets y[i] = float32(clamp(roundEven(x[i]/scale), lo, hi)) * scale for i < n, n a multiple of 8.")
	x, y, n := RSI, RDI, RCX
	loadArgs("x y n", x, y, n)
	loadArgs("scale lo hi", X13, X14, X15)
	VBROADCASTSS(X13, Y13)
	VBROADCASTSS(X14, Y14)
	VBROADCASTSS(X15, Y15)
	blocks("fq", n, 3, nil, func() {
		VMOVUPS(Mem{Base: x}, Y0)
		VDIVPS(Y13, Y0, Y0)
		VMAXPS(Y14, Y0, Y0) // NaN → lo (the first operand is returned on NaN)
		VMINPS(Y15, Y0, Y0)
		VCVTPS2DQ(Y0, Y0)
		VCVTDQ2PS(Y0, Y0)
		VMULPS(Y13, Y0, Y0)
		VMOVUPS(Y0, Mem{Base: y})
		ADDQ(Imm(32), x)
		ADDQ(Imm(32), y)
	})
}

// steAddF32AVX2 generates the straight-through gradient: dx[i] += g[i] where
// lo <= x[i] <= hi (ordered compares: a NaN x passes nothing), dx[i] unchanged
// elsewhere (blended, so that a -0 stays -0 as with a Go if). n a multiple of 8.
func steAddF32AVX2() {
	kernel("steAddF32AVX2", "func(x *float32, gr *float32, d *float32, n int, lo float32, hi float32)",
		"steAddF32AVX2 adds gr[i] to d[i] where lo <= x[i] <= hi, for i < n, n a multiple of 8.")
	x, g, dx, n := RSI, RDX, RDI, RCX
	loadArgs("x gr d n", x, g, dx, n)
	loadArgs("lo hi", X14, X15)
	VBROADCASTSS(X14, Y14)
	VBROADCASTSS(X15, Y15)
	blocks("ste", n, 3, nil, func() {
		VMOVUPS(Mem{Base: x}, Y0)
		VCMPPS(Imm(0x1d), Y14, Y0, Y1) // x >= lo, ordered, quiet
		VCMPPS(Imm(0x12), Y15, Y0, Y2) // x <= hi, ordered, quiet
		VANDPS(Y2, Y1, Y1)
		VMOVUPS(Mem{Base: dx}, Y3)
		VADDPS(Mem{Base: g}, Y3, Y4)
		VBLENDVPS(Y1, Y4, Y3, Y3)
		VMOVUPS(Y3, Mem{Base: dx})
		ADDQ(Imm(32), x)
		ADDQ(Imm(32), g)
		ADDQ(Imm(32), dx)
	})
}

// steSetF32AVX2 generates the straight-through gradient written instead of
// added (the only contribution to d): d[i] = (g[i] where lo <= x[i] <= hi, else
// 0) + 0, the bits of adding it to a cleared d (the + 0 turns a -0 into +0, as
// 0 + -0 is +0). n a multiple of 8.
func steSetF32AVX2() {
	kernel("steSetF32AVX2", "func(x *float32, gr *float32, d *float32, n int, lo float32, hi float32)",
		"steSetF32AVX2 sets d[i] = gr[i] + 0 where lo <= x[i] <= hi, else +0, for i < n, n a multiple of 8.")
	x, g, dx, n := RSI, RDX, RDI, RCX
	loadArgs("x gr d n", x, g, dx, n)
	loadArgs("lo hi", X14, X15)
	VBROADCASTSS(X14, Y14)
	VBROADCASTSS(X15, Y15)
	VXORPS(Y13, Y13, Y13)
	blocks("sts", n, 3, nil, func() {
		VMOVUPS(Mem{Base: x}, Y0)
		VCMPPS(Imm(0x1d), Y14, Y0, Y1) // x >= lo, ordered, quiet
		VCMPPS(Imm(0x12), Y15, Y0, Y2) // x <= hi, ordered, quiet
		VANDPS(Y2, Y1, Y1)
		VANDPS(Mem{Base: g}, Y1, Y1)
		VADDPS(Y13, Y1, Y1)
		VMOVUPS(Y1, Mem{Base: dx})
		ADDQ(Imm(32), x)
		ADDQ(Imm(32), g)
		ADDQ(Imm(32), dx)
	})
}

// addF32AVX2 generates dst[i] += src[i], n a multiple of 16.
func addF32AVX2() {
	kernel("addF32AVX2", "func(dst *float32, src *float32, n int)",
		"addF32AVX2 sets dst[i] += src[i] for i < n, n a multiple of 16.")
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, src, n)
	blocks("add", n, 4, nil, func() {
		VMOVUPS(Mem{Base: dst}, Y0)
		VMOVUPS(Mem{Base: dst, Disp: 32}, Y1)
		VADDPS(Mem{Base: src}, Y0, Y0)
		VADDPS(Mem{Base: src, Disp: 32}, Y1, Y1)
		VMOVUPS(Y0, Mem{Base: dst})
		VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
		ADDQ(Imm(64), dst)
		ADDQ(Imm(64), src)
	})
}

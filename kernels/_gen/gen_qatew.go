package main

// float32 elementwise kernels of quantization-aware training (package qat): the
// "qatew" set, asm_qatew_amd64.s. AVX2 only: they stream memory, and on the
// eleventh session's Xeon a zmm FMA or compare issues no faster than two ymm
// ones (gen_sgemm512.go), so an AVX-512 form would add code, not speed.

import (
	"fmt"

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
	bnStatsF32AVX2()
	bnNormF32AVX2()
	bnGradSumsF32AVX2()
	bnGradInputF32AVX2()
	tapsF32AVX2()
	tapsDotF32AVX2()
	fakeQuantReluF32AVX2()
	qatRowsKernels() // gen_qatrows.go
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
func fakeQuantF32AVX2() { fakeQuantKernel(false) }

// fakeQuantReluF32AVX2 generates the same of max(x, 0), Go's max (NaN stays NaN):
// a Relu whose only reader is the fake quantization, fused into it.
func fakeQuantReluF32AVX2() { fakeQuantKernel(true) }

func fakeQuantKernel(relu bool) {
	name, what, p := "fakeQuantF32AVX2", "x[i]", "fq"
	if relu {
		name, what, p = "fakeQuantReluF32AVX2", "max(x[i], 0)", "fqr"
	}
	kernel(name, "func(x *float32, y *float32, n int, scale float32, lo float32, hi float32)",
		name+" sets y[i] = float32(clamp(roundEven("+what+"/scale), lo, hi)) * scale for i < n, n a multiple of 8.")
	x, y, n := RSI, RDI, RCX
	loadArgs("x y n", x, y, n)
	loadArgs("scale lo hi", X13, X14, X15)
	VBROADCASTSS(X13, Y13)
	VBROADCASTSS(X14, Y14)
	VBROADCASTSS(X15, Y15)
	if relu {
		VXORPS(Y12, Y12, Y12)
	}
	blocks(p, n, 3, nil, func() {
		VMOVUPS(Mem{Base: x}, Y0)
		if relu {
			// Intel MAXPS(0, x) returns x when x is NaN, as Go's max; a -0 that
			// comes through gives the same code as +0 below.
			VMAXPS(Y0, Y12, Y0)
		}
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

// The batch-normalization passes of a fused Conv+BatchNormalization in training
// (qat/ops_convbn.go). The sums are float64, eight lanes (element i of a call
// goes to lane i mod 8: lanes 0-3 from the low half of a ymm, 4-7 from the
// high), read from and written back to acc so that calls over the planes of one
// channel continue the same lanes; products and differences are rounded to
// float32 one operation at a time (no FMA), as the Go reference computes them.

// cvtAddPD adds the eight float32 lanes of v, widened to float64, to the lane
// accumulators lo (lanes 0-3) and hi (lanes 4-7); t0, t1 are clobbered. When sq
// is set the squares of the widened values are added instead.
func cvtAddPD(v, lo, hi, t0, t1 VecPhysical, sq bool) {
	VCVTPS2PD(v.AsX(), t0)
	VEXTRACTF128(Imm(1), v, t1.AsX())
	VCVTPS2PD(t1.AsX(), t1)
	if sq {
		VMULPD(t0, t0, t0)
		VMULPD(t1, t1, t1)
	}
	VADDPD(t0, lo, lo)
	VADDPD(t1, hi, hi)
}

// bnLoop runs step over n/8 blocks of eight (n a positive multiple of 8) with
// the four lane accumulators of acc (sums lanes 0-3, 4-7 in Y0, Y1; second sums
// in Y2, Y3) loaded before and stored after.
func bnLoop(prefix string, n, acc GPPhysical, step func()) {
	for v := 0; v < 4; v++ {
		VMOVUPD(Mem{Base: acc, Disp: 32 * v}, ymm(v))
	}
	SHRQ(Imm(3), n)
	Label(prefix + "_loop")
	step()
	loopBack(n, prefix+"_loop")
	for v := 0; v < 4; v++ {
		VMOVUPD(ymm(v), Mem{Base: acc, Disp: 32 * v})
	}
	ret()
}

// bnStatsF32AVX2 generates u[i] = c[i]/s + b and the lane sums of u and u².
func bnStatsF32AVX2() {
	kernel("bnStatsF32AVX2", "func(c *float32, u *float32, n int, s float32, b float32, acc *float64)",
		"bnStatsF32AVX2 sets u[i] = c[i]/s + b and adds u[i] and u[i]² (float64) to the lanes acc[i%8] and acc[8+i%8], n a positive multiple of 8.")
	c, u, n, acc := RSI, RDI, RCX, RDX
	loadArgs("c u n acc", c, u, n, acc)
	loadArgs("s b", X14, X15)
	VBROADCASTSS(X14, Y14)
	VBROADCASTSS(X15, Y15)
	bnLoop("bns", n, acc, func() {
		VMOVUPS(Mem{Base: c}, Y4)
		VDIVPS(Y14, Y4, Y4)
		VADDPS(Y15, Y4, Y4)
		VMOVUPS(Y4, Mem{Base: u})
		cvtAddPD(Y4, Y0, Y1, Y5, Y6, false)
		cvtAddPD(Y4, Y2, Y3, Y7, Y8, true)
		ADDQ(Imm(32), c)
		ADDQ(Imm(32), u)
	})
}

// bnNormF32AVX2 generates xh = (u - mean)·inv, stored over u, and y = gm·xh + bt.
func bnNormF32AVX2() {
	kernel("bnNormF32AVX2", "func(u *float32, y *float32, n int, mean float32, inv float32, gm float32, bt float32)",
		"bnNormF32AVX2 sets u[i] = (u[i]-mean)*inv and y[i] = gm*u[i] + bt for i < n, n a multiple of 8.")
	u, y, n := RSI, RDI, RCX
	loadArgs("u y n", u, y, n)
	loadArgs("mean inv gm bt", X12, X13, X14, X15)
	for _, r := range []VecPhysical{Y12, Y13, Y14, Y15} {
		VBROADCASTSS(r.AsX(), r)
	}
	blocks("bnn", n, 3, nil, func() {
		VMOVUPS(Mem{Base: u}, Y0)
		VSUBPS(Y12, Y0, Y0)
		VMULPS(Y13, Y0, Y0)
		VMOVUPS(Y0, Mem{Base: u})
		VMULPS(Y14, Y0, Y0)
		VADDPS(Y15, Y0, Y0)
		VMOVUPS(Y0, Mem{Base: y})
		ADDQ(Imm(32), u)
		ADDQ(Imm(32), y)
	})
}

// bnGradSumsF32AVX2 generates the lane sums of d and of the float32 products d·xh.
func bnGradSumsF32AVX2() {
	kernel("bnGradSumsF32AVX2", "func(d *float32, xh *float32, n int, acc *float64)",
		"bnGradSumsF32AVX2 adds d[i] and d[i]*xh[i] (the product in float32, the sums in float64) to the lanes acc[i%8] and acc[8+i%8], n a positive multiple of 8.")
	d, xh, n, acc := RSI, RDI, RCX, RDX
	loadArgs("d xh n acc", d, xh, n, acc)
	bnLoop("bng", n, acc, func() {
		VMOVUPS(Mem{Base: d}, Y4)
		VMULPS(Mem{Base: xh}, Y4, Y9)
		cvtAddPD(Y4, Y0, Y1, Y5, Y6, false)
		cvtAddPD(Y9, Y2, Y3, Y7, Y8, false)
		ADDQ(Imm(32), d)
		ADDQ(Imm(32), xh)
	})
}

// bnGradInputF32AVX2 generates the gradient through the batch normalization to
// the convolution output: e = k·((d - a1) - xh·a2), the lane sums of e and of
// e·c, and dc = e/s.
func bnGradInputF32AVX2() {
	kernel("bnGradInputF32AVX2", "func(d *float32, xh *float32, c *float32, dc *float32, n int, k float32, a1 float32, a2 float32, s float32, acc *float64)",
		"bnGradInputF32AVX2 sets e = k*((d[i]-a1) - xh[i]*a2), adds e and e*c[i] (float64) to the lanes acc[i%8] and acc[8+i%8] and sets dc[i] = e/s, n a positive multiple of 8.")
	d, xh, c, dc, n, acc := RSI, RDI, R8, R9, RCX, RDX
	loadArgs("d xh c dc n acc", d, xh, c, dc, n, acc)
	loadArgs("k a1 a2 s", X12, X13, X14, X15)
	for _, r := range []VecPhysical{Y12, Y13, Y14, Y15} {
		VBROADCASTSS(r.AsX(), r)
	}
	bnLoop("bnd", n, acc, func() {
		VMOVUPS(Mem{Base: d}, Y4)
		VSUBPS(Y13, Y4, Y4)
		VMULPS(Mem{Base: xh}, Y14, Y9)
		VSUBPS(Y9, Y4, Y4)
		VMULPS(Y12, Y4, Y4)
		VMULPS(Mem{Base: c}, Y4, Y9)
		cvtAddPD(Y4, Y0, Y1, Y5, Y6, false)
		cvtAddPD(Y9, Y2, Y3, Y7, Y8, false)
		VDIVPS(Y15, Y4, Y4)
		VMOVUPS(Y4, Mem{Base: dc})
		ADDQ(Imm(32), d)
		ADDQ(Imm(32), xh)
		ADDQ(Imm(32), c)
		ADDQ(Imm(32), dc)
	})
}

// The tap kernels of the depthwise convolution in training (qat/conv_depthwise.go):
// every tap of a plane is a shifted copy of one contiguous run (phase planes of the
// strided input, a zero-padded output gradient), so a convolution, its input
// gradient and its weight gradient are sums of shifted runs. Products are rounded
// to float32 before each addition (no FMA), in tap order, as the Go reference.

// tapsF32AVX2 generates dst[q] += w[0]·src[offs[0]+q] + ... + w[taps-1]·src[offs[taps-1]+q],
// 32 elements per pass over the taps while they last, then 8.
func tapsF32AVX2() {
	kernel("tapsF32AVX2", "func(dst *float32, src *float32, offs *int, w *float32, taps int, n int)",
		"tapsF32AVX2 adds w[t]*src[offs[t]+q] for t < taps, in order, to dst[q] for q < n, n a positive multiple of 8.")
	dst, src, offs, w, taps, n := RDI, RSI, R8, R9, RDX, RCX
	loadArgs("dst src offs w taps n", dst, src, offs, w, taps, n)
	blk, t, off, op, wp := RAX, R10, R11, R12, R13
	for _, width := range []int{4, 1} {
		p := fmt.Sprintf("tp%d", width)
		MOVQ(n, blk)
		if width == 4 {
			SHRQ(Imm(5), blk)
		} else {
			ANDQ(Imm(31), blk)
			SHRQ(Imm(3), blk)
		}
		JZ(LabelRef(p + "_done"))
		Label(p + "_loop")
		for v := 0; v < width; v++ {
			VMOVUPS(Mem{Base: dst, Disp: 32 * v}, ymm(v))
		}
		MOVQ(taps, t)
		MOVQ(offs, op)
		MOVQ(w, wp)
		Label(p + "_tap")
		MOVQ(Mem{Base: op}, off)
		VBROADCASTSS(Mem{Base: wp}, Y15)
		for v := 0; v < width; v++ {
			VMULPS(Mem{Base: src, Index: off, Scale: 4, Disp: 32 * v}, Y15, ymm(4+v))
			VADDPS(ymm(4+v), ymm(v), ymm(v))
		}
		ADDQ(Imm(8), op)
		ADDQ(Imm(4), wp)
		loopBack(t, p+"_tap")
		for v := 0; v < width; v++ {
			VMOVUPS(ymm(v), Mem{Base: dst, Disp: 32 * v})
		}
		ADDQ(Imm(uint64(32*width)), dst)
		ADDQ(Imm(uint64(32*width)), src)
		loopBack(blk, p+"_loop")
		Label(p + "_done")
	}
	ret()
}

// tapsDotF32AVX2 generates the lane sums lanes[8t + q mod 8] += a[q]·src[offs[t]+q]
// for t < taps: the dot products of one run with every tap's shifted run, each
// lane's sum kept in memory (independent chains, one per tap).
func tapsDotF32AVX2() {
	kernel("tapsDotF32AVX2", "func(a *float32, src *float32, offs *int, taps int, n int, lanes *float32)",
		"tapsDotF32AVX2 adds a[q]*src[offs[t]+q] to lanes[8*t+q%8] for t < taps and q < n, n a positive multiple of 8.")
	a, src, offs, taps, n, lanes := RDI, RSI, R8, RDX, RCX, R9
	loadArgs("a src offs taps n lanes", a, src, offs, taps, n, lanes)
	t, off, op, lp := R10, R11, R12, R13
	SHRQ(Imm(3), n)
	Label("tdot_loop")
	VMOVUPS(Mem{Base: a}, Y0)
	MOVQ(taps, t)
	MOVQ(offs, op)
	MOVQ(lanes, lp)
	Label("tdot_tap")
	MOVQ(Mem{Base: op}, off)
	VMULPS(Mem{Base: src, Index: off, Scale: 4}, Y0, Y1)
	VADDPS(Mem{Base: lp}, Y1, Y1)
	VMOVUPS(Y1, Mem{Base: lp})
	ADDQ(Imm(8), op)
	ADDQ(Imm(32), lp)
	loopBack(t, "tdot_tap")
	ADDQ(Imm(32), a)
	ADDQ(Imm(32), src)
	loopBack(n, "tdot_loop")
	ret()
}

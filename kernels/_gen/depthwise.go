package main

// Depthwise convolution kernels: int8 (AVX2, single and paired channels) and float32.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// depthwiseAVX2 generates the depthwise row kernel for nb 16-channel blocks
// and px output pixels per iteration on a pair buffer (see dwPairsAVX2): each
// pixel holds, per 16-channel block, the int16 pairs (x[c], x'[c]) of the
// pixel and its horizontal partner, channels ordered {0-3,8-11} then
// {4-7,12-15} (64 bytes). A pair of taps of one kernel row is then one
// VPMADDWD per 8 channels against the interleaved weight pair, with no
// shuffles: out[x][c] = bias[c] + Σ_p pairs[x·pstride + off[p]] · w[p]. Exact
// for any int8. Each weight load serves px pixels. ow must be a multiple of px.
// The int32 result is put back in channel order with VPERM2I128 (mode 0), or
// requantized in float32 and stored as int8 (mode 1: VPACKSSDW of the two
// accumulators restores channel order).
func depthwiseAVX2(nb, px int) {
	kernel(fmt.Sprintf("depthwiseAVX2_%dx%d", nb, px), "func(in *int16, off *int64, npairs int, pstride int, ow int, w *int16, wstride int, bias *int32, out *int32, ostride int, ep *int64)",
		fmt.Sprintf("depthwiseAVX2_%dx%d computes %d channels of one output row of a depthwise convolution, %d pixels at a time.", nb, px, 16*nb, px))
	base, off, wcur, outp, x, pair, t0, wstride, npairs, pstride := RSI, RDI, R8, R10, R11, R13, RAX, R12, R9, RDX
	name := fmt.Sprintf("dw%dx%d", nb, px)
	acc := func(q, b, h int) VecPhysical { return ymm((q*nb+b)*2 + h) } // 2·nb·px <= 8
	wr := func(b, h int) VecPhysical { return ymm(8 + b*2 + h) }        // 2·nb <= 4
	tmp := func(i int) VecPhysical { return ymm(12 + i%4) }
	loadArgs("in off out ep", base, off, outp, RCX)
	int8Cursor(name, outp)
	loadArgs("ow wstride npairs pstride", x, wstride, npairs, pstride)
	Label(name + "_pixel")
	splatBias(RCX, nb, 2, px, 32, movesI256, func(q, i int) VecPhysical { return acc(q, i/2, i%2) })
	tapLoop(name+"_pair", wcur, pair, off, t0)
	ADDQ(base, t0)
	for b := 0; b < nb; b++ {
		VMOVDQU(Mem{Base: wcur, Disp: 64 * b}, wr(b, 0))
		VMOVDQU(Mem{Base: wcur, Disp: 64*b + 32}, wr(b, 1))
	}
	i := 0
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			for h := 0; h < 2; h++ {
				t := tmp(i)
				i++
				var m Mem
				switch q {
				case 0:
					m = Mem{Base: t0, Disp: 64*b + 32*h}
				case 1:
					m = Mem{Base: t0, Index: pstride, Scale: 1, Disp: 64*b + 32*h}
				case 2:
					m = Mem{Base: t0, Index: pstride, Scale: 2, Disp: 64*b + 32*h}
				default:
					m = Mem{Base: R14, Disp: 64*b + 32*h}
				}
				if q == 3 && b == 0 && h == 0 {
					LEAQ(Mem{Base: t0, Index: pstride, Scale: 2}, R14)
					ADDQ(pstride, R14)
				}
				VPMADDWD(m, wr(b, h), t)
				VPADDD(t, acc(q, b, h), acc(q, b, h))
			}
		}
	}
	ADDQ(wstride, wcur)
	INCQ(pair)
	CMPQ(pair, npairs)
	JB(LabelRef(name + "_pair"))
	Load(Param("ep"), RCX)
	CMPQ(Mem{Base: RCX}, Imm(0))
	JNE(LabelRef(name + "_requant"))
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			VPERM2I128(Imm(0x20), acc(q, b, 1), acc(q, b, 0), Y12)
			VPERM2I128(Imm(0x31), acc(q, b, 1), acc(q, b, 0), Y13)
			VMOVDQU(Y12, Mem{Base: outp, Disp: 64 * b})
			VMOVDQU(Y13, Mem{Base: outp, Disp: 64*b + 32})
		}
		Load(Param("ostride"), RCX)
		ADDQ(RCX, outp)
	}
	JMP(LabelRef(name + "_next"))
	// fused float requantization (dwEpi: mode, out, ostride, scale, consts[zp×8, lo×8, hi×8])
	Label(name + "_requant")
	MOVQ(Mem{Base: RCX, Disp: 24}, RBX)
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			lo, hi := acc(q, b, 0), acc(q, b, 1)
			for h, v := range []VecPhysical{lo, hi} {
				VCVTDQ2PS(v, v)
				VMULPS(Mem{Base: RBX, Disp: 64*b + 32*h}, v, v)
				clampCvtZP(v, Mem{Base: RCX, Disp: 64}, Mem{Base: RCX, Disp: 96}, Mem{Base: RCX, Disp: 32})
			}
			VPACKSSDW(hi, lo, lo)
			VPACKSSWB(lo, lo, lo)
			VPERMQ(Imm(0x08), lo, lo)
			VMOVDQU(lo.AsX(), Mem{Base: outp, Disp: 16 * b})
		}
		ADDQ(Mem{Base: RCX, Disp: 16}, outp)
	}
	Label(name + "_next")
	nextPixels(name, px, base, pstride, x)
}

// dwPairsAVX2 builds one row of the depthwise pair buffer: for each of n
// pixels and each 16-channel block, the int16 pairs (src[x][c], src[x+dil][c])
// for c in {0-3,8-11} then {4-7,12-15} (64 bytes), from a row of cp-channel
// int8 pixels (src must hold n+dil pixels).
func dwPairsAVX2() {
	kernel("dwPairsAVX2", "func(dst *int16, src *int8, n int, cp int, dil int)",
		"dwPairsAVX2 builds one row of the depthwise int16 pair buffer.")
	dst, src, n, cp, part := RDI, RSI, RCX, RDX, R8
	loadArgs("dst src n cp dil", dst, src, n, cp, part)
	IMULQ(cp, part) // partner byte offset
	rowBlocks("dwp", dst, src, n, cp, func() {
		VPMOVSXBW(Mem{Base: R9}, Y0)
		VPMOVSXBW(Mem{Base: R9, Index: part, Scale: 1}, Y1)
		VPUNPCKLWD(Y1, Y0, Y2)
		VPUNPCKHWD(Y1, Y0, Y3)
		VMOVDQU(Y2, Mem{Base: dst})
		VMOVDQU(Y3, Mem{Base: dst, Disp: 32})
	})
}

// rowBlocks emits the loops of the depthwise buffer builders and their
// return: for each of n pixels of cp int8 channels at src, the 16-channel
// blocks in order, block at R9 (RAX its channel offset), body writing the 64
// bytes of dst for it.
func rowBlocks(prefix string, dst, src, n, cp GPPhysical, body func()) {
	Label(prefix + "_pixel")
	XORQ(RAX, RAX)
	Label(prefix + "_block")
	LEAQ(Mem{Base: src, Index: RAX, Scale: 1}, R9)
	body()
	ADDQ(Imm(64), dst)
	ADDQ(Imm(16), RAX)
	CMPQ(RAX, cp)
	JB(LabelRef(prefix + "_block"))
	ADDQ(cp, src)
	loopBack(n, prefix+"_pixel")
	ret()
}

// splatBias loads the bias (at bias: nb channel blocks of g vectors of vb
// bytes) into the accumulators acc(0, i) of the first pixel and copies them
// to those of the px-1 others, i = g·block + vector.
func splatBias(bias GPPhysical, nb, g, px, vb int, mv vecMoves, acc func(q, i int) VecPhysical) {
	Load(Param("bias"), bias)
	for b := 0; b < nb; b++ {
		for h := 0; h < g; h++ {
			mv.load(Mem{Base: bias, Disp: vb * (g*b + h)}, acc(0, g*b+h))
		}
		for q := 1; q < px; q++ {
			for h := 0; h < g; h++ {
				mv.move(acc(0, g*b+h), acc(q, g*b+h))
			}
		}
	}
}

// tapLoop starts the tap loop of a depthwise row kernel at label: the
// weight cursor wcur at w, the tap counter t at 0, t0 = off[t].
func tapLoop(label string, wcur, t, off, t0 GPPhysical) {
	Load(Param("w"), wcur)
	XORQ(t, t)
	Label(label)
	MOVQ(Mem{Base: off, Index: t, Scale: 8}, t0)
}

// int8Cursor switches the output cursor outp to ep.out (the int8 rows) when
// the epilogue mode ep.mode (ep in RCX) requantizes.
func int8Cursor(name string, outp GPPhysical) {
	CMPQ(Mem{Base: RCX}, Imm(0))
	JE(LabelRef(name + "_start"))
	MOVQ(Mem{Base: RCX, Disp: 8}, outp) // int8 output cursor
	Label(name + "_start")
}

// nextPixels closes the pixel loop of a depthwise row kernel and returns:
// the input moves px pixels on, x counts px pixels down.
func nextPixels(name string, px int, base, pstride, x GPPhysical) {
	for q := 0; q < px; q++ {
		ADDQ(pstride, base)
	}
	SUBQ(Imm(uint64(px)), x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

// depthwiseF32AVX2 computes nb 8-channel blocks of one float32 output row of a
// depthwise convolution on a zero-padded NHWC input with cp channels:
// out[x][c] = bias[c] + Σ_t in[x·pstride + off[t] + c] · w[t][c] (VFMADD231PS),
// weights [taps][cp] (row stride wstride bytes), output pixel stride ostride bytes.
func depthwiseF32AVX2(nb int) {
	kernel(fmt.Sprintf("depthwiseF32AVX2_%d", nb), "func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int)",
		fmt.Sprintf("depthwiseF32AVX2_%d computes %d channels of one float32 output row of a depthwise convolution.", nb, 8*nb))
	base, off, wcur, outp, x, tap, t0, wstride, taps := RSI, RDI, R8, R10, R11, R13, RAX, R12, R9
	name := fmt.Sprintf("dwf%d", nb)
	loadArgs("in off out ow wstride taps", base, off, outp, x, wstride, taps)
	Label(name + "_pixel")
	splatBias(RCX, nb, 1, 1, 32, movesF32, func(q, i int) VecPhysical { return ymm(i) })
	tapLoop(name+"_tap", wcur, tap, off, t0)
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: base, Index: t0, Scale: 1, Disp: 32 * b}, ymm(8+b))
		VFMADD231PS(Mem{Base: wcur, Disp: 32 * b}, ymm(8+b), ymm(b))
	}
	ADDQ(wstride, wcur)
	INCQ(tap)
	CMPQ(tap, taps)
	JB(LabelRef(name + "_tap"))
	for b := 0; b < nb; b++ {
		VMOVUPS(ymm(b), Mem{Base: outp, Disp: 32 * b})
	}
	Load(Param("ostride"), RCX)
	ADDQ(RCX, outp)
	Load(Param("pstride"), RCX)
	ADDQ(RCX, base)
	DECQ(x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

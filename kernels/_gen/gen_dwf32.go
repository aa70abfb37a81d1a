package main

// Set "dwf32": the float32 depthwise row kernel at eight output pixels per
// step, for rows of one to three 16-channel blocks (asm_dwf32_amd64.s).
//
// The four-pixel kernel of gen_depthwise.go gives each of its px·nb
// accumulators one FMA per tap; with one block (16 channels: MobileNetV3's
// 112x112 16-channel layer, the last block of 72, 120, 184 or 200 channels
// stored 80, 128, 192 and 208 wide) that is four independent FMA chains per
// tap iteration, and the iteration waits for the FMA latency (4 cycles)
// rather than for its loads. Eight pixels give eight chains, and the weight
// load and loop counting are shared by twice the FMAs.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dwf32Kernels is called from main for -set dwf32.
func dwf32Kernels() {
	for nb := 1; nb <= 3; nb++ {
		depthwiseF32AVX512x8(nb)
	}
}

// depthwiseF32AVX512x8 is depthwiseF32AVX512(8, nb) (same arguments and
// arithmetic: bias, then one FMA per tap in order, then the clamp): ow must
// be a multiple of 8. The eight pixels of a step are addressed from one
// pointer per tap (in + off[t]) with the pixel stride times 1..7 as index
// (pstride, 3, 5 and 7 times it in registers), so the tap loop walks the
// offsets with a cursor instead of a counter.
func depthwiseF32AVX512x8(nb int) {
	const px = 8
	name := fmt.Sprintf("depthwiseF32AVX512_8x%d", nb)
	kernel(name, "func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int, ep *float32)",
		fmt.Sprintf("%s computes 8 pixels x %d channels per step of one float32 depthwise output row, clamped to ep[0..1].", name, 16*nb))
	base, offc, offEnd, wcur, outp, x, u, wstride, tmp := RSI, RDI, R9, R8, R10, R11, RAX, R12, R14
	ps, ps3, ps5, ps7 := RBX, RCX, RDX, R13
	acc := func(p, b int) VecPhysical { return zmm(p*nb + b) }
	Load(Param("in"), base)
	Load(Param("pstride"), ps)
	LEAQ(Mem{Base: ps, Index: ps, Scale: 2}, ps3)
	LEAQ(Mem{Base: ps, Index: ps, Scale: 4}, ps5)
	LEAQ(Mem{Base: ps3, Index: ps, Scale: 4}, ps7)
	loadArgs("out ow wstride ep", outp, x, wstride, tmp)
	VBROADCASTSS(Mem{Base: tmp}, Z30)
	VBROADCASTSS(Mem{Base: tmp, Disp: 4}, Z31)
	Label(name + "_pixel")
	splatBias(tmp, nb, 1, px, 64, movesF32, acc)
	Load(Param("w"), wcur)
	Load(Param("off"), offc)
	Load(Param("taps"), offEnd)
	LEAQ(Mem{Base: offc, Index: offEnd, Scale: 8}, offEnd)
	Label(name + "_tap")
	MOVQ(Mem{Base: offc}, u)
	ADDQ(base, u)
	pix := func(p, disp int) Mem {
		idx := []struct {
			r GPPhysical
			s uint8
		}{{nil, 0}, {ps, 1}, {ps, 2}, {ps3, 1}, {ps, 4}, {ps5, 1}, {ps3, 2}, {ps7, 1}}[p]
		if idx.r == nil {
			return Mem{Base: u, Disp: disp}
		}
		return Mem{Base: u, Index: idx.r, Scale: idx.s, Disp: disp}
	}
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: wcur, Disp: 64 * b}, zmm(24+b))
		for p := 0; p < px; p++ {
			VFMADD231PS(pix(p, 64*b), zmm(24+b), acc(p, b))
		}
	}
	ADDQ(wstride, wcur)
	ADDQ(Imm(8), offc)
	CMPQ(offc, offEnd)
	JB(LabelRef(name + "_tap"))
	Load(Param("ostride"), tmp)
	for p := 0; p < px; p++ {
		for b := 0; b < nb; b++ {
			VMAXPS(acc(p, b), Z30, acc(p, b))
			VMINPS(acc(p, b), Z31, acc(p, b))
			VMOVUPS(acc(p, b), Mem{Base: outp, Disp: 64 * b})
		}
		ADDQ(tmp, outp)
	}
	LEAQ(Mem{Base: base, Index: ps, Scale: 8}, base)
	SUBQ(Imm(px), x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

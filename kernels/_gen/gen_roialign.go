package main

// The RoiAlign bin kernel of the "upsample" set (asm_upsample_amd64.s): the
// average of a bin's bilinear samples over channels-last pixels, in ONNX
// Runtime's float32 order.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// roiBinsF32 emits roiBinsF32AVX512 (wide) or roiBinsF32AVX2: for each of n
// bins b (output stride ostride bytes), over c floats i (c a multiple of the
// vector width),
//
//	acc = Σ_{s < per} (((w[4k]·x[off[4k]+i] + w[4k+1]·x[off[4k+1]+i]) + w[4k+2]·x[off[4k+2]+i]) + w[4k+3]·x[off[4k+3]+i]),  k = b·per + s
//	dst[b][i] = acc / *count
//
// off in floats. Every product and sum is rounded on its own, in that order
// (no fused multiply-add): ONNX Runtime's RoiAlign, compiled for generic
// x86-64, sums its pre-computed corners so, and kernels.RoiBinsF32's Go path
// does the same, so every path gives the same bits.
func roiBinsF32(wide bool) {
	name := "roiBinsF32AVX2"
	if wide {
		name = "roiBinsF32AVX512"
	}
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, ostride int, src *float32, off *int64, w *float32, n int, per int, c int, count *float32)",
		fmt.Sprintf("%s averages per bilinear samples of four corners per bin over c floats (c a multiple of %d).", name, width))
	dst, src, off, w, n := RDI, RSI, RDX, RBX, RCX
	i, sb, d, k, op, wp, a, b := R12, R13, R14, R15, R8, R9, R10, R11
	loadArgs("dst src off w n", dst, src, off, w, n)
	acc := func(u int) VecPhysical { return vec(u) }
	t := func(u int) VecPhysical { return vec(4 + u) }
	tmp := func(u int) VecPhysical { return vec(8 + u) }
	wt := func(j int) VecPhysical { return vec(12 + j) }
	step := 4 * width

	// block emits the sums of u vectors of every sample of the bin at channel
	// pointer sb, stored at d: the samples' offsets and weights from off, w.
	block := func(lbl string, u int) {
		for j := 0; j < u; j++ {
			VXORPS(acc(j), acc(j), acc(j))
		}
		MOVQ(off, op)
		MOVQ(w, wp)
		Load(Param("per"), k)
		Label(lbl + "_sample")
		for j := 0; j < 4; j++ {
			VBROADCASTSS(Mem{Base: wp, Disp: 4 * j}, wt(j))
		}
		MOVQ(Mem{Base: op}, a)
		MOVQ(Mem{Base: op, Disp: 8}, b)
		for j := 0; j < u; j++ {
			VMULPS(Mem{Base: sb, Index: a, Scale: 4, Disp: j * step}, wt(0), t(j))
			VMULPS(Mem{Base: sb, Index: b, Scale: 4, Disp: j * step}, wt(1), tmp(j))
			VADDPS(tmp(j), t(j), t(j))
		}
		MOVQ(Mem{Base: op, Disp: 16}, a)
		MOVQ(Mem{Base: op, Disp: 24}, b)
		for j := 0; j < u; j++ {
			VMULPS(Mem{Base: sb, Index: a, Scale: 4, Disp: j * step}, wt(2), tmp(j))
			VADDPS(tmp(j), t(j), t(j))
			VMULPS(Mem{Base: sb, Index: b, Scale: 4, Disp: j * step}, wt(3), tmp(j))
			VADDPS(tmp(j), t(j), t(j))
			VADDPS(t(j), acc(j), acc(j))
		}
		ADDQ(Imm(32), op)
		ADDQ(Imm(16), wp)
		DECQ(k)
		JNZ(LabelRef(lbl + "_sample"))
		Load(Param("count"), a)
		VBROADCASTSS(Mem{Base: a}, wt(0))
		for j := 0; j < u; j++ {
			VDIVPS(wt(0), acc(j), acc(j))
			VMOVUPS(acc(j), Mem{Base: d, Disp: j * step})
		}
	}

	Label(name + "_bin")
	Load(Param("c"), i)
	MOVQ(src, sb)
	MOVQ(dst, d)
	Label(name + "_quad")
	CMPQ(i, Imm(uint64(4*width)))
	JB(LabelRef(name + "_one"))
	block(name+"_q", 4)
	ADDQ(U32(4*step), sb)
	ADDQ(U32(4*step), d)
	SUBQ(Imm(uint64(4*width)), i)
	JMP(LabelRef(name + "_quad"))
	Label(name + "_one")
	TESTQ(i, i)
	JZ(LabelRef(name + "_next"))
	block(name+"_o", 1)
	ADDQ(Imm(uint64(step)), sb)
	ADDQ(Imm(uint64(step)), d)
	SUBQ(Imm(uint64(width)), i)
	JMP(LabelRef(name + "_one"))
	Label(name + "_next")
	Load(Param("per"), k)
	SHLQ(Imm(5), k) // per·4 offsets of 8 bytes
	ADDQ(k, off)
	SHRQ(Imm(1), k) // per·4 weights of 4 bytes
	ADDQ(k, w)
	Load(Param("ostride"), k)
	ADDQ(k, dst)
	DECQ(n)
	JNZ(LabelRef(name + "_bin"))
	ret()
}

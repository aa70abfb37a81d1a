package main

// int8 GEMM micro-kernels: AVX-512 VNNI and AVX2 (plain and widened), and the u8
// widening helper.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const qgemmSig = "func(a *int8, lda int, b *int8, pstride int, k4 int, nseg int, sstride int, bias *int32, c *int32, accum int)"

const qgemmVNNISig = "func(a *int8, lda int, b *int8, pstride int, k4 int, nseg int, sstride int, bias *int32, c *int32, accum int, ep *int64)"

// qgemmVNNI generates an mr×(16·nv) int8 micro-kernel with AVX-512 VNNI:
// acc[r][j] = init[r][j] + Σ_k u8(a[r][k]^0x80) · s8(b[k][j]): every broadcast
// of 4 activations is XORed with 0x80 in registers (s8→u8, free on this
// core: see BenchmarkPeak/vnni-zmm+vpxord) and bias carries the -128·Σw
// compensation. init is bias (accum == 0) or the tile c (accum != 0). A rows
// have stride lda; B is the packed [k/4][16][4] panel layout (second panel at
// +pstride). Epilogue (ep.mode): 0 stores the int32 tile (row stride 32 int32)
// to c; 1 requantizes in float32 (MLAS rounding) and stores int8 rows to
// ep.out with masked VPMOVSDB (column masks ep.mask).
func qgemmVNNI(mr, nv int) {
	kernel(fmt.Sprintf("qgemmVNNI_%dx%d", mr, nv), qgemmVNNISig,
		fmt.Sprintf("qgemmVNNI_%dx%d is the AVX-512 VNNI %dx%d int8 micro-kernel.", mr, nv, mr, 16*nv))
	a0, lda, lda3, b0, b1, k := RSI, RBX, RDX, RDI, R10, RCX
	bases := []GPPhysical{a0, R8, R9}
	loadArgs("a lda b k4", a0, lda, b0, k)
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	if mr > 4 {
		LEAQ(Mem{Base: a0, Index: lda, Scale: 4}, bases[1])
	}
	if mr > 8 {
		LEAQ(Mem{Base: bases[1], Index: lda, Scale: 4}, bases[2])
	}
	if nv == 2 {
		Load(Param("pstride"), b1)
		ADDQ(b0, b1)
	}
	acc := func(r, v int) VecPhysical { return zmm(r*nv + v) }
	name := fmt.Sprintf("vnni%dx%d", mr, nv)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_bias"))
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VMOVDQU32(Mem{Base: R11, Disp: r*128 + v*64}, acc(r, v))
		}
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_bias")
	Load(Param("bias"), R11)
	for v := 0; v < nv; v++ {
		VMOVDQU32(Mem{Base: R11, Disp: 64 * v}, zmm(24+v))
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VMOVDQA32(zmm(24+v), acc(r, v))
		}
	}
	Label(name + "_init")
	MOVL(U32(0x80808080), EAX)
	VPBROADCASTD(EAX, Z31)
	// segments: nseg runs of k4 steps; A moves by sstride between runs, B is contiguous
	loadArgs("nseg sstride", R12, R13)
	MOVQ(k, RAX)
	SHLQ(Imm(2), RAX)
	SUBQ(RAX, R13) // A adjustment after a run
	TESTQ(k, k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_seg")
	Load(Param("k4"), k)
	Label(name + "_loop")
	VMOVDQU32(Mem{Base: b0}, Z24)
	if nv == 2 {
		VMOVDQU32(Mem{Base: b1}, Z25)
	}
	for r := 0; r < mr; r++ {
		t := zmm(26 + r%4)
		VPBROADCASTD(rowAddr(r, bases, lda, lda3), t)
		VPXORD(Z31, t, t)
		for v := 0; v < nv; v++ {
			vpdpbusd(zmm(24+v), t, acc(r, v))
		}
	}
	for i := 0; i < (mr+3)/4; i++ {
		ADDQ(Imm(4), bases[i])
	}
	ADDQ(Imm(64), b0)
	if nv == 2 {
		ADDQ(Imm(64), b1)
	}
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	for i := 0; i < (mr+3)/4; i++ {
		ADDQ(R13, bases[i])
	}
	DECQ(R12)
	JNZ(LabelRef(name + "_seg"))
	Label(name + "_done")
	Load(Param("ep"), R12)
	CMPQ(Mem{Base: R12}, Imm(0))
	JNE(LabelRef(name + "_requant"))
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VMOVDQU32(acc(r, v), Mem{Base: R11, Disp: r*128 + v*64})
		}
	}
	ret()
	Label(name + "_requant")
	MOVQ(Mem{Base: R12, Disp: 8}, R11)  // out
	MOVQ(Mem{Base: R12, Disp: 16}, RAX) // ldo
	MOVQ(Mem{Base: R12, Disp: 24}, RDX) // scale
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: RDX, Disp: 64 * v}, zmm(24+v))
		KMOVW(Mem{Base: R12, Disp: 44 + 4*v}, []Op{K1, K2}[v])
	}
	VPBROADCASTD(Mem{Base: R12, Disp: 32}, Z28) // zp
	VBROADCASTSS(Mem{Base: R12, Disp: 36}, Z26) // Min - zp
	VBROADCASTSS(Mem{Base: R12, Disp: 40}, Z27) // Max - zp
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			x := acc(r, v)
			VCVTDQ2PS(x, x)
			VMULPS(zmm(24+v), x, x)
			VMAXPS(Z26, x, x)
			VMINPS(Z27, x, x)
			VCVTPS2DQ(x, x)
			VPADDD(Z28, x, x)
			VPMOVSDB(x, []Op{K1, K2}[v], Mem{Base: R11, Disp: 16 * v})
		}
		if r < mr-1 {
			ADDQ(RAX, R11)
		}
	}
	ret()
}

// qgemmAVX2 generates an mr×16 exact AVX2 int8 micro-kernel (the sign trick):
// per 4 k, maddubs(|a|, sign(w, a)) then maddwd with ones, then add. Exact
// because weights are in [-127, 127]: each int16 pair sum is at most 2·128·127.
func qgemmAVX2(mr int) {
	kernel(fmt.Sprintf("qgemmAVX2_%dx1", mr), qgemmSig,
		fmt.Sprintf("qgemmAVX2_%dx1 is the exact AVX2 %dx16 int8 micro-kernel.", mr, mr))
	a0, lda, lda3, b0, k := RSI, RBX, RDX, RDI, RCX
	bases := []GPPhysical{a0}
	loadArgs("a lda b k4", a0, lda, b0, k)
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	name := fmt.Sprintf("avx2q%d", mr)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_bias"))
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		VMOVDQU(Mem{Base: R11, Disp: r * 128}, ymm(2*r))
		VMOVDQU(Mem{Base: R11, Disp: r*128 + 32}, ymm(2*r+1))
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_bias")
	Load(Param("bias"), R11)
	VMOVDQU(Mem{Base: R11}, Y8)
	VMOVDQU(Mem{Base: R11, Disp: 32}, Y9)
	for r := 0; r < mr; r++ {
		VMOVDQA(Y8, ymm(2*r))
		VMOVDQA(Y9, ymm(2*r+1))
	}
	Label(name + "_init")
	VPCMPEQW(Y10, Y10, Y10)
	VPSRLW(Imm(15), Y10, Y10) // int16 ones
	loadArgs("nseg sstride", R12, R13)
	MOVQ(k, RAX)
	SHLQ(Imm(2), RAX)
	SUBQ(RAX, R13)
	TESTQ(k, k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_seg")
	Load(Param("k4"), k)
	Label(name + "_loop")
	VMOVDQU(Mem{Base: b0}, Y8)
	VMOVDQU(Mem{Base: b0, Disp: 32}, Y9)
	for r := 0; r < mr; r++ {
		VPBROADCASTD(rowAddr(r, bases, lda, lda3), Y11)
		VPABSB(Y11, Y12)
		for v := 0; v < 2; v++ {
			t := ymm(13 + v)
			VPSIGNB(Y11, ymm(8+v), t)
			VPMADDUBSW(t, Y12, t)
			VPMADDWD(Y10, t, t)
			VPADDD(t, ymm(2*r+v), ymm(2*r+v))
		}
	}
	ADDQ(Imm(4), a0)
	ADDQ(Imm(64), b0)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	ADDQ(R13, a0)
	DECQ(R12)
	JNZ(LabelRef(name + "_seg"))
	Label(name + "_done")
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		for v := 0; v < 2; v++ {
			VMOVDQU(ymm(2*r+v), Mem{Base: R11, Disp: r*128 + v*32})
		}
	}
	ret()
}

// qgemmAVX2W generates an mr×16 exact AVX2 int8 micro-kernel on operands
// sign-extended to int16: per 2 k, VPMADDWD of a broadcast (a[k], a[k+1]) pair
// with the packed (w[c][k], w[c][k+1]) pairs of 16 columns, then VPADDD. No
// saturation is possible (|a·w| <= 128·127). A rows are int16 (stride lda
// bytes); B is the int16 panel layout [k/2][16][2] (64 bytes per step).
// Steps per segment: k2; segments as in qgemmVNNI (sstride in bytes).
func qgemmAVX2W(mr int) {
	kernel(fmt.Sprintf("qgemmAVX2W_%dx1", mr), "func(a *int16, lda int, b *int16, k2 int, nseg int, sstride int, bias *int32, c *int32, accum int)",
		fmt.Sprintf("qgemmAVX2W_%dx1 is the exact AVX2 %dx16 int8 micro-kernel on int16-extended operands.", mr, mr))
	a0, lda, lda3, b0, k := RSI, RBX, RDX, RDI, RCX
	bases := []GPPhysical{a0, R8}
	loadArgs("a lda b k2", a0, lda, b0, k)
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	if mr > 4 {
		LEAQ(Mem{Base: a0, Index: lda, Scale: 4}, bases[1])
	}
	name := fmt.Sprintf("avx2w%d", mr)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_bias"))
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		VMOVDQU(Mem{Base: R11, Disp: r * 128}, ymm(2*r))
		VMOVDQU(Mem{Base: R11, Disp: r*128 + 32}, ymm(2*r+1))
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_bias")
	Load(Param("bias"), R11)
	VMOVDQU(Mem{Base: R11}, Y12)
	VMOVDQU(Mem{Base: R11, Disp: 32}, Y13)
	for r := 0; r < mr; r++ {
		VMOVDQA(Y12, ymm(2*r))
		VMOVDQA(Y13, ymm(2*r+1))
	}
	Label(name + "_init")
	loadArgs("nseg sstride", R12, R13)
	MOVQ(k, RAX)
	SHLQ(Imm(2), RAX)
	SUBQ(RAX, R13)
	TESTQ(k, k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_seg")
	Load(Param("k2"), k)
	Label(name + "_loop")
	VMOVDQU(Mem{Base: b0}, Y12)
	VMOVDQU(Mem{Base: b0, Disp: 32}, Y13)
	for r := 0; r < mr; r++ {
		VPBROADCASTD(rowAddr(r, bases, lda, lda3), Y14)
		VPMADDWD(Y12, Y14, Y15)
		VPADDD(Y15, ymm(2*r), ymm(2*r))
		VPMADDWD(Y13, Y14, Y15)
		VPADDD(Y15, ymm(2*r+1), ymm(2*r+1))
	}
	for i := 0; i < (mr+3)/4; i++ {
		ADDQ(Imm(4), bases[i])
	}
	ADDQ(Imm(64), b0)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	for i := 0; i < (mr+3)/4; i++ {
		ADDQ(R13, bases[i])
	}
	DECQ(R12)
	JNZ(LabelRef(name + "_seg"))
	Label(name + "_done")
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		VMOVDQU(ymm(2*r), Mem{Base: R11, Disp: r * 128})
		VMOVDQU(ymm(2*r+1), Mem{Base: R11, Disp: r*128 + 32})
	}
	ret()
}

// widenAVX2 sign-extends n int8 (a multiple of 16) to int16.
func widenAVX2() {
	kernel("widenAVX2", "func(dst *int16, src *int8, n int)",
		"widenAVX2 sign-extends n int8 values (a multiple of 16) to int16.")
	loadArgs("dst src n", RDI, RSI, RCX)
	SHRQ(Imm(4), RCX)
	JZ(LabelRef("widen_done"))
	Label("widen_loop")
	VPMOVSXBW(Mem{Base: RSI}, Y0)
	VMOVDQU(Y0, Mem{Base: RDI})
	ADDQ(Imm(16), RSI)
	ADDQ(Imm(32), RDI)
	DECQ(RCX)
	JNZ(LabelRef("widen_loop"))
	Label("widen_done")
	ret()
}

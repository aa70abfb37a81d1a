//go:build generate

// Command gen generates the amd64 assembly of package kernels with avo.
//
//	cd kernels && go run -tags generate ./_gen -out asm_amd64.s -stubs stubs_amd64.go -pkg kernels
//
// (wired as `go generate ./kernels/...`). avo v0.5.0 has no VNNI mnemonics, so
// VPDPBUSD is emitted as a raw instruction; the Go assembler encodes it with
// EVEX (AVX512_VNNI, zmm), which TestVPDPBUSDEncoding checks with go tool objdump.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego,!noasm")
	peaks()
	for _, nv := range []int{1, 2} {
		for mr := 1; mr <= 12; mr++ {
			qgemmVNNI(mr, nv)
		}
	}
	for mr := 1; mr <= 4; mr++ {
		qgemmAVX2(mr)
	}
	for mr := 1; mr <= 6; mr++ {
		qgemmAVX2W(mr)
	}
	widenAVX2()
	sgemmAVX2()
	panelRowsAVX2()
	maxF32AVX2()
	requantFloatAVX2()
	requantFixedAVX2()
	for _, v := range [][2]int{{1, 4}, {2, 2}, {1, 1}, {2, 1}} {
		depthwiseAVX2(v[0], v[1])
	}
	dwPairsAVX2()
	for nb := 1; nb <= 4; nb++ {
		depthwiseF32AVX2(nb)
	}
	f32EpilogueKernels() // gen_depthwise.go, gen_gelu.go
	Generate()
}

// vpdpbusd emits acc += u8(a)·s8(w) (Go operand order: signed, unsigned, acc).
func vpdpbusd(w, a, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{w, a, acc},
		Inputs:   []Op{w, a, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512VNNI"},
	})
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}
func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// peaks are throughput micro-benchmarks of the inner instruction sequences:
// independent accumulators, register operands only, n iterations.
func peaks() {
	TEXT("peakVNNIZ", NOSPLIT, "func(n int)")
	Doc("peakVNNIZ runs n iterations of 24 independent zmm VPDPBUSD (1536 int8 MACs).")
	Load(Param("n"), RCX)
	Label("peakvz_loop")
	for i := 0; i < 24; i++ {
		vpdpbusd(Z30, Z31, zmm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakvz_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakVNNIZXor", NOSPLIT, "func(n int)")
	Doc("peakVNNIZXor is peakVNNIZ plus one VPXORD per two VPDPBUSD (in-kernel s8->u8 conversion).")
	Load(Param("n"), RCX)
	Label("peakvzx_loop")
	for i := 0; i < 24; i++ {
		if i%2 == 0 {
			VPXORD(Z28, Z29, zmm(26+(i/2)%2))
		}
		vpdpbusd(Z30, zmm(26+(i/2)%2), zmm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakvzx_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakVNNIY", NOSPLIT, "func(n int)")
	Doc("peakVNNIY runs n iterations of 12 independent ymm VPDPBUSD (EVEX, 384 int8 MACs).")
	Load(Param("n"), RCX)
	Label("peakvy_loop")
	for i := 0; i < 12; i++ {
		vpdpbusd(Y14, Y15, ymm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakvy_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakAVX2Int8", NOSPLIT, "func(n int)")
	Doc("peakAVX2Int8 runs n iterations of the exact AVX2 sign-trick sequence of a 4x16 tile",
		"(4 x VPABSB + 8 x (VPSIGNB, VPMADDUBSW, VPMADDWD, VPADDD)) = 256 int8 MACs.")
	Load(Param("n"), RCX)
	VPCMPEQW(Y10, Y10, Y10)
	VPSRLW(Imm(15), Y10, Y10)
	Label("peaka_loop")
	for r := 0; r < 4; r++ {
		VPABSB(Y11, Y12)
		for v := 0; v < 2; v++ {
			t := ymm(13 + v)
			VPSIGNB(Y11, ymm(8+v), t)
			VPMADDUBSW(t, Y12, t)
			VPMADDWD(Y10, t, t)
			VPADDD(t, ymm(r*2+v), ymm(r*2+v))
		}
	}
	DECQ(RCX)
	JNZ(LabelRef("peaka_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakAVX2Madd", NOSPLIT, "func(n int)")
	Doc("peakAVX2Madd runs n iterations of 8 x (VPMADDUBSW, VPMADDWD, VPADDD) = 256 int8 MACs",
		"(the inexact u8·s8 sequence without the sign trick, for comparison).")
	Load(Param("n"), RCX)
	VPCMPEQW(Y10, Y10, Y10)
	VPSRLW(Imm(15), Y10, Y10)
	Label("peakm_loop")
	for i := 0; i < 8; i++ {
		t := ymm(12 + i%4)
		VPMADDUBSW(ymm(8+i%2), Y11, t)
		VPMADDWD(Y10, t, t)
		VPADDD(t, ymm(i), ymm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakm_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakAVX2Madd16", NOSPLIT, "func(n int)")
	Doc("peakAVX2Madd16 runs n iterations of 8 x (VPMADDWD, VPADDD) on int16 operands = 128 int8 MACs",
		"(the exact sign-extended path: operands pre-widened to int16).")
	Load(Param("n"), RCX)
	Label("peakw_loop")
	for i := 0; i < 8; i++ {
		t := ymm(12 + i%4)
		VPMADDWD(ymm(8+i%2), Y11, t)
		VPADDD(t, ymm(i), ymm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakw_loop"))
	VZEROUPPER()
	RET()

	TEXT("peakFMA", NOSPLIT, "func(n int)")
	Doc("peakFMA runs n iterations of 12 independent ymm VFMADD231PS (96 float32 MACs).")
	Load(Param("n"), RCX)
	for i := 0; i < 12; i++ {
		VXORPS(ymm(i), ymm(i), ymm(i))
	}
	VXORPS(Y12, Y12, Y12)
	VXORPS(Y14, Y14, Y14)
	Label("peakf_loop")
	for i := 0; i < 12; i++ {
		VFMADD231PS(Y12, Y14, ymm(i))
	}
	DECQ(RCX)
	JNZ(LabelRef("peakf_loop"))
	VZEROUPPER()
	RET()
}

// rowAddr returns the address of row r of A: rows 0-3 from a0, 4-7 from a4,
// 8-11 from a8, using lda and lda3 = 3*lda as index registers.
func rowAddr(r int, bases []GPPhysical, lda, lda3 GPPhysical) Mem {
	base := bases[r/4]
	switch r % 4 {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: lda, Scale: 1}
	case 2:
		return Mem{Base: base, Index: lda, Scale: 2}
	default:
		return Mem{Base: base, Index: lda3, Scale: 1}
	}
}

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
	TEXT(fmt.Sprintf("qgemmVNNI_%dx%d", mr, nv), NOSPLIT, qgemmVNNISig)
	Pragma("noescape")
	Doc(fmt.Sprintf("qgemmVNNI_%dx%d is the AVX-512 VNNI %dx%d int8 micro-kernel.", mr, nv, mr, 16*nv))
	a0, lda, lda3, b0, b1, k := RSI, RBX, RDX, RDI, R10, RCX
	bases := []GPPhysical{a0, R8, R9}
	Load(Param("a"), a0)
	Load(Param("lda"), lda)
	Load(Param("b"), b0)
	Load(Param("k4"), k)
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
	Load(Param("nseg"), R12)
	Load(Param("sstride"), R13)
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
	VZEROUPPER()
	RET()
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
	VZEROUPPER()
	RET()
}

// qgemmAVX2 generates an mr×16 exact AVX2 int8 micro-kernel (the sign trick):
// per 4 k, maddubs(|a|, sign(w, a)) then maddwd with ones, then add. Exact
// because weights are in [-127, 127]: each int16 pair sum is at most 2·128·127.
func qgemmAVX2(mr int) {
	TEXT(fmt.Sprintf("qgemmAVX2_%dx1", mr), NOSPLIT, qgemmSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("qgemmAVX2_%dx1 is the exact AVX2 %dx16 int8 micro-kernel.", mr, mr))
	a0, lda, lda3, b0, k := RSI, RBX, RDX, RDI, RCX
	bases := []GPPhysical{a0}
	Load(Param("a"), a0)
	Load(Param("lda"), lda)
	Load(Param("b"), b0)
	Load(Param("k4"), k)
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
	Load(Param("nseg"), R12)
	Load(Param("sstride"), R13)
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
	VZEROUPPER()
	RET()
}

// qgemmAVX2W generates an mr×16 exact AVX2 int8 micro-kernel on operands
// sign-extended to int16: per 2 k, VPMADDWD of a broadcast (a[k], a[k+1]) pair
// with the packed (w[c][k], w[c][k+1]) pairs of 16 columns, then VPADDD. No
// saturation is possible (|a·w| <= 128·127). A rows are int16 (stride lda
// bytes); B is the int16 panel layout [k/2][16][2] (64 bytes per step).
// Steps per segment: k2; segments as in qgemmVNNI (sstride in bytes).
func qgemmAVX2W(mr int) {
	TEXT(fmt.Sprintf("qgemmAVX2W_%dx1", mr), NOSPLIT, "func(a *int16, lda int, b *int16, k2 int, nseg int, sstride int, bias *int32, c *int32, accum int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("qgemmAVX2W_%dx1 is the exact AVX2 %dx16 int8 micro-kernel on int16-extended operands.", mr, mr))
	a0, lda, lda3, b0, k := RSI, RBX, RDX, RDI, RCX
	bases := []GPPhysical{a0, R8}
	Load(Param("a"), a0)
	Load(Param("lda"), lda)
	Load(Param("b"), b0)
	Load(Param("k2"), k)
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
	Load(Param("nseg"), R12)
	Load(Param("sstride"), R13)
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
	VZEROUPPER()
	RET()
}

// widenAVX2 sign-extends n int8 (a multiple of 16) to int16.
func widenAVX2() {
	TEXT("widenAVX2", NOSPLIT, "func(dst *int16, src *int8, n int)")
	Pragma("noescape")
	Doc("widenAVX2 sign-extends n int8 values (a multiple of 16) to int16.")
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
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
	VZEROUPPER()
	RET()
}

// sgemmAVX2 generates the 6x16 float32 FMA micro-kernels on packed panels:
// A [k][6], B [k][16]; C (row stride ldc floats) = acc, or += acc when accum != 0.
// The _ep variant applies the GEMM epilogue in registers before the store:
// C = min(max(C + R, lo), hi), R a residual tile with C's row stride (skipped when
// nil). VMAXPS/VMINPS take the accumulator as their second operand, which they
// return when either is NaN, so NaN propagates as in Go's min/max; with lo = -Inf
// and hi = +Inf the clamp is the identity.
func sgemmAVX2() {
	sgemmAVX2Kernel("sgemmAVX2_6x16", false, false)
	sgemmAVX2Kernel("sgemmAVX2_6x16ep", true, false)
	sgemmAVX2Kernel("sgemmAVX2_6x16ind", true, true)
	sgemmRowsKernel("sgemmAVX2_6x16rows", "AVX2+FMA", ymm, 32, 2)
	sgemmRowsKernel("sgemmAVX512_6x64rows", "AVX-512", zmm, 64, 4)
}

// paramAddr is the frame address of an argument (for read-modify-write).
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// kLoop emits a reduction loop over k steps: four steps (step(0..3)) per
// iteration, then the remainder one at a time; advance(n) moves the operand
// pointers n steps on. It ends at label name+"_done".
func kLoop(name string, k GPPhysical, step func(u int), advance func(n int)) {
	MOVQ(k, RDX)
	SHRQ(Imm(2), RDX)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	for u := 0; u < 4; u++ {
		step(u)
	}
	advance(4)
	DECQ(RDX)
	JNZ(LabelRef(name + "_loop4"))
	Label(name + "_tail")
	ANDQ(Imm(3), k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	step(0)
	advance(1)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
}

// sgemmRowsKernel generates a 6 × (lanes·nv) micro-kernel of the channels-last
// implicit GEMM: A is read in place, element (r, p) at a[r*lda + off[p]] (six
// pixels of an NHWC buffer, off[p] the channel and kernel-tap shift of reduction
// step p), B is a packed [k][lanes·nv] weight panel, the accumulators start from
// the C tile (accum != 0, a later block of the reduction) or the bias (0 when
// nil), and the epilogue adds the residual tile (nothing when nil) and clamps to
// [lo, hi] before the store. It runs ntiles row tiles, six rows apart in A, C
// and the residual. vec numbers the vector registers: 6·nv accumulators, then nv
// for B, then two broadcast temporaries (reused for lo and hi).
func sgemmRowsKernel(name, isa string, vec func(int) VecPhysical, width, nv int) {
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, off *int32, b *float32, bias *float32, c *float32, ldc int, accum int, res *float32, lo float32, hi float32, ntiles int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s 6x%d float32 micro-kernel with A rows read in place at a + r*lda + off[p], initialised from C or the bias, with the fused epilogue.", name, isa, width/4*nv))
	k, b, off := RCX, RDI, RAX
	rows := []GPPhysical{RSI, RBX, R9, R10, R11, R12}
	idx := []GPPhysical{R13, R8}
	acc := func(r, v int) VecPhysical { return vec(r*nv + v) }
	breg := func(v int) VecPhysical { return vec(6*nv + v) }
	tmp := func(i int) VecPhysical { return vec(7*nv + i) }
	// Row tiles [0, ntiles).
	Label(name + "_tile")
	Load(Param("k"), k)
	Load(Param("a"), rows[0])
	Load(Param("lda"), R8)
	SHLQ(Imm(2), R8)
	for r := 1; r < 6; r++ {
		LEAQ(Mem{Base: rows[r-1], Index: R8, Scale: 1}, rows[r])
	}
	Load(Param("off"), off)
	Load(Param("b"), b)
	Load(Param("accum"), RDX)
	TESTQ(RDX, RDX)
	JZ(LabelRef(name + "_fresh"))
	Load(Param("c"), R13)
	Load(Param("ldc"), R8)
	SHLQ(Imm(2), R8)
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: R13, Disp: width * v}, acc(r, v))
		}
		if r < 5 {
			ADDQ(R8, R13)
		}
	}
	JMP(LabelRef(name + "_start"))
	Label(name + "_fresh")
	Load(Param("bias"), RDX)
	TESTQ(RDX, RDX)
	JZ(LabelRef(name + "_zero"))
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: RDX, Disp: width * v}, acc(0, v))
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_zero")
	for v := 0; v < nv; v++ {
		VXORPS(acc(0, v), acc(0, v), acc(0, v))
	}
	Label(name + "_init")
	for r := 1; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VMOVAPS(acc(0, v), acc(r, v))
		}
	}
	Label(name + "_start")
	step := func(p int) {
		x := idx[p%2]
		MOVLQSX(Mem{Base: off, Disp: 4 * p}, x)
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: width * (nv*p + v)}, breg(v))
		}
		for r := 0; r < 6; r++ {
			t := tmp(r % 2)
			VBROADCASTSS(Mem{Base: rows[r], Index: x, Scale: 4}, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(breg(v), t, acc(r, v))
			}
		}
	}
	kLoop(name, k, step, func(n int) {
		ADDQ(Imm(uint64(4*n)), off)
		ADDQ(U32(uint64(n*width*nv)), b)
	})
	c, ldc, res := RDI, RDX, RSI
	Load(Param("c"), c)
	Load(Param("ldc"), ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("res"), res)
	TESTQ(res, res)
	JZ(LabelRef(name + "_clamp"))
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VADDPS(Mem{Base: res, Disp: width * v}, acc(r, v), acc(r, v))
		}
		if r < 5 {
			ADDQ(ldc, res)
		}
	}
	Label(name + "_clamp")
	VBROADCASTSS(paramAddr("lo"), tmp(0))
	VBROADCASTSS(paramAddr("hi"), tmp(1))
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VMAXPS(acc(r, v), tmp(0), acc(r, v))
			VMINPS(acc(r, v), tmp(1), acc(r, v))
		}
	}
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VMOVUPS(acc(r, v), Mem{Base: c, Disp: width * v})
		}
		if r < 5 {
			ADDQ(ldc, c)
		}
	}
	// Next row tile: a, c and res move six rows on.
	Load(Param("ntiles"), RDX)
	DECQ(RDX)
	JZ(LabelRef(name + "_ret"))
	Store(RDX, Param("ntiles"))
	Load(Param("lda"), RDX)
	IMUL3Q(Imm(24), RDX, RDX)
	ADDQ(RDX, paramAddr("a"))
	Load(Param("ldc"), RDX)
	IMUL3Q(Imm(24), RDX, RDX)
	ADDQ(RDX, paramAddr("c"))
	Load(Param("res"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_tile"))
	ADDQ(RDX, paramAddr("res"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// sgemmAVX2Kernel generates one 6x16 micro-kernel. With ind, B is not a packed
// panel but read in place: row p is the 16 floats at b + off[p] (off in floats),
// the implicit GEMM of a convolution over its (padded) input with no im2col
// copy; ind kernels always have the epilogue.
func sgemmAVX2Kernel(name string, ep, ind bool) {
	sig := "func(k int, a *float32, b *float32, c *float32, ldc int, accum int)"
	switch {
	case ind:
		sig = "func(k int, a *float32, b *float32, off *int32, c *float32, ldc int, accum int, res *float32, lo float32, hi float32)"
	case ep:
		sig = "func(k int, a *float32, b *float32, c *float32, ldc int, accum int, res *float32, lo float32, hi float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	switch {
	case ind:
		Doc(name + " is the AVX2+FMA 6x16 float32 micro-kernel with B rows read at b+off[p] and the fused epilogue.")
	case ep:
		Doc(name + " is the AVX2+FMA 6x16 float32 micro-kernel with the fused epilogue (residual add, clamp).")
	default:
		Doc(name + " is the AVX2+FMA 6x16 float32 micro-kernel.")
	}
	k, a, b, c, ldc := RCX, RSI, RDI, R8, R9
	off := R10
	Load(Param("k"), k)
	Load(Param("a"), a)
	Load(Param("b"), b)
	if ind {
		Load(Param("off"), off)
	}
	// loadB loads row p (relative to the current position) of B into Y12, Y13.
	loadB := func(p int) {
		if !ind {
			VMOVUPS(Mem{Base: b, Disp: 64 * p}, Y12)
			VMOVUPS(Mem{Base: b, Disp: 64*p + 32}, Y13)
			return
		}
		idx := []GPPhysical{R11, R12}[p%2]
		MOVLQSX(Mem{Base: off, Disp: 4 * p}, idx)
		VMOVUPS(Mem{Base: b, Index: idx, Scale: 4}, Y12)
		VMOVUPS(Mem{Base: b, Index: idx, Scale: 4, Disp: 32}, Y13)
	}
	advanceB := func(rows int) {
		if ind {
			ADDQ(Imm(uint64(4*rows)), off)
		} else if 64*rows < 128 {
			ADDQ(Imm(uint64(64*rows)), b)
		} else {
			ADDQ(U32(uint64(64*rows)), b)
		}
	}
	for i := 0; i < 12; i++ {
		VXORPS(ymm(i), ymm(i), ymm(i))
	}
	kLoop(name, k, func(u int) {
		loadB(u)
		for r := 0; r < 6; r++ {
			t := ymm(14 + r%2)
			VBROADCASTSS(Mem{Base: a, Disp: 24*u + 4*r}, t)
			VFMADD231PS(Y12, t, ymm(2*r))
			VFMADD231PS(Y13, t, ymm(2*r+1))
		}
	}, func(n int) {
		ADDQ(Imm(uint64(24*n)), a)
		advanceB(n)
	})
	Load(Param("c"), c)
	Load(Param("ldc"), ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, RDX)
	for r := 0; r < 6; r++ {
		VADDPS(Mem{Base: RDX}, ymm(2*r), ymm(2*r))
		VADDPS(Mem{Base: RDX, Disp: 32}, ymm(2*r+1), ymm(2*r+1))
		if r < 5 {
			ADDQ(ldc, RDX)
		}
	}
	Label(name + "_noacc")
	if ep {
		res := R10
		Load(Param("res"), res)
		TESTQ(res, res)
		JZ(LabelRef(name + "_clamp"))
		for r := 0; r < 6; r++ {
			VADDPS(Mem{Base: res}, ymm(2*r), ymm(2*r))
			VADDPS(Mem{Base: res, Disp: 32}, ymm(2*r+1), ymm(2*r+1))
			if r < 5 {
				ADDQ(ldc, res)
			}
		}
		Label(name + "_clamp")
		Load(Param("lo"), X14)
		Load(Param("hi"), X15)
		VBROADCASTSS(X14, Y14)
		VBROADCASTSS(X15, Y15)
		for i := 0; i < 12; i++ {
			VMAXPS(ymm(i), Y14, ymm(i))
			VMINPS(ymm(i), Y15, ymm(i))
		}
	}
	for r := 0; r < 6; r++ {
		VMOVUPS(ymm(2*r), Mem{Base: c})
		VMOVUPS(ymm(2*r+1), Mem{Base: c, Disp: 32})
		if r < 5 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// panelRowsAVX2 generates the copy of 16 consecutive floats from each of n rows
// (row stride ld floats) into a 16-float-wide panel: the B packing of a row-major
// operand (pointwise convolutions, MatMul), two rows per iteration.
func panelRowsAVX2() {
	TEXT("panelRowsAVX2", NOSPLIT, "func(dst *float32, src *float32, ld int, n int)")
	Pragma("noescape")
	Doc("panelRowsAVX2 copies src[r*ld : r*ld+16] to dst[16r : 16r+16] for r < n.")
	dst, src, ld, n := RDI, RSI, RDX, RCX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("ld"), ld)
	Load(Param("n"), n)
	SHLQ(Imm(2), ld)
	MOVQ(n, RAX)
	SHRQ(Imm(1), RAX)
	JZ(LabelRef("pr_odd"))
	Label("pr_loop2")
	VMOVUPS(Mem{Base: src}, Y0)
	VMOVUPS(Mem{Base: src, Disp: 32}, Y1)
	VMOVUPS(Mem{Base: src, Index: ld, Scale: 1}, Y2)
	VMOVUPS(Mem{Base: src, Index: ld, Scale: 1, Disp: 32}, Y3)
	VMOVUPS(Y0, Mem{Base: dst})
	VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
	VMOVUPS(Y2, Mem{Base: dst, Disp: 64})
	VMOVUPS(Y3, Mem{Base: dst, Disp: 96})
	LEAQ(Mem{Base: src, Index: ld, Scale: 2}, src)
	ADDQ(Imm(128), dst)
	DECQ(RAX)
	JNZ(LabelRef("pr_loop2"))
	Label("pr_odd")
	ANDQ(Imm(1), n)
	JZ(LabelRef("pr_done"))
	VMOVUPS(Mem{Base: src}, Y0)
	VMOVUPS(Mem{Base: src, Disp: 32}, Y1)
	VMOVUPS(Y0, Mem{Base: dst})
	VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
	Label("pr_done")
	VZEROUPPER()
	RET()
}

// maxF32AVX2 generates dst[i] = max(dst[i], src[i]) over 8-float vectors with
// Go's NaN rule (a NaN in either operand gives NaN): VMAXPS returns its second
// source when either is NaN, so src goes second and lanes where dst is NaN are
// blended back from dst.
func maxF32AVX2() {
	TEXT("maxF32AVX2", NOSPLIT, "func(dst *float32, src *float32, n int)")
	Pragma("noescape")
	Doc("maxF32AVX2 sets dst[i] = max(dst[i], src[i]) for i < n, n a multiple of 8, NaN propagating.")
	dst, src, n := RDI, RSI, RCX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("n"), n)
	SHRQ(Imm(3), n)
	JZ(LabelRef("mx_done"))
	Label("mx_loop")
	VMOVUPS(Mem{Base: dst}, Y0)
	VMAXPS(Mem{Base: src}, Y0, Y1)
	VCMPPS(Imm(3), Y0, Y0, Y2) // unordered: dst lane is NaN
	VBLENDVPS(Y2, Y0, Y1, Y1)
	VMOVUPS(Y1, Mem{Base: dst})
	ADDQ(Imm(32), dst)
	ADDQ(Imm(32), src)
	DECQ(n)
	JNZ(LabelRef("mx_loop"))
	Label("mx_done")
	VZEROUPPER()
	RET()
}

// packStore8 saturating-packs the 8 int32 lanes of v (already in range) into 8
// int8 and stores them at dst.
func packStore8(v VecPhysical, x VecPhysical, tmp VecPhysical, xtmp VecPhysical, dst Mem) {
	VEXTRACTI128(Imm(1), v, xtmp)
	VPACKSSDW(xtmp, x, x)
	VPACKSSWB(x, x, x)
	MOVQ(x, dst)
	_ = tmp
}

const requantSig = "(src *int32, sstride int, dst *int8, dstride int, rows int, n8 int, "

// requantFloatAVX2: dst = int8(cvtps2dq(min(max(cvtdq2ps(src)*scale, lo), hi)) + zp)
// over rows×(8·n8) values; consts = [zp, -, -, float32bits(Min-zp), float32bits(Max-zp)].
func requantFloatAVX2() {
	TEXT("requantFloatAVX2", NOSPLIT, "func"+requantSig+"scale *float32, consts *[8]int32)")
	Pragma("noescape")
	Doc("requantFloatAVX2 requantizes int32 rows to int8 with a per-channel float32 scale (MLAS rounding).")
	src, sstride, dst, dstride, rows, n8, scale, cs := RSI, RBX, RDI, RDX, R8, R9, R10, R11
	Load(Param("src"), src)
	Load(Param("sstride"), sstride)
	Load(Param("dst"), dst)
	Load(Param("dstride"), dstride)
	Load(Param("rows"), rows)
	Load(Param("n8"), n8)
	Load(Param("consts"), cs)
	VPBROADCASTD(Mem{Base: cs}, Y13)           // zp
	VBROADCASTSS(Mem{Base: cs, Disp: 12}, Y14) // lo
	VBROADCASTSS(Mem{Base: cs, Disp: 16}, Y15) // hi
	Label("rqf_row")
	Load(Param("scale"), scale)
	XORQ(RAX, RAX) // column byte offset in dst (int32 offset = 4*RAX)
	MOVQ(n8, RCX)
	Label("rqf_col")
	VCVTDQ2PS(Mem{Base: src, Index: RAX, Scale: 4}, Y0)
	VMULPS(Mem{Base: scale}, Y0, Y0)
	VMAXPS(Y14, Y0, Y0)
	VMINPS(Y15, Y0, Y0)
	VCVTPS2DQ(Y0, Y0)
	VPADDD(Y13, Y0, Y0)
	packStore8(Y0, X0, Y1, X1, Mem{Base: dst, Index: RAX, Scale: 1})
	ADDQ(Imm(32), scale)
	ADDQ(Imm(8), RAX)
	DECQ(RCX)
	JNZ(LabelRef("rqf_col"))
	ADDQ(sstride, src)
	ADDQ(dstride, dst)
	DECQ(rows)
	JNZ(LabelRef("rqf_row"))
	VZEROUPPER()
	RET()
}

// requantFixedAVX2: TFLite double rounding, vectorised:
// x <<= max(shift,0); SRDHM via two VPMULDQ ((x·m + 2^30) >> 31, INT_MIN·INT_MIN -> INT_MAX);
// rounding right shift by max(-shift,0) (ties away from zero); clamp to
// [Min-zp, Max-zp]; + zp. consts = [zp, Min-zp, Max-zp].
func requantFixedAVX2() {
	TEXT("requantFixedAVX2", NOSPLIT, "func"+requantSig+"mult *int32, shift *int32, consts *[8]int32)")
	Pragma("noescape")
	Doc("requantFixedAVX2 requantizes int32 rows to int8 with per-channel fixed-point multipliers (TFLite double rounding).")
	src, sstride, dst, dstride, rows, n8, mult, shift, cs := RSI, RBX, RDI, RDX, R8, R9, R10, R11, R12
	Load(Param("src"), src)
	Load(Param("sstride"), sstride)
	Load(Param("dst"), dst)
	Load(Param("dstride"), dstride)
	Load(Param("rows"), rows)
	Load(Param("n8"), n8)
	Load(Param("consts"), cs)
	VPBROADCASTD(Mem{Base: cs}, Y13)          // zp
	VPBROADCASTD(Mem{Base: cs, Disp: 4}, Y14) // lo - zp
	VPBROADCASTD(Mem{Base: cs, Disp: 8}, Y15) // hi - zp
	VPCMPEQD(Y12, Y12, Y12)                   // -1
	VPSLLD(Imm(31), Y12, Y11)                 // INT_MIN lanes
	VPSRLQ(Imm(34), Y12, Y10)                 // 2^30 in each qword: (2^64-1)>>34 = 2^30-1 ... fixed below
	VPSRLQ(Imm(63), Y12, Y9)                  // qword 1
	VPADDQ(Y9, Y10, Y10)                      // 2^30
	VPSRLD(Imm(31), Y12, Y9)                  // dword 1
	Label("rqx_row")
	Load(Param("mult"), mult)
	Load(Param("shift"), shift)
	XORQ(RAX, RAX)
	MOVQ(n8, RCX)
	Label("rqx_col")
	VMOVDQU(Mem{Base: src, Index: RAX, Scale: 4}, Y0)
	VMOVDQU(Mem{Base: mult}, Y1)
	VMOVDQU(Mem{Base: shift}, Y2)
	VPXOR(Y3, Y3, Y3)
	VPMAXSD(Y3, Y2, Y3) // left = max(shift, 0)
	VPSUBD(Y2, Y3, Y2)  // right = left - shift
	VPSLLVD(Y3, Y0, Y0) // x <<= left
	VPMULDQ(Y1, Y0, Y4) // even lanes: x·m (64-bit)
	VPSRLQ(Imm(32), Y0, Y5)
	VPSRLQ(Imm(32), Y1, Y6)
	VPMULDQ(Y6, Y5, Y5) // odd lanes
	VPADDQ(Y10, Y4, Y4)
	VPADDQ(Y10, Y5, Y5)
	VPSRLQ(Imm(31), Y4, Y4) // low dword = bits 31..62
	VPSLLQ(Imm(1), Y5, Y5)  // high dword = bits 31..62
	VPBLENDD(Imm(0xAA), Y5, Y4, Y4)
	VPCMPEQD(Y11, Y0, Y5) // x == INT_MIN
	VPCMPEQD(Y11, Y1, Y6) // m == INT_MIN
	VPAND(Y6, Y5, Y5)
	VPADDD(Y5, Y4, Y4) // INT_MIN -> INT_MAX on saturation
	// rounding divide by 2^right
	VPSLLVD(Y2, Y9, Y5)     // 1 << right
	VPADDD(Y12, Y5, Y5)     // mask = (1<<right) - 1
	VPAND(Y4, Y5, Y6)       // rem
	VPSRAD(Imm(1), Y5, Y5)  // mask >> 1
	VPSRAD(Imm(31), Y4, Y7) // -1 if negative
	VPSUBD(Y7, Y5, Y5)      // thr
	VPSRAVD(Y2, Y4, Y4)     // x >> right
	VPCMPGTD(Y5, Y6, Y6)    // rem > thr
	VPSUBD(Y6, Y4, Y4)
	VPMAXSD(Y14, Y4, Y4)
	VPMINSD(Y15, Y4, Y4)
	VPADDD(Y13, Y4, Y4)
	packStore8(Y4, X4, Y5, X5, Mem{Base: dst, Index: RAX, Scale: 1})
	ADDQ(Imm(32), mult)
	ADDQ(Imm(32), shift)
	ADDQ(Imm(8), RAX)
	DECQ(RCX)
	JNZ(LabelRef("rqx_col"))
	ADDQ(sstride, src)
	ADDQ(dstride, dst)
	DECQ(rows)
	JNZ(LabelRef("rqx_row"))
	VZEROUPPER()
	RET()
}

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
	TEXT(fmt.Sprintf("depthwiseAVX2_%dx%d", nb, px), NOSPLIT, "func(in *int16, off *int64, npairs int, pstride int, ow int, w *int16, wstride int, bias *int32, out *int32, ostride int, ep *int64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("depthwiseAVX2_%dx%d computes %d channels of one output row of a depthwise convolution, %d pixels at a time.", nb, px, 16*nb, px))
	base, off, wcur, outp, x, pair, t0, wstride, npairs, pstride := RSI, RDI, R8, R10, R11, R13, RAX, R12, R9, RDX
	name := fmt.Sprintf("dw%dx%d", nb, px)
	acc := func(q, b, h int) VecPhysical { return ymm((q*nb+b)*2 + h) } // 2·nb·px <= 8
	wr := func(b, h int) VecPhysical { return ymm(8 + b*2 + h) }        // 2·nb <= 4
	tmp := func(i int) VecPhysical { return ymm(12 + i%4) }
	Load(Param("in"), base)
	Load(Param("off"), off)
	Load(Param("out"), outp)
	Load(Param("ep"), RCX)
	CMPQ(Mem{Base: RCX}, Imm(0))
	JE(LabelRef(name + "_start"))
	MOVQ(Mem{Base: RCX, Disp: 8}, outp) // int8 output cursor
	Label(name + "_start")
	Load(Param("ow"), x)
	Load(Param("wstride"), wstride)
	Load(Param("npairs"), npairs)
	Load(Param("pstride"), pstride)
	Label(name + "_pixel")
	Load(Param("bias"), RCX)
	for b := 0; b < nb; b++ {
		VMOVDQU(Mem{Base: RCX, Disp: 64 * b}, acc(0, b, 0))
		VMOVDQU(Mem{Base: RCX, Disp: 64*b + 32}, acc(0, b, 1))
		for q := 1; q < px; q++ {
			VMOVDQA(acc(0, b, 0), acc(q, b, 0))
			VMOVDQA(acc(0, b, 1), acc(q, b, 1))
		}
	}
	Load(Param("w"), wcur)
	XORQ(pair, pair)
	Label(name + "_pair")
	MOVQ(Mem{Base: off, Index: pair, Scale: 8}, t0)
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
				VMAXPS(Mem{Base: RCX, Disp: 64}, v, v)
				VMINPS(Mem{Base: RCX, Disp: 96}, v, v)
				VCVTPS2DQ(v, v)
				VPADDD(Mem{Base: RCX, Disp: 32}, v, v)
			}
			VPACKSSDW(hi, lo, lo)
			VPACKSSWB(lo, lo, lo)
			VPERMQ(Imm(0x08), lo, lo)
			VMOVDQU(lo.AsX(), Mem{Base: outp, Disp: 16 * b})
		}
		ADDQ(Mem{Base: RCX, Disp: 16}, outp)
	}
	Label(name + "_next")
	for q := 0; q < px; q++ {
		ADDQ(pstride, base)
	}
	SUBQ(Imm(uint64(px)), x)
	JNZ(LabelRef(name + "_pixel"))
	VZEROUPPER()
	RET()
}

// dwPairsAVX2 builds one row of the depthwise pair buffer: for each of n
// pixels and each 16-channel block, the int16 pairs (src[x][c], src[x+dil][c])
// for c in {0-3,8-11} then {4-7,12-15} (64 bytes), from a row of cp-channel
// int8 pixels (src must hold n+dil pixels).
func dwPairsAVX2() {
	TEXT("dwPairsAVX2", NOSPLIT, "func(dst *int16, src *int8, n int, cp int, dil int)")
	Pragma("noescape")
	Doc("dwPairsAVX2 builds one row of the depthwise int16 pair buffer.")
	dst, src, n, cp, part := RDI, RSI, RCX, RDX, R8
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("n"), n)
	Load(Param("cp"), cp)
	Load(Param("dil"), part)
	IMULQ(cp, part) // partner byte offset
	Label("dwp_pixel")
	XORQ(RAX, RAX)
	Label("dwp_block")
	LEAQ(Mem{Base: src, Index: RAX, Scale: 1}, R9)
	VPMOVSXBW(Mem{Base: R9}, Y0)
	VPMOVSXBW(Mem{Base: R9, Index: part, Scale: 1}, Y1)
	VPUNPCKLWD(Y1, Y0, Y2)
	VPUNPCKHWD(Y1, Y0, Y3)
	VMOVDQU(Y2, Mem{Base: dst})
	VMOVDQU(Y3, Mem{Base: dst, Disp: 32})
	ADDQ(Imm(64), dst)
	ADDQ(Imm(16), RAX)
	CMPQ(RAX, cp)
	JB(LabelRef("dwp_block"))
	ADDQ(cp, src)
	DECQ(n)
	JNZ(LabelRef("dwp_pixel"))
	VZEROUPPER()
	RET()
}

// depthwiseF32AVX2 computes nb 8-channel blocks of one float32 output row of a
// depthwise convolution on a zero-padded NHWC input with cp channels:
// out[x][c] = bias[c] + Σ_t in[x·pstride + off[t] + c] · w[t][c] (VFMADD231PS),
// weights [taps][cp] (row stride wstride bytes), output pixel stride ostride bytes.
func depthwiseF32AVX2(nb int) {
	TEXT(fmt.Sprintf("depthwiseF32AVX2_%d", nb), NOSPLIT, "func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("depthwiseF32AVX2_%d computes %d channels of one float32 output row of a depthwise convolution.", nb, 8*nb))
	base, off, wcur, outp, x, tap, t0, wstride, taps := RSI, RDI, R8, R10, R11, R13, RAX, R12, R9
	name := fmt.Sprintf("dwf%d", nb)
	Load(Param("in"), base)
	Load(Param("off"), off)
	Load(Param("out"), outp)
	Load(Param("ow"), x)
	Load(Param("wstride"), wstride)
	Load(Param("taps"), taps)
	Label(name + "_pixel")
	Load(Param("bias"), RCX)
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: RCX, Disp: 32 * b}, ymm(b))
	}
	Load(Param("w"), wcur)
	XORQ(tap, tap)
	Label(name + "_tap")
	MOVQ(Mem{Base: off, Index: tap, Scale: 8}, t0)
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
	VZEROUPPER()
	RET()
}

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
	tileInit(name, mr, nv, true, acc, []VecPhysical{Z24, Z25})
	MOVL(U32(0x80808080), EAX)
	VPBROADCASTD(EAX, Z31)
	bs := []GPPhysical{b0, b1}[:nv]
	step := func(pf bool) func() {
		return func() {
			VMOVDQU32(Mem{Base: b0}, Z24)
			if nv == 2 {
				VMOVDQU32(Mem{Base: b1}, Z25)
			}
			if pf {
				// a line of weights a later tile reads (ep.pf,
				// ep.pfStep: placed by the driver, qgemm_prefetch.go),
				// into L2
				PREFETCHT1(Mem{Base: R14})
				ADDQ(R15, R14)
			}
			for r := 0; r < mr; r++ {
				t := zmm(26 + r%4)
				VPBROADCASTD(rowAddr(r, bases, lda, lda3), t)
				VPXORD(Z31, t, t)
				for v := 0; v < nv; v++ {
					vpdpbusd(zmm(24+v), t, acc(r, v))
				}
			}
		}
	}
	// ep.pf (offset 56): where to prefetch from, or nil. The two loops
	// differ only by the prefetches.
	Load(Param("ep"), R14)
	MOVQ(Mem{Base: R14, Disp: 64}, R15)
	MOVQ(Mem{Base: R14, Disp: 56}, R14)
	TESTQ(R14, R14)
	JZ(LabelRef(name + "_nopf"))
	segments(name+"p", k, "k4", bases[:(mr+3)/4], bs, step(true))
	JMP(LabelRef(name + "_epi"))
	Label(name + "_nopf")
	segments(name, k, "k4", bases[:(mr+3)/4], bs, step(false))
	Label(name + "_epi")
	Load(Param("ep"), R12)
	CMPQ(Mem{Base: R12}, Imm(0))
	JNE(LabelRef(name + "_requant"))
	tileStore(mr, nv, true, acc)
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
			clampCvtZP(x, Z26, Z27, Z28)
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
	acc := func(r, v int) VecPhysical { return ymm(2*r + v) }
	tileInit(name, mr, 2, false, acc, []VecPhysical{Y8, Y9})
	int16Ones()
	segments(name, k, "k4", bases, []GPPhysical{b0}, func() {
		VMOVDQU(Mem{Base: b0}, Y8)
		VMOVDQU(Mem{Base: b0, Disp: 32}, Y9)
		for r := 0; r < mr; r++ {
			VPBROADCASTD(rowAddr(r, bases, lda, lda3), Y11)
			VPABSB(Y11, Y12)
			for v := 0; v < 2; v++ {
				signTrickMAC(Y11, Y12, ymm(8+v), ymm(13+v), acc(r, v))
			}
		}
	})
	tileStore(mr, 2, false, acc)
}

// signTrickMAC emits acc += Σ a·w over each group of 4 int8 products, exact
// for weights in [-127, 127]: t = sign(w, a) (VPSIGNB), VPMADDUBSW with |a|
// (aAbs), VPMADDWD with the int16 ones of Y10 (int16Ones), VPADDD.
func signTrickMAC(a, aAbs, w, t, acc VecPhysical) {
	VPSIGNB(a, w, t)
	VPMADDUBSW(t, aAbs, t)
	VPMADDWD(Y10, t, t)
	VPADDD(t, acc, acc)
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
	acc := func(r, v int) VecPhysical { return ymm(2*r + v) }
	tileInit(name, mr, 2, false, acc, []VecPhysical{Y12, Y13})
	segments(name, k, "k2", bases[:(mr+3)/4], []GPPhysical{b0}, func() {
		VMOVDQU(Mem{Base: b0}, Y12)
		VMOVDQU(Mem{Base: b0, Disp: 32}, Y13)
		for r := 0; r < mr; r++ {
			VPBROADCASTD(rowAddr(r, bases, lda, lda3), Y14)
			VPMADDWD(Y12, Y14, Y15)
			VPADDD(Y15, acc(r, 0), acc(r, 0))
			VPMADDWD(Y13, Y14, Y15)
			VPADDD(Y15, acc(r, 1), acc(r, 1))
		}
	})
	tileStore(mr, 2, false, acc)
}

// widenAVX2 sign-extends n int8 (a multiple of 16) to int16.
func widenAVX2() {
	kernel("widenAVX2", "func(dst *int16, src *int8, n int)",
		"widenAVX2 sign-extends n int8 values (a multiple of 16) to int16.")
	loadArgs("dst src n", RDI, RSI, RCX)
	blocks("widen", RCX, 4, nil, func() {
		VPMOVSXBW(Mem{Base: RSI}, Y0)
		VMOVDQU(Y0, Mem{Base: RDI})
		ADDQ(Imm(16), RSI)
		ADDQ(Imm(32), RDI)
	})
}

// The int32 tile of the int8 GEMM kernels: mr rows of nv vectors (zmm when
// wide, ymm otherwise), row stride 128 bytes in c.

// tileInit loads the tile from c (accum != 0) or sets every row to the bias
// row (loaded into the nv registers bias), then falls through to name_init.
func tileInit(name string, mr, nv int, wide bool, acc func(r, v int) VecPhysical, bias []VecPhysical) {
	load, move, vb := tileMoves(wide)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_bias"))
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			load(Mem{Base: R11, Disp: r*128 + v*vb}, acc(r, v))
		}
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_bias")
	Load(Param("bias"), R11)
	for v := 0; v < nv; v++ {
		load(Mem{Base: R11, Disp: vb * v}, bias[v])
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			move(bias[v], acc(r, v))
		}
	}
	Label(name + "_init")
}

// tileStore stores the tile to c and returns.
func tileStore(mr, nv int, wide bool, acc func(r, v int) VecPhysical) {
	load, _, vb := tileMoves(wide)
	Load(Param("c"), R11)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			load(acc(r, v), Mem{Base: R11, Disp: r*128 + v*vb})
		}
	}
	ret()
}

// tileMoves returns the moves of the tile and its vector size in bytes.
func tileMoves(wide bool) (load, move func(src, dst Op), vb int) {
	if wide {
		return movesI512.load, movesI512.move, 64
	}
	return movesI256.load, movesI256.move, 32
}

// segments emits the reduction loops: nseg runs of kArg steps (k holds the
// first count; none when it is 0), step emitting one. After each step the A
// row bases advance by 4 bytes and the B pointers bs by 64; between runs A
// moves by sstride (less what the steps moved: B is contiguous). Ends at
// name_done.
func segments(name string, k GPPhysical, kArg string, bases, bs []GPPhysical, step func()) {
	loadArgs("nseg sstride", R12, R13)
	MOVQ(k, RAX)
	SHLQ(Imm(2), RAX)
	SUBQ(RAX, R13)
	TESTQ(k, k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_seg")
	Load(Param(kArg), k)
	Label(name + "_loop")
	step()
	for _, a := range bases {
		ADDQ(Imm(4), a)
	}
	for _, b := range bs {
		ADDQ(Imm(64), b)
	}
	loopBack(k, name+"_loop")
	for _, a := range bases {
		ADDQ(R13, a)
	}
	loopBack(R12, name+"_seg")
	Label(name + "_done")
}

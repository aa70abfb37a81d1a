package main

// The channels-last row-tile kernels of kernels.SgemmRows with a software
// prefetch of the next weight block (the "rowspf" set, asm_rows_pf_amd64.s;
// thirteenth session).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemmRowsPfKernels generates the AVX-512 6x16 ... 6x64 row-tile kernels
// of sgemmRowsKernel (sgemm.go) that also prefetch, every four reduction
// steps, one 256-byte block at pf into L2 (PREFETCHT1), pf advancing 256
// bytes, until pfn blocks are asked for over all ntiles tiles (0: none).
// SgemmRows points pf at the weight block it runs next: with weights larger
// than L2 (ResNet-50's layer4: 2-9 MB per convolution on 7x7 maps, eight row
// tiles per block) every block otherwise comes from memory on its first
// tile, and a block's panel rows are 1-1.2 MB apart, so the hardware
// prefetchers, which stay within a page, start late on each. The
// arithmetic is sgemmRowsKernel's: a prefetch changes no value and never
// faults.
func sgemmRowsPfKernels() {
	for nv := 1; nv <= 4; nv++ {
		sgemmRowsPfKernel(fmt.Sprintf("sgemmAVX512_6x%drowsPf", 16*nv), nv)
	}
}

// sgemmRowsPfKernel generates one 6 × 16·nv zmm kernel: sgemmRowsKernel's
// arguments, then pf and pfn.
func sgemmRowsPfKernel(name string, nv int) {
	const width = 64
	vec := zmm
	kernel(name, "func(k int, a *float32, lda int, off *int32, b *float32, bias *float32, c *float32, ldc int, accum int, res *float32, lo float32, hi float32, ntiles int, pf *float32, pfn int)",
		fmt.Sprintf("%s is the AVX-512 6x%d float32 micro-kernel with A rows read in place at a + r*lda + off[p], initialised from C or the bias, with the fused epilogue, prefetching pfn 256-byte blocks at pf.", name, 16*nv))
	k, b, off := RCX, RDI, RAX
	pfp, pfn := R14, R15
	loadArgs("pf pfn", pfp, pfn)
	prefetch := func() {
		TESTQ(pfn, pfn)
		JZ(LabelRef(name + "_nopf"))
		for l := 0; l < 4; l++ {
			PREFETCHT1(Mem{Base: pfp, Disp: 64 * l})
		}
		ADDQ(U32(256), pfp)
		DECQ(pfn)
		Label(name + "_nopf")
	}
	rows := []GPPhysical{RSI, RBX, R9, R10, R11, R12}
	idx := []GPPhysical{R13, R8}
	acc := func(r, v int) VecPhysical { return vec(r*nv + v) }
	breg := func(v int) VecPhysical { return vec(6*nv + v) }
	tmp := func(i int) VecPhysical { return vec(7*nv + i) }
	Label(name + "_tile")
	Load(Param("k"), k)
	Load(Param("a"), rows[0])
	Load(Param("lda"), R8)
	SHLQ(Imm(2), R8)
	for r := 1; r < 6; r++ {
		LEAQ(Mem{Base: rows[r-1], Index: R8, Scale: 1}, rows[r])
	}
	loadArgs("off b accum", off, b, RDX)
	TESTQ(RDX, RDX)
	JZ(LabelRef(name + "_fresh"))
	loadArgs("c ldc", R13, R8)
	SHLQ(Imm(2), R8)
	tileRows(R13, R8, nv, width, func(m Mem, r, v int) { VMOVUPS(m, acc(r, v)) })
	JMP(LabelRef(name + "_start"))
	Label(name + "_fresh")
	Load(Param("bias"), RDX)
	accFromBias(name, RDX, nv, width, acc)
	Label(name + "_start")
	gatherFMALoop(name, k, off, b, rows, idx, nv, width, acc, breg, tmp, prefetch)
	c, ldc, res := RDI, RDX, RSI
	loadArgs("c ldc", c, ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("res"), res)
	TESTQ(res, res)
	JZ(LabelRef(name + "_clamp"))
	tileRows(res, ldc, nv, width, func(m Mem, r, v int) { VADDPS(m, acc(r, v), acc(r, v)) })
	Label(name + "_clamp")
	VBROADCASTSS(paramAddr("lo"), tmp(0))
	VBROADCASTSS(paramAddr("hi"), tmp(1))
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			VMAXPS(acc(r, v), tmp(0), acc(r, v))
			VMINPS(acc(r, v), tmp(1), acc(r, v))
		}
	}
	tileRows(c, ldc, nv, width, func(m Mem, r, v int) { VMOVUPS(acc(r, v), m) })
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
	ret()
}

package main

// AVX-512 float32 micro-kernels of the dense packed-weight GEMM (the Linear
// layers of transformer encoders, kernels.SgemmDense): the "dense" set,
// asm_dense_amd64.s (thirteenth session).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// denseKernels generates the mr×32 tiles, mr = 1 … 12. A is read in place,
// row r at a + r·lda, its element broadcast once per step into one of four
// rotating registers and used by two FMAs; B is a 32-wide panel [k][32] read
// as two zmm per step. A 12-row step is 14 loads for 24 FMAs, and 128 bytes
// of B: half the B bytes per FMA of the 6x64 rows kernel, whose 256 bytes a
// step came from L2 (its weight panel of 64 columns by 384-512 steps did not
// fit L1 across the row tiles). With 12x32 a panel block of 256 steps is
// 32 KB and stays in L1 while every row tile runs over it. The broadcast
// inside the FMA (the {1to16} form, no register) measured 165-180 GFLOP/s
// of thread CPU time against 183-192 for the register broadcast on ViT-B/16's
// shapes (BenchmarkSgemmTokens; it loads A twice per row and step). mr < 12
// is the last tile of a token count that is not a multiple of 12 (197 =
// 16·12 + 5), run in place with no wasted rows.
func denseKernels() {
	for mr := 1; mr <= 12; mr++ {
		denseKernel(mr)
	}
}

// denseKernel generates an mr×32 tile kernel. The accumulators start from C
// (accum != 0: a later block of the reduction) or the bias (0 when nil); the
// epilogue adds the residual (none when nil). mask selects the columns of the
// panel that exist (bit j: column j; the low 16 bits are the first vector):
// loads and stores of C, the bias and the residual are masked, so a partial
// last panel needs no scratch tile, and masked-off lanes are never read or
// written. It runs ntiles tiles, mr rows apart in A, C and the residual, over
// the same panel. Every four reduction steps it prefetches (PREFETCHT1, into L2) two
// 64-byte lines at pf, pf advancing 128 bytes, until pfn pairs are asked for
// (0: none): the driver points pf at the next panel block, which the first
// tile on it would otherwise wait for from memory.
func denseKernel(mr int) {
	name := fmt.Sprintf("sgemmAVX512_%dx32dense", mr)
	kernel(name, "func(k int, a *float32, lda int, b *float32, bias *float32, c *float32, ldc int, accum int, res *float32, mask uint32, ntiles int, pf *float32, pfn int)",
		fmt.Sprintf("%s is the AVX-512 %dx32 float32 tile of the dense GEMM: A row r at a + r*lda, broadcast in the FMA, B a [k][32] panel, columns masked by mask, initialised from C or the bias, plus the residual; it prefetches pfn pairs of lines at pf.", name, mr))
	k, b := RCX, RDI
	bases := []GPPhysical{RSI, RBX, R9}
	lda, lda3 := R10, R11
	pfp, pfn := R14, R15
	masks := []Op{K1, K2}
	acc := func(r, v int) VecPhysical { return zmm(2*r + v) }
	bv := func(u, v int) VecPhysical { return zmm(24 + 2*(u%2) + v) }
	nb := (mr + 3) / 4 // base registers in use

	Load(Param("mask"), RAX)
	KMOVW(EAX, K1)
	SHRL(Imm(16), EAX)
	KMOVW(EAX, K2)
	loadArgs("pf pfn", pfp, pfn)

	Label(name + "_tile")
	loadArgs("k a lda b", k, bases[0], lda, b)
	SHLQ(Imm(2), lda)
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	for i := 1; i < nb; i++ {
		LEAQ(Mem{Base: bases[i-1], Index: lda, Scale: 4}, bases[i])
	}
	// rows walks C (or the bias, or the residual) a row at a time.
	row := func(p, stride GPPhysical, op func(m Mem, r, v int)) {
		for r := 0; r < mr; r++ {
			for v := 0; v < 2; v++ {
				op(Mem{Base: p, Disp: 64 * v}, r, v)
			}
			if r < mr-1 {
				ADDQ(stride, p)
			}
		}
	}
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_fresh"))
	loadArgs("c ldc", R12, R13)
	SHLQ(Imm(2), R13)
	row(R12, R13, func(m Mem, r, v int) { VMOVUPS_Z(m, masks[v], acc(r, v)) })
	JMP(LabelRef(name + "_start"))
	Label(name + "_fresh")
	Load(Param("bias"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_zero"))
	for v := 0; v < 2; v++ {
		VMOVUPS_Z(Mem{Base: RAX, Disp: 64 * v}, masks[v], acc(0, v))
	}
	JMP(LabelRef(name + "_copy"))
	Label(name + "_zero")
	for v := 0; v < 2; v++ {
		VXORPS(acc(0, v), acc(0, v), acc(0, v))
	}
	Label(name + "_copy")
	for r := 1; r < mr; r++ {
		for v := 0; v < 2; v++ {
			VMOVAPS(acc(0, v), acc(r, v))
		}
	}
	Label(name + "_start")

	step := func(u int) {
		for v := 0; v < 2; v++ {
			VMOVUPS(Mem{Base: b, Disp: 128*u + 64*v}, bv(u, v))
		}
		for r := 0; r < mr; r++ {
			m := rowAddr(r, bases, lda, lda3)
			m.Disp += 4 * u
			t := zmm(28 + r%4)
			VBROADCASTSS(m, t)
			for v := 0; v < 2; v++ {
				VFMADD231PS(bv(u, v), t, acc(r, v))
			}
		}
	}
	kLoop(name, k, step, func(n int) {
		if n == 4 {
			TESTQ(pfn, pfn)
			JZ(LabelRef(name + "_nopf"))
			PREFETCHT1(Mem{Base: pfp})
			PREFETCHT1(Mem{Base: pfp, Disp: 64})
			ADDQ(Imm(128), pfp)
			DECQ(pfn)
			Label(name + "_nopf")
		}
		for i := 0; i < nb; i++ {
			ADDQ(Imm(uint64(4*n)), bases[i])
		}
		ADDQ(U32(uint64(128*n)), b)
	})

	c, ldc, res := R12, R13, RAX
	loadArgs("ldc res", ldc, res)
	SHLQ(Imm(2), ldc)
	TESTQ(res, res)
	JZ(LabelRef(name + "_store"))
	row(res, ldc, func(m Mem, r, v int) { VADDPS(m, acc(r, v), masks[v], acc(r, v)) })
	Label(name + "_store")
	Load(Param("c"), c)
	row(c, ldc, func(m Mem, r, v int) { VMOVUPS(acc(r, v), masks[v], m) })

	// Next tile: a, c and res move mr rows on.
	Load(Param("ntiles"), RDX)
	DECQ(RDX)
	JZ(LabelRef(name + "_ret"))
	Store(RDX, Param("ntiles"))
	Load(Param("lda"), RDX)
	IMUL3Q(Imm(uint64(4*mr)), RDX, RDX)
	ADDQ(RDX, paramAddr("a"))
	Load(Param("ldc"), RDX)
	IMUL3Q(Imm(uint64(4*mr)), RDX, RDX)
	ADDQ(RDX, paramAddr("c"))
	Load(Param("res"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_tile"))
	ADDQ(RDX, paramAddr("res"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	ret()
}

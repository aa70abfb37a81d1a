package main

// float32 row-tile micro-kernels whose six A rows and six C rows are given
// by per-row offset tables (gen_rows_idx.go): the grouped and narrow
// convolutions of runtime/conv_grouped.go.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemmRowsIdxKernels generates the indexed row-tile kernels: AVX2 6x16, two
// ymm per row (12 accumulators), and AVX-512 6x16, one zmm per row (6
// accumulators, one broadcast per FMA instead of per two). The zmm tile
// measured 34-39 GMAC/s of thread CPU time against 46-55 for the ymm one on
// the AMD EPYC (AVX-512 on 256-bit units) of the earlier sessions
// (BenchmarkGroupIdxTiles), and is faster on a CPU whose 512-bit FMA units
// are full width (the Intel Xeon of the eleventh session): kernels.Detect
// picks it only there (zmmFullWidth).
//
// The 32-, 48- and 64-wide AVX-512 tiles (12, 18 and 24 accumulators) run the
// wide panels of PackRowsB: convolutions with few input channels read in
// place (the 3-channel stems from an NCHW input, runtime/conv_stem.go), where
// six accumulators of a 6x16 tile leave the FMA units waiting on their
// latency (twelfth session).
func sgemmRowsIdxKernels() {
	sgemmRowsIdxKernel("sgemmAVX2_6x16rowsIdx", "AVX2+FMA", ymm, 32, 2)
	sgemmRowsIdxKernel("sgemmAVX512_6x16rowsIdx", "AVX-512", zmm, 64, 1)
	sgemmRowsIdxKernel("sgemmAVX512_6x32rowsIdx", "AVX-512", zmm, 64, 2)
	sgemmRowsIdxKernel("sgemmAVX512_6x48rowsIdx", "AVX-512", zmm, 64, 3)
	sgemmRowsIdxKernel("sgemmAVX512_6x64rowsIdx", "AVX-512", zmm, 64, 4)
	sgemmStemKernel("sgemmAVX512_12x16stemS2", 2, 1)
	sgemmStemKernel("sgemmAVX512_12x16stemS1", 1, 1)
	sgemmStemKernel("sgemmAVX512_12x32stemS2", 2, 2)
	sgemmStemKernel("sgemmAVX512_12x32stemS1", 1, 2)
}

// sgemmRowsIdxKernel generates a 6 × (lanes·nv) micro-kernel of the
// channels-last implicit GEMM in which row r of a tile reads A at
// a[aoff[r] + off[p]] and writes C at c[coff[r] + j] (the residual, when
// not nil, is read at res[coff[r] + j]). The rows of a tile need not be
// evenly spaced: the output pixels of a convolution are taken one after the
// other across the padding columns of its laid-out input (no wasted rows, no
// banded copy), and a short last tile repeats its last row (the same values
// stored twice to the same place). The accumulators start from the bias (0
// when nil); the epilogue adds the residual and clamps to [lo, hi]. It runs
// ntiles tiles, the tables advancing six entries per tile. vec numbers the
// vector registers: 6·nv accumulators, nv for B, two broadcast temporaries.
//
// Every four reduction steps it also prefetches (PREFETCHT1, into L2) one
// 256-byte block at pf, pf advancing 256 bytes, until pfn blocks are asked
// for (over all ntiles tiles; 0: none): SgemmRowsIdx points pf at the next
// weight panel, which the first tile on that panel would otherwise wait for
// from memory (ResNet-50's stride-2 projection 1024 → 2048 onto 7x7 maps:
// 8 MB of weights, nine tiles per 256 KB panel; twelfth session). A
// prefetch changes no value and never faults.
func sgemmRowsIdxKernel(name, isa string, vec func(int) VecPhysical, width, nv int) {
	kernel(name, "func(k int, a *float32, aoff *int32, off *int32, b *float32, bias *float32, c *float32, coff *int32, res *float32, lo float32, hi float32, ntiles int, pf *float32, pfn int)",
		fmt.Sprintf("%s is the %s 6x%d float32 micro-kernel with A row r at a + aoff[r] + off[p] and C row r at c + coff[r], initialised from the bias, with the fused epilogue, prefetching pfn 256-byte blocks at pf.", name, isa, width/4*nv))
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
	idxTileStart(name, k, off, b, rows, nv, width, acc)
	gatherFMALoop(name, k, off, b, rows, idx, nv, width, acc, breg, tmp, prefetch)
	idxTileStore(name, nv, width, acc, tmp)
}

// idxTileStart generates the start of an indexed row tile (sgemmRowsIdxKernel,
// the paired and the reduced tiles): the six A row pointers a + aoff[r], the
// offsets, B and bias arguments, and the accumulators from the bias.
func idxTileStart(name string, k, off, b GPPhysical, rows []GPPhysical, nacc, width int, acc func(r, v int) VecPhysical) {
	Label(name + "_tile")
	Load(Param("k"), k)
	Load(Param("aoff"), RDX)
	Load(Param("a"), R13)
	for r := 0; r < 6; r++ {
		MOVLQSX(Mem{Base: RDX, Disp: 4 * r}, rows[r])
		LEAQ(Mem{Base: R13, Index: rows[r], Scale: 4}, rows[r])
	}
	loadArgs("off b bias", off, b, RDX)
	accFromBias(name, RDX, nacc, width, acc)
}

// idxTileStore generates the end of an indexed row tile (sgemmRowsIdxKernel,
// sgemmRowsPairKernel): the residual rows gathered at coff, the clamp, the
// store of the six rows at coff and the step to the next tile.
func idxTileStore(name string, nv, width int, acc func(r, v int) VecPhysical, tmp func(i int) VecPhysical) {
	c, coff, res, row := RDI, R8, RSI, RDX
	loadArgs("c coff res", c, coff, res)
	TESTQ(res, res)
	JZ(LabelRef(name + "_clamp"))
	for r := 0; r < 6; r++ {
		MOVLQSX(Mem{Base: coff, Disp: 4 * r}, row)
		for v := 0; v < nv; v++ {
			VADDPS(Mem{Base: res, Index: row, Scale: 4, Disp: width * v}, acc(r, v), acc(r, v))
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
		MOVLQSX(Mem{Base: coff, Disp: 4 * r}, row)
		for v := 0; v < nv; v++ {
			VMOVUPS(acc(r, v), Mem{Base: c, Index: row, Scale: 4, Disp: width * v})
		}
	}
	// Next tile: both tables move six entries on.
	Load(Param("ntiles"), RDX)
	DECQ(RDX)
	JZ(LabelRef(name + "_ret"))
	Store(RDX, Param("ntiles"))
	ADDQ(Imm(24), paramAddr("aoff"))
	ADDQ(Imm(24), paramAddr("coff"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	ret()
}

// sgemmStemKernel generates the 12 × 16·nv AVX-512 tile of the stems
// (MobileNetV3's 3 → 16 at stride 2; YOLOv3-tiny's 3 → 16 at stride 1,
// YOLOv5's 6x6/2 3 → 32 and YOLOv4-tiny's 3 → 32 3x3/2, fifteenth session):
// row r of a tile is output pixel r of a run of consecutive pixels of one
// output row, whose A is xs·r floats on from the run's first (a convolution
// of stride xs reading its NCHW input in place), so one base register and a
// displacement address all twelve rows (the indexed 6-row tiles need a
// register per row and have half the accumulators: with 16 columns their
// FMA latency, not the units, bounded them). Step p broadcasts
// a[off[p] + xs·r]; C row r is at c + r·ldc floats. The accumulators start
// from the bias; the epilogue clamps to [lo, hi]. It runs ntiles tiles, each
// 12·xs floats of A and 12·ldc of C on from the last. Registers: 12·nv
// accumulators, nv for B, two broadcast temporaries, lo and hi (nv ≤ 2).
func sgemmStemKernel(name string, xs, nv int) {
	kernel(name, "func(k int, a *float32, off *int32, b *float32, bias *float32, c *float32, ldc int, lo float32, hi float32, ntiles int)",
		fmt.Sprintf("%s is the AVX-512 12x%d float32 tile of a stride-%d stem: A row r at a + %dr + off[p], C row r at c + r·ldc, initialised from the bias, clamped.", name, 16*nv, xs, xs))
	acc := func(r, v int) VecPhysical { return zmm(r*nv + v) }
	breg := func(v int) VecPhysical { return zmm(12*nv + v) }
	tmp := func(i int) VecPhysical { return zmm(13*nv + i) }
	lov, hiv := zmm(13*nv+2), zmm(13*nv+3)
	k, a, off, b, c := RCX, RSI, RAX, RDI, R8
	idx := []GPPhysical{R9, R10}
	VBROADCASTSS(paramAddr("lo"), lov)
	VBROADCASTSS(paramAddr("hi"), hiv)
	loadArgs("a c", a, c)
	Label(name + "_tile")
	Load(Param("k"), k)
	loadArgs("off b bias", off, b, RDX)
	TESTQ(RDX, RDX)
	JZ(LabelRef(name + "_zero"))
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: RDX, Disp: 64 * v}, acc(0, v))
	}
	JMP(LabelRef(name + "_init"))
	Label(name + "_zero")
	for v := 0; v < nv; v++ {
		VXORPS(acc(0, v), acc(0, v), acc(0, v))
	}
	Label(name + "_init")
	for r := 1; r < 12; r++ {
		for v := 0; v < nv; v++ {
			VMOVAPS(acc(0, v), acc(r, v))
		}
	}
	step := func(p int) {
		x := idx[p%2]
		MOVLQSX(Mem{Base: off, Disp: 4 * p}, x)
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: 64 * (nv*p + v)}, breg(v))
		}
		for r := 0; r < 12; r++ {
			t := tmp(r % 2)
			VBROADCASTSS(Mem{Base: a, Index: x, Scale: 4, Disp: 4 * xs * r}, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(breg(v), t, acc(r, v))
			}
		}
	}
	kLoop(name, k, step, func(n int) {
		ADDQ(Imm(uint64(4*n)), off)
		ADDQ(U32(uint64(64*nv*n)), b)
	})
	Load(Param("ldc"), R11)
	SHLQ(Imm(2), R11)
	MOVQ(c, R12)
	for r := 0; r < 12; r++ {
		for v := 0; v < nv; v++ {
			VMAXPS(acc(r, v), lov, acc(r, v))
			VMINPS(acc(r, v), hiv, acc(r, v))
			VMOVUPS(acc(r, v), Mem{Base: R12, Disp: 64 * v})
		}
		if r < 11 {
			ADDQ(R11, R12)
		}
	}
	// Next tile: A 12·xs floats on, C twelve rows on.
	ADDQ(Imm(uint64(48*xs)), a)
	ADDQ(R11, R12)
	MOVQ(R12, c)
	Load(Param("ntiles"), RDX)
	DECQ(RDX)
	JZ(LabelRef(name + "_ret"))
	Store(RDX, Param("ntiles"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	ret()
}

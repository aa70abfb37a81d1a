package main

// The paired indexed row tile of the grouped convolutions (thirteenth
// session): two groups of 16 output channels in one 6-row tile.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemmRowsPairKernels generates sgemmAVX512_6x16x2rowsIdx.
func sgemmRowsPairKernels() {
	sgemmRowsPairKernel("sgemmAVX512_6x16x2rowsIdx")
}

// sgemmRowsPairKernel generates the 6×(16+16) AVX-512 tile of two
// consecutive 16-channel groups of a grouped convolution: row r of group 0
// reads A at a[aoff[r] + off[p]], of group 1 at a[aoff[r] + off[p] + dc]
// (its input channels, dc on), and the two groups' outputs are the two
// 16-lane halves of C row r at c + coff[r]. The 6x16 indexed tile of one
// group has six accumulators, too few to cover the FMA latency on a CPU
// with full-width 512-bit units (BenchmarkGroupIdxTiles: 59-72 GMAC/s of
// thread CPU time, against 79-102 for the 12 accumulators of a 6x32 tile);
// two groups in one tile have twelve, with no block-diagonal zeros (a
// merged block of two groups would run twice the reduction). B is the two
// groups' [k][16] panels interleaved, [k][32]. The accumulators start from
// the bias (32 floats; 0 when nil); the epilogue adds the residual (read at
// res + coff[r]) and clamps to [lo, hi]. It runs ntiles tiles, the tables
// advancing six entries per tile.
func sgemmRowsPairKernel(name string) {
	kernel(name, "func(k int, a *float32, aoff *int32, off *int32, dc int, b *float32, bias *float32, c *float32, coff *int32, res *float32, lo float32, hi float32, ntiles int)",
		name+" is the AVX-512 6x(16+16) float32 tile of two groups: A row r at a + aoff[r] + off[p] (+ dc for the second group), C row r at c + coff[r], initialised from the bias, with the fused epilogue.")
	const nv, width = 2, 64
	k, b, off := RCX, RDI, RAX
	rows := []GPPhysical{RSI, RBX, R9, R10, R11, R12}
	idx := []GPPhysical{R13, R8}
	idx2 := []GPPhysical{R14, R15}
	acc := func(r, v int) VecPhysical { return zmm(r*nv + v) }
	breg := func(v int) VecPhysical { return zmm(12 + v) }
	tmp := func(i int) VecPhysical { return zmm(14 + i) }
	idxTileStart(name, k, off, b, rows, nv, width, acc)
	dc := paramAddr("dc")
	step := func(p int) {
		x, x2 := idx[p%2], idx2[p%2]
		MOVLQSX(Mem{Base: off, Disp: 4 * p}, x)
		MOVQ(x, x2)
		ADDQ(dc, x2)
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: width * (nv*p + v)}, breg(v))
		}
		for r := 0; r < 6; r++ {
			t0, t1 := tmp(r%2), tmp(2+r%2)
			VBROADCASTSS(Mem{Base: rows[r], Index: x, Scale: 4}, t0)
			VFMADD231PS(breg(0), t0, acc(r, 0))
			VBROADCASTSS(Mem{Base: rows[r], Index: x2, Scale: 4}, t1)
			VFMADD231PS(breg(1), t1, acc(r, 1))
		}
	}
	kLoop(name, k, step, func(n int) {
		ADDQ(Imm(uint64(4*n)), off)
		ADDQ(U32(uint64(n*width*nv)), b)
	})
	idxTileStore(name, nv, width, acc, tmp)
}

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
	sgemmRowsBody(name, vec, width, nv, prefetch)
}

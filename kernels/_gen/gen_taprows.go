package main

// The tap-rows GEMM tiles of QAT's shifted weight gradient (kernels.SgemmTapRowsF32):
// C[r][j] (+)= Σ_p x[off[r]+p] · B[p][j], the six rows of A read in place from the
// padded image at their taps' offsets (one base pointer advanced along p, six
// fixed index registers), B packed 16-column panels (dy transposed). Each element
// is one running FMA sum over p from zero, then added to C when accum, as in the
// packed kernels (sgemmAVX512_*x32), so the result is that GEMM's transposed, bit
// for bit. Part of the "qattr" set (asm_qattr_amd64.s).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func tapRowsKernels() {
	for _, np := range []int{1, 2} {
		for mr := 1; mr <= 6; mr++ {
			tapRowsKernel(mr, np)
		}
	}
}

// tapRowsKernel generates sgemmTapsAVX512_{mr}x{16·np}: rows r < mr of A at
// x + 4·off[r] (off holds mr int64 element offsets), np panels of B kc·16 floats
// apart (bs), C row stride ldc floats.
func tapRowsKernel(mr, np int) {
	name := fmt.Sprintf("sgemmTapsAVX512_%dx%d", mr, 16*np)
	kernel(name, "func(k int, x *float32, off *int64, b *float32, bs int, c *float32, ldc int, accum int)",
		fmt.Sprintf("%s is the AVX-512 %dx%d float32 tile with A's rows read in place at x+off[r] (QAT's shifted weight gradient).", name, mr, 16*np))
	k, x, b, b2, offp := RCX, RSI, RDI, R13, RAX
	idx := []GPPhysical{R8, R9, R10, R11, R12, RBX}
	loadArgs("k x b off", k, x, b, offp)
	for r := 0; r < mr; r++ {
		MOVQ(Mem{Base: offp, Disp: 8 * r}, idx[r])
	}
	if np == 2 {
		Load(Param("bs"), b2)
		SHLQ(Imm(2), b2)
		ADDQ(b, b2)
	}
	acc := func(r, v int) VecPhysical { return zmm(np*r + v) }
	bv := func(v int) VecPhysical { return zmm(12 + v) }
	for r := 0; r < mr; r++ {
		for v := 0; v < np; v++ {
			VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	kLoop(name, k, func(u int) {
		VMOVUPS(Mem{Base: b, Disp: 64 * u}, bv(0))
		if np == 2 {
			VMOVUPS(Mem{Base: b2, Disp: 64 * u}, bv(1))
		}
		for r := 0; r < mr; r++ {
			for v := 0; v < np; v++ {
				VFMADD231PS_BCST(Mem{Base: x, Index: idx[r], Scale: 4, Disp: 4 * u}, bv(v), acc(r, v))
			}
		}
	}, func(n int) {
		ADDQ(Imm(uint64(4*n)), x)
		ADDQ(U32(uint64(64*n)), b)
		if np == 2 {
			ADDQ(U32(uint64(64*n)), b2)
		}
	})
	c, ldc := R8, R9
	loadArgs("c ldc", c, ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, RDX)
	tileRowsN(RDX, ldc, mr, np, 64, func(m Mem, r, v int) { VADDPS(m, acc(r, v), acc(r, v)) })
	Label(name + "_noacc")
	tileRowsN(c, ldc, mr, np, 64, func(m Mem, r, v int) { VMOVUPS(acc(r, v), m) })
	ret()
}

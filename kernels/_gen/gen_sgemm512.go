package main

// AVX-512 float32 GEMM micro-kernels on the 6x16 packed layout of the AVX2 ones
// (A [k][6], B [k][16] panels): the "sgemm512" set, asm_sgemm512_amd64.s.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemm512Kernels generates the AVX-512 two-panel form of sgemmAVX2_6x16ind: a
// 6x32 tile whose B row p is read in place at b + off[p] (32 floats), for the
// convolutions run as an implicit GEMM (kernels.SgemmShifted). Each output
// element is one running FMA sum over p in order, as in the AVX2 kernel, so the
// paths give the same bits. Twelve independent accumulators share each A
// broadcast; on the 2-vCPU Xeon of the eleventh session the 16-lane FMAs issue
// no faster than two 8-lane ones (the zmm forms of the packed 6x16 kernels
// measured level with AVX2), but the two-panel in-place kernel ran 1.25x the
// one-panel AVX2 one (BenchmarkSgemm512), fewer loads of off[p] and of A per FMA.
func sgemm512Kernels() {
	sgemm512Kernel("sgemmAVX512_6x32ind", 6, 2, true, true)
	// the last row tile of a GEMM whose rows are not a multiple of six (16, 32
	// or 64 channels: 4, 2 and 4 rows): only its real rows, A still packed
	// six rows per step
	for mr := 1; mr < 6; mr++ {
		sgemm512Kernel(fmt.Sprintf("sgemmAVX512_%dx32ind", mr), mr, 2, true, true)
	}
	// the same for the packed 6x16 kernel's last row tile (one zmm per row)
	for mr := 1; mr < 6; mr++ {
		sgemm512Kernel(fmt.Sprintf("sgemmAVX512_%dx16", mr), mr, 1, false, false)
	}
	// two packed 16-column panels per call (bs floats apart), for the packed
	// GEMM's full panel pairs (kernels.sgemmPackedABlock; the weight gradients
	// of QAT's convolutions): twelve accumulators per A broadcast, as the
	// in-place kernel above, rows 1-6
	for mr := 1; mr <= 6; mr++ {
		sgemm512Kernel(fmt.Sprintf("sgemmAVX512_%dx32", mr), mr, 2, false, false)
	}
}

// sgemm512Kernel generates an mr x 16·np kernel (mr <= 6; A packed six rows
// per reduction step whatever mr). ep adds the residual and clamp
// epilogue; ind reads B row p at b + off[p] (np panels 16 floats apart) instead
// of packed panels (np panels bs floats apart).
func sgemm512Kernel(name string, mr, np int, ep, ind bool) {
	args := "k int, a *float32, b *float32"
	if np == 2 && !ind {
		args += ", bs int"
	}
	if ind {
		args += ", off *int32"
	}
	args += ", c *float32, ldc int, accum int"
	if ep {
		args += ", res *float32, lo float32, hi float32"
	}
	what := "packed B"
	if ind {
		what = "B rows read at b+off[p]"
	}
	if ep {
		what += ", with the fused epilogue (residual add, clamp)"
	}
	kernel(name, "func("+args+")",
		fmt.Sprintf("%s is the AVX-512 %dx%d float32 micro-kernel (%s).", name, mr, 16*np, what))
	k, a, b, c, ldc := RCX, RSI, RDI, R8, R9
	off, b2 := R10, R13
	loadArgs("k a b", k, a, b)
	if ind {
		Load(Param("off"), off)
	}
	if np == 2 && !ind {
		Load(Param("bs"), b2)
		SHLQ(Imm(2), b2)
		ADDQ(b, b2)
	}
	acc := func(r, v int) VecPhysical { return zmm(np*r + v) }
	bv := func(v int) VecPhysical { return zmm(12 + v) }
	loadB := func(p int) {
		if !ind {
			VMOVUPS(Mem{Base: b, Disp: 64 * p}, bv(0))
			if np == 2 {
				VMOVUPS(Mem{Base: b2, Disp: 64 * p}, bv(1))
			}
			return
		}
		idx := []GPPhysical{R11, R12}[p%2]
		MOVLQSX(Mem{Base: off, Disp: 4 * p}, idx)
		for v := 0; v < np; v++ {
			VMOVUPS(Mem{Base: b, Index: idx, Scale: 4, Disp: 64 * v}, bv(v))
		}
	}
	advance := func(n int) {
		ADDQ(Imm(uint64(24*n)), a)
		switch {
		case ind:
			ADDQ(Imm(uint64(4*n)), off)
		default:
			ADDQ(U32(uint64(64*n)), b)
			if np == 2 {
				ADDQ(U32(uint64(64*n)), b2)
			}
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < np; v++ {
			VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	kLoop(name, k, func(u int) {
		loadB(u)
		for r := 0; r < mr; r++ {
			for v := 0; v < np; v++ {
				VFMADD231PS_BCST(Mem{Base: a, Disp: 24*u + 4*r}, bv(v), acc(r, v))
			}
		}
	}, advance)
	loadArgs("c ldc", c, ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, RDX)
	tileRowsN(RDX, ldc, mr, np, 64, func(m Mem, r, v int) { VADDPS(m, acc(r, v), acc(r, v)) })
	Label(name + "_noacc")
	if ep {
		res := R10
		Load(Param("res"), res)
		TESTQ(res, res)
		JZ(LabelRef(name + "_clamp"))
		tileRowsN(res, ldc, mr, np, 64, func(m Mem, r, v int) { VADDPS(m, acc(r, v), acc(r, v)) })
		Label(name + "_clamp")
		loadArgs("lo hi", X14, X15)
		VBROADCASTSS(X14, Z14)
		VBROADCASTSS(X15, Z15)
		for r := 0; r < mr; r++ {
			for v := 0; v < np; v++ {
				VMAXPS(acc(r, v), Z14, acc(r, v))
				VMINPS(acc(r, v), Z15, acc(r, v))
			}
		}
	}
	tileRowsN(c, ldc, mr, np, 64, func(m Mem, r, v int) { VMOVUPS(acc(r, v), m) })
	ret()
}

// tileRowsN is tileRows over the first mr rows of a tile.
func tileRowsN(p, stride GPPhysical, mr, nv, width int, op func(m Mem, r, v int)) {
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			op(Mem{Base: p, Disp: width * v}, r, v)
		}
		if r < mr-1 {
			ADDQ(stride, p)
		}
	}
}

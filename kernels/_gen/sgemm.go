package main

// float32 GEMM micro-kernels (AVX2/FMA): packed panels, row kernels, and MaxF32.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

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
	// Panels of 16, 32 and 48 columns on zmm: output channel counts that
	// are not multiples of 64 (mobile networks' 24 ... 672), which ran on
	// the AVX2 6x16 kernel at half the vector width.
	for nv := 1; nv <= 3; nv++ {
		sgemmRowsKernel(fmt.Sprintf("sgemmAVX512_6x%drows", 16*nv), "AVX-512", zmm, 64, nv)
	}
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

// tileRows emits op on the nv vectors (width bytes apart) of each of the six
// rows of a tile at p, row stride stride bytes; p ends at the last row.
func tileRows(p, stride GPPhysical, nv, width int, op func(m Mem, r, v int)) {
	for r := 0; r < 6; r++ {
		for v := 0; v < nv; v++ {
			op(Mem{Base: p, Disp: width * v}, r, v)
		}
		if r < 5 {
			ADDQ(stride, p)
		}
	}
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
	kernel(name, "func(k int, a *float32, lda int, off *int32, b *float32, bias *float32, c *float32, ldc int, accum int, res *float32, lo float32, hi float32, ntiles int)",
		fmt.Sprintf("%s is the %s 6x%d float32 micro-kernel with A rows read in place at a + r*lda + off[p], initialised from C or the bias, with the fused epilogue.", name, isa, width/4*nv))
	sgemmRowsBody(name, vec, width, nv, nil)
}

// sgemmRowsBody generates the row tiles of sgemmRowsKernel after its
// arguments; prefetch (nil for none) runs once per reduction step of the FMA
// loop, so that the prefetching variant (sgemmRowsPfKernel) shares the tile.
func sgemmRowsBody(name string, vec func(int) VecPhysical, width, nv int, prefetch func()) {
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
	loadArgs("k a b", k, a, b)
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
	loadArgs("c ldc", c, ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("accum"), RAX)
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, RDX)
	tileRows(RDX, ldc, 2, 32, func(m Mem, r, v int) { VADDPS(m, ymm(2*r+v), ymm(2*r+v)) })
	Label(name + "_noacc")
	if ep {
		res := R10
		Load(Param("res"), res)
		TESTQ(res, res)
		JZ(LabelRef(name + "_clamp"))
		tileRows(res, ldc, 2, 32, func(m Mem, r, v int) { VADDPS(m, ymm(2*r+v), ymm(2*r+v)) })
		Label(name + "_clamp")
		loadArgs("lo hi", X14, X15)
		VBROADCASTSS(X14, Y14)
		VBROADCASTSS(X15, Y15)
		for i := 0; i < 12; i++ {
			VMAXPS(ymm(i), Y14, ymm(i))
			VMINPS(ymm(i), Y15, ymm(i))
		}
	}
	tileRows(c, ldc, 2, 32, func(m Mem, r, v int) { VMOVUPS(ymm(2*r+v), m) })
	ret()
}

// panelRowsAVX2 generates the copy of 16 consecutive floats from each of n rows
// (row stride ld floats) into a 16-float-wide panel: the B packing of a row-major
// operand (pointwise convolutions, MatMul), two rows per iteration.
func panelRowsAVX2() {
	kernel("panelRowsAVX2", "func(dst *float32, src *float32, ld int, n int)",
		"panelRowsAVX2 copies src[r*ld : r*ld+16] to dst[16r : 16r+16] for r < n.")
	dst, src, ld, n := RDI, RSI, RDX, RCX
	loadArgs("dst src ld n", dst, src, ld, n)
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
	ret()
}

// maxF32AVX2 generates dst[i] = max(dst[i], src[i]) over 8-float vectors with
// Go's NaN rule (a NaN in either operand gives NaN): VMAXPS returns its second
// source when either is NaN, so src goes second and lanes where dst is NaN are
// blended back from dst.
func maxF32AVX2() {
	kernel("maxF32AVX2", "func(dst *float32, src *float32, n int)",
		"maxF32AVX2 sets dst[i] = max(dst[i], src[i]) for i < n, n a multiple of 8, NaN propagating.")
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, src, n)
	blocks("mx", n, 3, nil, func() {
		VMOVUPS(Mem{Base: dst}, Y0)
		VMAXPS(Mem{Base: src}, Y0, Y1)
		VCMPPS(Imm(3), Y0, Y0, Y2) // unordered: dst lane is NaN
		VBLENDVPS(Y2, Y0, Y1, Y1)
		VMOVUPS(Y1, Mem{Base: dst})
		ADDQ(Imm(32), dst)
		ADDQ(Imm(32), src)
	})
}

// accFromBias starts the six rows of accumulators from the bias at bias, or
// from zero when bias is nil.
func accFromBias(name string, bias GPPhysical, nv, width int, acc func(r, v int) VecPhysical) {
	TESTQ(bias, bias)
	JZ(LabelRef(name + "_zero"))
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: bias, Disp: width * v}, acc(0, v))
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
}

// gatherFMALoop emits the K loop of the six-row kernels that gather A: step p
// reads the element offset off[p] (an int32), loads B's nv vectors and adds
// each row's A element at that offset, broadcast, times B into its
// accumulators. pf, when not nil, is emitted after every four steps of the
// unrolled loop (the software prefetch of gen_rows_idx.go).
func gatherFMALoop(name string, k, off, b GPPhysical, rows, idx []GPPhysical, nv, width int, acc func(r, v int) VecPhysical, breg, tmp func(int) VecPhysical, pf func()) {
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
		if n == 4 && pf != nil {
			pf()
		}
		ADDQ(Imm(uint64(4*n)), off)
		ADDQ(U32(uint64(n*width*nv)), b)
	})
}

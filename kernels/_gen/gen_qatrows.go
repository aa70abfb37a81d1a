package main

// The strided-row stores of the shifted convolutions in quantization-aware
// training (qat/conv_shifted.go): the implicit GEMM computes its rows over the
// padded width, and the stores move each output row's first w columns to the
// dense tensor, rows at a time. Rows of 7, 14 or 28 floats are too short for a
// call per row; here one call moves many rows, the last partial vector of each
// row through VMASKMOVPS (a load of the masked-off lanes reads nothing and
// cannot fault). Part of the "qatew" set (asm_qatew_amd64.s); AVX2 only, as the
// other streaming kernels of the set.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rowsMaskTable holds eight all-ones int32 then eight zeros: the eight lanes
// starting at entry 8-r are the mask of the first r lanes.
var rowsMaskTable = &f32Table{sym: "qatRowsMask", vals: []float32{nanOnes, nanOnes, nanOnes, nanOnes, nanOnes, nanOnes, nanOnes, nanOnes, 0, 0, 0, 0, 0, 0, 0, 0}}

// nanOnes is the float32 whose bits are all ones (the table stores bits).
var nanOnes = math.Float32frombits(0xffffffff)

func qatRowsKernels() {
	sumF32AVX2()
	rowsKernel("rowsCopyF32AVX2", "func(dst *float32, ds int, src *float32, ss int, w int, rows int)",
		"rowsCopyF32AVX2 sets dst[i*ds+j] = src[i*ss+j] for i < rows, j < w (w > 0).", nil, func(v, m VecPhysical, dm Mem, _ Mem) {})
	rowsKernel("rowsBiasF32AVX2", "func(dst *float32, ds int, src *float32, ss int, w int, rows int, b float32)",
		"rowsBiasF32AVX2 sets dst[i*ds+j] = src[i*ss+j] + b for i < rows, j < w (w > 0).",
		func() {
			Load(Param("b"), X15)
			VBROADCASTSS(X15, Y15)
		}, func(v, m VecPhysical, dm Mem, _ Mem) { VADDPS(Y15, v, v) })
	rowsKernel("rowsAddF32AVX2", "func(dst *float32, ds int, src *float32, ss int, w int, rows int)",
		"rowsAddF32AVX2 sets dst[i*ds+j] += src[i*ss+j] for i < rows, j < w (w > 0).", nil,
		func(v, m VecPhysical, dm Mem, _ Mem) {
			// dst + src, dst the first operand as in Go's dst[i] += src[i]
			// (of two NaNs, the first is returned)
			if m == nil {
				VMOVUPS(dm, Y1)
			} else {
				VMASKMOVPS(dm, m, Y1)
			}
			VADDPS(v, Y1, v)
		})
	// a fake quantization (of max(x, 0) with relu) as fakeQuantKernel computes
	// it, applied as the rows are moved: a convolution's input laid out in its
	// padded layout straight from the fake quantization's input
	for _, relu := range []bool{false, true} {
		name, what := "rowsFakeQuantF32AVX2", "src[i*ss+j]"
		if relu {
			name, what = "rowsFakeQuantReluF32AVX2", "max(src[i*ss+j], 0)"
		}
		rowsKernel(name, "func(dst *float32, ds int, src *float32, ss int, w int, rows int, scale float32, lo float32, hi float32)",
			name+" sets dst[i*ds+j] = float32(clamp(roundEven("+what+"/scale), lo, hi)) * scale for i < rows, j < w (w > 0).",
			func() {
				loadArgs("scale lo hi", X13, X14, X15)
				VBROADCASTSS(X13, Y13)
				VBROADCASTSS(X14, Y14)
				VBROADCASTSS(X15, Y15)
				VXORPS(Y11, Y11, Y11)
			}, func(v, m VecPhysical, _ Mem, _ Mem) {
				if relu {
					VMAXPS(v, Y11, v) // Go's max(x, 0): a NaN x is returned
				}
				VDIVPS(Y13, v, v)
				VMAXPS(Y14, v, v) // NaN → lo
				VMINPS(Y15, v, v)
				VCVTPS2DQ(v, v)
				VCVTDQ2PS(v, v)
				VMULPS(Y13, v, v)
			})
	}
	// the straight-through gradient of a fake quantization, as steSetF32AVX2:
	// dst = (src where lo <= x <= hi, else 0) + 0, x strided as dst
	rowsKernel("rowsSTESetF32AVX2", "func(dst *float32, ds int, src *float32, ss int, w int, rows int, x *float32, lo float32, hi float32)",
		"rowsSTESetF32AVX2 sets dst[i*ds+j] = src[i*ss+j] + 0 where lo <= x[i*ds+j] <= hi, else +0, for i < rows, j < w (w > 0).",
		func() {
			Load(Param("x"), R8)
			loadArgs("lo hi", X14, X15)
			VBROADCASTSS(X14, Y14)
			VBROADCASTSS(X15, Y15)
			VXORPS(Y13, Y13, Y13)
		}, func(v, m VecPhysical, _ Mem, xm Mem) {
			if m == nil {
				VMOVUPS(xm, Y1)
			} else {
				VMASKMOVPS(xm, m, Y1)
			}
			VCMPPS(Imm(0x1d), Y14, Y1, Y2) // x >= lo, ordered, quiet
			VCMPPS(Imm(0x12), Y15, Y1, Y3) // x <= hi, ordered, quiet
			VANDPS(Y3, Y2, Y2)
			VANDPS(Y2, v, v)
			VADDPS(Y13, v, v)
		})
	// the same applied to acc + src: the last contribution to a gradient that
	// other readers have accumulated in acc, stored through the fake
	// quantization's mask (RowsAddF32 into acc, then STESetF32, in one pass)
	rowsKernelAcc("rowsSTEAccSetF32AVX2", "func(dst *float32, ds int, src *float32, ss int, w int, rows int, acc *float32, x *float32, lo float32, hi float32)",
		"rowsSTEAccSetF32AVX2 sets dst[i*ds+j] = (acc[i*ds+j] + src[i*ss+j]) + 0 where lo <= x[i*ds+j] <= hi, else +0, for i < rows, j < w (w > 0).", true,
		func() {
			Load(Param("x"), R8)
			Load(Param("acc"), R13)
			loadArgs("lo hi", X14, X15)
			VBROADCASTSS(X14, Y14)
			VBROADCASTSS(X15, Y15)
			VXORPS(Y13, Y13, Y13)
		}, func(v, m VecPhysical, _ Mem, xm, am Mem) {
			if m == nil {
				VMOVUPS(xm, Y1)
				VMOVUPS(am, Y4)
			} else {
				VMASKMOVPS(xm, m, Y1)
				VMASKMOVPS(am, m, Y4)
			}
			VADDPS(v, Y4, v)               // acc + src, acc first as in RowsAddF32
			VCMPPS(Imm(0x1d), Y14, Y1, Y2) // x >= lo, ordered, quiet
			VCMPPS(Imm(0x12), Y15, Y1, Y3) // x <= hi, ordered, quiet
			VANDPS(Y3, Y2, Y2)
			VANDPS(Y2, v, v)
			VADDPS(Y13, v, v)
		})
}

// rowsKernel emits a kernel over rows of w floats: per row, blocks of eight
// then one masked block of the rest; op turns the loaded source vector v into
// the stored value (m the lane mask of a partial block, nil for a whole one;
// dm the destination and xm the x operand at the same position, x in R8 when
// setup loads it).
func rowsKernel(name, sig, doc string, setup func(), op func(v, m VecPhysical, dm, xm Mem)) {
	rowsKernelAcc(name, sig, doc, false, setup, func(v, m VecPhysical, dm, xm, _ Mem) { op(v, m, dm, xm) })
}

// rowsKernelAcc is rowsKernel whose op also gets am, the operand acc (in R13,
// which setup loads, when withAcc) at the destination's position: acc has dst's
// layout.
func rowsKernelAcc(name, sig, doc string, withAcc bool, setup func(), op func(v, m VecPhysical, dm, xm, am Mem)) {
	kernel(name, sig, doc)
	dst, ds, src, ss, w, rows := RDI, RDX, RSI, RBX, RCX, R9
	loadArgs("dst ds src ss w rows", dst, ds, src, ss, w, rows)
	if setup != nil {
		setup()
	}
	SHLQ(Imm(2), ds)
	SHLQ(Imm(2), ss)
	// the partial block's mask: w mod 8 lanes (none: a whole block more)
	MOVQ(w, RAX)
	ANDQ(Imm(7), RAX)
	MOVQ(RAX, R12) // no partial block: none run (a masked access costs even with an empty mask)
	NEGQ(RAX)
	LEAQ(rowsMaskTable.at(8), R10)
	VMOVUPS(Mem{Base: R10, Index: RAX, Scale: 4}, Y12)
	ANDQ(I32(-8), w) // the floats of whole blocks per row
	j, x, acc := R11, R8, R13
	Label(name + "_row")
	XORQ(j, j)
	CMPQ(j, w)
	JEQ(LabelRef(name + "_tail"))
	Label(name + "_block")
	VMOVUPS(Mem{Base: src, Index: j, Scale: 4}, Y0)
	op(Y0, nil, Mem{Base: dst, Index: j, Scale: 4}, Mem{Base: x, Index: j, Scale: 4}, Mem{Base: acc, Index: j, Scale: 4})
	VMOVUPS(Y0, Mem{Base: dst, Index: j, Scale: 4})
	ADDQ(Imm(8), j)
	CMPQ(j, w)
	JNE(LabelRef(name + "_block"))
	Label(name + "_tail")
	TESTQ(R12, R12)
	JZ(LabelRef(name + "_next"))
	VMASKMOVPS(Mem{Base: src, Index: j, Scale: 4}, Y12, Y0)
	op(Y0, Y12, Mem{Base: dst, Index: j, Scale: 4}, Mem{Base: x, Index: j, Scale: 4}, Mem{Base: acc, Index: j, Scale: 4})
	VMASKMOVPS(Y0, Y12, Mem{Base: dst, Index: j, Scale: 4})
	Label(name + "_next")
	ADDQ(ds, dst)
	ADDQ(ss, src)
	ADDQ(ds, x)
	if withAcc {
		ADDQ(ds, acc)
	}
	loopBack(rows, name+"_row")
	ret()
}

// sumF32AVX2 generates dst[i] = a[i] + b[i], a the first operand as in Go's
// a[i] + b[i] (of two NaNs, the first is returned), n a multiple of 16: the
// forward pass of an elementwise Add (the residual blocks' joins).
func sumF32AVX2() {
	kernel("sumF32AVX2", "func(dst *float32, a *float32, b *float32, n int)",
		"sumF32AVX2 sets dst[i] = a[i] + b[i] for i < n, n a multiple of 16.")
	dst, a, b, n := RDI, RSI, RDX, RCX
	loadArgs("dst a b n", dst, a, b, n)
	blocks("sum", n, 4, nil, func() {
		VMOVUPS(Mem{Base: a}, Y0)
		VMOVUPS(Mem{Base: a, Disp: 32}, Y1)
		VADDPS(Mem{Base: b}, Y0, Y0)
		VADDPS(Mem{Base: b, Disp: 32}, Y1, Y1)
		VMOVUPS(Y0, Mem{Base: dst})
		VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
		ADDQ(Imm(64), dst)
		ADDQ(Imm(64), a)
		ADDQ(Imm(64), b)
	})
}

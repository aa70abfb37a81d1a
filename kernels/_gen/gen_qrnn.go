package main

// The "qrnn" kernel set (asm_qrnn_amd64.s): one recurrent time step of an
// LSTM or GRU in a few calls instead of a dozen.
//
//   - qgemvDequantVNNI: the int8 recurrent product of the quantized hidden
//     state (1-4 batch rows) with R over all gate columns in one pass
//     (VPDPBUSD on weights packed [k/4][columns][4], so a k step reads the
//     columns of every gate contiguously), dequantized in its epilogue and
//     stored to, or added to, the step's float32 gate pre-activations. The
//     epilogue is DequantRowI32's arithmetic (same roundings, same order).
//   - lstmCellF32 and gruCellF32 (AVX-512 and AVX2): the gate nonlinearities
//     and the state update of one batch row, writing the new state and the
//     output row. The sigmoid and tanh are those of kernels.ActF32's vector
//     kernels (the same exp and rational function: sigmoidOf, tanhOf)
//     except for their division, which is a reciprocal estimate refined by
//     one Newton step (cellRegs.recip): within a few float32 ulps of
//     ActF32, at a fraction of the divider's time; the products and sums
//     are rounded one at a time in the order of the runtime's unfused
//     cells.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qrnnKernels is the "qrnn" set, called from main.
func qrnnKernels() {
	for _, add := range []bool{false, true} {
		for rows := 1; rows <= 4; rows++ {
			qgemvDequantVNNI(rows, add)
		}
	}
	for _, wide := range []bool{true, false} {
		lstmCellF32(wide)
		gruCellF32(wide)
	}
}

// qgemvDequantVNNI emits qgemvDequantVNNI_{rows}{set,add}: for the rows
// batch rows of int8 codes q (row r at q + r·ldq bytes, k4·4 bytes read per
// row, codes x − 128 of uint8 values x) and weights w packed [k4][cols][4]
// (rowbytes = 4·cols, cols ≥ n rounded up to 16, zero past n), writes
// dst[r][c] (+)= float32(acc − zp·sum[c]) · (s·ws[c]) for c < n, where acc is
// Σ_k x·w and zp is the uint8 zero point of x (acc − zp·sum equals the int8
// codes' product less their zero point's, modulo 2^32 as in Go). Row r of dst
// is at dst + r·ldd bytes. The columns go in groups of 4, 2 or 1 panels of
// 16, the last panel masked.
func qgemvDequantVNNI(rows int, add bool) {
	mode := map[bool]string{false: "set", true: "add"}[add]
	name := fmt.Sprintf("qgemvDequantVNNI_%d%s", rows, mode)
	kernel(name, "func(dst *float32, ldd int, q *int8, ldq int, w *int8, rowbytes int, k4 int, sum *int32, ws *float32, s float32, zp int32, n int)",
		fmt.Sprintf("%s %ss dst to the dequantized int8 product of %d quantized rows with the packed weights, over n columns.", name, mode, rows))
	dst, ldd, rem, colb := RDI, R8, R13, R14
	qr := []GPPhysical{RSI, R9, R10, R15}[:rows]
	rowb, k4, kc, wp, qo, tmp := R11, R12, RAX, RBX, RCX, RDX
	Load(Param("q"), qr[0])
	if rows > 1 {
		Load(Param("ldq"), tmp)
		for r := 1; r < rows; r++ {
			LEAQ(Mem{Base: qr[r-1], Index: tmp, Scale: 1}, qr[r])
		}
	}
	loadArgs("dst ldd rowbytes k4 n", dst, ldd, rowb, k4, rem)
	XORQ(colb, colb)
	MOVL(U32(0x80808080), tmp.As32())
	VPBROADCASTD(tmp.As32(), Z29)
	VBROADCASTSS(paramAddr("s"), Z30)
	VBROADCASTSS(paramAddr("zp"), Z31) // the int32 bits, broadcast as they are
	acc := func(r, g int) VecPhysical { return zmm(r*4 + g) }
	qv := func(r int) VecPhysical { return zmm(16 + r) }
	wv := func(g int) VecPhysical { return zmm(20 + g) }
	Label(name + "_loop")
	CMPQ(rem, Imm(48))
	JG(LabelRef(name + "_g4"))
	CMPQ(rem, Imm(16))
	JG(LabelRef(name + "_g2"))
	JMP(LabelRef(name + "_g1"))
	for _, g := range []int{4, 2, 1} {
		lbl := fmt.Sprintf("%s_g%d", name, g)
		Label(lbl)
		for r := 0; r < rows; r++ {
			for p := 0; p < g; p++ {
				VPXORD(acc(r, p), acc(r, p), acc(r, p))
			}
		}
		Load(Param("w"), wp)
		ADDQ(colb, wp)
		XORQ(qo, qo)
		MOVQ(k4, kc)
		Label(lbl + "_k")
		for r := 0; r < rows; r++ {
			VPBROADCASTD(Mem{Base: qr[r], Index: qo, Scale: 1}, qv(r))
			VPXORD(Z29, qv(r), qv(r)) // int8 code + 128: the uint8 value
		}
		for p := 0; p < g; p++ {
			VMOVDQU32(Mem{Base: wp, Disp: 64 * p}, wv(p))
			for r := 0; r < rows; r++ {
				vpdpbusd(wv(p), qv(r), acc(r, p))
			}
		}
		ADDQ(Imm(4), qo)
		ADDQ(rowb, wp)
		loopBack(kc, lbl+"_k")
		for p := 0; p < g; p++ {
			// K1: the panel's columns below n.
			MOVQ(rem, tmp)
			if p > 0 {
				SUBQ(Imm(uint64(16*p)), tmp)
			}
			MOVL(U32(16), wp.As32())
			CMPQ(tmp, wp)
			CMOVQGT(wp, tmp)
			MOVL(U32(0xffff), wp.As32())
			BZHIL(tmp.As32(), wp.As32(), wp.As32())
			KMOVW(wp.As32(), K1)
			Load(Param("ws"), wp)
			VMOVUPS_Z(Mem{Base: wp, Index: colb, Scale: 1, Disp: 64 * p}, K1, Z24)
			VMULPS(Z24, Z30, Z24) // s·ws
			Load(Param("sum"), wp)
			VMOVDQU32_Z(Mem{Base: wp, Index: colb, Scale: 1, Disp: 64 * p}, K1, Z25)
			VPMULLD(Z25, Z31, Z25) // zp·sum
			MOVQ(dst, tmp)
			ADDQ(colb, tmp)
			for r := 0; r < rows; r++ {
				if r > 0 {
					ADDQ(ldd, tmp)
				}
				a := acc(r, p)
				out := Mem{Base: tmp, Disp: 64 * p}
				VPSUBD(Z25, a, a)
				VCVTDQ2PS(a, a)
				VMULPS(Z24, a, a)
				if add {
					VMOVUPS_Z(out, K1, Z26)
					VADDPS(Z26, a, a)
				}
				VMOVUPS(a, K1, out)
			}
		}
		ADDQ(U32(64*g), colb)
		SUBQ(U32(16*g), rem)
		JG(LabelRef(name + "_loop"))
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_done")
	ret()
}

// cellRegs are the registers of a fused cell: the exp constants (c), the
// tanh constants (tc), and the temporaries of one sigmoid (t, k, r, p) and
// one tanh (t2, tp, tq, after tc's scratch).
type cellRegs struct {
	c          func(string) VecPhysical
	tc         func(int) VecPhysical
	t, k, r, p VecPhysical
}

// newCellRegs preloads the constants that fit in registers: on AVX-512 the
// exp constants in zmm20-31 and the tanh constants in zmm7-19; AVX2 (16
// registers) broadcasts each where it is used into scratch ymm7.
func newCellRegs(wide bool) cellRegs {
	vec, _ := vecRegs(wide)
	cr := cellRegs{t: vec(3), k: vec(4), r: vec(5), p: vec(6)}
	scratch := vec(7)
	if wide {
		for i, nm := range expNames {
			VBROADCASTSS(expConst(nm), zmm(20+i))
		}
		for i := range tanhConsts.vals {
			VBROADCASTSS(tanhConsts.at(i), zmm(7+i))
		}
		cr.c = func(nm string) VecPhysical {
			for i, s := range expNames {
				if s == nm {
					return zmm(20 + i)
				}
			}
			panic(nm)
		}
		cr.tc = func(i int) VecPhysical { return zmm(7 + i) }
		return cr
	}
	cr.c = func(nm string) VecPhysical {
		VBROADCASTSS(expConst(nm), scratch)
		return scratch
	}
	cr.tc = func(i int) VecPhysical {
		VBROADCASTSS(tanhConsts.at(i), scratch)
		return scratch
	}
	return cr
}

// recip emits y = 1/q: the reciprocal estimate (14 bits on AVX-512, 12 on
// AVX2) and one Newton step, y += y·(1 − q·y), which leaves about 2^-23
// relative error; q is clobbered. A VDIVPS on 16 lanes occupies the divider
// for about 10 cycles and a cell had five per chunk: most of its time.
func (cr cellRegs) recip(wide bool, q, y VecPhysical) {
	if wide {
		VRCP14PS(q, y)
	} else {
		VRCPPS(q, y)
	}
	VFNMADD213PS(cr.c("one"), y, q) // q = 1 − q·y
	VFMADD231PS(q, y, y)            // y = y + y·(1 − q·y)
}

// sigmoid emits x = 1/(1 + exp(−x)) in place: sigmoidOf with recip for
// the division.
func (cr cellRegs) sigmoid(wide bool, x VecPhysical) {
	sigmoidOf(wide, cr.c, x, cr.t, cr.k, cr.r, cr.p, func(VecPhysical) { cr.recip(wide, cr.p, x) })
}

// tanh emits x = tanh(x) in place: tanhOf with recip for the division.
func (cr cellRegs) tanh(wide bool, x VecPhysical) {
	t2, p, q := cr.t, cr.k, cr.r
	tanhOf(x, t2, p, q, cr.tc, func() {
		cr.recip(wide, q, t2)
		VMULPS(t2, p, p)
	})
}

// lstmCellF32 emits lstmCellF32{AVX512,AVX2}(pre, gs, c, h, y, n): for j < n
// (a multiple of the vector width), with the gate pre-activations i, o, f, g
// at pre + {0,1,2,3}·gs floats: c[j] = σ(f)·c[j] + σ(i)·tanh(g), h[j] = y[j] =
// σ(o)·tanh(c[j]).
func lstmCellF32(wide bool) {
	name := "lstmCell" + isaSuffix(wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(pre *float32, gs int, c *float32, h *float32, y *float32, n int)",
		fmt.Sprintf("%s updates one LSTM row: c = σ(f)·c + σ(i)·tanh(g), h = y = σ(o)·tanh(c), n a multiple of %d.", name, width))
	pre, gs, cp, hp, yp, n, gs3 := RSI, RDX, RDI, R8, R9, RCX, R10
	loadArgs("pre gs c h y n", pre, gs, cp, hp, yp, n)
	SHLQ(Imm(2), gs)
	LEAQ(Mem{Base: gs, Index: gs, Scale: 2}, gs3)
	cr := newCellRegs(wide)
	x0, x1, x2 := vec(0), vec(1), vec(2)
	step := 4 * width
	Label(name + "_loop")
	VMOVUPS(Mem{Base: pre, Index: gs, Scale: 2}, x0) // f
	cr.sigmoid(wide, x0)
	VMOVUPS(Mem{Base: pre}, x1) // i
	cr.sigmoid(wide, x1)
	VMOVUPS(Mem{Base: pre, Index: gs3, Scale: 1}, x2) // g
	cr.tanh(wide, x2)
	VMULPS(Mem{Base: cp}, x0, x0) // σ(f)·c
	VMULPS(x2, x1, x1)            // σ(i)·tanh(g)
	VADDPS(x1, x0, x0)
	VMOVUPS(x0, Mem{Base: cp})
	cr.tanh(wide, x0)
	VMOVUPS(Mem{Base: pre, Index: gs, Scale: 1}, x1) // o
	cr.sigmoid(wide, x1)
	VMULPS(x0, x1, x1)
	VMOVUPS(x1, Mem{Base: hp})
	VMOVUPS(x1, Mem{Base: yp})
	for _, p := range []GPPhysical{pre, cp, hp, yp} {
		ADDQ(Imm(uint64(step)), p)
	}
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	ret()
}

// gruCellF32 emits gruCellF32{AVX512,AVX2}(xg, hg, gs, rbh, h, y, n): for j <
// n (a multiple of the vector width), with the input projections (biases
// folded in) z, r, n at xg + {0,1,2}·gs floats, the recurrent products at hg
// likewise and the h block's recurrent bias rbh: z = σ(xz + hz), r = σ(xr +
// hr), t = tanh(xn + r·(hn + rbh)), h[j] = y[j] = (1 − z)·t + z·h[j].
func gruCellF32(wide bool) {
	name := "gruCell" + isaSuffix(wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(xg *float32, hg *float32, gs int, rbh *float32, h *float32, y *float32, n int)",
		fmt.Sprintf("%s updates one GRU row (linear_before_reset): h = y = (1 − z)·tanh(xn + r·(hn + rbh)) + z·h, n a multiple of %d.", name, width))
	xg, hg, gs, rb, hp, yp, n := RSI, RDX, R10, R11, R8, R9, RCX
	loadArgs("xg hg gs rbh h y n", xg, hg, gs, rb, hp, yp, n)
	SHLQ(Imm(2), gs)
	cr := newCellRegs(wide)
	x0, x1, x2 := vec(0), vec(1), vec(2)
	step := 4 * width
	Label(name + "_loop")
	VMOVUPS(Mem{Base: xg}, x0)
	VADDPS(Mem{Base: hg}, x0, x0) // xz + hz
	cr.sigmoid(wide, x0)          // z
	VMOVUPS(Mem{Base: xg, Index: gs, Scale: 1}, x1)
	VADDPS(Mem{Base: hg, Index: gs, Scale: 1}, x1, x1)
	cr.sigmoid(wide, x1) // r
	VMOVUPS(Mem{Base: hg, Index: gs, Scale: 2}, x2)
	VADDPS(Mem{Base: rb}, x2, x2) // hn + rbh
	VMULPS(x2, x1, x2)            // r·(hn + rbh)
	VADDPS(Mem{Base: xg, Index: gs, Scale: 2}, x2, x2)
	cr.tanh(wide, x2)
	VSUBPS(x0, cr.c("one"), x1) // 1 − z
	VMULPS(x2, x1, x1)
	VMULPS(Mem{Base: hp}, x0, x0) // z·h
	VADDPS(x0, x1, x1)
	VMOVUPS(x1, Mem{Base: hp})
	VMOVUPS(x1, Mem{Base: yp})
	for _, p := range []GPPhysical{xg, hg, rb, hp, yp} {
		ADDQ(Imm(uint64(step)), p)
	}
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	ret()
}

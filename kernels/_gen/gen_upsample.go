package main

// The "upsample" kernel set (asm_upsample_amd64.s): the float32 kernels of
// super-resolution and segmentation upsampling paths.
//
//   - tanh, the activation of ESPCN-style super-resolution nets, fused into the
//     stores of convolutions (kernels.ActTanh) or run on its own: the rational
//     approximation of Eigen and ONNX Runtime's MLAS (odd degree-13 numerator
//     over even degree-6 denominator, x clamped to ±7.90531, past which tanh
//     is 1 within the approximation's 3.2e-7).
//   - the two-tap blend of a linear Resize, dst = wa·a + wb·b over channels-last
//     pixels, which serves the vertical pass (one "pixel" of a whole row) and
//     the horizontal pass (each output pixel from two input pixels).
//   - RoiAlign's bins: the average of bilinear samples of channels-last
//     pixels (gen_roialign.go).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// upsampleKernels is the "upsample" set, called from main.
func upsampleKernels() {
	tanhF32(true)
	tanhF32(false)
	blend2F32(true)
	blend2F32(false)
	roiBinsF32(true) // gen_roialign.go
	roiBinsF32(false)
}

var tanhConsts = f32Table{sym: "tanhConsts", vals: f32s(
	7.90531110763549805, -7.90531110763549805,
	// numerator alpha_13, alpha_11, ..., alpha_1
	-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
	1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03,
	// denominator beta_6, ..., beta_0
	1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03,
)}

// tanhF32 emits tanhF32AVX512 (wide) or tanhF32AVX2: dst = tanh(src) for n
// floats, n a multiple of the vector width: x·P(x²)/Q(x²). The clamp takes x as the second
// operand of VMINPS/VMAXPS, so NaN propagates.
func tanhF32(wide bool) {
	name := "tanhF32AVX2"
	if wide {
		name = "tanhF32AVX512"
	}
	vec, _ := vecRegs(wide)
	t2, p, q, c := vec(2), vec(3), vec(4), vec(5)
	pre := map[int]VecPhysical{}
	bc := func(i int) VecPhysical {
		if r, ok := pre[i]; ok {
			return r
		}
		VBROADCASTSS(tanhConsts.at(i), c)
		return c
	}
	f32Map(name, wide, name+" applies tanh (a rational approximation, x clamped to ±7.90531) to n floats (n a multiple of the vector width).", func() {
		if wide {
			for i := range tanhConsts.vals {
				pre[i] = vec(8 + i)
				VBROADCASTSS(tanhConsts.at(i), pre[i])
			}
		}
	}, func(x VecPhysical) {
		tanhOf(x, t2, p, q, bc, func() { VDIVPS(q, p, p) })
	})
}

// tanhOf emits x = tanh(x) in place with t2, p, q as temporaries and bc(i)
// the register holding tanhConsts[i]: the body of tanhF32, shared with the
// fused recurrent cells (gen_qrnn.go). div sets p = p/q (tanhF32: VDIVPS;
// the cells: a refined reciprocal estimate); t2 is free by then.
func tanhOf(x, t2, p, q VecPhysical, bc func(int) VecPhysical, div func()) {
	VMINPS(x, bc(0), x) // min(hi, x): x when NaN
	VMAXPS(x, bc(1), x)
	VMULPS(x, x, t2)
	VMOVAPS(bc(2), p)
	for i := 3; i <= 8; i++ {
		VFMADD213PS(bc(i), t2, p) // p = p·x² + alpha
	}
	VMOVAPS(bc(9), q)
	for i := 10; i <= 12; i++ {
		VFMADD213PS(bc(i), t2, q)
	}
	// x·(p/q), not (x·p)/q: x·alpha_1 would underflow for |x| below
	// about 2e-36 and lose the bits of the result.
	div()
	VMULPS(p, x, x)
}

// blend2F32 emits blend2F32AVX512 (wide) or blend2F32AVX2: for each of n
// output pixels p (pixel stride ostride bytes), dst[p][i] = w[2p]·src[off[2p]
// + i] + w[2p+1]·src[off[2p+1] + i] for i < c, off in floats, c a multiple of
// the vector width. The product of the first tap is rounded, the second
// added by an FMA: float32 arithmetic as ONNX Runtime's bilinear kernels.
func blend2F32(wide bool) {
	name := "blend2F32AVX2"
	if wide {
		name = "blend2F32AVX512"
	}
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, ostride int, src *float32, off *int64, w *float32, n int, c int)",
		fmt.Sprintf("%s blends two taps per output pixel over c floats (c a multiple of %d).", name, width))
	dst, ostride, src, off, w, n, c := RDI, R8, RSI, RDX, RBX, RCX, R9
	a, b, i, d := R10, R11, R12, R13
	loadArgs("dst ostride src off w n c", dst, ostride, src, off, w, n, c)
	wa, wb := vec(14), vec(15)
	step := 4 * width
	Label(name + "_pixel")
	MOVQ(Mem{Base: off}, a)
	MOVQ(Mem{Base: off, Disp: 8}, b)
	LEAQ(Mem{Base: src, Index: a, Scale: 4}, a)
	LEAQ(Mem{Base: src, Index: b, Scale: 4}, b)
	VBROADCASTSS(Mem{Base: w}, wa)
	VBROADCASTSS(Mem{Base: w, Disp: 4}, wb)
	MOVQ(c, i)
	MOVQ(dst, d)
	// Four vectors at a time while they last, then one.
	Label(name + "_quad")
	CMPQ(i, Imm(uint64(4*width)))
	JB(LabelRef(name + "_one"))
	for u := 0; u < 4; u++ {
		VMULPS(Mem{Base: a, Disp: u * step}, wa, vec(u))
		VFMADD231PS(Mem{Base: b, Disp: u * step}, wb, vec(u))
	}
	for u := 0; u < 4; u++ {
		VMOVUPS(vec(u), Mem{Base: d, Disp: u * step})
	}
	ADDQ(U32(4*step), a)
	ADDQ(U32(4*step), b)
	ADDQ(U32(4*step), d)
	SUBQ(Imm(uint64(4*width)), i)
	JMP(LabelRef(name + "_quad"))
	Label(name + "_one")
	TESTQ(i, i)
	JZ(LabelRef(name + "_next"))
	VMULPS(Mem{Base: a}, wa, vec(0))
	VFMADD231PS(Mem{Base: b}, wb, vec(0))
	VMOVUPS(vec(0), Mem{Base: d})
	ADDQ(Imm(uint64(step)), a)
	ADDQ(Imm(uint64(step)), b)
	ADDQ(Imm(uint64(step)), d)
	SUBQ(Imm(uint64(width)), i)
	JMP(LabelRef(name + "_one"))
	Label(name + "_next")
	ADDQ(Imm(16), off)
	ADDQ(Imm(8), w)
	ADDQ(ostride, dst)
	DECQ(n)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

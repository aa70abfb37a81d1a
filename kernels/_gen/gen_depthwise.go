package main

// The float32 kernels of the channels-last depthwise chains: an AVX-512
// depthwise row kernel that clamps in registers before its store, and the
// SiLU / Sigmoid activations (a vector exp) that the runtime fuses into the
// stores of convolutions, on AVX-512 and AVX2.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// f32EpilogueKernels is called from main.
func f32EpilogueKernels() {
	for _, px := range []int{1, 4} {
		for nb := 1; nb <= 4; nb++ {
			if px*nb <= 16 {
				depthwiseF32AVX512(px, nb)
			}
		}
	}
	for _, sig := range []bool{false, true} {
		actExpF32(true, sig)
		actExpF32(false, sig)
	}
	sumPixelsF32AVX512()
	geluF32(true)
	geluF32(false)
}

// depthwiseF32AVX512 computes px pixels x nb 16-channel blocks per step of one
// float32 output row of a depthwise convolution on a zero-padded NHWC input:
// out[x][c] = clamp(bias[c] + Σ_t in[x·pstride + off[t] + c] · w[t][c], lo, hi)
// with ep = {lo, hi}; ow must be a multiple of px. The clamp is VMAXPS/VMINPS
// with the accumulator as second operand, so NaN propagates as in a separate
// Clip.
func depthwiseF32AVX512(px, nb int) {
	name := fmt.Sprintf("depthwiseF32AVX512_%dx%d", px, nb)
	kernel(name, "func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int, ep *float32)",
		fmt.Sprintf("%s computes %d pixels x %d channels per step of one float32 depthwise output row, clamped to ep[0..1].", name, px, 16*nb))
	bases := []GPPhysical{RSI, RBX, RCX, RDX}[:px]
	off, wcur, outp, x, tap, t0, wstride, taps, tmp := RDI, R8, R10, R11, R13, RAX, R12, R9, R14
	acc := func(p, b int) VecPhysical { return zmm(p*nb + b) }
	Load(Param("in"), bases[0])
	Load(Param("pstride"), tmp)
	for p := 1; p < px; p++ {
		LEAQ(Mem{Base: bases[p-1], Index: tmp, Scale: 1}, bases[p])
	}
	loadArgs("off out ow wstride taps ep", off, outp, x, wstride, taps, tmp)
	VBROADCASTSS(Mem{Base: tmp}, Z30)
	VBROADCASTSS(Mem{Base: tmp, Disp: 4}, Z31)
	Label(name + "_pixel")
	splatBias(tmp, nb, 1, px, 64, movesF32, acc)
	tapLoop(name+"_tap", wcur, tap, off, t0)
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: wcur, Disp: 64 * b}, zmm(24+b))
		for p := 0; p < px; p++ {
			VFMADD231PS(Mem{Base: bases[p], Index: t0, Scale: 1, Disp: 64 * b}, zmm(24+b), acc(p, b))
		}
	}
	ADDQ(wstride, wcur)
	INCQ(tap)
	CMPQ(tap, taps)
	JB(LabelRef(name + "_tap"))
	Load(Param("ostride"), tmp)
	for p := 0; p < px; p++ {
		for b := 0; b < nb; b++ {
			VMAXPS(acc(p, b), Z30, acc(p, b))
			VMINPS(acc(p, b), Z31, acc(p, b))
			VMOVUPS(acc(p, b), Mem{Base: outp, Disp: 64 * b})
		}
		ADDQ(tmp, outp)
	}
	Load(Param("pstride"), tmp)
	for p := 0; p < px; p++ {
		for q := 0; q < px; q++ {
			ADDQ(tmp, bases[p])
		}
	}
	SUBQ(Imm(uint64(px)), x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

// Constants of the exp approximation (Cephes expf): exp(t) = 2^n · e^r with
// n = round(t·log2 e), r = t − n·ln2 (two-part ln2), e^r = 1 + r + r²·P(r).
var expNames = []string{"expHi", "expLo", "log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "p5", "one"}

var expConsts = f32Table{sym: "actExpConsts", vals: []float32{
	88.3762626647949, -87.3365447504, 1.44269504088896341, 0.693359375, -2.12194440e-4,
	1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
	1,
}}

func expConst(name string) Mem {
	for i, n := range expNames {
		if n == name {
			return expConsts.at(i)
		}
	}
	panic(name)
}

// actExpF32 emits dst = x/(1+exp(−x)) (SiLU) or 1/(1+exp(−x)) (Sigmoid) for
// n floats (n a multiple of the vector width). AVX-512 keeps the constants in
// registers and applies 2^n with VSCALEFPS; AVX2 broadcasts each constant
// where it is used and adds n to the exponent field.
func actExpF32(wide, sigmoid bool) {
	name := map[bool]string{false: "silu", true: "sigmoid"}[sigmoid] + map[bool]string{false: "F32AVX2", true: "F32AVX512"}[wide]
	vec, width := vecRegs(wide)
	t, k, r, p := vec(1), vec(2), vec(3), vec(4)
	preload, c := expRegs(wide, vec(5))
	doc := fmt.Sprintf("%s applies %s to n floats (n a multiple of %d).", name, map[bool]string{false: "x·sigmoid(x)", true: "sigmoid(x)"}[sigmoid], width)
	f32Map(name, wide, doc, preload, func(x VecPhysical) {
		if sigmoid {
			sigmoidOf(wide, c, x, t, k, r, p, func(one VecPhysical) { VDIVPS(p, one, x) })
			return
		}
		// t = clamp(−x) so that 2^n stays a normal float.
		VXORPS(t, t, t)
		VSUBPS(x, t, t)
		one := expOf(wide, c, t, k, r, p, t) // exp(−x)
		VADDPS(one, p, p)
		VDIVPS(p, x, x)
	})
}

// sigmoidOf emits x = 1/(1+exp(−x)) in place with t, k, r, p as temporaries
// and c the exp constants (expRegs): the Sigmoid of ActF32, shared with the
// fused recurrent cells (gen_qrnn.go). inv sets x = one/p (ActF32: VDIVPS;
// the cells: a refined reciprocal estimate).
func sigmoidOf(wide bool, c func(string) VecPhysical, x, t, k, r, p VecPhysical, inv func(one VecPhysical)) {
	// t = clamp(−x) so that 2^n stays a normal float.
	VXORPS(t, t, t)
	VSUBPS(x, t, t)
	one := expOf(wide, c, t, k, r, p, t) // exp(−x)
	VADDPS(one, p, p)
	inv(one)
}

// expRegs returns the emitter that preloads the exp constants (into zmm16
// and up on AVX-512; nothing on AVX2, which has 16 ymm registers only) and
// the function that returns constant name in a register: the preloaded one,
// or scratch after a broadcast.
func expRegs(wide bool, scratch VecPhysical) (preload func(), c func(name string) VecPhysical) {
	preload = func() {
		if wide {
			for i, nm := range expNames {
				VBROADCASTSS(expConst(nm), zmm(16+i))
			}
		}
	}
	c = func(nm string) VecPhysical {
		for i, s := range expNames {
			if s == nm && wide {
				return zmm(16 + i)
			}
		}
		VBROADCASTSS(expConst(nm), scratch)
		return scratch
	}
	return preload, c
}

// expOf emits p = exp(u) with u clamped in place to [expLo, expHi], using k
// and r as temporaries and sq for r² (sq may be u). It returns the register
// holding 1 (c("one"), still valid after it). 2^n is VSCALEFPS on AVX-512,
// an add to the exponent field on AVX2.
func expOf(wide bool, c func(string) VecPhysical, u, k, r, p, sq VecPhysical) VecPhysical {
	VMINPS(c("expHi"), u, u)
	VMAXPS(c("expLo"), u, u)
	VMULPS(c("log2e"), u, k)
	if wide {
		VRNDSCALEPS(Imm(0), k, k)
	} else {
		VROUNDPS(Imm(0), k, k)
	}
	VMOVAPS(u, r)
	VFNMADD231PS(c("ln2hi"), k, r)
	VFNMADD231PS(c("ln2lo"), k, r)
	if wide {
		VMOVAPS(c("p0"), p)
	} else {
		VBROADCASTSS(expConst("p0"), p)
	}
	for i := 1; i <= 5; i++ {
		VFMADD213PS(c(fmt.Sprintf("p%d", i)), r, p)
	}
	VMULPS(r, r, sq)
	VFMADD213PS(r, sq, p) // p·r² + r
	one := c("one")
	VADDPS(one, p, p) // e^r
	if wide {
		VSCALEFPS(k, p, p)
	} else {
		// 2^n: add n to the exponent field.
		VCVTPS2DQ(k, k)
		VPSLLD(Imm(23), k, k)
		VPADDD(k, p, p)
	}
	return one
}

// sumPixelsF32AVX512 sums n pixels (stride bytes apart) of 16 channels:
// dst[c] = Σ_p src[p·stride + c], four pixels at a time into independent
// accumulators.
func sumPixelsF32AVX512() {
	kernel("sumPixelsF32AVX512", "func(dst *float32, src *float32, n int, stride int)",
		"sumPixelsF32AVX512 sums n pixels (stride bytes apart) of 16 float32 channels into dst.")
	dst, src, n, stride, s3 := RDI, RSI, RCX, RDX, R8
	loadArgs("dst src n stride", dst, src, n, stride)
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, s3)
	for i := 0; i < 4; i++ {
		VXORPS(zmm(i), zmm(i), zmm(i))
	}
	CMPQ(n, Imm(4))
	JB(LabelRef("sumpx_tail"))
	Label("sumpx_loop4")
	VADDPS(Mem{Base: src}, Z0, Z0)
	VADDPS(Mem{Base: src, Index: stride, Scale: 1}, Z1, Z1)
	VADDPS(Mem{Base: src, Index: stride, Scale: 2}, Z2, Z2)
	VADDPS(Mem{Base: src, Index: s3, Scale: 1}, Z3, Z3)
	LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	SUBQ(Imm(4), n)
	CMPQ(n, Imm(4))
	JAE(LabelRef("sumpx_loop4"))
	Label("sumpx_tail")
	TESTQ(n, n)
	JZ(LabelRef("sumpx_done"))
	VADDPS(Mem{Base: src}, Z0, Z0)
	ADDQ(stride, src)
	DECQ(n)
	JMP(LabelRef("sumpx_tail"))
	Label("sumpx_done")
	VADDPS(Z1, Z0, Z0)
	VADDPS(Z3, Z2, Z2)
	VADDPS(Z2, Z0, Z0)
	VMOVUPS(Z0, Mem{Base: dst})
	ret()
}

package main

// The "pool" set: float32 max and average pooling over channels-last pixels
// (kernels/pool_f32.go), the int8 max pool's window kernel (kernels/pool.go),
// and the per-channel affine map (inference BatchNormalization, clamped)
// over channels-last pixels.
//
// A pooling call computes n output pixels of one output row whose windows
// all have the same shape: kh rows (hstride bytes apart) of kw taps
// (wstride bytes apart), the first tap of pixel i at src + i·pstride, the
// output at dst + i·dstride. Each pixel runs all its channels before the
// next pixel (64 channels = four independent accumulators at a time, then
// 32, 16, and the last c%16 under a mask), so the input is walked pixel by
// pixel, in the order the hardware prefetcher follows, and every window tap
// folds into four vectors whose chains of dependent max/add overlap.
//
// Max: VMAXPS returns its second source, the tap, when either operand is a
// NaN, so a NaN tap enters the accumulator; lanes where the accumulator is
// already a NaN are masked off the VMAXPS (an ordered-compare mask), so it
// stays. A NaN anywhere in the window gives NaN, as Go's max does. (VRANGEPS
// would be one instruction, but it returns the number of a number and a
// NaN.) The accumulators start at −Inf. Average: the taps are summed in
// float32 in window order from +0, then multiplied by scale (1/count of the
// window, computed by the caller), the same operations in the same order as the Go
// path, so every path gives the same bits.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func poolKernels() {
	poolF32AVX512(true)
	poolF32AVX512(false)
	poolF32AVX2(true)
	poolF32AVX2(false)
	affineRowsF32AVX512()
	poolMaxI8AVX512()
}

// poolMaxI8AVX512 is the int8 max pool's window kernel (kernels.QMaxPool),
// the same loops as poolMaxF32AVX512 on bytes: c256 runs of 256 channels
// (four zmm), then c64 runs of 64, then the tail under the 64-bit kmask when
// it is not 0. The accumulators start at −128; VPMAXSB is exact.
func poolMaxI8AVX512() {
	kernel("poolMaxI8AVX512", "func(dst *int8, src *int8, c256 int, c64 int, kmask uint64, kh int, kw int, hstride int, wstride int, pstride int, dstride int, n int)",
		"poolMaxI8AVX512 takes the maximum of int8 windows of channels-last pixels (AVX-512 BW).")
	dst, src, hs, ws, n, d, s, j, row, tap, a, b := RDI, RSI, R8, R9, RCX, R10, R11, R12, R13, R14, RBX, RDX
	loadArgs("dst src hstride wstride n", dst, src, hs, ws, n)
	Load(Param("kmask"), RAX)
	KMOVQ(RAX, K1)
	init := Z30
	MOVL(U32(0x80), EAX)
	VPBROADCASTB(EAX, init)
	block := func(l string, nv int) {
		for v := 0; v < nv; v++ {
			VMOVDQA64(init, zmm(v))
		}
		MOVQ(s, row)
		Load(Param("kh"), a)
		Label(l + "_row")
		MOVQ(row, tap)
		Load(Param("kw"), b)
		Label(l + "_tap")
		for v := 0; v < nv; v++ {
			VPMAXSB(Mem{Base: tap, Disp: 64 * v}, zmm(v), zmm(v))
		}
		ADDQ(ws, tap)
		loopBack(b, l+"_tap")
		ADDQ(hs, row)
		loopBack(a, l+"_row")
		for v := 0; v < nv; v++ {
			VMOVDQU64(zmm(v), Mem{Base: d, Disp: 64 * v})
		}
		ADDQ(U32(64*nv), s)
		ADDQ(U32(64*nv), d)
	}
	TESTQ(n, n)
	JZ(LabelRef("pmb_done"))
	Label("pmb_pixel")
	MOVQ(dst, d)
	MOVQ(src, s)
	Load(Param("c256"), j)
	TESTQ(j, j)
	JZ(LabelRef("pmb_r64"))
	Label("pmb_c256")
	block("pmb_b256", 4)
	loopBack(j, "pmb_c256")
	Label("pmb_r64")
	Load(Param("c64"), j)
	TESTQ(j, j)
	JZ(LabelRef("pmb_tail"))
	Label("pmb_c64")
	block("pmb_b64", 1)
	loopBack(j, "pmb_c64")
	Label("pmb_tail")
	KORTESTQ(K1, K1)
	JZ(LabelRef("pmb_next"))
	VMOVDQA64(init, Z0)
	MOVQ(s, row)
	Load(Param("kh"), a)
	Label("pmb_trow")
	MOVQ(row, tap)
	Load(Param("kw"), b)
	Label("pmb_ttap")
	VMOVDQU8_Z(Mem{Base: tap}, K1, Z1)
	VPMAXSB(Z1, Z0, Z0)
	ADDQ(ws, tap)
	loopBack(b, "pmb_ttap")
	ADDQ(hs, row)
	loopBack(a, "pmb_trow")
	VMOVDQU8(Z0, K1, Mem{Base: d})
	Label("pmb_next")
	Load(Param("dstride"), RAX)
	ADDQ(RAX, dst)
	Load(Param("pstride"), RAX)
	ADDQ(RAX, src)
	loopBack(n, "pmb_pixel")
	Label("pmb_done")
	ret()
}

// poolF32AVX512 emits poolMaxF32AVX512 or poolAvgF32AVX512: c64 runs of 64
// channels, then c32 (0 or 1) of 32, c16 (0 or 1) of 16, then the tail
// under kmask when it is not 0.
func poolF32AVX512(isMax bool) {
	name, tag := "poolAvgF32AVX512", "pa5"
	doc := "poolAvgF32AVX512 averages float32 windows of channels-last pixels (AVX-512 F)."
	sig := "func(dst *float32, src *float32, c64 int, c32 int, c16 int, kmask uint16, kh int, kw int, hstride int, wstride int, pstride int, dstride int, n int, scale float32)"
	if isMax {
		name, tag = "poolMaxF32AVX512", "pm5"
		doc = "poolMaxF32AVX512 takes the maximum of float32 windows of channels-last pixels, NaN propagating (AVX-512 F)."
		sig = "func(dst *float32, src *float32, c64 int, c32 int, c16 int, kmask uint16, kh int, kw int, hstride int, wstride int, pstride int, dstride int, n int)"
	}
	kernel(name, sig, doc)
	dst, src, hs, ws, n, d, s, j, row, tap, a, b := RDI, RSI, R8, R9, RCX, R10, R11, R12, R13, R14, RBX, RDX
	loadArgs("dst src hstride wstride n", dst, src, hs, ws, n)
	Load(Param("kmask"), EAX)
	KMOVW(EAX, K1)
	init := Z30
	if isMax {
		MOVL(U32(math.Float32bits(float32(math.Inf(-1)))), EAX)
		MOVD(EAX, X0)
		VBROADCASTSS(X0, init)
	} else {
		VXORPS(init, init, init)
		VBROADCASTSS(paramAddr("scale"), Z31)
	}
	// fold folds the tap at m (or in a register) into acc; k is the
	// accumulator's scratch mask.
	fold := func(m Op, acc VecPhysical, k Op) {
		if isMax {
			VCMPPS(Imm(7), acc, acc, k) // ordered: acc is not a NaN
			VMAXPS(m, acc, k, acc)
		} else {
			VADDPS(m, acc, acc)
		}
	}
	masks := []Op{K2, K3, K4, K5}
	// block emits one run of nv vectors over the window, from s to d.
	block := func(l string, nv int) {
		for v := 0; v < nv; v++ {
			VMOVAPS(init, zmm(v))
		}
		MOVQ(s, row)
		Load(Param("kh"), a)
		Label(l + "_row")
		MOVQ(row, tap)
		Load(Param("kw"), b)
		Label(l + "_tap")
		for v := 0; v < nv; v++ {
			fold(Mem{Base: tap, Disp: 64 * v}, zmm(v), masks[v])
		}
		ADDQ(ws, tap)
		loopBack(b, l+"_tap")
		ADDQ(hs, row)
		loopBack(a, l+"_row")
		for v := 0; v < nv; v++ {
			if !isMax {
				VMULPS(Z31, zmm(v), zmm(v))
			}
			VMOVUPS(zmm(v), Mem{Base: d, Disp: 64 * v})
		}
		ADDQ(U32(64*nv), s)
		ADDQ(U32(64*nv), d)
	}
	TESTQ(n, n)
	JZ(LabelRef(tag + "_done"))
	Label(tag + "_pixel")
	MOVQ(dst, d)
	MOVQ(src, s)
	Load(Param("c64"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_r32"))
	Label(tag + "_c64")
	block(tag+"_b64", 4)
	loopBack(j, tag+"_c64")
	Label(tag + "_r32")
	Load(Param("c32"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_r16"))
	block(tag+"_b32", 2)
	Label(tag + "_r16")
	Load(Param("c16"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_tail"))
	block(tag+"_b16", 1)
	Label(tag + "_tail")
	KORTESTW(K1, K1)
	JZ(LabelRef(tag + "_next"))
	VMOVAPS(init, Z0)
	MOVQ(s, row)
	Load(Param("kh"), a)
	Label(tag + "_trow")
	MOVQ(row, tap)
	Load(Param("kw"), b)
	Label(tag + "_ttap")
	VMOVUPS_Z(Mem{Base: tap}, K1, Z1)
	fold(Z1, Z0, K2)
	ADDQ(ws, tap)
	loopBack(b, tag+"_ttap")
	ADDQ(hs, row)
	loopBack(a, tag+"_trow")
	if !isMax {
		VMULPS(Z31, Z0, Z0)
	}
	VMOVUPS(Z0, K1, Mem{Base: d})
	Label(tag + "_next")
	Load(Param("dstride"), RAX)
	ADDQ(RAX, dst)
	Load(Param("pstride"), RAX)
	ADDQ(RAX, src)
	loopBack(n, tag+"_pixel")
	Label(tag + "_done")
	ret()
}

// poolF32AVX2 emits poolMaxF32AVX2 or poolAvgF32AVX2, the AVX2 forms of the
// kernels above: c32 runs of 32 channels (four ymm), then c8 runs of 8, then
// the last c%8 loaded and stored under the lane mask at tmask (VMASKMOVPS:
// lanes outside it are neither read nor written) when tail is not 0. The max
// of a NaN-free accumulator takes VMAXPS (which returns the tap when either
// is a NaN); lanes where the accumulator is already a NaN keep it (a blend),
// so a NaN anywhere in the window gives NaN.
func poolF32AVX2(isMax bool) {
	name, tag := "poolAvgF32AVX2", "pa2"
	doc := "poolAvgF32AVX2 averages float32 windows of channels-last pixels (AVX2)."
	sig := "func(dst *float32, src *float32, c32 int, c8 int, tail int, tmask *int32, kh int, kw int, hstride int, wstride int, pstride int, dstride int, n int, scale float32)"
	if isMax {
		name, tag = "poolMaxF32AVX2", "pm2"
		doc = "poolMaxF32AVX2 takes the maximum of float32 windows of channels-last pixels, NaN propagating (AVX2)."
		sig = "func(dst *float32, src *float32, c32 int, c8 int, tail int, tmask *int32, kh int, kw int, hstride int, wstride int, pstride int, dstride int, n int)"
	}
	kernel(name, sig, doc)
	dst, src, hs, ws, n, d, s, j, row, tap, a, b := RDI, RSI, R8, R9, RCX, R10, R11, R12, R13, R14, RBX, RDX
	loadArgs("dst src hstride wstride n", dst, src, hs, ws, n)
	init, scale, mask := Y15, Y14, Y13
	if isMax {
		MOVL(U32(math.Float32bits(float32(math.Inf(-1)))), EAX)
		MOVD(EAX, X15)
		VBROADCASTSS(X15, init)
	} else {
		VXORPS(init, init, init)
		VBROADCASTSS(paramAddr("scale"), scale)
	}
	Load(Param("tmask"), RAX)
	VMOVDQU(Mem{Base: RAX}, mask)
	// fold folds the tap in t (a register) or at m into acc; for the max,
	// t1 and t2 are scratch.
	fold := func(m Op, acc, t1, t2 VecPhysical) {
		if !isMax {
			VADDPS(m, acc, acc)
			return
		}
		VMAXPS(m, acc, t1)           // the tap where either is a NaN
		VCMPPS(Imm(3), acc, acc, t2) // unordered: the accumulator is a NaN
		VBLENDVPS(t2, acc, t1, acc)
	}
	block := func(l string, nv int) {
		for v := 0; v < nv; v++ {
			VMOVAPS(init, ymm(v))
		}
		MOVQ(s, row)
		Load(Param("kh"), a)
		Label(l + "_row")
		MOVQ(row, tap)
		Load(Param("kw"), b)
		Label(l + "_tap")
		for v := 0; v < nv; v++ {
			fold(Mem{Base: tap, Disp: 32 * v}, ymm(v), ymm(4+v), ymm(8+v))
		}
		ADDQ(ws, tap)
		loopBack(b, l+"_tap")
		ADDQ(hs, row)
		loopBack(a, l+"_row")
		for v := 0; v < nv; v++ {
			if !isMax {
				VMULPS(scale, ymm(v), ymm(v))
			}
			VMOVUPS(ymm(v), Mem{Base: d, Disp: 32 * v})
		}
		ADDQ(U32(32*nv), s)
		ADDQ(U32(32*nv), d)
	}
	TESTQ(n, n)
	JZ(LabelRef(tag + "_done"))
	Label(tag + "_pixel")
	MOVQ(dst, d)
	MOVQ(src, s)
	Load(Param("c32"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_r8"))
	Label(tag + "_c32")
	block(tag+"_b32", 4)
	loopBack(j, tag+"_c32")
	Label(tag + "_r8")
	Load(Param("c8"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_tail"))
	Label(tag + "_c8")
	block(tag+"_b8", 1)
	loopBack(j, tag+"_c8")
	Label(tag + "_tail")
	Load(Param("tail"), j)
	TESTQ(j, j)
	JZ(LabelRef(tag + "_next"))
	VMOVAPS(init, Y0)
	MOVQ(s, row)
	Load(Param("kh"), a)
	Label(tag + "_trow")
	MOVQ(row, tap)
	Load(Param("kw"), b)
	Label(tag + "_ttap")
	VMASKMOVPS(Mem{Base: tap}, mask, Y1)
	fold(Y1, Y0, Y4, Y8)
	ADDQ(ws, tap)
	loopBack(b, tag+"_ttap")
	ADDQ(hs, row)
	loopBack(a, tag+"_trow")
	if !isMax {
		VMULPS(scale, Y0, Y0)
	}
	VMASKMOVPS(Y0, mask, Mem{Base: d})
	Label(tag + "_next")
	Load(Param("dstride"), RAX)
	ADDQ(RAX, dst)
	Load(Param("pstride"), RAX)
	ADDQ(RAX, src)
	loopBack(n, tag+"_pixel")
	Label(tag + "_done")
	ret()
}

// affineRowsF32AVX512 writes, for each of n pixels, y[c] = min(max(a[c]·x[c]
// + b[c], lo), hi) for its channels (x at pixel stride sx bytes, y at sy):
// c64 runs of 64 channels, then c16 runs of 16, then the tail under kmask
// when it is not 0. The pixels run one after the other with all their
// channels (a and b come from L1 every pixel), so both tensors are walked
// in address order: DenseNet's Concat → BatchNormalization over a dense
// block's buffer (pixel stride 4 KB) ran at a fraction of the memory speed
// when it swept 64 channels of a whole row of pixels at a time, every access
// on another page, out of the hardware prefetcher's reach.
func affineRowsF32AVX512() {
	kernel("affineRowsF32AVX512", "func(y *float32, sy int, x *float32, sx int, a *float32, b *float32, c64 int, c16 int, kmask uint16, lo float32, hi float32, n int)",
		"affineRowsF32AVX512 maps channels-last pixels through a clamped per-channel affine map (AVX-512 F).")
	y, sy, x, sx, pa, pb, n, yd, xs, ac, bc, j := RDI, R8, RSI, R9, RDX, RBX, RCX, R10, R11, R12, R13, R14
	loadArgs("y sy x sx a b n", y, sy, x, sx, pa, pb, n)
	Load(Param("kmask"), EAX)
	KMOVW(EAX, K1)
	lo, hi := Z30, Z31
	VBROADCASTSS(paramAddr("lo"), lo)
	VBROADCASTSS(paramAddr("hi"), hi)
	// step maps nv vectors of channels (one under K1 when masked): the
	// same FMA and clamp as the depthwise kernel's one-tap epilogue
	// (b + a·x rounded once; VMAXPS/VMINPS keep a NaN).
	step := func(nv int, masked bool) {
		for v := 0; v < nv; v++ {
			xv, av, bv := zmm(v), zmm(8+v), zmm(16+v)
			if masked {
				VMOVUPS_Z(Mem{Base: xs}, K1, xv)
				VMOVUPS_Z(Mem{Base: ac}, K1, av)
				VMOVUPS_Z(Mem{Base: bc}, K1, bv)
			} else {
				VMOVUPS(Mem{Base: xs, Disp: 64 * v}, xv)
				VMOVUPS(Mem{Base: ac, Disp: 64 * v}, av)
				VMOVUPS(Mem{Base: bc, Disp: 64 * v}, bv)
			}
			VFMADD231PS(xv, av, bv)
			VMAXPS(bv, lo, bv)
			VMINPS(bv, hi, bv)
			if masked {
				VMOVUPS(bv, K1, Mem{Base: yd})
			} else {
				VMOVUPS(bv, Mem{Base: yd, Disp: 64 * v})
			}
		}
	}
	TESTQ(n, n)
	JZ(LabelRef("afr_done"))
	Label("afr_pixel")
	MOVQ(y, yd)
	MOVQ(x, xs)
	MOVQ(pa, ac)
	MOVQ(pb, bc)
	Load(Param("c64"), j)
	TESTQ(j, j)
	JZ(LabelRef("afr_r16"))
	Label("afr_c64")
	step(4, false)
	for _, r := range []GPPhysical{yd, xs, ac, bc} {
		ADDQ(U32(256), r)
	}
	loopBack(j, "afr_c64")
	Label("afr_r16")
	Load(Param("c16"), j)
	TESTQ(j, j)
	JZ(LabelRef("afr_tail"))
	Label("afr_c16")
	step(1, false)
	for _, r := range []GPPhysical{yd, xs, ac, bc} {
		ADDQ(Imm(64), r)
	}
	loopBack(j, "afr_c16")
	Label("afr_tail")
	KORTESTW(K1, K1)
	JZ(LabelRef("afr_next"))
	step(1, true)
	Label("afr_next")
	ADDQ(sy, y)
	ADDQ(sx, x)
	loopBack(n, "afr_pixel")
	Label("afr_done")
	ret()
}

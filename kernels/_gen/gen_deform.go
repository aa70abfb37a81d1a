package main

// The "deform" set (asm_deform_amd64.s; twenty-second session): the bilinear
// corner gathers of DeformConv's columns. For blocks of 16 moved taps, the
// four corners' plane indices and weights come from a blocked table
// (kernels.DeformGatherF32): per block 4×16 int32 indices, then 4×16 float32
// weights in a parallel table. Each lane is
//
//	dst = ((w0·p[i0] + w1·p[i1]) + w2·p[i2]) + w3·p[i3]     (times mask)
//
// every product and sum rounded on its own in that order (no fused
// multiply-add), the scalar loop's order, so every path gives the same bits.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func deformKernels() {
	deformGather(true)
	deformGather(false)
	deformCorners(true)
	deformCorners(false)
}

// deformGather emits deformGatherF32AVX512 (wide: one VGATHERDPS of 16 lanes
// per corner) or deformGatherF32AVX2 (two of 8 lanes per corner and block)
// over nb blocks of 16 lanes: idx and w point at the blocks' 64 indices and
// 64 weights, mask at 16·nb multipliers (hasMask 0: none).
func deformGather(wide bool) {
	name := "deformGatherF32AVX2"
	if wide {
		name = "deformGatherF32AVX512"
	}
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, plane *float32, idx *int32, w *float32, mask *float32, hasMask int, nb int)",
		fmt.Sprintf("%s writes nb blocks of 16 bilinear samples of plane: four gathered corners weighted and summed in order, times mask when hasMask != 0.", name))
	dst, plane, idx, w, mask, hm, nb := RDI, RSI, RDX, RBX, R8, R9, RCX
	loadArgs("dst plane idx w mask hasMask nb", dst, plane, idx, w, mask, hm, nb)
	parts := 16 / width
	// v(k, u): corner k of part u (registers 0-7); the index vectors: one per
	// corner and part on AVX-512 (8-11), two reused on AVX2 (8-9) with their
	// gather masks (10-11), as AVX2 has 16 registers.
	v := func(k, u int) VecPhysical { return vec(k*parts + u) }
	Label(name + "_block")
	for k := 0; k < 4; k++ {
		for u := 0; u < parts; u++ {
			src := Mem{Base: idx, Disp: 4 * (16*k + width*u)}
			if wide {
				ix := vec(8 + k)
				VMOVUPS(src, ix)
				km := []OpmaskPhysical{K1, K2, K3, K4}[k] // one mask per corner: no chain through K1
				KXNORW(km, km, km)
				VGATHERDPS(Mem{Base: plane, Index: ix, Scale: 4}, km, v(k, u))
			} else {
				ix, m := vec(8+u), vec(10+u)
				VMOVUPS(src, ix)
				VPCMPEQD(m, m, m)
				VGATHERDPS(m, Mem{Base: plane, Index: ix, Scale: 4}, v(k, u))
			}
		}
	}
	for u := 0; u < parts; u++ {
		a := v(0, u)
		VMULPS(Mem{Base: w, Disp: 4 * (width * u)}, a, a)
		for k := 1; k < 4; k++ {
			b := v(k, u)
			VMULPS(Mem{Base: w, Disp: 4 * (16*k + width*u)}, b, b)
			VADDPS(b, a, a)
		}
	}
	TESTQ(hm, hm)
	JZ(LabelRef(name + "_store"))
	for u := 0; u < parts; u++ {
		VMULPS(Mem{Base: mask, Disp: 4 * width * u}, v(0, u), v(0, u))
	}
	ADDQ(Imm(64), mask)
	Label(name + "_store")
	for u := 0; u < parts; u++ {
		VMOVUPS(v(0, u), Mem{Base: dst, Disp: 4 * width * u})
	}
	ADDQ(Imm(64), dst)
	ADDQ(U32(256), idx)
	ADDQ(U32(256), w)
	loopBack(nb, name+"_block")
	ret()
}

// deformCorners emits deformCornersF32AVX512 or deformCornersF32AVX2: the
// table blocks of kernels.DeformCornersF32 from nb blocks of 16 sample
// points (ys, xs). c points at the constants -1, 1, h, w (float32) and w,
// h·w (int32). Per lane, as the scalar code: valid = y > -1 && y < h &&
// x > -1 && x < w (false for NaN); yl, xl = floor (VRNDSCALEPS / VROUNDPS,
// exact, -0 made +0 as float32(int(-0)) is), ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx; the weights
// hy·hx, hy·lx, ly·hx, ly·lx (0 where not valid); the indices yl·w + xl, +1,
// +w, +w+1 where valid and that corner is inside (yl >= 0, yl + 1 < h,
// xl >= 0, xl + 1 < w), else h·w.
func deformCorners(wide bool) {
	name := "deformCornersF32AVX2"
	if wide {
		name = "deformCornersF32AVX512"
	}
	kernel(name, "func(idx *int32, w *float32, ys *float32, xs *float32, c *uint32, nb int)",
		fmt.Sprintf("%s writes nb blocks of the bilinear corner table of DeformConv from 16 sample points each.", name))
	idx, w, ys, xs, c, nb := RDI, RSI, RDX, RBX, R8, RCX
	loadArgs("idx w ys xs c nb", idx, w, ys, xs, c, nb)
	const (
		gtOQ  = 0x1e
		ltOQ  = 0x11
		geOQ  = 0x1d
		floor = 0x09 // round down, no precision exception
	)
	if wide {
		m1, one, fh, fw, iw, zi, am, fz := Z10, Z11, Z12, Z13, Z14, Z16, Z17, Z15
		for i, r := range []VecPhysical{m1, one, fh, fw, iw, zi} {
			VBROADCASTSS(Mem{Base: c, Disp: 4 * i}, r)
		}
		VPTERNLOGD(U8(0xff), am, am, am) // int32 -1 in every lane
		VXORPS(fz, fz, fz)
		Label(name + "_block")
		VMOVUPS(Mem{Base: ys}, Z0)
		VMOVUPS(Mem{Base: xs}, Z1)
		VCMPPS(U8(gtOQ), m1, Z0, K1)
		VCMPPS(U8(ltOQ), fh, Z0, K1, K1)
		VCMPPS(U8(gtOQ), m1, Z1, K1, K1)
		VCMPPS(U8(ltOQ), fw, Z1, K1, K1)
		VRNDSCALEPS(U8(floor), Z0, Z2)
		VRNDSCALEPS(U8(floor), Z1, Z3)
		VADDPS(fz, Z2, Z2) // -0 + 0 = +0: float32(int(-0)) as the scalar code
		VADDPS(fz, Z3, Z3)
		VSUBPS(Z2, Z0, Z0)  // ly
		VSUBPS(Z3, Z1, Z1)  // lx
		VSUBPS(Z0, one, Z5) // hy
		VSUBPS(Z1, one, Z6) // hx
		for k, ab := range [][2]VecPhysical{{Z5, Z6}, {Z5, Z1}, {Z0, Z6}, {Z0, Z1}} {
			VMULPS_Z(ab[1], ab[0], K1, Z7)
			VMOVUPS(Z7, Mem{Base: w, Disp: 64 * k})
		}
		VCMPPS(U8(geOQ), fz, Z2, K1, K2) // valid, yl >= 0
		VADDPS(one, Z2, Z8)
		VCMPPS(U8(ltOQ), fh, Z8, K1, K3) // valid, yl + 1 < h
		VCMPPS(U8(geOQ), fz, Z3, K4)     // xl >= 0
		VADDPS(one, Z3, Z9)
		VCMPPS(U8(ltOQ), fw, Z9, K5) // xl + 1 < w
		VCVTTPS2DQ(Z2, Z2)
		VCVTTPS2DQ(Z3, Z3)
		VPMULLD(iw, Z2, Z2)
		VPADDD(Z3, Z2, Z2) // yl·w + xl
		store := func(k int, i VecPhysical, ky, kx OpmaskPhysical) {
			KANDW(kx, ky, K6)
			VPBLENDMD(i, zi, K6, Z7)
			VMOVUPS(Z7, Mem{Base: idx, Disp: 64 * k})
		}
		store(0, Z2, K2, K4)
		VPSUBD(am, Z2, Z3) // +1
		store(1, Z3, K2, K5)
		VPADDD(iw, Z2, Z2) // +w
		store(2, Z2, K3, K4)
		VPSUBD(am, Z2, Z3) // +w+1
		store(3, Z3, K3, K5)
		ADDQ(Imm(64), ys)
		ADDQ(Imm(64), xs)
	} else {
		m1, one, fh, fw, iw, zi := Y10, Y11, Y12, Y13, Y14, Y15
		for i, r := range []VecPhysical{m1, one, fh, fw, iw, zi} {
			VBROADCASTSS(Mem{Base: c, Disp: 4 * i}, r)
		}
		Label(name + "_block")
		for u := 0; u < 2; u++ {
			VMOVUPS(Mem{Base: ys, Disp: 32 * u}, Y0)
			VMOVUPS(Mem{Base: xs, Disp: 32 * u}, Y1)
			VCMPPS(U8(gtOQ), m1, Y0, Y4)
			VCMPPS(U8(ltOQ), fh, Y0, Y5)
			VANDPS(Y5, Y4, Y4)
			VCMPPS(U8(gtOQ), m1, Y1, Y5)
			VANDPS(Y5, Y4, Y4)
			VCMPPS(U8(ltOQ), fw, Y1, Y5)
			VANDPS(Y5, Y4, Y4) // valid
			VROUNDPS(U8(floor), Y0, Y2)
			VROUNDPS(U8(floor), Y1, Y3)
			VXORPS(Y7, Y7, Y7)
			VADDPS(Y7, Y2, Y2) // -0 + 0 = +0: float32(int(-0)) as the scalar code
			VADDPS(Y7, Y3, Y3)
			VSUBPS(Y2, Y0, Y0)  // ly
			VSUBPS(Y3, Y1, Y1)  // lx
			VSUBPS(Y0, one, Y5) // hy
			VSUBPS(Y1, one, Y6) // hx
			for k, ab := range [][2]VecPhysical{{Y5, Y6}, {Y5, Y1}, {Y0, Y6}, {Y0, Y1}} {
				VMULPS(ab[1], ab[0], Y7)
				VANDPS(Y4, Y7, Y7)
				VMOVUPS(Y7, Mem{Base: w, Disp: 64*k + 32*u})
			}
			VXORPS(Y7, Y7, Y7)
			VCMPPS(U8(geOQ), Y7, Y2, Y5)
			VANDPS(Y4, Y5, Y5) // valid, yl >= 0
			VADDPS(one, Y2, Y6)
			VCMPPS(U8(ltOQ), fh, Y6, Y6)
			VANDPS(Y4, Y6, Y6)           // valid, yl + 1 < h
			VCMPPS(U8(geOQ), Y7, Y3, Y8) // xl >= 0
			VADDPS(one, Y3, Y9)
			VCMPPS(U8(ltOQ), fw, Y9, Y9) // xl + 1 < w
			VCVTTPS2DQ(Y2, Y2)
			VCVTTPS2DQ(Y3, Y3)
			VPMULLD(iw, Y2, Y2)
			VPADDD(Y3, Y2, Y2)   // yl·w + xl
			VPCMPEQD(Y4, Y4, Y4) // int32 -1
			store := func(k int, i, my, mx VecPhysical) {
				VANDPS(mx, my, Y0)
				VBLENDVPS(Y0, i, zi, Y1)
				VMOVUPS(Y1, Mem{Base: idx, Disp: 64*k + 32*u})
			}
			store(0, Y2, Y5, Y8)
			VPSUBD(Y4, Y2, Y3)
			store(1, Y3, Y5, Y9)
			VPADDD(iw, Y2, Y2)
			store(2, Y2, Y6, Y8)
			VPSUBD(Y4, Y2, Y3)
			store(3, Y3, Y6, Y9)
		}
		ADDQ(Imm(64), ys)
		ADDQ(Imm(64), xs)
	}
	ADDQ(U32(256), idx)
	ADDQ(U32(256), w)
	loopBack(nb, name+"_block")
	ret()
}

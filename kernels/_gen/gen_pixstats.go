package main

// Per-channel statistics of channels-last maps (the group normalisation of
// a convolution chain's NHWC tensors, runtime/fuse_groupnorm.go): the sum of
// squared deviations of each channel from a per-channel centre over a run
// of pixels, 16 channels per call. The channel sums themselves are
// sumPixelsF32AVX512 (gen_depthwise.go).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// pixStatsKernels is called from main.
func pixStatsKernels() {
	sqDevPixelsF32AVX512()
}

// sqDevPixelsF32AVX512 writes dst[c] = Σ_p (src[p·stride + c] − mu[c])² for
// 16 channels over n pixels (stride bytes apart), four pixels at a time
// into independent accumulators, added in a fixed order at the end.
func sqDevPixelsF32AVX512() {
	kernel("sqDevPixelsF32AVX512", "func(dst *float32, src *float32, mu *float32, n int, stride int)",
		"sqDevPixelsF32AVX512 writes the sums of squared deviations from mu of n pixels (stride bytes apart) of 16 float32 channels to dst.")
	dst, src, mu, n, stride, s3 := RDI, RSI, R9, RCX, RDX, R8
	loadArgs("dst src mu n stride", dst, src, mu, n, stride)
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, s3)
	VMOVUPS(Mem{Base: mu}, Z15)
	for i := 0; i < 4; i++ {
		VXORPS(zmm(i), zmm(i), zmm(i))
	}
	CMPQ(n, Imm(4))
	JB(LabelRef("sqdev_tail"))
	Label("sqdev_loop4")
	VSUBPS(Mem{Base: src}, Z15, Z4)
	VSUBPS(Mem{Base: src, Index: stride, Scale: 1}, Z15, Z5)
	VSUBPS(Mem{Base: src, Index: stride, Scale: 2}, Z15, Z6)
	VSUBPS(Mem{Base: src, Index: s3, Scale: 1}, Z15, Z7)
	VFMADD231PS(Z4, Z4, Z0)
	VFMADD231PS(Z5, Z5, Z1)
	VFMADD231PS(Z6, Z6, Z2)
	VFMADD231PS(Z7, Z7, Z3)
	LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	SUBQ(Imm(4), n)
	CMPQ(n, Imm(4))
	JAE(LabelRef("sqdev_loop4"))
	Label("sqdev_tail")
	TESTQ(n, n)
	JZ(LabelRef("sqdev_done"))
	VSUBPS(Mem{Base: src}, Z15, Z4)
	VFMADD231PS(Z4, Z4, Z0)
	ADDQ(stride, src)
	DECQ(n)
	JMP(LabelRef("sqdev_tail"))
	Label("sqdev_done")
	VADDPS(Z1, Z0, Z0)
	VADDPS(Z3, Z2, Z2)
	VADDPS(Z2, Z0, Z0)
	VMOVUPS(Z0, Mem{Base: dst})
	ret()
}

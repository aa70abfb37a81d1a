package main

// Peak-throughput loops (the roofline figures of `warboy bench kernels`).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// peaks are throughput micro-benchmarks of the inner instruction sequences:
// independent accumulators, register operands only, n iterations.
func peaks() {
	peak("peakVNNIZ", "peakvz_loop", nil, func() {
		for i := 0; i < 24; i++ {
			vpdpbusd(Z30, Z31, zmm(i))
		}
	},
		"peakVNNIZ runs n iterations of 24 independent zmm VPDPBUSD (1536 int8 MACs).")
	peak("peakVNNIZXor", "peakvzx_loop", nil, func() {
		for i := 0; i < 24; i++ {
			if i%2 == 0 {
				VPXORD(Z28, Z29, zmm(26+(i/2)%2))
			}
			vpdpbusd(Z30, zmm(26+(i/2)%2), zmm(i))
		}
	},
		"peakVNNIZXor is peakVNNIZ plus one VPXORD per two VPDPBUSD (in-kernel s8->u8 conversion).")
	peak("peakVNNIY", "peakvy_loop", nil, func() {
		for i := 0; i < 12; i++ {
			vpdpbusd(Y14, Y15, ymm(i))
		}
	},
		"peakVNNIY runs n iterations of 12 independent ymm VPDPBUSD (EVEX, 384 int8 MACs).")
	peak("peakAVX2Int8", "peaka_loop", int16Ones, func() {
		for r := 0; r < 4; r++ {
			VPABSB(Y11, Y12)
			for v := 0; v < 2; v++ {
				signTrickMAC(Y11, Y12, ymm(8+v), ymm(13+v), ymm(r*2+v))
			}
		}
	},
		"peakAVX2Int8 runs n iterations of the exact AVX2 sign-trick sequence of a 4x16 tile",
		"(4 x VPABSB + 8 x (VPSIGNB, VPMADDUBSW, VPMADDWD, VPADDD)) = 256 int8 MACs.")
	peak("peakAVX2Madd", "peakm_loop", int16Ones, func() {
		for i := 0; i < 8; i++ {
			t := ymm(12 + i%4)
			VPMADDUBSW(ymm(8+i%2), Y11, t)
			VPMADDWD(Y10, t, t)
			VPADDD(t, ymm(i), ymm(i))
		}
	},
		"peakAVX2Madd runs n iterations of 8 x (VPMADDUBSW, VPMADDWD, VPADDD) = 256 int8 MACs",
		"(the inexact u8·s8 sequence without the sign trick, for comparison).")
	peak("peakAVX2Madd16", "peakw_loop", nil, func() {
		for i := 0; i < 8; i++ {
			t := ymm(12 + i%4)
			VPMADDWD(ymm(8+i%2), Y11, t)
			VPADDD(t, ymm(i), ymm(i))
		}
	},
		"peakAVX2Madd16 runs n iterations of 8 x (VPMADDWD, VPADDD) on int16 operands = 128 int8 MACs",
		"(the exact sign-extended path: operands pre-widened to int16).")
	peak("peakFMA", "peakf_loop", func() {
		for i := 0; i < 12; i++ {
			VXORPS(ymm(i), ymm(i), ymm(i))
		}
		VXORPS(Y12, Y12, Y12)
		VXORPS(Y14, Y14, Y14)
	}, func() {
		for i := 0; i < 12; i++ {
			VFMADD231PS(Y12, Y14, ymm(i))
		}
	},
		"peakFMA runs n iterations of 12 independent ymm VFMADD231PS (96 float32 MACs).")
	peak("peakFMAZ", "peakfz_loop", func() {
		for i := 0; i < 12; i++ {
			VPXORD(zmm(i), zmm(i), zmm(i)) // AVX512F (VXORPS zmm needs DQ)
		}
		VPXORD(Z12, Z12, Z12)
		VPXORD(Z14, Z14, Z14)
	}, func() {
		for i := 0; i < 12; i++ {
			VFMADD231PS(Z12, Z14, zmm(i))
		}
	},
		"peakFMAZ runs n iterations of 12 independent zmm VFMADD231PS (192 float32 MACs).")
}

// peak emits a func(n int) that runs setup (when not nil), then body n times.
func peak(name, loop string, setup, body func(), doc ...string) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(doc...)
	Load(Param("n"), RCX)
	if setup != nil {
		setup()
	}
	Label(loop)
	body()
	loopBack(RCX, loop)
	ret()
}

// int16Ones sets the int16 lanes of Y10 to 1 (the VPMADDWD operand that sums
// pairs).
func int16Ones() {
	VPCMPEQW(Y10, Y10, Y10)
	VPSRLW(Imm(15), Y10, Y10)
}

package main

// HardSwish, y = x·min(max(x/6 + 1/2, 0), 1), the activation of MobileNetV3
// (the ONNX operator, or HardSigmoid(1/6, 1/2) + Mul as torch.onnx writes it).

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var hswishConsts = []float32{1.0 / 6, 3, 1}

var hswishData Mem

func hswishConst(i int) Mem {
	if hswishData.Symbol.Name == "" {
		hswishData = GLOBL("hswishConsts", RODATA|NOPTR)
		for j, v := range hswishConsts {
			DATA(4*j, U32(math.Float32bits(v)))
		}
	}
	return hswishData.Offset(4 * i)
}

// hardSwishF32 emits hardSwishF32AVX512 (wide) or hardSwishF32AVX2: dst =
// hardswish(src) for n floats, n a multiple of the vector width, in float32
// as (x+3)·(1/6), clamped, times x: x+3 is exact near x = −3, where x/6 + 1/2
// in one FMA lost the relative precision of the small result.
func hardSwishF32(wide bool) {
	name, width, vec := "hardSwishF32AVX2", 8, func(i int) VecPhysical { return ymm(i) }
	if wide {
		name, width, vec = "hardSwishF32AVX512", 16, func(i int) VecPhysical { return zmm(i) }
	}
	TEXT(name, NOSPLIT, "func(dst *float32, src *float32, n int)")
	Pragma("noescape")
	Doc(name + " applies HardSwish, x·min(max(x/6+1/2, 0), 1), to n floats (n a multiple of the vector width).")
	dst, src, n := RDI, RSI, RCX
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("n"), n)
	sixth, three, one, zero := vec(8), vec(9), vec(10), vec(11)
	VBROADCASTSS(hswishConst(0), sixth)
	VBROADCASTSS(hswishConst(1), three)
	VBROADCASTSS(hswishConst(2), one)
	VXORPS(zero, zero, zero)
	x, t := vec(0), vec(1)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	VADDPS(three, x, t)
	VMULPS(sixth, t, t) // t = (x+3)/6
	VMAXPS(zero, t, t)
	VMINPS(one, t, t)
	VMULPS(t, x, x)
	VMOVUPS(x, Mem{Base: dst})
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

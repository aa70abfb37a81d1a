package main

// HardSwish, y = x·min(max(x/6 + 1/2, 0), 1), the activation of MobileNetV3
// (the ONNX operator, or HardSigmoid(1/6, 1/2) + Mul as torch.onnx writes it).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/reg"
)

var hswishConsts = f32Table{sym: "hswishConsts", vals: []float32{1.0 / 6, 3, 1}}

// hardSwishF32 emits hardSwishF32AVX512 (wide) or hardSwishF32AVX2: dst =
// hardswish(src) for n floats, n a multiple of the vector width, in float32
// as (x+3)·(1/6), clamped, times x: x+3 is exact near x = −3, where x/6 + 1/2
// in one FMA lost the relative precision of the small result.
func hardSwishF32(wide bool) {
	name := "hardSwishF32AVX2"
	if wide {
		name = "hardSwishF32AVX512"
	}
	vec, _ := vecRegs(wide)
	sixth, three, one, zero := vec(8), vec(9), vec(10), vec(11)
	f32Map(name, wide, name+" applies HardSwish, x·min(max(x/6+1/2, 0), 1), to n floats (n a multiple of the vector width).", func() {
		VBROADCASTSS(hswishConsts.at(0), sixth)
		VBROADCASTSS(hswishConsts.at(1), three)
		VBROADCASTSS(hswishConsts.at(2), one)
		VXORPS(zero, zero, zero)
	}, func(x VecPhysical) {
		t := vec(1)
		VADDPS(three, x, t)
		VMULPS(sixth, t, t) // t = (x+3)/6
		VMAXPS(zero, t, t)
		VMINPS(one, t, t)
		VMULPS(t, x, x)
	})
}

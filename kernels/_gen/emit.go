package main

// Emission helpers shared by the kernel families: the function header, the
// argument loads and the return, the float32 -> int8 requantization step,
// read-only float32 constant tables and the shape of an elementwise float32
// map.

import (
	"fmt"
	"math"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kernel starts a NOSPLIT function whose pointer arguments do not escape.
func kernel(name, sig string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
}

// loadArgs loads the arguments named in names (space-separated) into regs,
// in that order.
func loadArgs(names string, regs ...Register) {
	f := strings.Fields(names)
	if len(f) != len(regs) {
		panic(fmt.Sprintf("loadArgs(%q): %d registers", names, len(regs)))
	}
	for i, n := range f {
		Load(Param(n), regs[i])
	}
}

// ret leaves the vector unit clean and returns.
func ret() {
	VZEROUPPER()
	RET()
}

// loopBack closes a counted loop: n -= 1, back to label while n != 0.
func loopBack(n Register, label string) {
	DECQ(n)
	JNZ(LabelRef(label))
}

// clampCvtZP is the float requantization step of the int8 kernels on the
// float32 lanes of v: clamp to [lo, hi] (VMAXPS gives lo for NaN), convert
// with round half to even, add the output zero point.
func clampCvtZP(v VecPhysical, lo, hi, zp Op) {
	VMAXPS(lo, v, v)
	VMINPS(hi, v, v)
	VCVTPS2DQ(v, v)
	VPADDD(zp, v, v)
}

// f32Table is a read-only table of float32 constants, emitted (as bit
// patterns: the assembler does not store float DATA of width 4 as float32)
// on first use.
type f32Table struct {
	sym  string
	vals []float32
	mem  Mem
}

func (t *f32Table) at(i int) Mem {
	if t.mem.Symbol.Name == "" {
		t.mem = GLOBL(t.sym, RODATA|NOPTR)
		for j, v := range t.vals {
			DATA(4*j, U32(math.Float32bits(v)))
		}
	}
	return t.mem.Offset(4 * i)
}

// vecRegs returns the register file and lane count of AVX-512 (wide) or AVX2.
func vecRegs(wide bool) (func(int) VecPhysical, int) {
	if wide {
		return zmm, 16
	}
	return ymm, 8
}

// f32Map emits name(dst, src *float32, n int): dst = f(src) for n floats, n a
// multiple of the vector width. setup runs once before the loop; body turns
// the loaded vector x (register 0) into the result in place.
func f32Map(name string, wide bool, doc string, setup func(), body func(x VecPhysical)) {
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, n int)", doc)
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, src, n)
	setup()
	x := vec(0)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	body(x)
	VMOVUPS(x, Mem{Base: dst})
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	ret()
}

// blocks emits the loop of a kernel over n values in blocks of 2^shift
// values (n a multiple of it) and its return: n >>= shift, nothing more when
// that is 0; else setup (nil for none) once, then step (one block, advancing
// its pointers) n times. Its labels are prefix_loop and prefix_done.
func blocks(prefix string, n GPPhysical, shift uint64, setup, step func()) {
	SHRQ(Imm(shift), n)
	JZ(LabelRef(prefix + "_done"))
	if setup != nil {
		setup()
	}
	Label(prefix + "_loop")
	step()
	loopBack(n, prefix+"_loop")
	Label(prefix + "_done")
	ret()
}

// vecMoves are the unaligned load/store and register move of one kind of
// vector data.
type vecMoves struct{ load, move func(src, dst Op) }

var (
	movesI256 = vecMoves{func(s, d Op) { VMOVDQU(s, d) }, func(s, d Op) { VMOVDQA(s, d) }}
	movesI512 = vecMoves{func(s, d Op) { VMOVDQU32(s, d) }, func(s, d Op) { VMOVDQA32(s, d) }}
	movesF32  = vecMoves{func(s, d Op) { VMOVUPS(s, d) }, func(s, d Op) { VMOVAPS(s, d) }}
)

// avx2TailMask writes the read-only table an AVX2 tail load masks with: 16
// uint32, the first 8 all ones, so the 8 lanes loaded at element 8-t are
// all ones for the first t.
func avx2TailMask(name string) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	return m
}

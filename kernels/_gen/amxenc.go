package main

// An encoder for the few AMX instructions the int8 tile kernels use. Neither
// the Go assembler (go1.26: "unrecognized instruction LDTILECFG") nor avo
// v0.5.0 knows AMX, so the kernels carry these instructions as BYTE
// directives, each preceded by a comment with its GNU assembler (AT&T) text;
// TestAMXEncoding (amxenc_test.go) checks the encoder against bytes produced
// by binutils `as --64`, and kernels.TestAMXBytesMatchAs re-assembles the
// comments of the generated file when `as` is installed.
//
// All of them are VEX-encoded in map 0F38 with W=0 and L=0 (SDM vol. 2,
// "AMX instructions"):
//
//	LDTILECFG m512       VEX.128.NP.0F38.W0 49 /0 (mod != 11)
//	TILERELEASE          VEX.128.NP.0F38.W0 49 C0
//	TILEZERO tmm         VEX.128.F2.0F38.W0 49 11:rrr:000
//	TILELOADD tmm, sib   VEX.128.F2.0F38.W0 4B !(11):rrr:100
//	TILESTORED sib, tmm  VEX.128.F3.0F38.W0 4B !(11):rrr:100
//	TDPBSSD t1, t2, t3   VEX.128.F2.0F38.W0 5E 11:t1:t2, vvvv = t3
//	TDPBUSD t1, t2, t3   VEX.128.66.0F38.W0 5E 11:t1:t2, vvvv = t3

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// VEX.pp values.
const (
	ppNone = 0
	pp66   = 1
	ppF3   = 2
	ppF2   = 3
)

// amxMem is a memory operand base + index·scale + disp; index < 0 means none.
// Registers are hardware numbers (0 = AX ... 15 = R15).
type amxMem struct {
	base, index, scale int
	disp               int32
}

// gpNum is the hardware number of an avo general-purpose register.
func gpNum(r reg.GPPhysical) int { return int(r.PhysicalIndex()) }

// mem64 is the operand [base + index·1 + disp] of the tile loads and stores
// (the index register holds the row stride in bytes).
func mem64(base, index reg.GPPhysical, disp int32) amxMem {
	return amxMem{base: gpNum(base), index: gpNum(index), scale: 1, disp: disp}
}

// vex3 is the three-byte VEX prefix of map 0F38, W=0, L=0: R, X and B are the
// high bits of ModRM.reg, SIB.index and ModRM.rm/SIB.base; vvvv the extra
// register operand (0 when unused).
func vex3(r, x, b, vvvv, pp int) []byte {
	b1 := byte(0x02) // map 0F38
	if r&8 == 0 {
		b1 |= 0x80
	}
	if x&8 == 0 {
		b1 |= 0x40
	}
	if b&8 == 0 {
		b1 |= 0x20
	}
	b2 := byte((^vvvv&0xf)<<3) | byte(pp)
	return []byte{0xc4, b1, b2}
}

// encodeMem encodes opcode op with ModRM.reg = regField and the memory
// operand m. withSIB forces a SIB byte (the sibmem operand of the tile
// loads and stores requires one).
func encodeMem(pp int, op byte, regField int, m amxMem, withSIB bool) []byte {
	if m.index == 4 {
		panic("amx: RSP cannot be an index register")
	}
	sib := withSIB || m.index >= 0 || m.base&7 == 4
	x := 0
	if m.index >= 0 {
		x = m.index
	}
	out := vex3(regField, x, m.base, 0, pp)
	out = append(out, op)
	var mod byte
	switch {
	case m.disp == 0 && m.base&7 != 5:
		mod = 0
	case m.disp >= -128 && m.disp <= 127:
		mod = 1
	default:
		mod = 2
	}
	rm := byte(m.base & 7)
	if sib {
		rm = 4
	}
	out = append(out, mod<<6|byte(regField&7)<<3|rm)
	if sib {
		idx := byte(4) // none
		ss := byte(0)
		if m.index >= 0 {
			idx = byte(m.index & 7)
			switch m.scale {
			case 1:
			case 2:
				ss = 1
			case 4:
				ss = 2
			case 8:
				ss = 3
			default:
				panic(fmt.Sprintf("amx: bad scale %d", m.scale))
			}
		}
		out = append(out, ss<<6|idx<<3|byte(m.base&7))
	}
	switch mod {
	case 1:
		out = append(out, byte(int8(m.disp)))
	case 2:
		d := uint32(m.disp)
		out = append(out, byte(d), byte(d>>8), byte(d>>16), byte(d>>24))
	}
	return out
}

func encLDTILECFG(m amxMem) []byte         { return encodeMem(ppNone, 0x49, 0, m, false) }
func encTILELOADD(t int, m amxMem) []byte  { return encodeMem(ppF2, 0x4b, t, m, true) }
func encTILESTORED(m amxMem, t int) []byte { return encodeMem(ppF3, 0x4b, t, m, true) }
func encTILERELEASE() []byte               { return []byte{0xc4, 0xe2, 0x78, 0x49, 0xc0} }
func encTILEZERO(t int) []byte             { return append(vex3(0, 0, 0, 0, ppF2), 0x49, 0xc0|byte(t)<<3) }

// encTDP encodes tdst += tA·tB (TDPBSSD with pp F2, TDPBUSD with pp 66).
func encTDP(pp, tdst, ta, tb int) []byte {
	return append(vex3(0, 0, 0, tb, pp), 0x5e, 0xc0|byte(tdst)<<3|byte(ta))
}

// gpName is the AT&T name of a 64-bit register.
func gpName(n int) string {
	return []string{"%rax", "%rcx", "%rdx", "%rbx", "%rsp", "%rbp", "%rsi", "%rdi",
		"%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15"}[n]
}

// att is the AT&T text of m.
func (m amxMem) att() string {
	s := ""
	if m.disp != 0 {
		s = fmt.Sprint(m.disp)
	}
	if m.index < 0 {
		return s + "(" + gpName(m.base) + ")"
	}
	return fmt.Sprintf("%s(%s,%s,%d)", s, gpName(m.base), gpName(m.index), m.scale)
}

// rawInstr emits one instruction as BYTE directives after a comment holding
// its AT&T text (the form kernels.TestAMXBytesMatchAs feeds to `as`).
func rawInstr(att string, code []byte) {
	Comment("amx: " + att)
	for _, b := range code {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(b)}})
	}
}

func ldtilecfg(m amxMem) { rawInstr("ldtilecfg "+m.att(), encLDTILECFG(m)) }
func tilerelease()       { rawInstr("tilerelease", encTILERELEASE()) }
func tilezero(t int)     { rawInstr(fmt.Sprintf("tilezero %%tmm%d", t), encTILEZERO(t)) }
func tileloadd(t int, m amxMem) {
	rawInstr(fmt.Sprintf("tileloadd %s, %%tmm%d", m.att(), t), encTILELOADD(t, m))
}
func tilestored(m amxMem, t int) {
	rawInstr(fmt.Sprintf("tilestored %%tmm%d, %s", t, m.att()), encTILESTORED(m, t))
}

// tdpbssd emits tdst += tA·tB on signed int8 (AT&T operand order: B, A, dst).
func tdpbssd(tdst, ta, tb int) {
	rawInstr(fmt.Sprintf("tdpbssd %%tmm%d, %%tmm%d, %%tmm%d", tb, ta, tdst), encTDP(ppF2, tdst, ta, tb))
}

package main

import (
	"bytes"
	"testing"

	"github.com/mmcloughlin/avo/reg"
)

// TestAMXEncoding checks the AMX encoder against the bytes GNU as 2.x
// (`as --64`, disassembled with `objdump -d`) produces for the same text.
// Run with: cd kernels/_gen && go test .
func TestAMXEncoding(t *testing.T) {
	none := -1
	cases := []struct {
		text string
		got  []byte
		want []byte
	}{
		{"ldtilecfg (%rdi)", encLDTILECFG(amxMem{base: 7, index: none}), []byte{0xc4, 0xe2, 0x78, 0x49, 0x07}},
		{"ldtilecfg (%r12)", encLDTILECFG(amxMem{base: 12, index: none}), []byte{0xc4, 0xc2, 0x78, 0x49, 0x04, 0x24}},
		{"ldtilecfg 8(%rbp)", encLDTILECFG(amxMem{base: 5, index: none, disp: 8}), []byte{0xc4, 0xe2, 0x78, 0x49, 0x45, 0x08}},
		{"tilerelease", encTILERELEASE(), []byte{0xc4, 0xe2, 0x78, 0x49, 0xc0}},
		{"tilezero %tmm0", encTILEZERO(0), []byte{0xc4, 0xe2, 0x7b, 0x49, 0xc0}},
		{"tilezero %tmm7", encTILEZERO(7), []byte{0xc4, 0xe2, 0x7b, 0x49, 0xf8}},
		{"tileloadd (%rsi,%rbx,1), %tmm4", encTILELOADD(4, mem64(reg.RSI, reg.RBX, 0)), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x24, 0x1e}},
		{"tileloadd (%r8,%r9,1), %tmm5", encTILELOADD(5, mem64(reg.R8, reg.R9, 0)), []byte{0xc4, 0x82, 0x7b, 0x4b, 0x2c, 0x08}},
		{"tileloadd 64(%rsi,%rbx,2), %tmm6", encTILELOADD(6, amxMem{base: 6, index: 3, scale: 2, disp: 64}), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x74, 0x5e, 0x40}},
		{"tileloadd (%rdi,%r11,1), %tmm7", encTILELOADD(7, mem64(reg.RDI, reg.R11, 0)), []byte{0xc4, 0xa2, 0x7b, 0x4b, 0x3c, 0x1f}},
		{"tileloadd (%r13,%rax,1), %tmm1", encTILELOADD(1, mem64(reg.R13, reg.RAX, 0)), []byte{0xc4, 0xc2, 0x7b, 0x4b, 0x4c, 0x05, 0x00}},
		{"tileloadd (%rsp,%rax,1), %tmm2", encTILELOADD(2, mem64(reg.RSP, reg.RAX, 0)), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x14, 0x04}},
		{"tileloadd 1024(%rsi,%rbx,1), %tmm2", encTILELOADD(2, mem64(reg.RSI, reg.RBX, 1024)), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x94, 0x1e, 0x00, 0x04, 0x00, 0x00}},
		{"tilestored %tmm0, (%rdx,%rcx,1)", encTILESTORED(mem64(reg.RDX, reg.RCX, 0), 0), []byte{0xc4, 0xe2, 0x7a, 0x4b, 0x04, 0x0a}},
		{"tilestored %tmm3, 64(%r10,%r14,1)", encTILESTORED(mem64(reg.R10, reg.R14, 64), 3), []byte{0xc4, 0x82, 0x7a, 0x4b, 0x5c, 0x32, 0x40}},
		{"tdpbssd %tmm6, %tmm4, %tmm0", encTDP(ppF2, 0, 4, 6), []byte{0xc4, 0xe2, 0x4b, 0x5e, 0xc4}},
		{"tdpbssd %tmm7, %tmm5, %tmm3", encTDP(ppF2, 3, 5, 7), []byte{0xc4, 0xe2, 0x43, 0x5e, 0xdd}},
		{"tdpbusd %tmm6, %tmm4, %tmm0", encTDP(pp66, 0, 4, 6), []byte{0xc4, 0xe2, 0x49, 0x5e, 0xc4}},
	}
	for _, c := range cases {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: encoded % x, as gives % x", c.text, c.got, c.want)
		}
	}
}

// TestAMXText checks the AT&T text the comments carry.
func TestAMXText(t *testing.T) {
	cases := []struct{ got, want string }{
		{mem64(reg.RSI, reg.RBX, 0).att(), "(%rsi,%rbx,1)"},
		{mem64(reg.R10, reg.R14, 64).att(), "64(%r10,%r14,1)"},
		{amxMem{base: 12, index: -1}.att(), "(%r12)"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

package main

// The int8 product of two small activations (twentieth session): an
// attention head's q·kᵀ and p·v, 8-32 tokens by 8-32 inner values. The packed
// VNNI GEMM (matMulPacked) costs ~0.6 µs per product in packing B into its
// four-k layout, its column sums, the row sums of A for B's zero point, the
// -128 fix-up and the driver, for 2-16 k multiply-adds whose arithmetic takes
// ~20 ns. Here both operands are widened to int16 with their zero points
// subtracted (Go: smallPackA, smallPackB), so that no correction is left:
// a row of A is a run of k/2 dwords, each the pair (a[i,2p]−aZP,
// a[i,2p+1]−aZP); B is stored per 16-column block as k/2 vectors of 16 pairs
// (b[2p,j]−bZP, b[2p+1,j]−bZP). One k pair of four rows is one B vector load,
// four dword broadcasts, four VPMADDWD and four VPADDD; the int32 sums wrap
// as the reference loop's do (each pair sum is at most 2·383² in magnitude).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qsmallKernels is called from main for -set qsmall.
func qsmallKernels() {
	smmI16()
	smmWiden()
	smmPackB()
}

// smmWiden emits smmWidenAVX512: the A operand, the int8 matrix minus its
// zero point as int16 in one run (a row of k values is k/2 pairs as they
// lie; an odd k's last pair takes the next row's first value, which meets
// B's zero padding row).
func smmWiden() {
	const name = "smmWidenAVX512"
	kernel(name, "func(dst *int16, src *int8, chunks int, tail uint32, zp int)",
		name+" writes dst[i] = src[i] − zp for chunks·32 values, then the values of the tail mask's set bits of one more chunk of 32.")
	dst, src, chunks, zp := RDI, RSI, RCX, RAX
	loadArgs("dst src chunks zp", dst, src, chunks, zp)
	VPBROADCASTW(EAX, Z1)
	Load(Param("tail"), EDX)
	KMOVD(EDX, K2)
	TESTQ(chunks, chunks)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	VPMOVSXBW(Mem{Base: src}, Z0)
	VPSUBW(Z1, Z0, Z0)
	VMOVDQU16(Z0, Mem{Base: dst})
	ADDQ(Imm(32), src)
	ADDQ(Imm(64), dst)
	DECQ(chunks)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_tail")
	KORTESTD(K2, K2)
	JZ(LabelRef(name + "_done"))
	VPMOVSXBW_Z(Mem{Base: src}, K2, Z0)
	VPSUBW(Z1, Z0, Z0)
	VMOVDQU16(Z0, K2, Mem{Base: dst})
	Label(name + "_done")
	ret()
}

// smmPackB emits smmPackBAVX512: the B operand in the pair kernel's layout.
func smmPackB() {
	const name = "smmPackBAVX512"
	kernel(name, "func(dst *int32, b *int8, n int, k int, zp int, nb int, tail uint16)",
		name+" writes the k×n int8 B minus zp as nb blocks of 16 columns, each (k+1)/2 vectors of 16 int16 pairs (b[2p, j], b[2p+1, j]); an odd k's last pair has 0 as its second value; the last block reads the columns of the tail mask (the others are left undefined: the pair kernel does not store them).")
	dst, b, n, k, zp, nb := RDI, RSI, RCX, RDX, RAX, R8
	loadArgs("dst b n k zp nb", dst, b, n, k, zp, nb)
	Load(Param("tail"), R9)
	KMOVW(R9L, K2)
	KXNORW(K3, K3, K3)
	VPBROADCASTD(EAX, Z2)
	MOVL(U32(0xffff), R9L)
	VPBROADCASTD(R9L, Z3)
	// kp·64: the distance between two blocks' vectors of the same pair.
	bstride, row, col, blk, out, pair := R10, R11, R12, R13, R14, R15
	MOVQ(k, bstride)
	INCQ(bstride)
	SHRQ(Imm(1), bstride)
	SHLQ(Imm(6), bstride)
	XORQ(pair, pair) // pair index p: rows 2p, 2p+1
	Label(name + "_pair")
	// row = b + 2p·n
	MOVQ(pair, row)
	SHLQ(Imm(1), row)
	IMULQ(n, row)
	ADDQ(b, row)
	MOVQ(dst, out)
	MOVQ(pair, blk)
	SHLQ(Imm(6), blk)
	ADDQ(blk, out) // out = dst + p·64
	XORQ(col, col)
	MOVQ(nb, blk)
	Label(name + "_blk")
	KMOVW(K3, K1)
	CMPQ(blk, Imm(1))
	JNE(LabelRef(name + "_full"))
	KMOVW(K2, K1)
	Label(name + "_full")
	VPMOVSXBD_Z(Mem{Base: row, Index: col, Scale: 1}, K1, Z0)
	VPSUBD(Z2, Z0, Z0)
	VPANDD(Z3, Z0, Z0)
	// The second row, unless 2p+1 = k (an odd k's last pair: 0).
	LEAQ(Mem{Base: pair, Index: pair, Scale: 1, Disp: 1}, R9)
	CMPQ(R9, k)
	JAE(LabelRef(name + "_store"))
	LEAQ(Mem{Base: row, Index: n, Scale: 1}, R9)
	VPMOVSXBD_Z(Mem{Base: R9, Index: col, Scale: 1}, K1, Z1)
	VPSUBD(Z2, Z1, Z1)
	VPSLLD(Imm(16), Z1, Z1)
	VPORD(Z1, Z0, Z0)
	Label(name + "_store")
	VMOVDQU32(Z0, Mem{Base: out})
	ADDQ(Imm(16), col)
	ADDQ(bstride, out)
	DECQ(blk)
	JNZ(LabelRef(name + "_blk"))
	INCQ(pair)
	LEAQ(Mem{Base: pair, Index: pair, Scale: 1}, R9)
	CMPQ(R9, k)
	JB(LabelRef(name + "_pair"))
	ret()
}

// smmI16 emits smmI16AVX512.
func smmI16() {
	const name = "smmI16AVX512"
	kernel(name, "func(a *int16, lda int, b *int32, kp int, nb int, out *int32, ldo int, m int, mask uint16)",
		name+" computes out[i, j] = Σ_p pairdot(a[i, p], b[j/16][p][j%16]) for m rows and nb blocks of 16 columns: a holds m rows of kp int16 pairs (lda int16 apart, any alignment), b nb blocks of kp vectors of 16 int16 pairs; out rows are ldo int32 apart, the last block stored under mask (its valid columns).")
	// m and nb stay in the frame (fourteen registers are taken).
	a, lda, bb, kp, out, ldo := RSI, R8, RDX, R9, RDI, R11
	loadArgs("a lda b kp out ldo", a, lda, bb, kp, out, ldo)
	Load(Param("mask"), EAX)
	KMOVW(EAX, K2)
	KXNORW(K1, K1, K1)
	SHLQ(Imm(1), lda) // bytes
	SHLQ(Imm(2), ldo)
	lda3, ldo3 := R13, R14
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	LEAQ(Mem{Base: ldo, Index: ldo, Scale: 2}, ldo3)
	ar, or, rows, pa, pb, cnt := R15, RBX, RAX, RCX, R10, R12
	// bb (RDX) is the block's first B vector; nb counts down in the frame.
	Comment("column blocks")
	Label(name + "_blk")
	// The last block stores under K2, the others under K1.
	Load(Param("nb"), pb)
	CMPQ(pb, Imm(1))
	JNE(LabelRef(name + "_full"))
	KMOVW(K2, K1)
	Label(name + "_full")
	MOVQ(a, ar)
	MOVQ(out, or)
	Load(Param("m"), rows)
	body := func(r int) {
		l := fmt.Sprintf("%s_r%d", name, r)
		for i := 0; i < r; i++ {
			VPXORD(zmm(4+i), zmm(4+i), zmm(4+i))
		}
		MOVQ(ar, pa)
		MOVQ(bb, pb)
		MOVQ(kp, cnt)
		Label(l + "_k")
		VMOVDQU32(Mem{Base: pb}, Z0)
		for i := 0; i < r; i++ {
			t := zmm(8 + i)
			VPBROADCASTD(rowAddr(i, []GPPhysical{pa}, lda, lda3), t)
			VPMADDWD(Z0, t, t)
			VPADDD(t, zmm(4+i), zmm(4+i))
		}
		ADDQ(Imm(4), pa)
		ADDQ(Imm(64), pb)
		DECQ(cnt)
		JNZ(LabelRef(l + "_k"))
		for i := 0; i < r; i++ {
			VMOVDQU32(zmm(4+i), K1, rowAddr(i, []GPPhysical{or}, ldo, ldo3))
		}
	}
	Comment("four rows at a time")
	Label(name + "_r4loop")
	CMPQ(rows, Imm(4))
	JB(LabelRef(name + "_r1loop"))
	body(4)
	LEAQ(Mem{Base: ar, Index: lda, Scale: 4}, ar)
	LEAQ(Mem{Base: or, Index: ldo, Scale: 4}, or)
	SUBQ(Imm(4), rows)
	JMP(LabelRef(name + "_r4loop"))
	Comment("the rows left, one at a time")
	Label(name + "_r1loop")
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_next"))
	body(1)
	ADDQ(lda, ar)
	ADDQ(ldo, or)
	DECQ(rows)
	JMP(LabelRef(name + "_r1loop"))
	Label(name + "_next")
	// Next block: b advances by kp vectors, out by 16 columns.
	MOVQ(kp, pb)
	SHLQ(Imm(6), pb)
	ADDQ(pb, bb)
	ADDQ(Imm(64), out)
	Load(Param("nb"), pb)
	DECQ(pb)
	Store(pb, Param("nb"))
	JNZ(LabelRef(name + "_blk"))
	ret()
}

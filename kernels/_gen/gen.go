// Command gen generates the amd64 assembly of package kernels with avo.
//
//	cd kernels/_gen && go run . -out ../asm_amd64.s -stubs ../stubs_amd64.go -pkg kernels
//
// (wired as `go generate ./kernels/...`). The generator is its own module (go.mod
// here) so that avo is a dependency of the generator only, not of the main module.
// The kernels are split by family: peaks.go, qgemm.go, sgemm.go, requant.go,
// depthwise.go, ...; emit.go holds the emission helpers they share; main below
// fixes the order of the generated functions. avo v0.5.0 has no VNNI mnemonics, so
// VPDPBUSD is emitted as a raw instruction; the Go assembler encodes it with
// EVEX (AVX512_VNNI, zmm), which TestVPDPBUSDEncoding checks with go tool objdump.
package main

import (
	"flag"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// set selects the kernels of one output file: "main" (asm_amd64.s) or
// "rowsidx" (asm_rows_idx_amd64.s, gen_rows_idx.go) or "qwin" (int8 window
// kernels: asm_qwin_amd64.s, gen_qwin.go) or "qinter" (input quantize +
// interleave: asm_qinter_amd64.s, gen_qinter.go) or "qstem" (int8 stem
// convolution: asm_qstem_amd64.s, gen_qstem.go) or "qbytes" (int8 byte
// moves of small models: asm_qbytes_amd64.s, gen_qbytes.go) or "upsample" (float32 tanh and
// the linear Resize blend: asm_upsample_amd64.s, gen_upsample.go) or "fshuf" (the float32
// channel interleave of ShuffleNet: asm_fshuf_amd64.s, gen_fshuf.go), so that a family can
// be added without regenerating the others; "amx" holds the AMX int8 tile kernels
// (asm_amx_amd64.s, gen_amx.go), "sgemm512" the AVX-512 forms of the 6x16 float32
// GEMM micro-kernels (asm_sgemm512_amd64.s, gen_sgemm512.go), "qatew" the float32
// elementwise kernels of QAT (asm_qatew_amd64.s, gen_qatew.go), "acts" the float32
// Softplus/Mish/Softsign/ELU-family/HardSigmoid activations (asm_acts_amd64.s,
// gen_acts.go), "pool" the float32 channels-last pooling and affine kernels
// (asm_pool_amd64.s, gen_pool.go), "qattr" the transposing gather of QAT's
// shifted weight gradient (asm_qattr_amd64.s, gen_qattr.go), "rowspf" the channels-last
// row tiles that prefetch the next weight block (asm_rows_pf_amd64.s, gen_rows_pf.go),
// "dense" the 12x32 float32 tiles of the dense packed-weight GEMM of transformer Linear
// layers (asm_dense_amd64.s, gen_dense.go), "rowspair" the indexed row tile of two
// 16-channel groups of a grouped convolution (asm_rows_pair_amd64.s, gen_rows_pair.go),
// "fewrows" the 1-5-row float32 GEMM of the recurrent steps (asm_fewrows_amd64.s,
// gen_fewrows.go), "qrnn" the fused recurrent steps of int8 and float32 LSTM/GRU
// (asm_qrnn_amd64.s, gen_qrnn.go), "affine" the per-channel affine map of preprocessing chains from
// uint8, int8 or float32 (asm_affine_amd64.s, gen_affine.go), "rowsred" the indexed row
// tiles of grouped convolutions with the reduction split over the lanes
// (asm_rows_red_amd64.s, gen_rows_red.go), "tpack" the transposing pack of a per-call B
// stored transposed (attention's kᵀ: asm_tpack_amd64.s, gen_tpack.go), "dwf32" the
// eight-pixel float32 depthwise row kernels (asm_dwf32_amd64.s, gen_dwf32.go), "histbin" the
// binning loop of the calibration histograms (asm_histbin_amd64.s, gen_histbin.go), "trig" the
// float32 Sin, Cos and Exp operators (asm_trig_amd64.s, gen_trig.go), "qsmrow" the
// fused float Softmax row of the int8 attention (asm_qsmrow_amd64.s, gen_qsmrow.go), "bcast" the
// float32 broadcasting Add/Sub/Mul/Div blocks and the int8/uint8 dequantization (asm_bcast_amd64.s,
// gen_bcast.go), "qsmall" the int8 product of two small activations in int16 pairs
// (asm_qsmall_amd64.s, gen_qsmall.go), "pixstats" the per-channel squared deviations of
// channels-last maps (asm_pixstats_amd64.s, gen_pixstats.go), "powdist" the float32 Pow by a
// constant in float64 lanes and the float64-accumulated squared row distances
// (asm_powdist_amd64.s, gen_powdist.go), "deform" the bilinear corner gathers of DeformConv's
// columns (asm_deform_amd64.s, gen_deform.go), "smalldot" the small products with B stored
// transposed, one row of A by up to 16 rows of B (asm_smalldot_amd64.s, gen_smalldot.go), "dynq" the float
// epilogue of the dynamic-int8 MatMul chains (asm_dynq_amd64.s, gen_dynq.go).
var set = flag.String("set", "main", "kernel set to generate: main, rowsidx, qwin, qinter, qstem, qbytes, upsample, fshuf, amx, sgemm512, qatew, acts, pool, qattr, rowspf, rowspair, rowsred, dense, fewrows, qrnn, affine, tpack, dwf32, histbin, trig, qsmrow, bcast, qsmall, pixstats, powdist, deform, smalldot or dynq")

func main() {
	flag.Parse()
	ConstraintExpr("amd64,!purego,!noasm")
	if *set == "rowsidx" {
		sgemmRowsIdxKernels() // gen_rows_idx.go
		Generate()
		return
	}
	if *set == "rowspair" {
		sgemmRowsPairKernels() // gen_rows_pair.go
		Generate()
		return
	}
	if *set == "rowsred" {
		sgemmRowsRedKernels() // gen_rows_red.go
		Generate()
		return
	}
	if *set == "rowspf" {
		sgemmRowsPfKernels() // gen_rows_pf.go
		Generate()
		return
	}
	if *set == "qinter" {
		qinterKernels() // gen_qinter.go
		Generate()
		return
	}
	if *set == "qwin" {
		qwinKernels() // gen_qwin.go
		Generate()
		return
	}
	if *set == "qstem" {
		qstemKernels() // gen_qstem.go
		Generate()
		return
	}
	if *set == "qbytes" {
		qbytesKernels() // gen_qbytes.go
		Generate()
		return
	}
	if *set == "fshuf" {
		fshufKernels() // gen_fshuf.go
		Generate()
		return
	}
	if *set == "trig" {
		trigKernels() // gen_trig.go
		Generate()
		return
	}
	if *set == "acts" {
		actsKernels() // gen_acts.go
		Generate()
		return
	}
	if *set == "qatew" {
		qatewKernels() // gen_qatew.go
		Generate()
		return
	}
	if *set == "sgemm512" {
		sgemm512Kernels() // gen_sgemm512.go
		Generate()
		return
	}
	if *set == "amx" {
		amxKernels() // gen_amx.go, amxenc.go
		Generate()
		return
	}
	if *set == "pool" {
		poolKernels() // gen_pool.go
		Generate()
		return
	}
	if *set == "dwf32" {
		dwf32Kernels() // gen_dwf32.go
		Generate()
		return
	}
	if *set == "dense" {
		denseKernels() // gen_dense.go
		Generate()
		return
	}
	if *set == "qattr" {
		qattrKernels() // gen_qattr.go
		Generate()
		return
	}
	if *set == "tpack" {
		tpackKernels() // gen_tpack.go
		Generate()
		return
	}
	if *set == "affine" {
		affineKernels() // gen_affine.go
		Generate()
		return
	}
	if *set == "qrnn" {
		qrnnKernels() // gen_qrnn.go
		Generate()
		return
	}
	if *set == "fewrows" {
		fewRowsKernels() // gen_fewrows.go
		Generate()
		return
	}
	if *set == "histbin" {
		histbinKernels() // gen_histbin.go
		Generate()
		return
	}
	if *set == "upsample" {
		upsampleKernels() // gen_upsample.go
		Generate()
		return
	}
	if *set == "qsmall" {
		qsmallKernels() // gen_qsmall.go
		Generate()
		return
	}
	if *set == "powdist" {
		powdistKernels() // gen_powdist.go
		Generate()
		return
	}
	if *set == "bcast" {
		bcastKernels() // gen_bcast.go
		Generate()
		return
	}
	if *set == "deform" {
		deformKernels() // gen_deform.go
		Generate()
		return
	}
	if *set == "pixstats" {
		pixStatsKernels() // gen_pixstats.go
		Generate()
		return
	}
	if *set == "dynq" {
		dynqKernels() // gen_dynq.go
		Generate()
		return
	}
	if *set == "smalldot" {
		smallDotKernels() // gen_smalldot.go
		Generate()
		return
	}
	if *set == "qsmrow" {
		qsmRowKernels() // gen_qsmrow.go
		Generate()
		return
	}
	peaks()
	for _, nv := range []int{1, 2} {
		for mr := 1; mr <= 12; mr++ {
			qgemmVNNI(mr, nv)
		}
	}
	for mr := 1; mr <= 4; mr++ {
		qgemmAVX2(mr)
	}
	for mr := 1; mr <= 6; mr++ {
		qgemmAVX2W(mr)
	}
	widenAVX2()
	sgemmAVX2()
	panelRowsAVX2()
	maxF32AVX2()
	requantFloatAVX2()
	requantFixedAVX2()
	for _, v := range [][2]int{{1, 4}, {2, 2}, {1, 1}, {2, 1}} {
		depthwiseAVX2(v[0], v[1])
	}
	dwPairsAVX2()
	for nb := 1; nb <= 4; nb++ {
		depthwiseF32AVX2(nb)
	}
	f32EpilogueKernels() // gen_depthwise.go, gen_gelu.go
	transformerKernels() // gen_softmax.go
	sgemvRowsKernels()   // gen_gemv_rows.go
	hardSwishF32(true)   // gen_hswish.go
	hardSwishF32(false)
	int8EWKernels() // int8ew.go
	dwVNNIKernels() // dwvnni.go
	qrowKernels()   // gen_qrows.go
	Generate()
}

// vpdpbusd emits acc += u8(a)·s8(w) (Go operand order: signed, unsigned, acc).
func vpdpbusd(w, a, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{w, a, acc},
		Inputs:   []Op{w, a, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512VNNI"},
	})
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}
func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// rowAddr returns the address of row r of A: rows 0-3 from a0, 4-7 from a4,
// 8-11 from a8, using lda and lda3 = 3*lda as index registers.
func rowAddr(r int, bases []GPPhysical, lda, lda3 GPPhysical) Mem {
	base := bases[r/4]
	switch r % 4 {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: lda, Scale: 1}
	case 2:
		return Mem{Base: base, Index: lda, Scale: 2}
	default:
		return Mem{Base: base, Index: lda3, Scale: 1}
	}
}

// paramAddr is the frame address of an argument (for read-modify-write).
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// packStore8 saturating-packs the 8 int32 lanes of the ymm register v
// (already in range) into 8 int8 and stores them at dst; tmp (a ymm register)
// is clobbered.
func packStore8(v, tmp VecPhysical, dst Mem) {
	x, xtmp := v.AsX(), tmp.AsX()
	VEXTRACTI128(Imm(1), v, xtmp)
	VPACKSSDW(xtmp, x, x)
	VPACKSSWB(x, x, x)
	MOVQ(x, dst)
}

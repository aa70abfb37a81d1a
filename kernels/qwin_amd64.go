//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qwin -out ../asm_qwin_amd64.s -stubs ../stubs_qwin_amd64.go -pkg kernels"

import "unsafe"

type qgroupedFunc func(in *uint8, off *int64, ntaps int, pstride int, ow int, w *int8, idx *int32, bias *int32, out *int32, ostride int)

// qgroupedKernels[nq] = {4 pixels per iteration, 1 pixel}.
var qgroupedKernels = [5][2]qgroupedFunc{
	1: {qgroupedVNNI_1x4, qgroupedVNNI_1x1},
	2: {qgroupedVNNI_2x4, qgroupedVNNI_2x1},
	4: {qgroupedVNNI_4x4, qgroupedVNNI_4x1},
}

// groupedBlockRow computes block b of one output row (see groupedBlockRowGo)
// with the VNNI kernels on the avx512vnni path.
func groupedBlockRow(g *groupedWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	if int8Path != isaVNNI {
		groupedBlockRowGo(g, base, b, off, pstride, ow, out)
		return
	}
	_ = base[b*16+(ow-1)*pstride+int(off[len(off)-1])+15]
	_ = out[(ow-1)*g.cp+b*16+15]
	_ = g.w[(b+1)*g.taps*g.nq*64-1]
	_ = g.idx[g.nq*16-1]
	k := qgroupedKernels[g.nq]
	main := ow &^ 3
	in := func(x int) *uint8 { return (*uint8)(unsafe.Pointer(&base[b*16+x*pstride])) }
	if main > 0 {
		k[0](in(0), &off[0], len(off), pstride, main, &g.w[b*g.taps*g.nq*64], &g.idx[0], &g.bias[b*16], &out[b*16], g.cp*4)
	}
	if ow > main {
		k[1](in(main), &off[0], len(off), pstride, ow-main, &g.w[b*g.taps*g.nq*64], &g.idx[0], &g.bias[b*16], &out[main*g.cp+b*16], g.cp*4)
	}
}

// qavgWidth is the channel block of qavgRow: 16 with AVX-512 F and BW, 8
// with AVX2, 0 without either.
func qavgWidth() int {
	switch {
	case ew512OK:
		return 16
	case simdPath != isaGo:
		return 8
	}
	return 0
}

// qavgRow runs qavgRowAVX512 or qavgRowAVX2 (width 16 or 8) on one output
// row (see qavgWindow); out holds ow pixels of ostride bytes, width·nblk
// channels written per pixel.
func qavgRow(width int, base []int8, off []int64, pstride, ow, nblk int, f []float64, sub int32, lo, hi float64, zp int32, out []int8, ostride int) {
	_ = base[(ow-1)*pstride+int(off[len(off)-1])+width*nblk-1]
	_ = out[(ow-1)*ostride+width*nblk-1]
	_ = f[ow-1]
	k := qavgRowAVX2
	if width == 16 {
		k = qavgRowAVX512
	}
	k(&base[0], &off[0], len(off), pstride, ow, nblk, &f[0], sub, lo, hi, zp, &out[0], ostride)
}

var qgroupedWideKernels = [9][2]func(in *int16, off *int64, ntaps int, pstride int, ow int, w *int16, idx *int32, bias *int32, out *int32, ostride int){
	2: {qgroupedAVX2_2x4, qgroupedAVX2_2x1},
	4: {qgroupedAVX2_4x4, qgroupedAVX2_4x1},
	8: {qgroupedAVX2_8x4, qgroupedAVX2_8x1},
}

// groupedBlockRowWide computes 8-channel block b of one output row from the
// int16 padded row base (pstride and off in bytes) with the AVX2 kernels.
func groupedBlockRowWide(g *groupedWeights, base []int16, b int, off []int64, pstride, ow int, out []int32) {
	nh := g.cg / 2
	start := 8 * b / g.cg * g.cg // the block's input: from its group's start
	span := 8
	if g.cg == 16 {
		span = 16
	}
	_ = base[start+((ow-1)*pstride+int(off[len(off)-1]))/2+span-1]
	_ = out[(ow-1)*g.cp8+b*8+7]
	wb := g.w16[b*g.taps*nh*16 : (b+1)*g.taps*nh*16]
	k := qgroupedWideKernels[nh]
	main := ow &^ 3
	if main > 0 {
		k[0](&base[start], &off[0], len(off), pstride, main, &wb[0], &g.idx16[0], &g.bias16[b*8], &out[b*8], g.cp8*4)
	}
	if ow > main {
		k[1](&base[start+main*pstride/2], &off[0], len(off), pstride, ow-main, &wb[0], &g.idx16[0], &g.bias16[b*8], &out[main*g.cp8+b*8], g.cp8*4)
	}
}

// qgroupedWinKernels[nq] = {4 pixels per iteration, 1 pixel}.
var qgroupedWinKernels = [7][2]qgroupedFunc{
	1: {qgroupedWinVNNI_1x4, qgroupedWinVNNI_1x1},
	2: {qgroupedWinVNNI_2x4, qgroupedWinVNNI_2x1},
	3: {qgroupedWinVNNI_3x4, qgroupedWinVNNI_3x1},
	4: {qgroupedWinVNNI_4x4, qgroupedWinVNNI_4x1},
	5: {qgroupedWinVNNI_5x4, qgroupedWinVNNI_5x1},
	6: {qgroupedWinVNNI_6x4, qgroupedWinVNNI_6x1},
}

// winBlockRow computes block b of one output row (see winBlockRowGo) with
// the VNNI window kernels on the avx512vnni path.
func winBlockRow(g *winWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	if int8Path != isaVNNI {
		winBlockRowGo(g, base, b, off, pstride, ow, out)
		return
	}
	_ = base[g.win[b]+(ow-1)*pstride+int(off[len(off)-1])+63]
	_ = out[(ow-1)*g.cp+g.ob[b]+15]
	_ = g.w[(b+1)*g.taps*g.nq*64-1]
	_ = g.idx[(b+1)*g.nq*16-1]
	k := qgroupedWinKernels[g.nq]
	main := ow &^ 3
	in := func(x int) *uint8 { return (*uint8)(unsafe.Pointer(&base[g.win[b]+x*pstride])) }
	w, idx, bias := &g.w[b*g.taps*g.nq*64], &g.idx[b*g.nq*16], &g.bias[b*16]
	if main > 0 {
		k[0](in(0), &off[0], len(off), pstride, main, w, idx, bias, &out[g.ob[b]], g.cp*4)
	}
	if ow > main {
		k[1](in(main), &off[0], len(off), pstride, ow-main, w, idx, bias, &out[main*g.cp+g.ob[b]], g.cp*4)
	}
}

var qgroupedWinWideKernels = [5][2]func(in *int16, off *int64, ntaps int, pstride int, ow int, w *int16, idx *int32, bias *int32, out *int32, ostride int){
	1: {qgroupedWinAVX2_1x4, qgroupedWinAVX2_1x1},
	2: {qgroupedWinAVX2_2x4, qgroupedWinAVX2_2x1},
	3: {qgroupedWinAVX2_3x4, qgroupedWinAVX2_3x1},
	4: {qgroupedWinAVX2_4x4, qgroupedWinAVX2_4x1},
}

// winBlockRowWide computes 8-channel block b of one output row from the
// int16 laid-out row base (pstride and off in bytes) with the AVX2 window
// kernels.
func winBlockRowWide(g *winWeights, base []int16, b int, off []int64, pstride, ow int, out []int32) {
	start := g.win16[b]
	_ = base[start+((ow-1)*pstride+int(off[len(off)-1]))/2+15]
	_ = out[(ow-1)*g.cp8+g.ob16[b]+7]
	wb := g.w16[b*g.taps*g.nh*16 : (b+1)*g.taps*g.nh*16]
	idx := g.idx16[b*g.nh*8 : (b+1)*g.nh*8]
	k := qgroupedWinWideKernels[g.nh]
	main := ow &^ 3
	if main > 0 {
		k[0](&base[start], &off[0], len(off), pstride, main, &wb[0], &idx[0], &g.bias16[b*8], &out[g.ob16[b]], g.cp8*4)
	}
	if ow > main {
		k[1](&base[start+main*pstride/2], &off[0], len(off), pstride, ow-main, &wb[0], &idx[0], &g.bias16[b*8], &out[main*g.cp8+g.ob16[b]], g.cp8*4)
	}
}

//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set rowsred -out ../asm_rows_red_amd64.s -stubs ../stubs_rows_red_amd64.go -pkg kernels"

// rowsRedTiles runs ntiles reduced tiles of pw: the AVX-512 tile of its
// shape where rows16Z selects it, else Go. SgemmRowsIdxRed has checked
// every offset.
func rowsRedTiles(pw *RowsRed, ntiles int, a []float32, aoff, off []int32, dc int, c []float32, coff []int32, res []float32, lo, hi float32) {
	if !rows16Z {
		rowsRedTilesGo(pw, ntiles, a, aoff, off, dc, c, coff, res, lo, hi)
		return
	}
	_ = aoff[6*ntiles-1]
	_ = coff[6*ntiles-1]
	_ = off[pw.k-1]
	_ = pw.data[pw.k*pw.nacc*16-1]
	if pw.vdata != nil && dc == 4 {
		sgemmAVX512_6xRedVec4x4(pw.k, &a[0], &aoff[0], &off[0], dc, &pw.vdata[0], ptrOrNil(pw.vbias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, &rowsRedPerm[1][0])
		return
	}
	f := sgemmAVX512_6xRedP2N1G1
	switch [3]int{pw.p, pw.nacc, pw.ngrp} {
	case [3]int{2, 1, 1}:
	case [3]int{2, 2, 1}:
		f = sgemmAVX512_6xRedP2N2G1
	case [3]int{2, 3, 1}:
		f = sgemmAVX512_6xRedP2N3G1
	case [3]int{2, 4, 1}:
		f = sgemmAVX512_6xRedP2N4G1
	case [3]int{2, 4, 2}:
		f = sgemmAVX512_6xRedP2N4G2
	case [3]int{2, 2, 2}:
		f = sgemmAVX512_6xRedP2N2G2
	case [3]int{4, 1, 1}:
		f = sgemmAVX512_6xRedP4N1G1
	case [3]int{4, 2, 1}:
		f = sgemmAVX512_6xRedP4N2G1
	case [3]int{4, 3, 1}:
		f = sgemmAVX512_6xRedP4N3G1
	case [3]int{4, 4, 1}:
		f = sgemmAVX512_6xRedP4N4G1
	case [3]int{4, 4, 2}:
		f = sgemmAVX512_6xRedP4N4G2
	case [3]int{4, 2, 2}:
		f = sgemmAVX512_6xRedP4N2G2
	case [3]int{4, 3, 3}:
		f = sgemmAVX512_6xRedP4N3G3
	case [3]int{4, 4, 4}:
		f = sgemmAVX512_6xRedP4N4G4
	default:
		panic("kernels: no reduced row tile of this shape")
	}
	f(pw.k, &a[0], &aoff[0], &off[0], dc, &pw.data[0], ptrOrNil(pw.bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, &rowsRedPerm[pw.p][0])
}

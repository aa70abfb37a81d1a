//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set rowspair -out ../asm_rows_pair_amd64.s -stubs ../stubs_rows_pair_amd64.go -pkg kernels"

// rowsPairTiles runs ntiles paired 6×(16+16) tiles: the AVX-512 tile where
// rows16Z selects it, else Go. SgemmRowsIdxPair has checked every offset.
func rowsPairTiles(ntiles, k int, a []float32, aoff, off []int32, dc int, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	if !rows16Z {
		rowsPairTilesGo(ntiles, k, a, aoff, off, dc, b, bias, c, coff, res, lo, hi)
		return
	}
	_ = aoff[6*ntiles-1]
	_ = coff[6*ntiles-1]
	_ = off[k-1]
	_ = b[k*2*sgNR-1]
	if bias != nil {
		_ = bias[2*sgNR-1]
	}
	sgemmAVX512_6x16x2rowsIdx(k, &a[0], &aoff[0], &off[0], dc, &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles)
}

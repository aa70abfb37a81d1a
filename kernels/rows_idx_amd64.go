//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set rowsidx -out ../asm_rows_idx_amd64.s -stubs ../stubs_rows_idx_amd64.go -pkg kernels"

// rowsIdxTiles runs ntiles indexed 6×16 tiles with the AVX-512 kernel where
// rows16Z selects it, else the AVX2 one (SgemmRowsIdx has checked every
// offset; every amd64 path but the pure-Go one has AVX2 and FMA).
func rowsIdxTiles(ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	_ = aoff[6*ntiles-1]
	_ = coff[6*ntiles-1]
	_ = off[k-1]
	_ = b[k*sgNR-1]
	if bias != nil {
		_ = bias[sgNR-1]
	}
	if rows16Z {
		sgemmAVX512_6x16rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles)
		return
	}
	sgemmAVX2_6x16rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles)
}

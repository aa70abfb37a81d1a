//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set rowsidx -out ../asm_rows_idx_amd64.s -stubs ../stubs_rows_idx_amd64.go -pkg kernels"

// rowsIdxTiles runs ntiles indexed 6×nr tiles: 16-wide panels with the
// AVX-512 kernel where rows16Z selects it, else the AVX2 one (every amd64
// path but the pure-Go one has AVX2 and FMA); 32-, 48- and 64-wide panels
// (packed only where the CPU has AVX-512, f32Wide) with the zmm kernel of
// that width. SgemmRowsIdx has checked every offset. The kernels prefetch
// pfn 256-byte blocks of pf (a hint: no value depends on it).
func rowsIdxTiles(nr, ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32, pf []float32, pfn int) {
	_ = aoff[6*ntiles-1]
	_ = coff[6*ntiles-1]
	_ = off[k-1]
	_ = b[k*nr-1]
	if bias != nil {
		_ = bias[nr-1]
	}
	var pfp *float32
	if pfn = min(pfn, len(pf)/64); pfn > 0 {
		pfp = &pf[0]
	} else {
		pfn = 0
	}
	switch {
	case nr == 32:
		sgemmAVX512_6x32rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, pfp, pfn)
	case nr == 48:
		sgemmAVX512_6x48rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, pfp, pfn)
	case nr == rowsWideNR:
		sgemmAVX512_6x64rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, pfp, pfn)
	case nr != sgNR:
		panic("kernels: no indexed row kernel of this width")
	case rows16Z:
		sgemmAVX512_6x16rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, pfp, pfn)
	default:
		sgemmAVX2_6x16rowsIdx(k, &a[0], &aoff[0], &off[0], &b[0], ptrOrNil(bias), &c[0], &coff[0], ptrOrNil(res), lo, hi, ntiles, pfp, pfn)
	}
}

// stemTiles runs ntiles 12×n stem tiles of input stride xs: the AVX-512
// tile where StemFast selects it, else Go. SgemmStem has checked every
// offset.
func stemTiles(n, xs, ntiles, k int, a []float32, off []int32, b, bias, c []float32, ldc int, lo, hi float32) {
	if !StemFast(n, xs) {
		stemTilesGo(n, xs, ntiles, k, a, off, b, bias, c, ldc, lo, hi)
		return
	}
	_ = off[k-1]
	_ = b[k*n-1]
	_ = c[(stemTileRows*ntiles-1)*ldc+n-1]
	switch {
	case n == sgNR && xs == 2:
		sgemmAVX512_12x16stemS2(k, &a[0], &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, lo, hi, ntiles)
	case n == sgNR:
		sgemmAVX512_12x16stemS1(k, &a[0], &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, lo, hi, ntiles)
	case xs == 2:
		sgemmAVX512_12x32stemS2(k, &a[0], &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, lo, hi, ntiles)
	default:
		sgemmAVX512_12x32stemS1(k, &a[0], &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, lo, hi, ntiles)
	}
}

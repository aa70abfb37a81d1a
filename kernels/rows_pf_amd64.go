//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set rowspf -out ../asm_rows_pf_amd64.s -stubs ../stubs_rows_pf_amd64.go -pkg kernels"

// rowsTilesPf is rowsTiles whose tiles also prefetch pfn 256-byte blocks of
// pf (a hint: no value depends on it), on the zmm kernels of every panel
// width where this CPU runs them (f32Wide); elsewhere, or with nothing to
// prefetch, it is rowsTiles.
func rowsTilesPf(ntiles, nr, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32, pf []float32, pfn int) {
	if pfn = min(pfn, len(pf)/64); pfn <= 0 || k == 0 || f32Path == isaGo || !f32Wide {
		rowsTiles(ntiles, nr, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
		return
	}
	tileRowsArgs(ntiles, k, nr, off, b, bias, c, ldc, res)
	switch nr {
	case 16:
		sgemmAVX512_6x16rowsPf(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles, &pf[0], pfn)
	case 32:
		sgemmAVX512_6x32rowsPf(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles, &pf[0], pfn)
	case 48:
		sgemmAVX512_6x48rowsPf(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles, &pf[0], pfn)
	case rowsWideNR:
		sgemmAVX512_6x64rowsPf(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles, &pf[0], pfn)
	default:
		panic("kernels: no AVX-512 row kernel of this width")
	}
}

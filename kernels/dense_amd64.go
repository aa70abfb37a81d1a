//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set dense -out ../asm_dense_amd64.s -stubs ../stubs_dense_amd64.go -pkg kernels"

// denseTilesOK reports whether the 12x32 tiles of SgemmDense run here: AVX-512
// with full-width units (rows16Z; where zmm FMAs issue at half rate the 6x16
// and 6x64 rows kernels are as fast).
func denseTilesOK() bool { return rows16Z }

// denseTiles runs ntiles mr×32 tiles of SgemmDense, mr rows apart, on the
// panel block b ([k][32]), w columns of it: the AVX-512 kernel of that row
// count, or Go when the path is not AVX-512 (tests that force a fallback).
// The tile prefetches the panel block pf into L2 (a hint).
func denseTiles(mr, ntiles, k int, a []float32, lda int, b, bias, c []float32, ldc int, accum bool, res []float32, w int, pf []float32) {
	if !rows16Z {
		denseTilesGo(mr, ntiles, k, a, lda, b, bias, c, ldc, accum, res, w)
		return
	}
	rows := mr * ntiles
	_ = a[(rows-1)*lda+k-1]
	_ = b[k*denseNR-1]
	_ = c[(rows-1)*ldc+w-1]
	if bias != nil {
		_ = bias[w-1]
	}
	if res != nil {
		_ = res[(rows-1)*ldc+w-1]
	}
	mask := uint32(1)<<w - 1
	if w == denseNR {
		mask = ^uint32(0)
	}
	var pfp *float32
	pfn := len(pf) / denseNR // pairs of 64-byte lines: one per step of the block
	if pfn > 0 {
		pfp = &pf[0]
	}
	ac := 0
	if accum {
		ac = 1
	}
	bp, rp := ptrOrNil(bias), ptrOrNil(res)
	switch mr {
	case 1:
		sgemmAVX512_1x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 2:
		sgemmAVX512_2x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 3:
		sgemmAVX512_3x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 4:
		sgemmAVX512_4x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 5:
		sgemmAVX512_5x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 6:
		sgemmAVX512_6x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 7:
		sgemmAVX512_7x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 8:
		sgemmAVX512_8x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 9:
		sgemmAVX512_9x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 10:
		sgemmAVX512_10x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 11:
		sgemmAVX512_11x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	case 12:
		sgemmAVX512_12x32dense(k, &a[0], lda, &b[0], bp, &c[0], ldc, ac, rp, mask, ntiles, pfp, pfn)
	default:
		panic("kernels: no dense tile of this row count")
	}
}

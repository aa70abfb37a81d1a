//go:build !amd64 || purego || noasm

package kernels

const haveAsm = false

func currentQKernel() qKernel { return qKernelGo }

// qKernelFor is currentQKernel for packed weights (the Go kernel takes any int8).
func qKernelFor(bool) qKernel { return qKernelGo }

func (p *rqParams) row(src []int32, dst []int8, c0 int) { p.rowGo(src, dst, c0) }

func (p *rqParams) tile(src []int32, ts, rows, ncols int, dst []int8, ldo int, c0 int) {
	for i := 0; i < rows; i++ {
		p.rowGo(src[i*ts:i*ts+ncols], dst[i*ldo:i*ldo+ncols], c0)
	}
}

func sgemmTile(kc int, a, b, c []float32, ldc int, accum bool) {
	for r := 0; r < sgMR; r++ {
		for j := 0; j < sgNR; j++ {
			var s float32
			for p := 0; p < kc; p++ {
				s += a[p*sgMR+r] * b[p*sgNR+j]
			}
			if accum {
				c[r*ldc+j] += s
			} else {
				c[r*ldc+j] = s
			}
		}
	}
}

func sgemmTileInd(kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) {
	shiftedTileGo(kc, a, x, off, c, ldc, accum, lo, hi)
}

func sgemmTileInd2(int, []float32, []float32, []int32, []float32, int, bool, float32, float32) bool {
	return false
}

func sgemmTilePart(int, int, []float32, []float32, []float32, int, bool) bool { return false }

func sgemmTile2Panels(int, int, []float32, []float32, int, []float32, int, bool) bool { return false }

func sgemmTileInd2Rows(int, int, []float32, []float32, []int32, []float32, int, bool, float32, float32) bool {
	return false
}

func peakLoop(string) (func(int), int) { return nil, 0 }

func depthwisePath() isaPath { return isaGo }

func depthwiseVNNI(ConvShape, []int8, *dwWeights, []int8, *rqParams, int) bool { return false }

type dwEpi struct {
	mode    int64
	out     *int8
	ostride int64
	scale   *float32
	consts  [24]int32
}

func dwPairs(dst []int16, src []int8, n, cp, dil int) { panic("unreachable") }

func depthwiseRow(base []int16, off []int64, d *dwWeights, pstride, ow int, out []int32, ep *dwEpi) {
	panic("unreachable")
}

func widen(dst []int16, src []int8) {
	_ = dst[:len(src)]
	for i, v := range src {
		dst[i] = int16(v)
	}
}

var avx2SignTrick = false

func depthwiseF32Row(base []float32, off []int64, taps, pstride, ow int, w, bias, out []float32, cp int) bool {
	return false
}

func sgemmTileEp(kc int, a, b, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	panic("kernels: no assembly epilogue in this build")
}

func panelRows(dst, src []float32, ld, n int) { panelRowsGo(dst, src, ld, n) }

func maxInto(dst, src []float32) { maxIntoGo(dst, src) }

func sgemmTileRows(ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	rowsTilesGo(ntiles, sgNR, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
}

func sgemmTileRowsWide(ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	rowsTilesGo(ntiles, rowsWideNR, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
}

func sgemmTileRowsZ(nr, ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	rowsTilesGo(ntiles, nr, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
}

//go:build amd64 && !purego && !noasm

package kernels

// Wrappers of the row passes of gen_rowstats.go: each covers the longest
// vector-width prefix on this CPU's path and returns its length (0 on the
// pure-Go path); the callers finish the tail.

func rowSumAsm(src []float32) (float32, int) {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0, 0
	}
	if w == 16 {
		return rowSumAVX512(&src[0], n), n
	}
	return rowSumAVX2(&src[0], n), n
}

func rowSqDevSumAsm(src []float32, mean float32) (float32, int) {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0, 0
	}
	if w == 16 {
		return rowSqDevSumAVX512(&src[0], n, mean), n
	}
	return rowSqDevSumAVX2(&src[0], n, mean), n
}

func rowNormAffineAsm(dst, src, scale, bias []float32, mean, inv float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_, _, _ = dst[n-1], scale[n-1], bias[n-1]
	if w == 16 {
		rowNormAffineAVX512(&dst[0], &src[0], &scale[0], &bias[0], n, mean, inv)
	} else {
		rowNormAffineAVX2(&dst[0], &src[0], &scale[0], &bias[0], n, mean, inv)
	}
	return n
}

func rowMaxAsm(src []float32) (float32, int) {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0, 0
	}
	if w == 16 {
		return rowMaxAVX512(&src[0], n), n
	}
	return rowMaxAVX2(&src[0], n), n
}

// rowScaleFlushAsm multiplies the vector-width prefix of dst by c and flushes
// the subnormal products to zeros of their sign (as flushSubnormals), returning its
// length.
func rowScaleFlushAsm(dst []float32, c float32) int {
	w := f32Lanes()
	n := len(dst) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	if w == 16 {
		rowScaleFlushAVX512(&dst[0], n, c)
	} else {
		rowScaleFlushAVX2(&dst[0], n, c)
	}
	return n
}

func rowAddAsm(dst, a, b []float32) int {
	w := f32Lanes()
	n := len(a) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_, _ = dst[n-1], b[n-1]
	if w == 16 {
		rowAddAVX512(&dst[0], &a[0], &b[0], n)
	} else {
		rowAddAVX2(&dst[0], &a[0], &b[0], n)
	}
	return n
}

// rowSelectAsm writes (a AND keep) + fill over the vector-width prefix of a
// (see rowSelect in gen_rowstats.go) and returns its length.
func rowSelectAsm(dst, a []float32, keep []uint32, fill []float32) int {
	w := f32Lanes()
	n := len(a) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_, _, _ = dst[n-1], keep[n-1], fill[n-1]
	if w == 16 {
		rowSelectAVX512(&dst[0], &a[0], &keep[0], &fill[0], n)
	} else {
		rowSelectAVX2(&dst[0], &a[0], &keep[0], &fill[0], n)
	}
	return n
}

// rowsAddI32Asm adds c[r] to the vector-width prefix of the first n values
// of each of the len(c) rows (ld apart) of dst and returns that prefix's
// length.
func rowsAddI32Asm(dst []int32, ld, n int, c []int32) int {
	w := f32Lanes()
	v := n &^ (w - 1)
	if w == 0 || v == 0 || len(c) == 0 {
		return 0
	}
	_ = dst[(len(c)-1)*ld+v-1]
	if w == 16 {
		rowsAddI32AVX512(&dst[0], ld, len(c), v, &c[0])
	} else {
		rowsAddI32AVX2(&dst[0], ld, len(c), v, &c[0])
	}
	return v
}

package kernels

import (
	"fmt"
	"math"
)

// Strided-row moves of the shifted convolutions in quantization-aware training
// (qat/conv_shifted.go): rows of w floats, src rows ss floats apart, dst (and x)
// rows ds floats apart. The implicit GEMM computes each output row over the
// padded width; these move the first w columns of rows rows at a time, with the
// bias added, added to the destination, or with a fake quantization's
// straight-through mask applied. Each element is the same float32 operation as
// the scalar loop it replaces (RowsBiasF32: src + b; RowsAddF32: dst + src;
// RowsSTESetF32: STESetF32's (src where lo <= x <= hi, else 0) + 0;
// RowsSTEAccSetF32: the same of acc + src; RowsFakeQuantF32: FakeQuantF32's).

// rowsArgs panics unless rows of w floats fit: the callers pass their own
// layouts, so a miss is a bug, not bad input.
func rowsArgs(name string, dst []float32, ds int, src []float32, ss, w, rows int) bool {
	if w <= 0 || rows <= 0 {
		return false
	}
	if ds < w || ss < w || len(dst) < (rows-1)*ds+w || len(src) < (rows-1)*ss+w {
		panic(fmt.Sprintf("kernels.%s: %d rows of %d floats do not fit dst (%d, stride %d) or src (%d, stride %d)", name, rows, w, len(dst), ds, len(src), ss))
	}
	return true
}

// RowsCopyF32 sets dst[i*ds+j] = src[i*ss+j] for i < rows, j < w.
func RowsCopyF32(dst []float32, ds int, src []float32, ss, w, rows int) {
	if !rowsArgs("RowsCopyF32", dst, ds, src, ss, w, rows) {
		return
	}
	if simdPath != isaGo && rowsAsm {
		rowsCopyF32AVX2(&dst[0], ds, &src[0], ss, w, rows)
		return
	}
	for i := 0; i < rows; i++ {
		copy(dst[i*ds:i*ds+w], src[i*ss:i*ss+w])
	}
}

// RowsBiasF32 sets dst[i*ds+j] = src[i*ss+j] + b for i < rows, j < w.
func RowsBiasF32(dst []float32, ds int, src []float32, ss, w, rows int, b float32) {
	if !rowsArgs("RowsBiasF32", dst, ds, src, ss, w, rows) {
		return
	}
	if simdPath != isaGo && rowsAsm {
		rowsBiasF32AVX2(&dst[0], ds, &src[0], ss, w, rows, b)
		return
	}
	for i := 0; i < rows; i++ {
		d, s := dst[i*ds:i*ds+w], src[i*ss:i*ss+w]
		for j := range d {
			d[j] = s[j] + b
		}
	}
}

// RowsAddF32 sets dst[i*ds+j] += src[i*ss+j] for i < rows, j < w.
func RowsAddF32(dst []float32, ds int, src []float32, ss, w, rows int) {
	if !rowsArgs("RowsAddF32", dst, ds, src, ss, w, rows) {
		return
	}
	if simdPath != isaGo && rowsAsm {
		rowsAddF32AVX2(&dst[0], ds, &src[0], ss, w, rows)
		return
	}
	for i := 0; i < rows; i++ {
		d, s := dst[i*ds:i*ds+w], src[i*ss:i*ss+w]
		for j := range d {
			d[j] += s[j]
		}
	}
}

// RowsSTESetF32 sets dst[i*ds+j] = src[i*ss+j] + 0 where lo <= x[i*ds+j] <= hi,
// else +0 (STESetF32 on each row; x has dst's layout).
func RowsSTESetF32(dst []float32, ds int, src []float32, ss, w, rows int, x []float32, lo, hi float32) {
	if !rowsArgs("RowsSTESetF32", dst, ds, src, ss, w, rows) {
		return
	}
	if len(x) < (rows-1)*ds+w {
		panic(fmt.Sprintf("kernels.RowsSTESetF32: x has %d floats, too few for %d rows of %d, stride %d", len(x), rows, w, ds))
	}
	if simdPath != isaGo && rowsAsm && !math.IsNaN(float64(lo)) && !math.IsNaN(float64(hi)) {
		rowsSTESetF32AVX2(&dst[0], ds, &src[0], ss, w, rows, &x[0], lo, hi)
		return
	}
	for i := 0; i < rows; i++ {
		steSetF32Go(x[i*ds:i*ds+w], src[i*ss:i*ss+w], dst[i*ds:i*ds+w], lo, hi)
	}
}

// RowsSTEAccSetF32 is RowsAddF32 into acc followed by RowsSTESetF32 of the sums,
// without writing acc: dst[i*ds+j] = (acc[i*ds+j] + src[i*ss+j]) + 0 where lo <=
// x[i*ds+j] <= hi, else +0 (acc and x have dst's layout; dst may be acc). The
// last contribution to a gradient that other readers accumulated in acc, stored
// through the straight-through mask of the fake quantization that computed the
// tensor.
func RowsSTEAccSetF32(dst []float32, ds int, src []float32, ss, w, rows int, acc, x []float32, lo, hi float32) {
	if !rowsArgs("RowsSTEAccSetF32", dst, ds, src, ss, w, rows) {
		return
	}
	if len(x) < (rows-1)*ds+w || len(acc) < (rows-1)*ds+w {
		panic(fmt.Sprintf("kernels.RowsSTEAccSetF32: x (%d floats) or acc (%d) too short for %d rows of %d, stride %d", len(x), len(acc), rows, w, ds))
	}
	if simdPath != isaGo && rowsAsm && !math.IsNaN(float64(lo)) && !math.IsNaN(float64(hi)) {
		rowsSTEAccSetF32AVX2(&dst[0], ds, &src[0], ss, w, rows, &acc[0], &x[0], lo, hi)
		return
	}
	for i := 0; i < rows; i++ {
		d, s, a, xr := dst[i*ds:i*ds+w], src[i*ss:i*ss+w], acc[i*ds:i*ds+w], x[i*ds:i*ds+w]
		for j, v := range xr {
			g := a[j]
			g += s[j]
			var o float32
			if v >= lo && v <= hi {
				o += g
			}
			d[j] = o
		}
	}
}

// RowsFakeQuantF32 sets dst[i*ds+j] to FakeQuantF32 of src[i*ss+j] (relu: of
// max(src[i*ss+j], 0), FakeQuantReluF32) for i < rows, j < w: a convolution's
// input laid out in its padded layout straight from the input of the fake
// quantization that computes it.
func RowsFakeQuantF32(dst []float32, ds int, src []float32, ss, w, rows int, scale float32, zp int32, relu bool) {
	if !rowsArgs("RowsFakeQuantF32", dst, ds, src, ss, w, rows) {
		return
	}
	lo, hi := float32(-128-zp), float32(127-zp)
	if simdPath != isaGo && rowsAsm {
		if relu {
			rowsFakeQuantReluF32AVX2(&dst[0], ds, &src[0], ss, w, rows, scale, lo, hi)
		} else {
			rowsFakeQuantF32AVX2(&dst[0], ds, &src[0], ss, w, rows, scale, lo, hi)
		}
		return
	}
	for i := 0; i < rows; i++ {
		d, s := dst[i*ds:i*ds+w], src[i*ss:i*ss+w]
		if relu {
			fakeQuantReluF32Go(s, d, scale, zp)
		} else {
			fakeQuantF32Go(s, d, scale, zp)
		}
	}
}

// SumF32 sets dst[i] = a[i] + b[i] for i < len(dst) (a and b at least as long).
func SumF32(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	v := 0
	if simdPath != isaGo && rowsAsm {
		if v = len(dst) &^ 15; v > 0 {
			sumF32AVX2(&dst[0], &a[0], &b[0], v)
		}
	}
	for i := v; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}

package kernels

// The float epilogue of the dynamic-int8 MatMul chains (twenty-third
// session): ONNX Runtime's quantize_dynamic writes each Linear as
// DynamicQuantizeLinear → MatMulInteger → Cast → Mul by a_scale·b_scale →
// Add bias. DynqRowsF32 is the last three (and a Relu after them) in one
// pass over the int32 products, with the weights' zero points applied there:
// the GEMM gives Σ_k a·w and, as an extra column of ones, Σ_k a per row, so
//
//	Σ_k (a_k − aZP)(w_ck − z_c) = Σ_k a_k·w_ck − z_c·Σ_k a_k + colk[c],
//	colk[c] = z_c·k·aZP − aZP·Σ_k w_ck
//
// exactly in int32 (wrapping as the separate sums do). Each float operation
// is the chain's own (conversion, product, sum, Relu), so the result is the
// unfused operators' bit for bit.

// DynqRowsF32 sets, for r < rows and c < n, with v = acc[r·lda+c] −
// z[c]·acc[r·lda+n] + colk[c] (int32), y = float32(v)·sc[c], plus bias[c]
// when bias is not nil, then max(0, y) when relu (NaN and −0 kept, as Relu
// does): dst[r·ldd+c] = y. acc's rows carry the row sum in column n.
func DynqRowsF32(dst []float32, ldd int, acc []int32, lda int, colk, z []int32, sc, bias []float32, n, rows int, relu bool) {
	if rows <= 0 || n <= 0 {
		return
	}
	_ = dst[(rows-1)*ldd+n-1]
	_ = acc[(rows-1)*lda+n]
	_, _, _ = colk[n-1], z[n-1], sc[n-1]
	if bias != nil {
		_ = bias[n-1]
	}
	if dynqRowsVec(dst, ldd, acc, lda, colk, z, sc, bias, n, rows, relu) {
		return
	}
	dynqRowsGo(dst, ldd, acc, lda, colk, z, sc, bias, n, rows, relu)
}

// dynqRowsGo is the portable form and the reference.
func dynqRowsGo(dst []float32, ldd int, acc []int32, lda int, colk, z []int32, sc, bias []float32, n, rows int, relu bool) {
	for r := 0; r < rows; r++ {
		a := acc[r*lda : r*lda+n+1]
		s := a[n]
		d := dst[r*ldd : r*ldd+n]
		for c := range d {
			y := float32(a[c]-z[c]*s+colk[c]) * sc[c]
			if bias != nil {
				y += bias[c]
			}
			if relu && y < 0 {
				y = 0
			}
			d[c] = y
		}
	}
}

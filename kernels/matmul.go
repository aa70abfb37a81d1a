package kernels

import "fmt"

// MatMulInt8 computes out[i,j] = Σ_k (a[i,k]-aZP)·(b[k,j]-bZP) with int32
// accumulation (ONNX MatMulInteger semantics; wraps on int32 overflow). a is m×k,
// b is k×n, out m×n, all row-major and dense. Any int8 values and zero points are
// allowed (no packing requirement), so it serves non-constant B and weights that
// contain -128.
func MatMulInt8(m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(a) < m*k || len(b) < k*n || len(out) < m*n {
		panic(fmt.Sprintf("kernels.MatMulInt8: buffers too small for %d×%d×%d", m, n, k))
	}
	// B - bZP as int16 once (values fit in [-255, 255]).
	bs := make([]int16, k*n)
	for i, v := range b[:k*n] {
		bs[i] = int16(int32(v) - bZP)
	}
	parallelFor(m, 1, resolveThreads(0), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := out[i*n : i*n+n]
			clear(row)
			for p := 0; p < k; p++ {
				av := int32(a[i*k+p]) - aZP
				if av == 0 {
					continue
				}
				brow := bs[p*n : p*n+n]
				for j, bv := range brow {
					row[j] += av * int32(bv)
				}
			}
		}
	})
}

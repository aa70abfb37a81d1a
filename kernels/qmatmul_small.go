package kernels

import "sync"

// The int8 product of two small activations (an attention head's q·kᵀ and
// p·v: 8-32 tokens by 8-32 inner values) through int16 pairs instead of the
// packed VNNI GEMM. matMulPacked spends ~0.6 µs per product on packing B in
// its four-k layout (with a fresh QGemmWeights), B's column sums, A's row
// sums for B's zero point, the -128 fix-up and the driver, for products whose
// VNNI arithmetic is ~20 ns. Here both operands are widened with their zero
// points subtracted, so nothing is left to correct: out[i, j] =
// Σ_p (a[i,p]−aZP)(b[p,j]−bZP) in int32, the reference loop's sums (wrapping
// alike: VPMADDWD's pair sums are exact for values of at most 383 in
// magnitude, VPADDD wraps as Go's int32 addition does).

// smallMatMulMax is the largest product (m·n·k multiply-adds) the int16 pair
// kernel takes on one thread. The packed VNNI GEMM does twice the
// multiply-adds per instruction, but its per-product packing made it the
// slower one on every attention shape measured, up to ViT-B/16's 197×197×64
// (BenchmarkMatMulInt8Small, twentieth session: 24.8 against 18.8 µs there,
// 1.26 against 0.03 µs at 16×16×8).
const smallMatMulMax = 1 << 22

// smallMatMulAnyThreads is the size up to which the pair kernel also takes
// a product MatMulInt8Threads was asked to run on several threads: below it
// posting work to other threads costs more than the product.
const smallMatMulAnyThreads = 1 << 15

// smallZPMax bounds the zero points the pair kernel takes: a value minus its
// zero point then fits in [-383, 383], so that a VPMADDWD pair sum is exact.
const smallZPMax = 255

// MatMulScratch holds one worker's buffers for MatMulInt8With (the int16
// operands of the small-product kernel), kept across products.
type MatMulScratch struct {
	a []int16
	b []int32
}

var matMulScratchPool = sync.Pool{New: func() any { return new(MatMulScratch) }}

// MatMulInt8With is MatMulInt8Threads on one thread for a caller that runs
// many small products in a row (an attention head's two products, head after
// head), with buf's buffers: products of at most smallMatMulMax
// multiply-adds take the int16 pair kernel where the CPU has AVX-512BW, the
// others MatMulInt8Threads. The results are the same int32 sums.
func MatMulInt8With(buf *MatMulScratch, m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) {
	if matMulSmall(buf, m, n, k, a, aZP, b, bZP, out) {
		return
	}
	MatMulInt8Threads(m, n, k, a, aZP, b, bZP, out, 1)
}

// matMulSmall runs the product through the pair kernel and reports whether
// it did (see MatMulInt8With).
func matMulSmall(buf *MatMulScratch, m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) bool {
	if int64(m)*int64(n)*int64(k) > smallMatMulMax {
		return false
	}
	return matMulPairs(buf, m, n, k, a, aZP, b, bZP, out)
}

// matMulPairs is matMulSmall without the size bound.
func matMulPairs(buf *MatMulScratch, m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) bool {
	if !smallMatMulOK() || m <= 0 || n <= 0 || k <= 0 ||
		aZP < -smallZPMax || aZP > smallZPMax || bZP < -smallZPMax || bZP > smallZPMax {
		return false
	}
	if len(a) < m*k || len(b) < k*n || len(out) < m*n {
		panic("kernels.MatMulInt8With: buffers too small")
	}
	smallMatMulAsm(buf, m, n, k, a, aZP, b, bZP, out)
	return true
}

// grown returns s with length n, reallocated when its capacity is smaller.
func grown[T int16 | int32](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

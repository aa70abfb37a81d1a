package kernels

import "fmt"

// MatMulInt8 computes out[i,j] = Σ_k (a[i,k]-aZP)·(b[k,j]-bZP) with int32
// accumulation (ONNX MatMulInteger semantics; wraps on int32 overflow). a is m×k,
// b is k×n, out m×n, all row-major and dense. Any int8 values and zero points are
// allowed (no packing requirement), so it serves non-constant B and weights that
// contain -128. It runs on all cores; MatMulInt8Threads takes a thread count.
func MatMulInt8(m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32) {
	MatMulInt8Threads(m, n, k, a, aZP, b, bZP, out, 0)
}

// MatMulInt8Threads is MatMulInt8 on at most threads threads (0: all cores).
// A caller that runs many small products side by side (batched attention
// heads) passes 1, so that each product does not post work to the other
// cores that are already busy with the other products.
func MatMulInt8Threads(m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32, threads int) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(a) < m*k || len(b) < k*n || len(out) < m*n {
		panic(fmt.Sprintf("kernels.MatMulInt8: buffers too small for %d×%d×%d", m, n, k))
	}
	// The packed GEMM wins from a few hundred multiply-adds on: an attention
	// head of 24 tokens and inner size 16 (9216) took 6.3 µs of thread CPU in
	// the int16 loop below and 1.5 µs packed (BenchmarkMatMulInt8Attention,
	// seventeenth session; the bound was 1<<15 before).
	if macs := int64(m) * int64(n) * int64(k); macs <= smallMatMulAnyThreads || (macs <= smallMatMulMax && resolveThreads(threads) == 1) {
		// Small products (attention heads): the int16 pair kernel, without
		// the packing's fixed cost (qmatmul_small.go).
		buf := matMulScratchPool.Get().(*MatMulScratch)
		done := matMulPairs(buf, m, n, k, a, aZP, b, bZP, out)
		matMulScratchPool.Put(buf)
		if done {
			return
		}
	}
	if k > 0 && aZP >= -128 && aZP <= 127 && int64(m)*int64(n)*int64(k) >= 1<<8 {
		matMulPacked(m, n, k, a, aZP, b, bZP, out, threads)
		return
	}
	// B - bZP as int16 once (values fit in [-255, 255]).
	bs := make([]int16, k*n)
	for i, v := range b[:k*n] {
		bs[i] = int16(int32(v) - bZP)
	}
	parallelFor(m, 1, resolveThreads(threads), func(lo, hi int) {
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

// matMulPacked runs MatMulInt8 through the packed int8 GEMM: Σ(a-aZP)(b-bZP)
// = Σ(a-aZP)·b - bZP·Σ(a-aZP), all in wrapping int32 arithmetic like the
// reference loop. B is packed as it is, -128 included (the full int8 range:
// a uint8 activation's zeros are int8 -128 here, so a post-Relu or softmax B
// holds many): every kernel is exact on it, the AVX2 sign trick excepted,
// which qKernelFor replaces by the int16 kernel for such a B (QGemmWeights.full).
func matMulPacked(m, n, k int, a []int8, aZP int32, b []int8, bZP int32, out []int32, threads int) {
	bufs := getPackKNBufs()
	defer packKNPool.Put(bufs)
	pw := packQGemmKNInto(n, k, b, aZP, bufs)
	if resolveThreads(threads) == 1 && k%4 == 0 && !amxFits(m, pw) {
		// One thread, as the attention heads run: the micro-kernels on the
		// whole product inline, without the parallel driver's closures
		// (most of a 24x24x16 product's time went there).
		qgemmBlock(qKernelFor(pw.full), 0, m, 0, pw.panels, qA{direct: a, lda: k}, pw, &qOut{out32: out, ldo: n})
	} else {
		QGemmInt32(m, a, k, pw, out, n, threads)
	}
	if bZP != 0 {
		// −bZP·Σ(a − aZP) per row, added to the row's accumulators in one
		// vector pass over them all.
		c := bufs.rowC[:0]
		for i := 0; i < m; i++ {
			rs, _ := qrowStats(a[i*k : i*k+k]) // qrows_amd64.go: vector sum
			c = append(c, -bZP*(int32(rs)-int32(k)*aZP))
		}
		bufs.rowC = c
		addRowsI32(out, n, n, c)
	}
}

// packQGemmKN packs a k×n row-major B (an activation: the MatMul's right-hand
// operand as stored, not transposed) in the layout packQGemm makes from the
// n×k transpose, reading B once row by row instead of through a transposed
// copy and a per-value callback: batched attention packs one B per product.
// Any int8 value is packed as it is; full records a -128.
func packQGemmKN(n, k int, b []int8, inZP int32) *QGemmWeights {
	return packQGemmKNInto(n, k, b, inZP, &packKNBufs{})
}

// packQGemmKNInto is packQGemmKN with its slices taken from bufs (matmul_packpool.go).
func packQGemmKNInto(n, k int, b []int8, inZP int32, bufs *packKNBufs) *QGemmWeights {
	kp := (k + 3) &^ 3
	panels := (n + qPanel - 1) / qPanel
	pw := &QGemmWeights{n: n, k: k, kp: kp, panels: panels, inZP: inZP,
		data:  zeroed(&bufs.data, panels*qPanel*kp),
		bias:  zeroed(&bufs.bias, panels*qPanel),
		biasX: zeroed(&bufs.biasX, panels*qPanel),
		full:  hasMinI8(b[:k*n]),
	}
	sums := zeroed(&bufs.sums, n)
	packKNRows4(n, k, kp, b, pw.data, sums)
	for c, sum := range sums {
		pw.bias[c] = int32(-int64(inZP) * sum)
		pw.biasX[c] = int32(-(int64(inZP) + 128) * sum)
	}
	return pw
}

// addRowsI32 adds c[r] to the first n values of each of the len(c) rows (ld
// apart) of dst: vector passes where the CPU has them, the tail in Go.
func addRowsI32(dst []int32, ld, n int, c []int32) {
	done := rowsAddI32Asm(dst, ld, n, c)
	if done == n {
		return
	}
	for r, v := range c {
		row := dst[r*ld+done : r*ld+n]
		for j := range row {
			row[j] += v
		}
	}
}

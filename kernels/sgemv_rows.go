package kernels

// The one-row case of SgemmRows: a classifier head (Gemm on [1, K]) or a 1x1
// convolution on a single pixel (the squeeze-excite convolutions after a
// global pool). The 6-row tile kernel would run it through a gathered tile
// and compute five rows of nothing for each weight it streams; here the
// weights are read once, 64 output columns at a time, in the same arithmetic
// order (bias, then one FMA per reduction step in order), so the result is
// bit-identical to the tile path.

// sgemvRowsMinWork is the number of multiply-adds below which the one-row
// product runs on the calling thread only (a small squeeze-excite
// convolution is a few microseconds).
const sgemvRowsMinWork = 1 << 17

// sgemvRows computes row 0 of SgemmRowsAct (m == 1; bias already padded to
// whole panels or nil) and reports false when this CPU has no assembly for
// it (the caller then runs the tile path).
func sgemvRows(pb *RowsB, x []float32, off []int32, bias, c, res []float32, lo, hi float32, act Act, threads int) bool {
	if !sgemvRowsAsmOK(pb.nr) {
		return false
	}
	k, n := pb.k, pb.n
	ap := getF32(max(k, 1))
	defer f32Pool.Put(ap)
	a := *ap
	for p, o := range off {
		a[p] = x[o]
	}
	// Units of 64 columns: one 64-wide panel, four 16-wide ones or 16-column
	// groups of 32- and 48-wide ones.
	units := (n + rowsWideNR - 1) / rowsWideNR
	run := func(u int) {
		var init, out [rowsWideNR]float32
		c0 := u * rowsWideNR
		w := min(rowsWideNR, n-c0)
		if bias != nil {
			copy(init[:], bias[c0:min(len(bias), c0+rowsWideNR)])
		}
		sgemvRowsAsm(pb, u, a[:k], &init, &out)
		// The residual before C is written: it may be C itself
		// (SgemmRowsResidualInPlace).
		if res != nil {
			for j, r := range res[c0 : c0+w] {
				out[j] += r
			}
		}
		dst := c[c0 : c0+w]
		copy(dst, out[:w])
		clampRow(dst, lo, hi)
		if act != ActNone {
			ActF32(act, dst, dst)
		}
	}
	threads = resolveThreads(threads)
	if threads <= 1 || units < 2 || k*n < sgemvRowsMinWork {
		for u := 0; u < units; u++ {
			run(u)
		}
		return true
	}
	parallelChunks(units, 1, threads, func(next func() (int, int, bool)) {
		for u, _, ok := next(); ok; u, _, ok = next() {
			run(u)
		}
	})
	return true
}

package kernels

// QGemmInt32Few is QGemmInt32 for a few rows on the calling goroutine: the
// micro-kernel runs straight over the weight panels, without the GEMM driver's
// row blocking, thread split and closures. The int8 recurrent steps
// (runtime/op_dynlstm.go) multiply the batch's one or two hidden-state rows by
// R at every time step; through QGemmInt32 each step allocated the driver's
// closures and chunk state, most of a BiLSTM's allocations (sixteenth
// session). Rows beyond the micro-kernel's height, a k that is not a multiple
// of 4 (A is read in place) and the int16 AVX2 kernel take QGemmInt32 on one
// thread; the results are the same integers either way.
func QGemmInt32Few(m int, a []int8, lda int, w *QGemmWeights, out []int32, ldo int) {
	if m <= 0 {
		return
	}
	checkQGemm(m, a, lda, w, len(out), ldo)
	kern := qKernelFor(w.full)
	if m > kern.mr || w.k%4 != 0 || kern.wide {
		QGemmInt32(m, a, lda, w, out, ldo, 1)
		return
	}
	tp := tilePool.Get().(*qTileBuf)
	defer tilePool.Put(tp)
	bias := w.bias
	if kern.xor {
		bias = w.biasX
	}
	kp := w.kp
	for p := 0; p < w.panels; p += kern.nv {
		nv := min(kern.nv, w.panels-p)
		col := p * qPanel
		ncols := min(nv*qPanel, w.n-col)
		kern.run(a, lda, w.data[p*qPanel*kp:], qPanel*kp, kp/4, 1, 0, bias[col:], tp.tile[:], m, nv, false, nil)
		for i := 0; i < m; i++ {
			copy(out[i*ldo+col:][:ncols], tp.tile[i*qTileStride:])
		}
	}
}

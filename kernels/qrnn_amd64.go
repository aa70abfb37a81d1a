//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qrnn -out ../asm_qrnn_amd64.s -stubs ../stubs_qrnn_amd64.go -pkg kernels"

// qgemvAsmOK reports whether the VNNI matrix-vector kernel runs here: the
// avx512vnni (and amx) int8 path.
func qgemvAsmOK() bool { return int8Path == isaVNNI }

var qgemvTable = [2][4]func(dst *float32, ldd int, q *int8, ldq int, w *int8, rowbytes int, k4 int, sum *int32, ws *float32, s float32, zp int32, n int){
	{qgemvDequantVNNI_1set, qgemvDequantVNNI_2set, qgemvDequantVNNI_3set, qgemvDequantVNNI_4set},
	{qgemvDequantVNNI_1add, qgemvDequantVNNI_2add, qgemvDequantVNNI_3add, qgemvDequantVNNI_4add},
}

// qgemvAsm runs the kernel on rows (1-4) rows; zpu8 is the codes' zero point
// as uint8 (the kernel flips the codes' sign bits). The caller has checked
// the bounds.
func qgemvAsm(rows int, dst *float32, ldd int, q *int8, ldq int, w *QGemvWeights, ws []float32, s float32, zpu8 int32, add bool) {
	qgemvTable[b2i(add)][rows-1](dst, 4*ldd, q, ldq, &w.data[0], 4*w.cols, w.k4, &w.sum[0], &ws[0], s, zpu8, w.n)
}

// cellLanes is the vector width of the fused cells (that of ActF32's
// Sigmoid and Tanh on this CPU), 0 without vector kernels.
func cellLanes() int { return f32Lanes() }

func lstmCellAsm(pre []float32, gs int, c, h, y []float32, n int) {
	if f32Wide {
		lstmCellF32AVX512(&pre[0], gs, &c[0], &h[0], &y[0], n)
	} else {
		lstmCellF32AVX2(&pre[0], gs, &c[0], &h[0], &y[0], n)
	}
}

func gruCellAsm(xg, hg []float32, gs int, rbh, h, y []float32, n int) {
	if f32Wide {
		gruCellF32AVX512(&xg[0], &hg[0], gs, &rbh[0], &h[0], &y[0], n)
	} else {
		gruCellF32AVX2(&xg[0], &hg[0], gs, &rbh[0], &h[0], &y[0], n)
	}
}

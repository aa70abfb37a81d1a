//go:build !amd64 || purego || noasm

package kernels

func qgemvAsmOK() bool { return false }

func qgemvAsm(rows int, dst *float32, ldd int, q *int8, ldq int, w *QGemvWeights, ws []float32, s float32, zpu8 int32, add bool) {
	panic("kernels: no int8 matrix-vector assembly on this platform")
}

func cellLanes() int { return 0 }

func lstmCellAsm(pre []float32, gs int, c, h, y []float32, n int) {
	panic("kernels: no recurrent-cell assembly on this platform")
}

func gruCellAsm(xg, hg []float32, gs int, rbh, h, y []float32, n int) {
	panic("kernels: no recurrent-cell assembly on this platform")
}

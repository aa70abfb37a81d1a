package kernels

import "fmt"

// GatherTaps16F32 writes dst[p*16+l] = x[off[l]+p] for the 16 lanes l and p in
// [0, n): sixteen runs of x, each starting at its own offset, as n rows of 16
// floats. It is the B-panel packer of QAT's shifted weight gradient (package qat,
// packShiftedTaps: lane l is kernel tap l of a panel, p the output position), a
// transposing gather that Go does one float at a time; the assembly transposes
// 16x16 blocks in zmm registers (AVX-512F) or 8x8 blocks in ymm (AVX2), the tail
// rows in Go. Data movement only: every path writes the same bits. It returns an
// error, writing nothing, when a run or dst is out of range.
func GatherTaps16F32(dst, x []float32, off *[16]int, n int) error {
	if n < 0 || len(dst) < 16*n {
		return fmt.Errorf("kernels: GatherTaps16F32: %d rows need %d floats of dst, have %d", n, 16*n, len(dst))
	}
	for l, o := range off {
		if o < 0 || o+n > len(x) {
			return fmt.Errorf("kernels: GatherTaps16F32: lane %d reads x[%d:%d] of %d floats", l, o, o+n, len(x))
		}
	}
	if n == 0 {
		return nil
	}
	v := gatherTaps16Vec(dst, x, off, n)
	gatherTaps16Go(dst[16*v:], x, off, v, n)
	return nil
}

// gatherTaps16Go is the reference: rows [p0, n) of the gather into dst (row p0
// at dst[0]).
func gatherTaps16Go(dst, x []float32, off *[16]int, p0, n int) {
	for l, o := range off {
		src := x[o+p0 : o+n]
		for p, v := range src {
			dst[p*16+l] = v
		}
	}
}

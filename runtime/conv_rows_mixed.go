package runtime

import (
	"github.com/warboy-sim/warboy/kernels"
)

// Mixed panel widths for the pointwise convolutions whose output channels
// none of the AVX-512 panel widths divides (80, 112, 208, 400: MobileNetV3's
// and Inception's 80 and 112, GoogLeNet's 208, RegNet-X-400MF's 400). One
// kernels.RowsB has one panel width, so PackRowsB gave them 16-wide panels:
// six zmm accumulators per tile, which leave the FMA units waiting on their
// latency (RegNet's 7x7 400 → 400 layers ran at 38 GMAC/s, ONNX Runtime's at
// 65). Here the columns are split into parts that each take a wide panel
// width: 64-wide panels for the most, then one 48- and/or one 32-wide part
// (80 = 48 + 32, 112 = 64 + 48, 400 = 320 + 48 + 32), run on the same rows
// by kernels.SgemmRowsPartsAct. Every output keeps the same arithmetic
// (bias, then one FMA per reduction step in order, then the epilogue): the
// split changes which call computes a column, not how.

// rowsPart is the weights of output columns [col, col+pb.N()).
type rowsPart struct {
	col int
	pb  *kernels.RowsB
}

// newRowsPart makes the part of pb at column col.
func newRowsPart(col int, pb *kernels.RowsB) rowsPart {
	return rowsPart{col: col, pb: pb}
}

// mixedPanelSplit returns the widths of the parts of n columns (n a multiple
// of 16 that neither 32 nor 48 divides, at least 80), nil where PackRowsB's
// one width is as good.
func mixedPanelSplit(n int) []int {
	if n < 80 || n%16 != 0 || n%32 == 0 || n%48 == 0 {
		return nil
	}
	n64, r := n/64*64, n%64
	var parts []int
	switch r {
	case 16: // 64 + 16 = 48 + 32
		n64 -= 64
		parts = []int{48, 32}
	case 48:
		parts = []int{48}
	default:
		return nil
	}
	if n64 > 0 {
		parts = append([]int{n64}, parts...)
	}
	return parts
}

// packMixed packs wt (kdim × np, row stride np) in the parts of
// mixedPanelSplit(np), or returns nil where there is no split or the CPU
// has no wider panels than 16.
func packMixed(kdim, np int, wt []float32) []rowsPart {
	split := mixedPanelSplit(np)
	if split == nil || kernels.RowsPath() != "avx512" {
		return nil
	}
	parts := make([]rowsPart, 0, len(split))
	col := 0
	for _, w := range split {
		pb := kernels.PackRowsB(kdim, w, wt[col:], np)
		if pb.NR() == 16 {
			return nil
		}
		parts = append(parts, newRowsPart(col, pb))
		col += w
	}
	return parts
}

// scaledParts returns the parts with their reduction rows scaled by s (see
// kernels.RowsB.ScaledRows), in buf (at least the parts' data).
func scaledParts(parts []rowsPart, s, buf []float32, threads int) []rowsPart {
	out := make([]rowsPart, len(parts))
	for i, p := range parts {
		n := p.pb.DataLen()
		out[i] = newRowsPart(p.col, p.pb.ScaledRowsThreads(s, buf[:n], threads))
		buf = buf[n:]
	}
	return out
}

// partsDataLen is the floats of the parts' packed weights.
func partsDataLen(parts []rowsPart) int {
	n := 0
	for _, p := range parts {
		n += p.pb.DataLen()
	}
	return n
}

// gemmParts is gemm on the mixed parts: kernels.SgemmRowsPartsAct, which on
// a small map (7x7, 14x14: one block of row tiles) runs the parts' panels as
// one chain whose every panel prefetches the next (split in chains of equal
// width over the threads), and on larger maps the parts one after the other
// (fifteenth session; each part's first panel came cold from L3 when every
// part was a call of its own, and on two threads every panel was).
func (k *rowsConvKernel) gemmParts(x []float32, lda int, off []int32, rows int, c []float32, ldc int, res []float32, resLater bool, threads int) {
	post := k.post
	if resLater {
		post = kernels.ActNone
	}
	var buf [4]kernels.RowsPart
	parts := buf[:0]
	for _, p := range k.mixed {
		parts = append(parts, kernels.RowsPart{B: p.pb, Col: p.col})
	}
	kernels.SgemmRowsPartsAct(parts, x, lda, off, rows, k.bias, c, ldc, res, k.clip && !resLater, k.lo, k.hi, post, threads)
}

package kernels

import "fmt"

// QSoftmaxTabRowsI8 is the float Softmax row path of the fused int8
// attention for m rows of n scores: row r of p (int8, m×n) is
// QuantizeF32(SoftmaxTermsRowF32(x, terms, r0+r), scale, zp) with x[j] =
// tab[uint8(s[r·n+j])] (tab: the steps between the int8 product and the
// Softmax, tabulated on the 256 codes). buf is scratch of at least n floats;
// QSoftmaxTabBufLen(m, n) floats let the vector kernel take up to 16 rows
// per call.
//
// On AVX-512 and AVX2 rows of 16 or more with at most two terms take the
// qsmRows kernel (gen_qsmrow.go) when buf holds n+1 floats or more, several
// rows per call, each repeating that path's operations in the same order:
// the codes are the same bit for bit (TestQSoftmaxTabRowsI8). Other rows,
// and the pure-Go path, run the three steps (qsoftmaxTabRowGo).
func QSoftmaxTabRowsI8(p, s []int8, m, n int, tab *[256]float32, terms []ScoreTerm, r0 int, buf []float32, scale float32, zp int32) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(p) < m*n || len(s) < m*n || len(buf) < n {
		panic(fmt.Sprintf("kernels.QSoftmaxTabRowsI8: %d rows of %d, p %d, s %d, buf %d", m, n, len(p), len(s), len(buf)))
	}
	checkScoreTerms("kernels.QSoftmaxTabRowsI8", terms, r0, r0+m, n)
	if qsmRowsAsm(p, s, m, n, tab, terms, r0, buf, scale, zp) {
		return
	}
	for r := 0; r < m; r++ {
		pr, sr := p[r*n:(r+1)*n], s[r*n:(r+1)*n]
		qsoftmaxTabRowGo(pr, sr, tab, terms, r0+r, buf[:n], scale, zp)
	}
}

// QSoftmaxTabBufLen is the scratch length (floats) with which
// QSoftmaxTabRowsI8 runs m rows of n in the fewest kernel calls: n+1 floats
// per row (the row and its statistics), at most 16 rows.
func QSoftmaxTabBufLen(m, n int) int {
	return max(min(m, qsmRowsChunk), 1) * (n + 1)
}

// qsmRowsChunk is the most rows one qsmRows call takes (its term pointers
// live in a stack array of that many rows).
const qsmRowsChunk = 16

// qsoftmaxTabRowGo is one row as three steps: the table, SoftmaxTermsRowF32,
// QuantizeF32 (the seventeenth session's fused attention row).
func qsoftmaxTabRowGo(p, s []int8, tab *[256]float32, terms []ScoreTerm, r int, x []float32, scale float32, zp int32) {
	for j, c := range s {
		x[j] = tab[uint8(c)]
	}
	SoftmaxTermsRowF32(x, x, terms, r)
	QuantizeF32(x, scale, zp, p)
}

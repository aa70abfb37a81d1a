package kernels

import "fmt"

// RequantRows is a Requant expanded once for rows of n accumulators (its
// parameters repeated per column), for a caller that requantizes many small
// blocks with the same parameters: an attention head's two products, head
// after head. Requant.Rows expands on every call (two allocations, ~5 % of
// a small int8 encoder's run in the twentieth session's profile). The
// snapshot does not see later changes to the Requant's fields.
type RequantRows struct {
	p *rqParams
	n int
}

// ForRows returns rq expanded for rows of n accumulators.
func (rq *Requant) ForRows(n int) *RequantRows {
	return &RequantRows{p: rq.expand(n), n: n}
}

// N is the row length r was expanded for.
func (r *RequantRows) N() int { return r.n }

// Rows is Requant.Rows for rows of N accumulators.
func (r *RequantRows) Rows(src []int32, dst []int8) {
	if len(src) == 0 {
		return
	}
	if len(src)%r.n != 0 || len(dst) < len(src) {
		panic(fmt.Sprintf("kernels.RequantRows.Rows: %d accumulators, %d outputs, rows of %d", len(src), len(dst), r.n))
	}
	r.p.tile(src, r.n, len(src)/r.n, r.n, dst, r.n, 0)
}

// RowsTo is Requant.RowsTo for rows of N accumulators.
func (r *RequantRows) RowsTo(src []int32, dst []int8, ldd int) {
	if len(src) == 0 {
		return
	}
	rows := len(src) / r.n
	if len(src)%r.n != 0 || ldd < r.n || len(dst) < (rows-1)*ldd+r.n {
		panic(fmt.Sprintf("kernels.RequantRows.RowsTo: %d accumulators, %d outputs, rows of %d, %d apart", len(src), len(dst), r.n, ldd))
	}
	r.p.tile(src, r.n, rows, r.n, dst, ldd, 0)
}

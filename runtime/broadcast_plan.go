package runtime

// The loop nest of a broadcasting binary operator, planned without
// allocating (twentieth session). The shapes are collapsed as numpy does:
// axes of extent 1 are dropped and neighbouring axes that both operands read
// alike (both contiguous across them, or both repeating) are merged, so
// [B,D,1]x[B,1,N] becomes an outer product per batch and [HW,1,C]x[1,M,C] a
// block of M rows per outer index. The two innermost collapsed axes form a
// block (rows of w columns, each operand read with a column stride 0 or 1
// and any row stride) that one kernel call covers; the outer axes are walked
// by an odometer of fixed-size arrays. Before this, every call built the
// collapsed shape, the stride lists and the odometer with make() and entered
// the row function once per innermost row: Mamba's per-step Mul/Add over
// [2,32,8] (a Scan body run 48 times a call) spent more time in that
// metadata than in arithmetic.

import "github.com/warboy-sim/warboy/kernels"

// maxBcastRank is the largest collapsed rank planned here; larger ones (an
// alternation of broadcast and full axes 9 deep) take the general path.
const maxBcastRank = 8

// bcastPlan is a collapsed broadcast: out is row-major over shape[:rank],
// operand A is read at Σ idx[k]·sa[k] and B at Σ idx[k]·sb[k]. The innermost
// strides are 0 or 1. rank 0 is a single element.
type bcastPlan struct {
	rank   int
	shape  [maxBcastRank]int
	sa, sb [maxBcastRank]int
}

// planBroadcast collapses the broadcast of shapes as and bs to os (which
// must be their broadcast shape); ok is false when the collapsed rank
// exceeds maxBcastRank.
func planBroadcast(as, bs, os []int) (p bcastPlan, ok bool) {
	// Walk the output axes from the innermost outwards, collapsing into
	// the arrays back to front, then shift them to the front.
	var shape, sa, sb [maxBcastRank]int
	k := maxBcastRank // next free slot is k-1
	ra, rb := 1, 1    // running element strides of A and B
	for j := len(os) - 1; j >= 0; j-- {
		d := os[j]
		da, db := dimAt(as, len(os), j), dimAt(bs, len(os), j)
		var xa, xb int // strides of A and B along this axis
		if da != 1 {
			xa = ra
		}
		if db != 1 {
			xb = rb
		}
		ra *= da
		rb *= db
		if d == 1 {
			continue
		}
		if k < maxBcastRank && canMerge(shape[k], sa[k], sb[k], xa, xb) {
			shape[k] *= d
			continue
		}
		if k == 0 {
			return p, false
		}
		k--
		shape[k], sa[k], sb[k] = d, xa, xb
	}
	p.rank = maxBcastRank - k
	copy(p.shape[:], shape[k:])
	copy(p.sa[:], sa[k:])
	copy(p.sb[:], sb[k:])
	return p, true
}

// dimAt is the extent of shape s along output axis j of a rank-r broadcast
// (1 where s has no such axis).
func dimAt(s []int, r, j int) int {
	if i := j - (r - len(s)); i >= 0 {
		return s[i]
	}
	return 1
}

// canMerge reports whether an outer axis with strides xa, xb merges into
// the inner collapsed axis of extent n and strides ia, ib: each operand
// either repeats across both (0 and 0) or runs on contiguously (x = i·n).
func canMerge(n, ia, ib, xa, xb int) bool {
	return xa == ia*n && xb == ib*n
}

// block returns the innermost block of the plan: w columns read with
// column strides xi, yi, h rows per outer index with row strides xs, ys.
func (p *bcastPlan) block() (w, xi, yi, h, xs, ys int) {
	switch p.rank {
	case 0:
		return 1, 0, 0, 1, 0, 0
	case 1:
		return p.shape[0], p.sa[0], p.sb[0], 1, 0, 0
	}
	r := p.rank
	return p.shape[r-1], p.sa[r-1], p.sb[r-1], p.shape[r-2], p.sa[r-2], p.sb[r-2]
}

// blockFunc computes rows rows of w columns of a broadcast block:
// out[r·w+i] = f(x[r·xs+i·xi], y[r·ys+i·yi]).
type blockFunc[T, U any] func(out []U, x []T, xs, xi int, y []T, ys, yi, w, rows int)

// rowsBlock makes a blockFunc from a row function.
func rowsBlock[T, U any](row rowFunc[T, U]) blockFunc[T, U] {
	return func(out []U, x []T, xs, xi int, y []T, ys, yi, w, rows int) {
		for r := 0; r < rows; r++ {
			row(out[r*w:(r+1)*w], x[r*xs:], xi, y[r*ys:], yi)
		}
	}
}

// runRows computes the rows [r0, r1) of the plan (a row is w elements of
// the output; rows count over all outer indices) with blk.
func runRows[T, U any](p *bcastPlan, a, b []T, out []U, blk blockFunc[T, U], r0, r1 int) {
	w, xi, yi, h, xs, ys := p.block()
	outer := max(p.rank-2, 0)
	var idx [maxBcastRank]int
	oa, ob := 0, 0
	q, rin := r0/h, r0%h
	for k := outer - 1; k >= 0; k-- {
		idx[k] = q % p.shape[k]
		q /= p.shape[k]
		oa += idx[k] * p.sa[k]
		ob += idx[k] * p.sb[k]
	}
	for r := r0; r < r1; {
		cnt := min(h-rin, r1-r)
		blk(out[r*w:(r+cnt)*w], a[oa+rin*xs:], xs, xi, b[ob+rin*ys:], ys, yi, w, cnt)
		r += cnt
		rin = 0
		for k := outer - 1; k >= 0; k-- {
			idx[k]++
			oa += p.sa[k]
			ob += p.sb[k]
			if idx[k] < p.shape[k] {
				break
			}
			oa -= p.sa[k] * p.shape[k]
			ob -= p.sb[k] * p.shape[k]
			idx[k] = 0
		}
	}
}

// runPlan computes the whole output of the plan with blk, splitting the
// rows over threads when the output is large (no closure is made below
// that size).
func runPlan[T, U any](threads int, p *bcastPlan, a, b []T, out []U, blk blockFunc[T, U]) {
	n := len(out)
	if n == 0 {
		return
	}
	w, _, _, _, _, _ := p.block()
	rows := n / w
	if threads <= 1 || n < parallelMinWork {
		runRows(p, a, b, out, blk, 0, rows)
		return
	}
	if rows == 1 {
		// One long row (same shapes, a scalar operand): split the columns.
		_, xi, yi, _, _, _ := p.block()
		kernels.ParallelRange(n, parallelMinWork/2, threads, func(lo, hi int) {
			blk(out[lo:hi], a[lo*xi:], 0, xi, b[lo*yi:], 0, yi, hi-lo, 1)
		})
		return
	}
	q := *p // the closure's copy: p itself stays on the caller's stack
	kernels.ParallelRange(rows, max(1, parallelMinWork/2/w), threads, func(lo, hi int) {
		runRows(&q, a, b, out, blk, lo, hi)
	})
}

// binF32Ops maps the float32 operators with a block kernel to it.
func binF32Op(op string) (kernels.BinOp, bool) {
	switch op {
	case "Add", "Sum", "Mean":
		return kernels.BinAdd, true
	case "Sub":
		return kernels.BinSub, true
	case "Mul":
		return kernels.BinMul, true
	case "Div":
		return kernels.BinDiv, true
	}
	return 0, false
}

// binF32Blocks are the blockFuncs of kernels.BinBlockF32 by operator (made
// once: a method value or closure per call would allocate).
var binF32Blocks = [4]blockFunc[float32, float32]{
	func(o, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
		kernels.BinBlockF32(kernels.BinAdd, o, x, xs, xi, y, ys, yi, w, rows)
	},
	func(o, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
		kernels.BinBlockF32(kernels.BinSub, o, x, xs, xi, y, ys, yi, w, rows)
	},
	func(o, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
		kernels.BinBlockF32(kernels.BinMul, o, x, xs, xi, y, ys, yi, w, rows)
	},
	func(o, x []float32, xs, xi int, y []float32, ys, yi, w, rows int) {
		kernels.BinBlockF32(kernels.BinDiv, o, x, xs, xi, y, ys, yi, w, rows)
	},
}

// broadcastF32 computes out = a op b (float32 Add, Sub, Mul or Div, numpy
// broadcasting of shapes as and bs to os) on the block kernels; false when
// the collapsed rank is too large for a plan (the caller takes the general
// path).
func broadcastF32(threads int, op kernels.BinOp, a []float32, as []int, b []float32, bs []int, out []float32, os []int) bool {
	p, ok := planBroadcast(as, bs, os)
	if !ok {
		return false
	}
	runPlan(threads, &p, a, b, out, binF32Blocks[op])
	return true
}

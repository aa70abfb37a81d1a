package qat

import "github.com/warboy-sim/warboy/kernels"

// The weight gradient of a stride-1 (or, on phase planes, strided) convolution
// without the column matrix: in the padded layout of the shifted forward pass
// (shiftGeom), input tap k of output position q (numbered over the padded width)
// is xpad[off[k]+q], so per image and group dWᵀ[K][OCg] += A[K][Q] · dyqᵀ with
// A[k][q] = xpad[off[k]+q] and dyq dy spread over the padded width, zero in the
// columns past each output row, so those positions add nothing.
// kernels.SgemmTapRowsF32 reads A's rows in place from the padded image (only dyq
// is packed), instead of an im2col copy, a row-major transpose of dy and a
// packing of the column matrix; its sums are those of the GEMM dW += dyq · Aᵀ with
// both operands packed (the form before the sixteenth session), bit for bit. The
// sums run image by image (each a reduction over the image's positions), not over
// chunks of the whole batch's positions as weightGrad's: results differ from it by
// rounding only.

// weightGradShifted accumulates dw from dy and the input x of the last forward.
func (c *convCore) weightGradShifted(s *shiftGeom, x, dy, dw []float32, threads int) {
	g := &c.g
	c.split(threads)
	sc := &c.scratch[0]
	// dyq's columns past each output row are zero from its first image on
	fresh := len(sc.dyq) != g.oc*s.q || sc.dyqOf != s
	sc.dyq = grow(sc.dyq, g.oc*s.q)
	sc.dyqOf = s
	c.dwT = grow(c.dwT, g.oc*g.k)
	clear(c.dwT)
	for n := 0; n < g.n; n++ {
		dyq := sc.dyq
		for o := 0; o < g.oc; o++ {
			src := dy[(n*g.oc+o)*g.p:][:g.p]
			d := dyq[o*s.q : (o+1)*s.q]
			if fresh {
				clear(d)
			}
			kernels.RowsCopyF32(d, s.ppw, src, g.ow, g.ow, g.oh)
		}
		fresh = false
		c.weightGradImage(s, x, n, dyq, s.q, threads)
	}
	c.weightGradFlush(dw)
}

// weightGradImage adds image n's term to dwT: dyq holds the image's dy spread
// over the padded width (zero past each output row), channel o's at o·ld.
func (c *convCore) weightGradImage(s *shiftGeom, x []float32, n int, dyq []float32, ld, threads int) {
	g := &c.g
	xp := c.scratch[0].xpad.fillQ(s, g, x[n*g.c*g.h*g.w:(n+1)*g.c*g.h*g.w], c.xq)
	for gi := 0; gi < g.group; gi++ {
		// group gi's dWᵀ, [K][OCg]
		if err := kernels.SgemmTapRowsF32(xp[gi*g.cg*s.pp:], s.off, s.q, dyq[gi*g.ocg*ld:], ld, g.ocg, c.dwT[gi*g.k*g.ocg:], g.ocg, threads); err != nil {
			// the offsets are the layout's own, inside the padded image
			panic(err)
		}
	}
}

// weightGradFlush adds dwT, transposed, to dw.
func (c *convCore) weightGradFlush(dw []float32) {
	g := &c.g
	for gi := 0; gi < g.group; gi++ {
		wt := c.dwT[gi*g.k*g.ocg:]
		for o := 0; o < g.ocg; o++ {
			d := dw[(gi*g.ocg+o)*g.k:][:g.k]
			for kk := range d {
				d[kk] += wt[kk*g.ocg+o]
			}
		}
	}
}

// sharedDy returns the offset of dy's first value in the input gradient's padded
// dy (t's layout) when that layout, read from there with its plane stride, is
// the weight gradient's dyq (layout s): the same padded width, so the zeros
// between dy's rows are dyq's, and dyq's columns inside each plane. Then one
// padded copy of each image's dy serves both gradients (gradsShifted).
func (t *transposedConv) sharedDy(s *shiftGeom) (base int, ok bool) {
	if t.s.ppw != s.ppw || t.s.sh != 1 || t.s.sw != 1 {
		return 0, false
	}
	base = t.g.pt*t.s.ppw + t.g.pl
	return base, base+s.q <= t.s.pp
}

// gradsShifted runs the weight gradient (layout s) and the input gradient
// (transposed convolution t) image by image together, at one thread: each
// image's dy is laid out once, in t's padded layout, which the weight gradient
// reads as its dyq from base (sharedDy) instead of a copy of its own. The same
// GEMMs on the same values in the same image order as weightGradShifted and
// inputGradShifted one after the other.
func (c *convCore) gradsShifted(s *shiftGeom, t *transposedConv, base int, x, w, dy, dx, dw []float32, set bool, ste *steStore) {
	c.split(1)
	c.dwT = grow(c.dwT, c.g.oc*c.g.k)
	clear(c.dwT)
	c.inputGradShiftedEach(t, w, dy, dx, set, ste, 1, func(n int, dyp []float32) {
		c.weightGradImage(s, x, n, dyp[base:], t.s.pp, 1)
	})
	c.weightGradFlush(dw)
}

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
		xp := sc.xpad.fillQ(s, g, x[n*g.c*g.h*g.w:(n+1)*g.c*g.h*g.w], c.xq)
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
		for gi := 0; gi < g.group; gi++ {
			// group gi's dWᵀ, [K][OCg]
			if err := kernels.SgemmTapRowsF32(xp[gi*g.cg*s.pp:], s.off, s.q, dyq[gi*g.ocg*s.q:], s.q, g.ocg, c.dwT[gi*g.k*g.ocg:], g.ocg, threads); err != nil {
				// the offsets are the layout's own, inside the padded image
				panic(err)
			}
		}
	}
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

package qat

import "github.com/warboy-sim/warboy/kernels"

// The weight gradient of a stride-1 convolution without the column matrix: in the
// padded layout of the shifted forward pass (shiftGeom), input tap k of output
// position q (numbered over the padded width) is xpad[off[k]+q], so per image and
// group dW[OCg][K] += dyq[OCg][Q] · B[Q][K] with B[q][k] = xpad[off[k]+q]. dyq is
// dy spread over the padded width, zero in the columns past each output row, so
// those positions add nothing. B is packed straight from the padded image into the
// GEMM's panels (kernels.SgemmPackedAFunc), instead of an im2col copy, a row-major
// transpose of dy and a packing of the column matrix. The sums run image by image
// (each a reduction over the image's positions), not over chunks of the whole
// batch's positions as weightGrad's: results differ from it by rounding only.

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
		xp := sc.xpad.fill(s, g, x[n*g.c*g.h*g.w:(n+1)*g.c*g.h*g.w])
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
			c.dyPack = kernels.RepackSgemmA(c.dyPack, false, g.ocg, s.q, dyq[gi*g.ocg*s.q:], s.q)
			xg := xp[gi*g.cg*s.pp:]
			kernels.SgemmPackedAFunc(c.dyPack, g.k, func(dst []float32, stride, p0, kc, j0, nc int) {
				packShiftedTaps(dst, stride, p0, kc, j0, nc, xg, s.off)
			}, c.dwT[gi*g.ocg*g.k:], g.k, true, nil, threads)
		}
	}
	for i, v := range c.dwT {
		dw[i] += v
	}
}

// packShiftedTaps is the kernels.PackBFunc of B[q][k] = x[off[k]+q]: rows
// [p0, p0+kc), columns [j0, j0+nc), in panels of 16 columns. A full panel is one
// kernels.GatherTaps16F32 (a 16x16 register transpose in assembly); the last,
// narrower one is gathered here, its missing columns zero.
func packShiftedTaps(dst []float32, stride, p0, kc, j0, nc int, x []float32, off []int32) {
	var lanes [16]int
	for q := 0; q*16 < nc; q++ {
		d := dst[q*stride : q*stride+kc*16]
		w := min(16, nc-q*16)
		if w < 16 {
			clear(d)
			for l := 0; l < w; l++ {
				src := x[int(off[j0+q*16+l])+p0:][:kc]
				for p, v := range src {
					d[p*16+l] = v
				}
			}
			continue
		}
		for l := range lanes {
			lanes[l] = int(off[j0+q*16+l]) + p0
		}
		if err := kernels.GatherTaps16F32(d, x, &lanes, kc); err != nil {
			// the offsets are the layout's own, inside the padded image
			panic(err)
		}
	}
}

package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// convGeom is the geometry of a 2-D convolution on NCHW data with OIHW weights.
type convGeom struct {
	n, c, h, w, oc, group      int
	kh, kw, sh, sw, dh, dw     int
	pt, pl, pb, pr, oh, ow, cg int
	ocg, k, p                  int
	// autoPad is the node's auto_pad: with SAME_UPPER or SAME_LOWER the pads
	// depend on the input size and are computed by setInput.
	autoPad string
	// oned: a 1-D convolution (Conv1d: [N, C, L] by [OC, C/g, K]), computed as the
	// 2-D convolution of height 1 it is (the same memory layout).
	oned bool
}

// outShape is the output's shape for the last setInput: [N, OC, OH, OW], or
// [N, OC, OW] for a 1-D convolution.
func (g *convGeom) outShape() []int {
	if g.oned {
		return []int{g.n, g.oc, g.ow}
	}
	return []int{g.n, g.oc, g.oh, g.ow}
}

// samePads returns the leading and trailing pad of one axis under auto_pad
// SAME_UPPER (the odd pixel at the end) or SAME_LOWER (at the start): the output
// size is ceil(in / stride), as graph.ResolveConvGeom and ONNX Runtime compute it.
func samePads(mode string, in, k, stride, dil int) (lo, hi int) {
	out := (in + stride - 1) / stride
	total := max(0, (out-1)*stride+(k-1)*dil+1-in)
	lo, hi = total/2, total-total/2
	if mode == graph.AutoPadSameLower {
		lo, hi = hi, lo
	}
	return lo, hi
}

func (g *convGeom) setInput(shape []int) error {
	if g.oned && len(shape) == 3 {
		shape = []int{shape[0], shape[1], 1, shape[2]}
	}
	if len(shape) != 4 || shape[1] != g.c {
		return fmt.Errorf("input shape %v, want [N,%d,H,W]", shape, g.c)
	}
	g.n, g.h, g.w = shape[0], shape[2], shape[3]
	if g.autoPad == graph.AutoPadSameUpper || g.autoPad == graph.AutoPadSameLower {
		g.pt, g.pb = samePads(g.autoPad, g.h, g.kh, g.sh, g.dh)
		g.pl, g.pr = samePads(g.autoPad, g.w, g.kw, g.sw, g.dw)
	}
	g.oh = (g.h+g.pt+g.pb-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+g.pl+g.pr-g.dw*(g.kw-1)-1)/g.sw + 1
	if g.oh <= 0 || g.ow <= 0 {
		return fmt.Errorf("input %dx%d is smaller than the kernel", g.h, g.w)
	}
	g.cg, g.ocg = g.c/g.group, g.oc/g.group
	g.k = g.cg * g.kh * g.kw
	g.p = g.oh * g.ow
	return nil
}

// oxRange returns the output columns [lo, hi) whose input column ox*sw+off lies
// inside the image.
func (g *convGeom) oxRange(off int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + g.sw - 1) / g.sw
	}
	hi = g.ow
	if last := (g.w - 1 - off); last < 0 {
		hi = 0
	} else if h := last/g.sw + 1; h < hi {
		hi = h
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// pointwise reports whether the convolution reads each output position's input
// pixel alone (1x1, stride 1, no padding): the column matrix of one image is then
// the image itself.
func (g *convGeom) pointwise() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0
}

// im2colRange writes the columns [a, b) of the column matrix (output positions in
// N*P order, so a range may span images) into cols[C*KH*KW][b-a]: row
// (ci*KH+i)*KW+j holds input channel ci at kernel tap (i, j). Group g's rows are
// the contiguous block [g*K, (g+1)*K).
func (g *convGeom) im2colRange(x, cols []float32, a, b, threads int) {
	l := b - a
	taps := g.kh * g.kw
	parallel(g.c*taps, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ci, t := r/taps, r%taps
			i, j := t/g.kw, t%g.kw
			off := j*g.dw - g.pl
			xlo, xhi := g.oxRange(off)
			row := cols[r*l : (r+1)*l]
			for n := a / g.p; n*g.p < b; n++ {
				src := x[(n*g.c+ci)*g.h*g.w:][:g.h*g.w]
				base := n * g.p
				plo, phi := max(a, base)-base, min(b, base+g.p)-base
				if plo == 0 && phi == g.p && g.sh != 1 {
					// a whole image of a strided convolution: row by row
					// without the partial-range bookkeeping
					g.im2colImage(src, row[base-a:base-a+g.p], i, off, xlo, xhi)
					continue
				}
				for oy := plo / g.ow; oy*g.ow < phi; oy++ {
					// output columns [c0, c1) of row oy lie in the range
					c0, c1 := max(plo-oy*g.ow, 0), min(phi-oy*g.ow, g.ow)
					d := row[base+oy*g.ow+c0-a : base+oy*g.ow+c1-a]
					iy := oy*g.sh - g.pt + i*g.dh
					if rows := g.flatRows(oy, iy, c0, c1, phi); rows > 0 {
						g.copyFlat(src[iy*g.w:], row[base+oy*g.ow-a:], rows, off, xlo, xhi)
						oy += rows - 1
						continue
					}
					vlo, vhi := max(xlo, c0), min(xhi, c1)
					if iy < 0 || iy >= g.h || vlo >= vhi {
						clear(d)
						continue
					}
					srow := src[iy*g.w : (iy+1)*g.w]
					clear(d[:vlo-c0])
					clear(d[vhi-c0:])
					dv := d[vlo-c0 : vhi-c0]
					if g.sw == 1 {
						copy(dv, srow[vlo+off:vhi+off])
						continue
					}
					for k := range dv {
						dv[k] = srow[(vlo+k)*g.sw+off]
					}
				}
			}
		}
	})
}

// im2colImage writes one image's row of the column matrix for kernel row i and
// column offset off (valid output columns [xlo, xhi)) into d (P values): the
// strided layers' rows are a few floats long (7 or 14 in the ResNet), so the
// per-row work is kept to the gather and the zero padding.
func (g *convGeom) im2colImage(src, d []float32, i, off, xlo, xhi int) {
	ow, sw := g.ow, g.sw
	for oy := 0; oy < g.oh; oy++ {
		dr := d[oy*ow : oy*ow+ow]
		iy := oy*g.sh - g.pt + i*g.dh
		if iy < 0 || iy >= g.h || xlo >= xhi {
			for k := range dr {
				dr[k] = 0
			}
			continue
		}
		for k := 0; k < xlo; k++ {
			dr[k] = 0
		}
		s := src[iy*g.w+xlo*sw+off : iy*g.w+(xhi-1)*sw+off+1]
		dv := dr[xlo:xhi]
		if sw == 2 {
			for k := range dv {
				dv[k] = s[2*k]
			}
		} else {
			for k := range dv {
				dv[k] = s[k*sw]
			}
		}
		for k := xhi; k < ow; k++ {
			dr[k] = 0
		}
	}
}

// col2imImages adds the columns of images [n0, n1) (the layout of im2colRange
// over those images) into dx. Every element of dx receives its kernel taps'
// contributions in tap order, however the images are split.
func (g *convGeom) col2imImages(cols, dx []float32, n0, n1, threads int) {
	l := (n1 - n0) * g.p
	taps := g.kh * g.kw
	parallel(g.c, threads, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			for t := 0; t < taps; t++ {
				i, j := t/g.kw, t%g.kw
				off := j*g.dw - g.pl
				xlo, xhi := g.oxRange(off)
				if xlo >= xhi {
					continue
				}
				row := cols[(ci*taps+t)*l : (ci*taps+t+1)*l]
				for n := n0; n < n1; n++ {
					dst := dx[(n*g.c+ci)*g.h*g.w:][:g.h*g.w]
					src := row[(n-n0)*g.p : (n-n0+1)*g.p]
					for oy := 0; oy < g.oh; oy++ {
						iy := oy*g.sh - g.pt + i*g.dh
						if iy < 0 || iy >= g.h {
							continue
						}
						if rows := g.flatRows(oy, iy, 0, g.ow, g.p); rows > 0 {
							g.addFlat(src[oy*g.ow:], dst[iy*g.w:], rows, off, xlo, xhi)
							oy += rows - 1
							continue
						}
						drow := dst[iy*g.w : (iy+1)*g.w]
						s := src[oy*g.ow : (oy+1)*g.ow]
						if g.sw == 1 {
							d := drow[xlo+off : xhi+off]
							for k, v := range s[xlo:xhi] {
								d[k] += v
							}
							continue
						}
						for ox := xlo; ox < xhi; ox++ {
							drow[ox*g.sw+off] += s[ox]
						}
					}
				}
			}
		}
	})
}

// flatRows returns how many whole output rows from oy on (the first one spanning
// columns [c0, c1), the run ending before position phi of the image) read whole
// input rows from iy on when the convolution has stride 1 and keeps the width: one
// flat run of the image then covers them, shifted by the tap's column offset, except
// for the padding columns. It returns 0 when that does not apply.
func (g *convGeom) flatRows(oy, iy, c0, c1, phi int) int {
	if g.sh != 1 || g.sw != 1 || g.ow != g.w || c0 != 0 || c1 != g.ow || iy < 0 || iy >= g.h {
		return 0
	}
	rows := min(g.h-iy, phi/g.ow-oy)
	if rows < 2 {
		return 0
	}
	return rows
}

// copyFlat writes rows whole output rows of one tap (columns [xlo, xhi) valid, at
// input column ox+off) from src (the first input row) into dst (the first output
// row): one copy of the flat run, then the padding columns zeroed.
func (g *convGeom) copyFlat(src, dst []float32, rows, off, xlo, xhi int) {
	w := g.w
	n := rows * w
	if xlo >= xhi {
		clear(dst[:n])
		return
	}
	copy(dst[xlo:n-(w-xhi)], src[xlo+off:n-(w-xhi)+off])
	for r := 0; r < rows; r++ {
		d := dst[r*w : (r+1)*w]
		clear(d[:xlo])
		clear(d[xhi:])
	}
}

// addFlat is copyFlat's adjoint: it adds the valid columns of rows output rows of
// src into dst. The padding columns of src (scratch columns of the chunk) are
// zeroed first, so that one flat run of additions covers the rows.
func (g *convGeom) addFlat(src, dst []float32, rows, off, xlo, xhi int) {
	w := g.w
	n := rows * w
	if xlo >= xhi {
		return
	}
	for r := 0; r < rows; r++ {
		s := src[r*w : (r+1)*w]
		clear(s[:xlo])
		clear(s[xhi:])
	}
	addTo(dst[xlo+off:n-(w-xhi)+off], src[xlo:n-(w-xhi)])
}

// addTo adds src into dst (of the same length).
func addTo(dst, src []float32) { kernels.AddF32(dst, src) }

// setTo sets dst[i] = src[i] + 0: the bits of adding src to a cleared dst (a -0
// becomes +0), without reading dst.
func setTo(dst, src []float32) {
	kernels.RowsBiasF32(dst, len(dst), src, len(dst), len(dst), 1, 0)
}

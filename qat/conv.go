package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/kernels"
)

// convGeom is the geometry of a 2-D convolution on NCHW data with OIHW weights.
type convGeom struct {
	n, c, h, w, oc, group      int
	kh, kw, sh, sw, dh, dw     int
	pt, pl, pb, pr, oh, ow, cg int
	ocg, k, p                  int
}

func (g *convGeom) setInput(shape []int) error {
	if len(shape) != 4 || shape[1] != g.c {
		return fmt.Errorf("input shape %v, want [N,%d,H,W]", shape, g.c)
	}
	g.n, g.h, g.w = shape[0], shape[2], shape[3]
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

// im2col writes cols[C*KH*KW][N*P]: row (ci*KH+i)*KW+j holds input channel ci at
// kernel tap (i, j) for every output position of every image. Group g's rows are
// the contiguous block [g*K, (g+1)*K).
func (g *convGeom) im2col(x, cols []float32, threads int) {
	np := g.n * g.p
	parallel(g.c*g.kh*g.kw, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ci, t := r/(g.kh*g.kw), r%(g.kh*g.kw)
			i, j := t/g.kw, t%g.kw
			off := j*g.dw - g.pl
			xlo, xhi := g.oxRange(off)
			row := cols[r*np : (r+1)*np]
			for n := 0; n < g.n; n++ {
				src := x[(n*g.c+ci)*g.h*g.w:][:g.h*g.w]
				dst := row[n*g.p : (n+1)*g.p]
				for oy := 0; oy < g.oh; oy++ {
					iy := oy*g.sh - g.pt + i*g.dh
					d := dst[oy*g.ow : (oy+1)*g.ow]
					if iy < 0 || iy >= g.h || xlo >= xhi {
						clear(d)
						continue
					}
					srow := src[iy*g.w : (iy+1)*g.w]
					clear(d[:xlo])
					clear(d[xhi:])
					if g.sw == 1 {
						copy(d[xlo:xhi], srow[xlo+off:xhi+off])
						continue
					}
					for ox := xlo; ox < xhi; ox++ {
						d[ox] = srow[ox*g.sw+off]
					}
				}
			}
		}
	})
}

// col2im adds cols (the layout of im2col) into dx.
func (g *convGeom) col2im(cols, dx []float32, threads int) {
	np := g.n * g.p
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
				row := cols[(ci*taps+t)*np : (ci*taps+t+1)*np]
				for n := 0; n < g.n; n++ {
					dst := dx[(n*g.c+ci)*g.h*g.w:][:g.h*g.w]
					src := row[n*g.p : (n+1)*g.p]
					for oy := 0; oy < g.oh; oy++ {
						iy := oy*g.sh - g.pt + i*g.dh
						if iy < 0 || iy >= g.h {
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

// convCore holds the buffers of one convolution between its forward and backward
// passes.
type convCore struct {
	g          convGeom
	cols, tmp  []float32
	dcols, dyT []float32
}

// forward computes y = conv(x, w) + bias (bias may be nil); y must hold N*OC*P values.
func (c *convCore) forward(x, w, bias, y []float32, threads int) {
	g := &c.g
	np := g.n * g.p
	c.cols = grow(c.cols, g.c*g.kh*g.kw*np)
	g.im2col(x, c.cols, threads)
	c.tmp = grow(c.tmp, g.oc*np)
	for gi := 0; gi < g.group; gi++ {
		kernels.Sgemm(false, false, g.ocg, np, g.k, w[gi*g.ocg*g.k:], g.k, c.cols[gi*g.k*np:], np, c.tmp[gi*g.ocg*np:], np, false, threads)
	}
	// [OC][N*P] -> [N][OC][P]
	parallel(g.n*g.oc, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, o := r/g.oc, r%g.oc
			dst := y[r*g.p : (r+1)*g.p]
			copy(dst, c.tmp[o*np+n*g.p:o*np+(n+1)*g.p])
			if bias != nil {
				b := bias[o]
				for i := range dst {
					dst[i] += b
				}
			}
		}
	})
}

// backward accumulates dw (and dbias, dx when not nil) from dy.
func (c *convCore) backward(w, dy, dx, dw, dbias []float32, threads int) {
	g := &c.g
	np := g.n * g.p
	c.dyT = grow(c.dyT, g.oc*np)
	parallel(g.n*g.oc, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, o := r/g.oc, r%g.oc
			copy(c.dyT[o*np+n*g.p:o*np+(n+1)*g.p], dy[r*g.p:(r+1)*g.p])
		}
	})
	if dbias != nil {
		for o := 0; o < g.oc; o++ {
			var s float32
			for _, v := range c.dyT[o*np : (o+1)*np] {
				s += v
			}
			dbias[o] += s
		}
	}
	if dx != nil {
		c.dcols = grow(c.dcols, g.c*g.kh*g.kw*np)
	}
	for gi := 0; gi < g.group; gi++ {
		dyg := c.dyT[gi*g.ocg*np:]
		kernels.Sgemm(false, true, g.ocg, g.k, np, dyg, np, c.cols[gi*g.k*np:], np, dw[gi*g.ocg*g.k:], g.k, true, threads)
		if dx != nil {
			kernels.Sgemm(true, false, g.k, np, g.ocg, w[gi*g.ocg*g.k:], g.k, dyg, np, c.dcols[gi*g.k*np:], np, false, threads)
		}
	}
	if dx != nil {
		g.col2im(c.dcols, dx, threads)
	}
}

package qat

// A depthwise convolution (group == input channels, any channel multiplier) reads
// one input plane per output plane: as GEMMs it is one single-row product per
// channel, which wastes most of the micro-kernel and all of the packing. The
// direct path below works plane by plane, the inner loop running over one row of
// output pixels (contiguous in y and dy, stride sw in x and dx), and splits the
// work over (image, channel) planes, each owned by one goroutine, so nothing is
// reduced across goroutines and no scratch buffer is needed.

// depthwise reports whether the convolution is depthwise: one input channel per
// group, ocg output channels (the multiplier) reading it.
func (g *convGeom) depthwise() bool {
	return g.group == g.c && g.cg == 1 && g.group > 1
}

// dwRows returns, for kernel row i, the output rows [lo, hi) whose input row
// oy*sh-pt+i*dh lies inside the image.
func (g *convGeom) dwRows(i int) (lo, hi int) {
	off := i*g.dh - g.pt
	if off < 0 {
		lo = (-off + g.sh - 1) / g.sh
	}
	hi = g.oh
	if last := g.h - 1 - off; last < 0 {
		hi = 0
	} else if h := last/g.sh + 1; h < hi {
		hi = h
	}
	return lo, max(lo, hi)
}

// forwardDepthwise computes y = conv(x, w) + bias for a depthwise convolution.
func (c *convCore) forwardDepthwise(x, w, bias, y []float32, threads int) {
	g := &c.g
	hw := g.h * g.w
	taps := g.kh * g.kw
	parallel(g.n*g.oc, threads, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			n, o := pl/g.oc, pl%g.oc
			src := x[(n*g.c+o/g.ocg)*hw:][:hw]
			dst := y[pl*g.p:][:g.p]
			var b float32
			if bias != nil {
				b = bias[o]
			}
			for i := range dst {
				dst[i] = b
			}
			wk := w[o*taps:][:taps]
			for i := 0; i < g.kh; i++ {
				ylo, yhi := g.dwRows(i)
				for j := 0; j < g.kw; j++ {
					wv := wk[i*g.kw+j]
					off := j*g.dw - g.pl
					xlo, xhi := g.oxRange(off)
					if xlo >= xhi {
						continue
					}
					for oy := ylo; oy < yhi; oy++ {
						iy := oy*g.sh - g.pt + i*g.dh
						d := dst[oy*g.ow+xlo : oy*g.ow+xhi]
						if g.sw == 1 {
							s := src[iy*g.w+xlo+off:][:len(d)]
							for k := range d {
								d[k] += wv * s[k]
							}
							continue
						}
						s := src[iy*g.w+xlo*g.sw+off:]
						for k := range d {
							d[k] += wv * s[k*g.sw]
						}
					}
				}
			}
		}
	})
}

// inputGradDepthwise adds the input gradient of a depthwise convolution to dx:
// each input plane gathers from its ocg output planes, tap by tap.
func (c *convCore) inputGradDepthwise(w, dy, dx []float32, threads int) {
	g := &c.g
	hw := g.h * g.w
	taps := g.kh * g.kw
	parallel(g.n*g.c, threads, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			n, ci := pl/g.c, pl%g.c
			dst := dx[pl*hw:][:hw]
			for m := 0; m < g.ocg; m++ {
				o := ci*g.ocg + m
				src := dy[(n*g.oc+o)*g.p:][:g.p]
				wk := w[o*taps:][:taps]
				for i := 0; i < g.kh; i++ {
					ylo, yhi := g.dwRows(i)
					for j := 0; j < g.kw; j++ {
						wv := wk[i*g.kw+j]
						off := j*g.dw - g.pl
						xlo, xhi := g.oxRange(off)
						if xlo >= xhi {
							continue
						}
						for oy := ylo; oy < yhi; oy++ {
							iy := oy*g.sh - g.pt + i*g.dh
							s := src[oy*g.ow+xlo : oy*g.ow+xhi]
							if g.sw == 1 {
								d := dst[iy*g.w+xlo+off:][:len(s)]
								for k := range s {
									d[k] += wv * s[k]
								}
								continue
							}
							d := dst[iy*g.w+xlo*g.sw+off:]
							for k := range s {
								d[k*g.sw] += wv * s[k]
							}
						}
					}
				}
			}
		}
	})
}

// weightGradDepthwise accumulates dw for a depthwise convolution: each output
// channel's taps are dot products of its dy planes with the shifted input planes,
// summed over the batch by the goroutine that owns the channel.
func (c *convCore) weightGradDepthwise(x, dy, dw []float32, threads int) {
	g := &c.g
	hw := g.h * g.w
	taps := g.kh * g.kw
	parallel(g.oc, threads, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			ci := o / g.ocg
			d := dw[o*taps:][:taps]
			for i := 0; i < g.kh; i++ {
				ylo, yhi := g.dwRows(i)
				for j := 0; j < g.kw; j++ {
					off := j*g.dw - g.pl
					xlo, xhi := g.oxRange(off)
					if xlo >= xhi {
						continue
					}
					var acc float32
					for n := 0; n < g.n; n++ {
						src := x[(n*g.c+ci)*hw:][:hw]
						dyp := dy[(n*g.oc+o)*g.p:][:g.p]
						for oy := ylo; oy < yhi; oy++ {
							iy := oy*g.sh - g.pt + i*g.dh
							e := dyp[oy*g.ow+xlo : oy*g.ow+xhi]
							acc += dotStrided(e, src[iy*g.w+xlo*g.sw+off:], g.sw)
						}
					}
					d[i*g.kw+j] += acc
				}
			}
		}
	})
}

// dotStrided returns the sum of e[k]*xs[k*stride] over four partial sums, so that
// the additions do not wait for each other.
func dotStrided(e, xs []float32, stride int) float32 {
	var s0, s1, s2, s3 float32
	k := 0
	if stride == 1 {
		xs = xs[:len(e)]
		for ; k+4 <= len(e); k += 4 {
			s0 += e[k] * xs[k]
			s1 += e[k+1] * xs[k+1]
			s2 += e[k+2] * xs[k+2]
			s3 += e[k+3] * xs[k+3]
		}
		for ; k < len(e); k++ {
			s0 += e[k] * xs[k]
		}
		return (s0 + s1) + (s2 + s3)
	}
	for ; k+4 <= len(e); k += 4 {
		i := k * stride
		s0 += e[k] * xs[i]
		s1 += e[k+1] * xs[i+stride]
		s2 += e[k+2] * xs[i+2*stride]
		s3 += e[k+3] * xs[i+3*stride]
	}
	for ; k < len(e); k++ {
		s0 += e[k] * xs[k*stride]
	}
	return (s0 + s1) + (s2 + s3)
}

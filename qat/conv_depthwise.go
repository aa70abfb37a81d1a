package qat

import (
	"sync"

	"github.com/warboy-sim/warboy/kernels"
)

// A depthwise convolution (group == input channels, any channel multiplier) reads
// one input plane per output plane: as GEMMs it is one single-row product per
// channel, which wastes most of the micro-kernel and all of the packing. The
// direct path below splits each input plane by the stride into phase planes
// (phase (py, px) holds the padded input's rows py, py+sh, ... and columns px,
// px+sw, ...), all of one pitch B, the output width plus the taps' column reach.
// On them every tap of the kernel window is one contiguous run at a fixed offset,
// and so is the whole output plane computed at pitch B (the extra columns are
// dropped): the forward pass is a sum of shifted runs (kernels.TapsF32), the
// weight gradient a dot product of the output gradient, padded to pitch B with
// zeros, with each shifted run (kernels.TapsDotF32), and the input gradient of
// each phase plane a sum of the padded output gradient's runs shifted back, added
// into the input plane phase by phase. The runs are vectorised and as long as the
// output plane, where the rows of a strided layer (7 or 14 pixels at 28x28) are
// too short for the vector unit. Work is split over planes (forward, input
// gradient) or channels (weight gradient), each owned by one goroutine, so
// nothing is reduced across goroutines and the results do not depend on threads.

// depthwise reports whether the convolution is depthwise: one input channel per
// group, ocg output channels (the multiplier) reading it.
func (g *convGeom) depthwise() bool {
	return g.group == g.c && g.cg == 1 && g.group > 1
}

// dwLayout is the phase-plane layout of a depthwise convolution's geometry.
type dwLayout struct {
	a, b   int   // rows of a phase plane and the pitch of every plane
	plane  int   // a*b
	size   int   // phase buffer: sh*sw planes and one row of slack for the last runs
	offs   []int // per tap (row-major): offset of its run in the phase buffer
	margin int   // zeros before the output gradient in the input-gradient buffer
	// per phase: its taps and their runs in the input-gradient buffer
	phTaps, phOffs [][]int
}

func (g *convGeom) dwLayout() *dwLayout {
	amax, bmax := (g.kh-1)*g.dh/g.sh, (g.kw-1)*g.dw/g.sw
	l := &dwLayout{a: g.oh + amax, b: g.ow + bmax}
	l.plane = l.a * l.b
	l.size = g.sh*g.sw*l.plane + l.b
	l.margin = amax*l.b + bmax
	l.phTaps, l.phOffs = make([][]int, g.sh*g.sw), make([][]int, g.sh*g.sw)
	for i := 0; i < g.kh; i++ {
		for j := 0; j < g.kw; j++ {
			ph := (i*g.dh%g.sh)*g.sw + j*g.dw%g.sw
			run := i*g.dh/g.sh*l.b + j*g.dw/g.sw
			l.offs = append(l.offs, ph*l.plane+run)
			l.phTaps[ph] = append(l.phTaps[ph], i*g.kw+j)
			l.phOffs[ph] = append(l.phOffs[ph], l.margin-run)
		}
	}
	return l
}

// phaseCols returns, for column phase px, the phase-plane columns [lo, hi) that
// lie inside the input, and the input column of phase column 0 (may be negative).
func (g *convGeom) phaseCols(l *dwLayout, px int) (lo, hi, x0 int) {
	x0 = px - g.pl
	if x0 < 0 {
		lo = (-x0 + g.sw - 1) / g.sw
	}
	hi = min(l.b, (g.w-1-x0)/g.sw+1)
	if g.w-1-x0 < 0 {
		hi = 0
	}
	return lo, max(lo, hi), x0
}

// fillPhases writes the phase planes of one input plane src (h*w) into dst
// (l.size values): padding and slack are zero.
func (g *convGeom) fillPhases(l *dwLayout, src, dst []float32) {
	clear(dst[:l.size])
	for py := 0; py < g.sh; py++ {
		for px := 0; px < g.sw; px++ {
			base := (py*g.sw + px) * l.plane
			lo, hi, x0 := g.phaseCols(l, px)
			if lo >= hi {
				continue
			}
			for a := 0; a < l.a; a++ {
				iy := a*g.sh + py - g.pt
				if iy < 0 || iy >= g.h {
					continue
				}
				d := dst[base+a*l.b:][lo:hi]
				row := src[iy*g.w:][:g.w]
				switch g.sw {
				case 1:
					copy(d, row[lo+x0:])
				case 2:
					r := row[lo*2+x0:]
					_ = r[2*len(d)-2]
					for k := range d {
						d[k] = r[2*k]
					}
				default:
					for k := range d {
						d[k] = row[(lo+k)*g.sw+x0]
					}
				}
			}
		}
	}
}

// addPhases adds the phase planes gr (gradients at the phase positions) back
// into the input plane dst (h*w); padding positions are dropped.
func (g *convGeom) addPhases(l *dwLayout, gr, dst []float32) {
	for py := 0; py < g.sh; py++ {
		for px := 0; px < g.sw; px++ {
			base := (py*g.sw + px) * l.plane
			lo, hi, x0 := g.phaseCols(l, px)
			if lo >= hi {
				continue
			}
			for a := 0; a < l.a; a++ {
				iy := a*g.sh + py - g.pt
				if iy < 0 || iy >= g.h {
					continue
				}
				s := gr[base+a*l.b:][lo:hi]
				row := dst[iy*g.w:][:g.w]
				if g.sw == 1 {
					kernels.AddF32(row[lo+x0:][:len(s)], s)
					continue
				}
				for k, v := range s {
					row[(lo+k)*g.sw+x0] += v
				}
			}
		}
	}
}

// padDy writes an output-gradient plane dy (oh*ow) at pitch l.b into dst from
// offset off, zeros in the extra columns; the rest of dst is left as it is.
func (g *convGeom) padDy(l *dwLayout, dy, dst []float32, off int) {
	for oy := 0; oy < g.oh; oy++ {
		d := dst[off+oy*l.b:][:l.b]
		copy(d, dy[oy*g.ow:][:g.ow])
		clear(d[g.ow:])
	}
}

// dwPool holds the per-goroutine scratch of the depthwise passes.
var dwPool = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := dwPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// layout returns the cached phase layout of the current geometry.
func (c *convCore) layout() *dwLayout {
	if c.dw == nil || c.dwGeom != c.g {
		c.dw, c.dwGeom = c.g.dwLayout(), c.g
	}
	return c.dw
}

// forwardDepthwise computes y = conv(x, w) + bias for a depthwise convolution.
func (c *convCore) forwardDepthwise(x, w, bias, y []float32, threads int) {
	g := &c.g
	l := c.layout()
	hw, taps, wide := g.h*g.w, g.kh*g.kw, g.oh*l.b
	c.phases = grow(c.phases, g.n*g.c*l.size)
	c.phasesOf = &x[0]
	parallel(g.n*g.c, threads, func(lo, hi int) {
		buf := getScratch(wide)
		defer dwPool.Put(buf)
		yw := *buf
		for pl := lo; pl < hi; pl++ {
			n, ci := pl/g.c, pl%g.c
			ph := c.phases[pl*l.size:][:l.size]
			g.fillPhases(l, x[pl*hw:][:hw], ph)
			for m := 0; m < g.ocg; m++ {
				o := ci*g.ocg + m
				var b float32
				if bias != nil {
					b = bias[o]
				}
				for i := range yw {
					yw[i] = b
				}
				kernels.TapsF32(yw, ph, l.offs, w[o*taps:][:taps])
				dst := y[(n*g.oc+o)*g.p:][:g.p]
				for oy := 0; oy < g.oh; oy++ {
					copy(dst[oy*g.ow:][:g.ow], yw[oy*l.b:])
				}
			}
		}
	})
}

// inputGradDepthwise adds the input gradient of a depthwise convolution to dx:
// each input plane's phase planes gather, tap by tap, from the output gradients
// of its ocg output planes.
func (c *convCore) inputGradDepthwise(w, dy, dx []float32, threads int) {
	g := &c.g
	l := c.layout()
	hw, taps := g.h*g.w, g.kh*g.kw
	nph := g.sh * g.sw
	dyLen := l.margin + l.plane
	parallel(g.n*g.c, threads, func(lo, hi int) {
		buf := getScratch(nph*l.plane + dyLen + taps)
		defer dwPool.Put(buf)
		gr, dyw, wsel := (*buf)[:nph*l.plane], (*buf)[nph*l.plane:][:dyLen], (*buf)[nph*l.plane+dyLen:]
		// zeros before and after the padded gradient; padDy rewrites the rest
		clear(dyw)
		for pl := lo; pl < hi; pl++ {
			n, ci := pl/g.c, pl%g.c
			clear(gr)
			for m := 0; m < g.ocg; m++ {
				o := ci*g.ocg + m
				g.padDy(l, dy[(n*g.oc+o)*g.p:][:g.p], dyw, l.margin)
				wk := w[o*taps:][:taps]
				for ph, ts := range l.phTaps {
					if len(ts) == 0 {
						continue
					}
					ws := wsel[:len(ts)]
					for k, t := range ts {
						ws[k] = wk[t]
					}
					kernels.TapsF32(gr[ph*l.plane:][:l.plane], dyw, l.phOffs[ph], ws)
				}
			}
			g.addPhases(l, gr, dx[pl*hw:][:hw])
		}
	})
}

// weightGradDepthwise accumulates dw for a depthwise convolution: each output
// channel's taps are dot products of its padded dy planes with the taps' runs over
// the phase planes, summed over the batch (eight lanes per tap) by the goroutine
// that owns the channel.
func (c *convCore) weightGradDepthwise(x, dy, dw []float32, threads int) {
	g := &c.g
	l := c.layout()
	hw, taps, wide := g.h*g.w, g.kh*g.kw, g.oh*l.b
	// the phase planes of the forward pass, when they are of this x
	cached := c.phasesOf == &x[0] && len(c.phases) == g.n*g.c*l.size
	parallel(g.oc, threads, func(lo, hi int) {
		buf := getScratch(l.size + wide + 8*taps)
		defer dwPool.Put(buf)
		ph, dyw, lanes := (*buf)[:l.size], (*buf)[l.size:][:wide], (*buf)[l.size+wide:]
		for o := lo; o < hi; o++ {
			ci := o / g.ocg
			clear(lanes)
			for n := 0; n < g.n; n++ {
				if cached {
					ph = c.phases[(n*g.c+ci)*l.size:][:l.size]
				} else {
					g.fillPhases(l, x[(n*g.c+ci)*hw:][:hw], ph)
				}
				g.padDy(l, dy[(n*g.oc+o)*g.p:][:g.p], dyw, 0)
				kernels.TapsDotF32(dyw, ph, l.offs, lanes)
			}
			d := dw[o*taps:][:taps]
			for t := range d {
				d[t] += kernels.LaneSum8F32(lanes[8*t:])
			}
		}
	})
}

package runtime

// Channels-last 2-D MaxPool and AveragePool, output row by output row on the
// window kernels of package kernels (MaxPoolPixelsF32, AvgPoolPixelsF32: all
// of a pixel's channels, its whole window, before the next pixel). The
// pixels of a row whose windows lie wholly inside the input (all but a
// border of one or two) are one call; each border pixel is a call with its
// own window, clipped to the input (the valid taps of the plan: padding,
// ceil mode's windows past the end), and for the average its own count.
// Before (eleventh session) the max folded the vertical taps over whole
// input rows, then each output pixel's horizontal taps with one MaxF32 call
// per pixel and tap (3-4x ONNX Runtime's time on GoogLeNet's and
// Inception-v3's pools), and the average ran as a depthwise convolution
// whose border outputs were rescaled afterwards (3x ORT's on Inception-v3).

import (
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

// poolRowsNHWC runs the 2-D MaxPool (isMax) or AveragePool (counting the
// padding when includePad) of g, c channels, over up to th threads. An
// output with no input tap is -Inf for the max and 0 for the average, as in
// the generic kernel.
func poolRowsNHWC(g *nhwcPoolGeom, c int, isMax, includePad bool, th int) {
	n, h, w, oh, ow, st, p, xd, yd := g.n, g.h, g.w, g.oh, g.ow, g.st, g.p, g.xd, g.yd
	so, yo := g.so, g.yo
	empty := float32(0)
	if isMax {
		empty = float32(math.Inf(-1))
	}
	kw := p.k[1]
	hstride, wstride := p.d[0]*w*st, p.d[1]*st
	// run computes cnt output pixels of row out from pixel j on, whose
	// windows have taps [wl, wh) of the valid rows [hl, hh).
	run := func(out []float32, img, i, hl, hh, j, wl, wh, cnt int) {
		dst := out[j*so+yo:]
		if hl >= hh || wl >= wh {
			for q := 0; q < cnt; q++ {
				for k := range dst[q*so : q*so+c] {
					dst[q*so+k] = empty
				}
			}
			return
		}
		src := xd[((img*h+p.start[0][i]+hl*p.d[0])*w+p.start[1][j]+wl*p.d[1])*st:]
		if isMax {
			kernels.MaxPoolPixelsF32(dst, so, src, c, hh-hl, wh-wl, hstride, wstride, p.s[1]*st, cnt)
			return
		}
		div := (hh - hl) * (wh - wl)
		if includePad {
			div = p.paddedTaps[0][i] * p.paddedTaps[1][j]
		}
		kernels.AvgPoolPixelsF32(dst, so, src, c, hh-hl, wh-wl, hstride, wstride, p.s[1]*st, cnt, 1/float32(div))
	}
	nnParallel(th, n*oh, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, i := r/oh, r%oh
			hl, hh := p.tapLo[0][i], p.tapHi[0][i]
			out := yd[r*ow*so : (r+1)*ow*so]
			for j := 0; j < ow; {
				wl, wh := p.tapLo[1][j], p.tapHi[1][j]
				// The interior: whole windows (and, for the average, the
				// same padded count) from j on.
				e := j + 1
				if wl == 0 && wh == kw {
					for e < ow && p.tapLo[1][e] == 0 && p.tapHi[1][e] == kw && p.paddedTaps[1][e] == p.paddedTaps[1][j] {
						e++
					}
				}
				run(out, img, i, hl, hh, j, wl, wh, e-j)
				j = e
			}
			if so > c && g.out == nil {
				for q := 0; q < ow; q++ {
					clear(out[q*so+c : (q+1)*so])
				}
			}
		}
	})
}

package runtime

// Channels-last 2-D MaxPool, vertical taps first. The per-pixel loop folded
// every tap of every output pixel with one kernels.MaxF32 call over the
// pixel's channels: for the 3×3 stride-2 MaxPool after a ResNet or
// ShuffleNet stem (24-64 channels, 112×112) that is nine calls of a few
// vectors per output pixel, and the calls, not the maxima, were the cost
// (0.27 ms for ShuffleNetV2's, three times ONNX Runtime's). Here the valid
// vertical taps of an output row are folded first over whole input rows (a
// few long MaxF32 calls), then each output pixel folds its horizontal taps
// from that row: kh times fewer calls, the same result bits (max is exact;
// NaN propagates as before; an output with no input tap is -Inf).

import (
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

// maxPoolRowsNHWC runs the MaxPool of g (c channels at input pixel stride
// g.st, output pixel stride g.so from channel g.yo) over up to th threads.
func maxPoolRowsNHWC(g *nhwcPoolGeom, c, th int) {
	n, h, w, oh, ow, st, p, xd, yd := g.n, g.h, g.w, g.oh, g.ow, g.st, g.p, g.xd, g.yd
	so, yo := g.so, g.yo
	low := float32(math.Inf(-1))
	nnParallel(th, n*oh, func(lo, hi int) {
		var scratch *[]float32
		for r := lo; r < hi; r++ {
			img, i := r/oh, r%oh
			hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
			out := yd[(img*oh+i)*ow*so : (img*oh+i+1)*ow*so]
			if hl >= hh {
				for j := 0; j < ow; j++ {
					for k := range out[j*so+yo : j*so+yo+c] {
						out[j*so+yo+k] = low
					}
				}
				continue
			}
			// The input rows of the valid vertical taps, folded.
			row := func(a int) []float32 {
				base := (img*h + hs + a*p.d[0]) * w * st
				return xd[base : base+w*st]
			}
			v := row(hl)
			if hh-hl > 1 {
				if scratch == nil {
					scratch = getF32(w * st)
					defer putF32(scratch)
				}
				v = (*scratch)[:w*st]
				copy(v, row(hl))
				for a := hl + 1; a < hh; a++ {
					kernels.MaxF32(v, row(a))
				}
			}
			for j := 0; j < ow; j++ {
				dst := out[j*so+yo : j*so+yo+c]
				ws, wl, wh := p.start[1][j], p.tapLo[1][j], p.tapHi[1][j]
				if wl >= wh {
					for k := range dst {
						dst[k] = low
					}
					continue
				}
				copy(dst, v[(ws+wl*p.d[1])*st:])
				for b := wl + 1; b < wh; b++ {
					kernels.MaxF32(dst, v[(ws+b*p.d[1])*st:])
				}
			}
		}
	})
}

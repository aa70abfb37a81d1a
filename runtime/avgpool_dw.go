package runtime

// A 2-D AveragePool is a depthwise convolution with weights 1/(kh·kw) and
// zero padding, followed, where a window's count is not kh·kw (padding not
// counted, ceil mode's windows past the padding; tenth session), by a
// rescale of the border positions to kh·kw/count: Inception-v3's 3×3
// stride-1 pools before the branch convolutions, DenseNet's 2×2 transitions,
// paddle_op10's padded ceil-mode pool without count_include_pad. The channels-last pool summed each window pixel
// by pixel in float64, one scalar add per channel and tap (2.4 ms of thread
// CPU time for one 35×35×288 pool of Inception-v3, 12.5 ms for its nine);
// kernels.DepthwiseF32 runs it on the vector depthwise kernel, in float32 as
// ONNX Runtime does.

import (
	"slices"

	"github.com/warboy-sim/warboy/kernels"
)

// runDepthwise runs the pool of g as a depthwise convolution and reports
// whether it did (not for geometries the convolution cannot express).
func (k *nhwcAvgPoolKernel) runDepthwise(ctx *ExecContext, g *nhwcPoolGeom) bool {
	p := g.p
	if p.rank != 2 || g.oh == 0 || g.ow == 0 || k.c == 0 {
		return false
	}
	kh, kw := p.k[0], p.k[1]
	cnt := newAvgPoolCounts(p, k.pool.includePad)
	if slices.Contains(cnt.rows, 0) || slices.Contains(cnt.cols, 0) {
		return false // a window wholly in the padding: the loop yields 0 there
	}
	// The declared padding: leading from the first window, trailing as far
	// as the last window reaches (only taps in the padding read zeros).
	pt, pl := -p.start[0][0], -p.start[1][0]
	pb := max(0, (g.oh-1)*p.s[0]+(kh-1)*p.d[0]+1-g.h-pt)
	pr := max(0, (g.ow-1)*p.s[1]+(kw-1)*p.d[1]+1-g.w-pl)
	if pt < 0 || pl < 0 {
		return false
	}
	s := kernels.ConvShape{N: g.n, H: g.h, W: g.w, C: k.c, OC: k.c, KH: kh, KW: kw,
		StrideH: p.s[0], StrideW: p.s[1], PadTop: pt, PadLeft: pl, PadBottom: pb, PadRight: pr,
		DilH: p.d[0], DilW: p.d[1], Groups: k.c}
	if s.OutH() != g.oh || s.OutW() != g.ow {
		return false
	}
	k.dwOnce.Do(func() {
		w := make([]float32, k.c*kh*kw)
		for i := range w {
			w[i] = 1 / float32(kh*kw)
		}
		k.dw = kernels.PackDWF32(k.c, 1, kh, kw, w, nil)
	})
	kernels.DepthwiseF32(s, k.dw, g.xd, g.st, g.yd[g.yo:], g.so, kernels.NoEpilogue, ctx.Threads)
	k.rescaleBorders(g, cnt)
	if k.out == nil && g.so > k.c {
		for q := 0; q < g.n*g.oh*g.ow; q++ {
			clear(g.yd[q*g.so+k.c : (q+1)*g.so])
		}
	}
	return true
}

// rescaleBorders turns the depthwise result, the window sum over kh·kw, into
// the window sum over its own count at the positions whose count differs
// (the border rows and columns: padding not counted, or ceil mode's windows
// past the padding). The factor is separable and applied in float64.
func (k *nhwcAvgPoolKernel) rescaleBorders(g *nhwcPoolGeom, cnt avgPoolCounts) {
	kh, kw := g.p.k[0], g.p.k[1]
	for i, rc := range cnt.rows {
		fullRow := rc == kh
		for j, cc := range cnt.cols {
			if fullRow && cc == kw {
				continue
			}
			f := 0.0
			if rc > 0 && cc > 0 {
				f = float64(kh*kw) / float64(rc*cc)
			}
			for q := 0; q < g.n; q++ {
				dst := g.yd[((q*g.oh+i)*g.ow+j)*g.so+g.yo:][:k.c]
				for c, v := range dst {
					dst[c] = float32(float64(v) * f)
				}
			}
		}
	}
}

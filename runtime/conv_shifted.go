package runtime

import (
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

// shiftedPlan runs a 2-D convolution as an implicit GEMM (kernels.SgemmShifted)
// instead of packing im2col panels. The input is copied once into a zero-padded
// buffer split into stride phases: phase (a, b) of channel c holds padded rows
// a, a+sh, a+2sh, ... and columns b, b+sw, ... Then every kernel tap (c, ki, kj)
// reads, for output (oy, ox), element (oy + ki*dh/sh, ox + kj*dw/sw) of one phase
// plane: with output positions numbered q = oy*ppw + ox over the phase plane's
// width, each tap is one constant shift of q, and the micro-kernel loads its 16
// columns straight from the buffer. The ppw-ow columns past each output row are
// computed and dropped; in exchange the im2col copy, which costs a third of a
// 3x3 layer's time on small maps, is gone.
type shiftedPlan struct {
	sh, sw   int     // strides: phases per axis
	slot     []int   // per phase (a*sw + b), its plane among a channel's, or -1
	nph      int     // phase planes per channel
	pph, ppw int     // rows and columns of a phase plane
	pp       int     // floats per phase plane
	oh, ow   int     // output rows and columns
	q        int     // GEMM columns: oh-1 rows of ppw, then ow
	planes   int     // floats of all channels' phase planes
	ones     int     // offset of the bias row (ones), or -1
	size     int     // buffer length
	off      []int32 // per GEMM row (c, ki, kj), then the bias row
}

// shiftedMode overrides the choice between the shifted and the gather path of
// 2-D convolutions (tests): 0 picks by cost, 1 always shifted, -1 never.
var shiftedMode = 0

// newShiftedPlan returns nil when the layout does not fit int32 offsets or would
// waste more columns than the im2col copy costs.
func newShiftedPlan(p *convPlan, c int, bias bool) *shiftedPlan {
	if p.rank != 2 || p.outSize == 0 || p.pointwise || shiftedMode < 0 {
		return nil
	}
	// Measured on ResNet-50's layers: reading B rows scattered over the channel
	// planes costs about what packing saves, except without stride (no phase
	// split, and the 3x3 taps share cache lines) or with a small K (the stem,
	// whose gather im2col is dominated by per-row overhead).
	if shiftedMode == 0 && (p.s[0] != 1 || p.s[1] != 1) && c*p.kSize > 256 {
		return nil
	}
	sp := &shiftedPlan{sh: p.s[0], sw: p.s[1], oh: p.out[0], ow: p.out[1], ones: -1}
	// The padded extent the kernel reaches (as in gatherPlan).
	pih := (sp.oh-1)*p.s[0] + (p.k[0]-1)*p.d[0] + 1
	piw := (sp.ow-1)*p.s[1] + (p.k[1]-1)*p.d[1] + 1
	sp.pph, sp.ppw = (pih+sp.sh-1)/sp.sh, (piw+sp.sw-1)/sp.sw
	// The micro-kernel's 16-column panels: the padding columns may not cost more
	// than about the copy they replace.
	sp.q = (sp.oh-1)*sp.ppw + sp.ow
	if shiftedMode == 0 && (sp.q+15)/16*100 > (p.outSize+15)/16*115 {
		return nil
	}
	sp.pp = sp.pph * sp.ppw
	kh, kw := p.k[0], p.k[1]
	sp.slot, sp.nph = phaseSlots(p, kh, kw)
	sp.planes = c * sp.nph * sp.pp
	rows := c * kh * kw
	if bias {
		rows++
	}
	nPad := (sp.q + 15) / 16 * 16
	end := sp.planes
	if bias {
		end += nPad
	}
	if int64(sp.planes)+int64(nPad) > math.MaxInt32 {
		return nil
	}
	sp.off = make([]int32, rows)
	maxOff := 0
	for ki := 0; ki < kh; ki++ {
		ry := ki * p.d[0]
		for kj := 0; kj < kw; kj++ {
			rx := kj * p.d[1]
			o := sp.slot[(ry%sp.sh)*sp.sw+rx%sp.sw]*sp.pp + ry/sp.sh*sp.ppw + rx/sp.sw
			for ch := 0; ch < c; ch++ {
				v := ch*sp.nph*sp.pp + o
				sp.off[(ch*kh+ki)*kw+kj] = int32(v)
				maxOff = max(maxOff, v)
			}
		}
	}
	if bias {
		sp.ones = sp.planes
		sp.off[rows-1] = int32(sp.ones)
		maxOff = max(maxOff, sp.ones)
	}
	sp.size = max(end, maxOff+nPad)
	if sp.size > math.MaxInt32 {
		return nil
	}
	return sp
}

// fill lays one image's channels x (c planes of in[0]×in[1]) out in buf.
func (sp *shiftedPlan) fill(p *convPlan, x, buf []float32, threads int) {
	ih, iw := p.in[0], p.in[1]
	top, left := p.pb[0], p.pb[1]
	c := sp.planes / (sp.nph * sp.pp)
	nnParallel(min(threads, max(1, sp.planes/parallelMinWork)), c, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			xc := x[ch*ih*iw : (ch+1)*ih*iw]
			for a := 0; a < sp.sh; a++ {
				for b := 0; b < sp.sw; b++ {
					slot := sp.slot[a*sp.sw+b]
					if slot < 0 {
						continue
					}
					d := buf[(ch*sp.nph+slot)*sp.pp:][:sp.pp]
					// Columns j of the phase read input column j*sw + b - left.
					jlo := max(0, ceilDiv(left-b, sp.sw))
					jhi := min(sp.ppw, max(jlo, ceilDiv(iw+left-b, sp.sw)))
					for i := 0; i < sp.pph; i++ {
						row := d[i*sp.ppw : (i+1)*sp.ppw]
						y := i*sp.sh + a - top
						if y < 0 || y >= ih || jlo >= jhi {
							clear(row)
							continue
						}
						xr := xc[y*iw : (y+1)*iw]
						clear(row[:jlo])
						if sp.sw == 1 {
							copy(row[jlo:jhi], xr[jlo+b-left:])
						} else {
							for j := jlo; j < jhi; j++ {
								row[j] = xr[j*sp.sw+b-left]
							}
						}
						clear(row[jhi:])
					}
				}
			}
		}
	})
	tail := buf[sp.planes:sp.size]
	clear(tail)
	if sp.ones >= 0 {
		for i := range tail[:min(len(tail), (sp.q+15)/16*16)] {
			tail[i] = 1
		}
	}
}

// phaseSlots numbers the stride phases (a*sw + b) that some kernel tap reads:
// only those are laid out (one of four for a strided 1x1). Unread phases get -1.
func phaseSlots(p *convPlan, kh, kw int) (slot []int, n int) {
	sh, sw := p.s[0], p.s[1]
	slot = make([]int, sh*sw)
	for i := range slot {
		slot[i] = -1
	}
	for ki := 0; ki < kh; ki++ {
		for kj := 0; kj < kw; kj++ {
			ph := (ki*p.d[0]%sh)*sw + kj*p.d[1]%sw
			if slot[ph] < 0 {
				slot[ph] = n
				n++
			}
		}
	}
	return slot, n
}

// ceilDiv is ⌈a/b⌉ for b > 0 and any sign of a.
func ceilDiv(a, b int) int {
	if a <= 0 {
		return -(-a / b)
	}
	return (a + b - 1) / b
}

// run computes one image: y (m planes of oh×ow) = conv(x), with ep applied:
// res is its residual and rowBias a value per output channel (a per-sample
// bias, conv_rows_bias.go) added first, either nil for none.
func (sp *shiftedPlan) run(pa *kernels.PackedA, buf, y []float32, ep *convEpilogue, res, rowBias []float32, threads int) {
	clip, lo, hi := false, float32(0), float32(0)
	if ep != nil && res == nil && rowBias == nil {
		clip, lo, hi = ep.clip, ep.lo, ep.hi
	}
	osz := sp.oh * sp.ow
	kernels.SgemmShifted(pa, buf, sp.off, sp.q, clip, lo, hi, threads, func(cb []float32, ldc, r0, r1, j0, nc int) {
		for i := r0; i < r1; i++ {
			src := cb[(i-r0)*ldc:]
			dst := y[i*osz : (i+1)*osz]
			var rs []float32
			if res != nil {
				rs = res[i*osz : (i+1)*osz]
			}
			// Walk the output rows that columns [j0, j0+nc) cross.
			for q := j0; q < j0+nc; {
				oy, ox := q/sp.ppw, q%sp.ppw
				rowEnd := min(j0+nc, (oy+1)*sp.ppw)
				if e := min(rowEnd-oy*sp.ppw, sp.ow); ox < e {
					s := src[q-j0 : q-j0+e-ox]
					d := dst[oy*sp.ow+ox : oy*sp.ow+e]
					if rs == nil && rowBias == nil {
						copy(d, s)
					} else {
						var r []float32
						if rs != nil {
							r = rs[oy*sp.ow+ox : oy*sp.ow+e]
						}
						for j, v := range s {
							if rowBias != nil {
								v += rowBias[i] // a per-sample bias
							}
							if r != nil {
								v += r[j]
							}
							if ep.clip {
								if ep.lo > v {
									v = ep.lo
								}
								if ep.hi < v {
									v = ep.hi
								}
							}
							d[j] = v
						}
					}
				}
				q = rowEnd
			}
		}
	})
}

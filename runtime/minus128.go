package runtime

// Weights holding the int8 value -128 (convolutions and fully connected layers). PyTorch's symmetric weight quantization uses
// the full int8 range, so a model quantized by PyTorch and exported by torch.onnx has
// a -128 in nearly every convolution (the most negative weight); the packed kernels
// take weights in [-127, 127] only (kernels.PackQConv: the AVX2 sign trick cannot
// represent -128), and such convolutions fell back to the scalar general path,
// ~100x slower (qmobilenet_torchq of --unseen7: 196 ms against ONNX Runtime's
// 1.8 ms). Instead the weights are packed with -128 read as -127, and the few output
// channels that hold a -128 are recomputed exactly with their true weights after the
// packed convolution, overwriting its output there: the packed result is exact for
// every other channel, so the output is exact throughout.

import (
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// fixChannel is an output channel whose weights hold a -128: its exact weights
// (in the NHWC patch order of the general path) and bias.
type fixChannel struct {
	oc   int
	w    []int16 // kh*kw*cg values, order (kh, kw, c)
	bias int32
}

// maxFixShare bounds the share of output channels recomputed in a grouped convolution:
// beyond it the general path for the whole convolution is as cheap. Ungrouped layers
// have no bound. A convolution recomputes its fix channels with the packed GEMM
// (fixGemm): even with every channel holding a -128 that costs about one more packed
// convolution, where the general path is 20-50x slower. A fully connected layer
// recomputes its fix columns with the same scalar loop the general path would run over
// all columns. PyTorch's per-channel symmetric weights put a -128 in 30-50 % of the
// channels (the most negative weight of each channel whose extreme is negative), so
// with the bound every convolution of qresnet18_perchan_op13 (--unseen11) ran on the
// general path (sixteenth session).
const maxFixShare = 4 // at most one channel in four

// clampMinus128 returns weights with every -128 replaced by -127 and the channels that
// held one, when the weights are otherwise symmetric (zero points all zero) and, in a
// grouped convolution, such channels are few; nil when the general path should run the
// convolution.
func clampMinus128(geom *convGeom, w []int8, wzp []int32, bias []int32) ([]int8, []fixChannel) {
	for _, z := range wzp {
		if z != 0 {
			return nil, nil
		}
	}
	kk := geom.cg * geom.kh * geom.kw
	var fix []fixChannel
	var clamped []int8
	for oc := 0; oc < geom.oc; oc++ {
		row := w[oc*kk : (oc+1)*kk]
		has := false
		for _, v := range row {
			if v == -128 {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		if geom.groups != 1 && len(fix) >= max(1, geom.oc/maxFixShare) {
			return nil, nil
		}
		if clamped == nil {
			clamped = append([]int8(nil), w...)
		}
		f := fixChannel{oc: oc, w: make([]int16, kk)}
		if bias != nil {
			f.bias = bias[oc]
		}
		// OIHW -> (kh, kw, c), the order of the patches refix gathers.
		for ci := 0; ci < geom.cg; ci++ {
			for ky := 0; ky < geom.kh; ky++ {
				for kx := 0; kx < geom.kw; kx++ {
					v := row[(ci*geom.kh+ky)*geom.kw+kx]
					f.w[(ky*geom.kw+kx)*geom.cg+ci] = int16(v)
					if v == -128 {
						clamped[oc*kk+(ci*geom.kh+ky)*geom.kw+kx] = -127
					}
				}
			}
		}
		fix = append(fix, f)
	}
	if clamped == nil {
		return nil, nil // asymmetric for another reason
	}
	return clamped, fix
}

// fixGemm recomputes the fix channels of an ungrouped convolution with the packed
// int8 GEMM instead of a scalar loop per pixel (twelfth session: in PyTorch's
// MobileNetV2 the one recomputed channel of a 1x1 convolution with 144 input
// channels took ten times as long as the packed convolution of the other 23): the
// fix channels' weights are packed with -128 read as -127, like the convolution's,
// into int32 accumulators (no requantization), and for each -128 the missing
// -1·(x-xZP) is subtracted, which makes the accumulators exact.
type fixGemm struct {
	w   *kernels.QGemmWeights // len(fix) columns, K in the (kh, kw, c) patch order
	low [][]int               // low[j]: the patch positions where fix[j] holds -128
}

// newFixGemm packs the fix channels of an ungrouped convolution (nil for grouped
// ones: their channels see only cg inputs, the scalar loop is cheap there).
func newFixGemm(geom *convGeom, fix []fixChannel, xZP int32) (*fixGemm, error) {
	if geom.groups != 1 || len(fix) == 0 {
		return nil, nil
	}
	kk := geom.cg * geom.kh * geom.kw
	fg := &fixGemm{low: make([][]int, len(fix))}
	w := make([]int8, len(fix)*kk)
	bias := make([]int32, len(fix))
	for j, f := range fix {
		for p, v := range f.w {
			if v == -128 {
				fg.low[j] = append(fg.low[j], p)
				v = -127
			}
			w[j*kk+p] = int8(v)
		}
		bias[j] = f.bias
	}
	var err error
	if fg.w, err = kernels.PackQGemm(len(fix), kk, w, bias, xZP); err != nil {
		return nil, err
	}
	return fg, nil
}

// refix recomputes the fix channels of an NHWC int8 convolution output exactly.
func (cc *convCore) refix(x []int8, n, h, w, c, oh, ow int, xZP int32, out []int8, threads int) {
	if cc.fixGemm != nil {
		cc.refixGemm(x, n, h, w, c, oh, ow, xZP, out, threads)
		return
	}
	g := cc.geom
	ocg := g.oc / g.groups
	qtensor.ParallelChunks(n*oh, threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, y := r/oh, r%oh
			for xo := 0; xo < ow; xo++ {
				pix := (r*ow + xo) * g.oc
				for _, f := range cc.fix {
					c0 := (f.oc / ocg) * g.cg // the group's first input channel
					acc, k := f.bias, 0
					for ky := 0; ky < g.kh; ky++ {
						ih := y*g.sh - g.pt + ky*g.dh
						for kx := 0; kx < g.kw; kx++ {
							iw := xo*g.sw - g.pl + kx*g.dw
							if ih < 0 || ih >= h || iw < 0 || iw >= w {
								k += g.cg // padding: the zero point, 0 after subtracting it
								continue
							}
							src := x[((b*h+ih)*w+iw)*c+c0:][:g.cg]
							for _, v := range src {
								acc += (int32(v) - xZP) * int32(f.w[k])
								k++
							}
						}
					}
					out[pix+f.oc] = cc.rq.Apply(acc, f.oc)
				}
			}
		}
	})
}

// refixGemm recomputes the fix columns of an int8 fully connected output (m rows of
// k features, n columns) exactly.
func refixGemm(fix []fixChannel, m, k, n int, a []int8, aZP int32, out []int8, rq *kernels.Requant, threads int) {
	qtensor.ParallelChunks(m, threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := a[r*k : (r+1)*k]
			for _, f := range fix {
				acc := f.bias
				for i, v := range row {
					acc += (int32(v) - aZP) * int32(f.w[i])
				}
				out[r*n+f.oc] = rq.Apply(acc, f.oc)
			}
		}
	})
}

// refixGemm is refix for an ungrouped convolution: a pointwise convolution with
// stride 1 and no padding reads its patches (pixels) straight from x; any other
// gathers each output row's patches (im2col, padding = the zero point, which adds
// nothing) and runs the GEMM on them.
func (cc *convCore) refixGemm(x []int8, n, h, w, c, oh, ow int, xZP int32, out []int8, threads int) {
	g, fg := cc.geom, cc.fixGemm
	nf := len(cc.fix)
	kk := g.cg * g.kh * g.kw
	// emit corrects the accumulators of m patches (row stride lda in a) and writes
	// the requantized fix channels of the m pixels from output pixel p0 on.
	emit := func(a []int8, lda, m int, acc []int32, p0 int) {
		for i := 0; i < m; i++ {
			pix := (p0 + i) * g.oc
			for j, f := range cc.fix {
				s := acc[i*nf+j]
				for _, p := range fg.low[j] {
					s -= int32(a[i*lda+p]) - xZP
				}
				out[pix+f.oc] = cc.rq.Apply(s, f.oc)
			}
		}
	}
	if g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0 {
		m := n * h * w // oh = h, ow = w
		acc := make([]int32, m*nf)
		kernels.QGemmInt32(m, x, c, fg.w, acc, nf, max(threads, 1))
		qtensor.ParallelChunks(m, threads, 64, func(lo, hi int) {
			emit(x[lo*c:], c, hi-lo, acc[lo*nf:], lo)
		})
		return
	}
	pad := int8(xZP)
	span := g.kw * g.cg // one kernel row of a patch: contiguous in x when dw = 1
	// rows of output pixels per GEMM call: one call per output row costs more
	// than the patches of a 3-channel stem convolution
	block := max(1, 2048/ow)
	qtensor.ParallelChunks(n*oh, threads, 1, func(lo, hi int) {
		rows := min(block, hi-lo)
		patches := make([]int8, rows*ow*kk)
		acc := make([]int32, rows*ow*nf)
		for r0 := lo; r0 < hi; r0 += rows {
			nr := min(rows, hi-r0)
			for r := r0; r < r0+nr; r++ {
				b, y := r/oh, r%oh
				for xo := 0; xo < ow; xo++ {
					dst := patches[((r-r0)*ow+xo)*kk:][:kk]
					iw0 := xo*g.sw - g.pl
					inW := g.dw == 1 && iw0 >= 0 && iw0+g.kw <= w
					for ky := 0; ky < g.kh; ky++ {
						ih := y*g.sh - g.pt + ky*g.dh
						drow := dst[ky*span : (ky+1)*span]
						if ih < 0 || ih >= h {
							for i := range drow {
								drow[i] = pad
							}
							continue
						}
						xrow := x[(b*h+ih)*w*c:]
						if inW {
							copy(drow, xrow[iw0*c:iw0*c+span])
							continue
						}
						for kx := 0; kx < g.kw; kx++ {
							iw := iw0 + kx*g.dw
							d := drow[kx*g.cg : (kx+1)*g.cg]
							if iw < 0 || iw >= w {
								for i := range d {
									d[i] = pad
								}
								continue
							}
							copy(d, xrow[iw*c:])
						}
					}
				}
			}
			m := nr * ow
			kernels.QGemmInt32(m, patches, kk, fg.w, acc, nf, 1)
			emit(patches, kk, m, acc, r0*ow)
		}
	})
}

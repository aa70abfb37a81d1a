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

// maxFixShare bounds the share of output channels recomputed: beyond it the general
// path for the whole convolution is as cheap.
const maxFixShare = 4 // at most one channel in four

// clampMinus128 returns weights with every -128 replaced by -127 and the channels that
// held one, when the weights are otherwise symmetric (zero points all zero) and such
// channels are few; nil when the general path should run the convolution.
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
		if len(fix) >= max(1, geom.oc/maxFixShare) {
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

// refix recomputes the fix channels of an NHWC int8 convolution output exactly.
func (cc *convCore) refix(x []int8, n, h, w, c, oh, ow int, xZP int32, out []int8, threads int) {
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

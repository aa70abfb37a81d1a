package runtime

import (
	"github.com/warboy-sim/warboy/kernels"
)

// A ConvTranspose whose stride equals its kernel (UNet and FPN upsampling: k=2,
// s=2, no padding, no dilation, one group) writes every output pixel from exactly
// one input pixel and one tap: out[b, ih*kh+ky, iw*kw+kx, o] =
// requant(bias[o] + Σ_c x[b, ih, iw, c]·W[c, o, ky, kx]). That is a 1x1 QConv with
// kh·kw·OC output columns (column (ky·kw+kx)·OC+o) followed by a depth-to-space
// copy, so it runs on the packed int8 convolution instead of a scalar loop over
// taps and channels.

// tiledQConvTranspose is the 1x1 convolution of such a ConvTranspose.
type tiledQConvTranspose struct {
	core *convCore
	taps int
}

// newTiledQConvTranspose returns nil when the geometry is not the one above.
// w is the ConvTranspose weight [C, OC, kh, kw] (kw only when 1-D).
func newTiledQConvTranspose(g *convGeom, w []int8, wzp, bias []int32, xZP int32, rq *kernels.Requant) (*tiledQConvTranspose, error) {
	if g.groups != 1 || g.sh != g.kh || g.sw != g.kw || g.dh != 1 || g.dw != 1 ||
		g.pt != 0 || g.pl != 0 || g.pb != 0 || g.pr != 0 || g.outPadH != 0 || g.outPadW != 0 {
		return nil, nil
	}
	taps, oc, c := g.kh*g.kw, g.oc, g.cg
	cols := taps * oc
	w1 := make([]int8, cols*c)
	for ci := 0; ci < c; ci++ {
		for o := 0; o < oc; o++ {
			for t := 0; t < taps; t++ {
				w1[(t*oc+o)*c+ci] = w[(ci*oc+o)*taps+t]
			}
		}
	}
	repeat := func(v []int32) []int32 {
		r := make([]int32, cols)
		for t := 0; t < taps; t++ {
			copy(r[t*oc:], v)
		}
		return r
	}
	// A single zero point, multiplier or shift holds for every column; a bias has
	// one value per output channel even when there is only one (a mask head's
	// ConvTranspose to 1 channel), so it is always repeated per tap.
	perCol := func(v []int32) []int32 {
		if len(v) <= 1 {
			return v
		}
		return repeat(v)
	}
	var biasCols []int32
	if bias != nil {
		biasCols = repeat(bias)
	}
	rq1 := *rq
	if len(rq.Scale) > 1 {
		rq1.Scale = make([]float32, cols)
		for t := 0; t < taps; t++ {
			copy(rq1.Scale[t*oc:], rq.Scale)
		}
	}
	rq1.Multiplier, rq1.Shift = perCol(rq.Multiplier), perCol(rq.Shift)
	g1 := &convGeom{oc: cols, cg: c, kh: 1, kw: 1, groups: 1, sh: 1, sw: 1, dh: 1, dw: 1, oneD: g.oneD}
	core, err := newConvCore(g1, w1, perCol(wzp), biasCols, &xZP, &rq1)
	if err != nil {
		return nil, err
	}
	return &tiledQConvTranspose{core: core, taps: taps}, nil
}

// run computes the ConvTranspose of x (shape as the int8 executor holds it) into
// out [n, h·kh, w·kw, OC] (NHWC, or NLC when 1-D).
func (k *tiledQConvTranspose) run(ctx *ExecContext, g *convGeom, x []int8, shape []int, xZP int32, n, h, w int, out []int8) error {
	y, _, _, err := k.core.run(ctx, x, shape, xZP)
	if err != nil {
		return err
	}
	oc, ow := g.oc, w*g.kw
	for b := 0; b < n; b++ {
		for ih := 0; ih < h; ih++ {
			for iw := 0; iw < w; iw++ {
				src := y[((b*h+ih)*w+iw)*k.taps*oc:]
				for ky := 0; ky < g.kh; ky++ {
					row := (b*h*g.kh + ih*g.kh + ky) * ow
					for kx := 0; kx < g.kw; kx++ {
						copy(out[(row+iw*g.kw+kx)*oc:][:oc], src[(ky*g.kw+kx)*oc:][:oc])
					}
				}
			}
		}
	}
	return nil
}

package kernels

// dwWeights are depthwise weights: per tap, per output channel.
type dwWeights struct {
	taps int     // KH*KW
	oc   int     // output channels
	mult int     // channel multiplier OC/C
	w    []int8  // [taps][oc]
	bias []int32 // bias[oc] (zero point NOT folded: the kernels use in-inZP or fold it themselves)
	inZP int32
}

func packDepthwise(s ConvShape, w []int8, bias []int32, inZP int32) *dwWeights {
	taps := s.KH * s.KW
	d := &dwWeights{taps: taps, oc: s.OC, mult: s.OC / s.C, w: make([]int8, taps*s.OC), bias: make([]int32, s.OC), inZP: inZP}
	for oc := 0; oc < s.OC; oc++ {
		for t := 0; t < taps; t++ {
			d.w[t*s.OC+oc] = w[oc*taps+t]
		}
		if bias != nil {
			d.bias[oc] = bias[oc]
		}
	}
	return d
}

func depthwiseConv(s ConvShape, in []int8, d *dwWeights, out []int8, p *rqParams, threads int) {
	oh, ow := s.OutH(), s.OutW()
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		acc := make([]int32, s.OC)
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			for x := 0; x < ow; x++ {
				copy(acc, d.bias)
				for kh := 0; kh < s.KH; kh++ {
					ih := y*s.StrideH - s.PadTop + kh*s.DilH
					if ih < 0 || ih >= s.H {
						continue
					}
					for kw := 0; kw < s.KW; kw++ {
						iw := x*s.StrideW - s.PadLeft + kw*s.DilW
						if iw < 0 || iw >= s.W {
							continue
						}
						src := in[((n*s.H+ih)*s.W+iw)*s.C:][:s.C]
						wt := d.w[(kh*s.KW+kw)*s.OC:][:s.OC]
						if d.mult == 1 {
							for c, v := range src {
								acc[c] += (int32(v) - d.inZP) * int32(wt[c])
							}
						} else {
							for oc := range acc {
								acc[oc] += (int32(src[oc/d.mult]) - d.inZP) * int32(wt[oc])
							}
						}
					}
				}
				p.row(acc, out[(r*ow+x)*s.OC:][:s.OC], 0)
			}
		}
	})
}

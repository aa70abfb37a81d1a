package kernels

import "fmt"

// ConvF32 is the float32 NHWC convolution (float reference path): in is
// [N][H][W][C], w is ONNX OIHW [OC][C/Groups][KH][KW], bias (len OC) may be nil,
// out is [N][OutH][OutW][OC]. Zero padding. Regular and grouped convolutions
// run as im2col + Sgemm; depthwise ones (Groups == C) as a direct loop.
func ConvF32(s ConvShape, in, w, bias, out []float32, threads int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	oh, ow := s.OutH(), s.OutW()
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	k := s.KH * s.KW * cg
	if len(in) < s.N*s.H*s.W*s.C || len(out) < s.N*oh*ow*s.OC || len(w) < s.OC*k || (bias != nil && len(bias) < s.OC) {
		panic(fmt.Sprintf("kernels.ConvF32: buffers too small for %+v", s))
	}
	threads = resolveThreads(threads)
	m := s.N * oh * ow
	if s.depthwise() {
		convF32Depthwise(s, in, w, bias, out, threads)
		return
	}
	// weights as [OC][kh][kw][c] (row-major B^T for Sgemm)
	wt := make([]float32, s.OC*k)
	for oc := 0; oc < s.OC; oc++ {
		for ci := 0; ci < cg; ci++ {
			for t := 0; t < s.KH*s.KW; t++ {
				wt[oc*k+t*cg+ci] = w[(oc*cg+ci)*s.KH*s.KW+t]
			}
		}
	}
	direct := s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.Groups == 1 &&
		s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	var col []float32
	if !direct {
		cp := getF32(m * k)
		defer f32Pool.Put(cp)
		col = *cp
	}
	for g := 0; g < s.Groups; g++ {
		a, lda := in, s.C
		if !direct {
			parallelFor(m, 1, threads, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					n, y, x := r/(oh*ow), r/ow%oh, r%ow
					d := col[r*k : (r+1)*k]
					off := 0
					for kh := 0; kh < s.KH; kh++ {
						ih := y*s.StrideH - s.PadTop + kh*s.DilH
						for kw := 0; kw < s.KW; kw++ {
							iw := x*s.StrideW - s.PadLeft + kw*s.DilW
							if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
								clear(d[off : off+cg])
							} else {
								copy(d[off:off+cg], in[((n*s.H+ih)*s.W+iw)*s.C+g*cg:])
							}
							off += cg
						}
					}
				}
			})
			a, lda = col, k
		}
		if bias != nil {
			for r := 0; r < m; r++ {
				copy(out[r*s.OC+g*ocg:r*s.OC+(g+1)*ocg], bias[g*ocg:])
			}
		}
		Sgemm(false, true, m, ocg, k, a, lda, wt[g*ocg*k:], k, out[g*ocg:], s.OC, bias != nil, threads)
	}
}

// convF32Depthwise: the input is copied into a zero-padded buffer with cp
// channels (a multiple of 8; channels repeated for a multiplier), then each
// output row runs the SIMD row kernel (or a Go loop on the pure-Go path).
func convF32Depthwise(s ConvShape, in, w, bias, out []float32, threads int) {
	oh, ow := s.OutH(), s.OutW()
	mult := s.OC / s.C
	cp := (s.OC + 7) &^ 7
	taps := s.KH * s.KW
	hp, wp := s.H+s.PadTop+s.PadBottom, s.W+s.PadLeft+s.PadRight
	wt := make([]float32, taps*cp)
	bs := make([]float32, cp)
	for oc := 0; oc < s.OC; oc++ {
		for t := 0; t < taps; t++ {
			wt[t*cp+oc] = w[oc*taps+t]
		}
		if bias != nil {
			bs[oc] = bias[oc]
		}
	}
	bp := getF32(s.N * hp * wp * cp)
	defer f32Pool.Put(bp)
	buf := *bp
	parallelFor(s.N*hp, 1, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, y := r/hp, r%hp
			dst := buf[r*wp*cp : (r+1)*wp*cp]
			clear(dst)
			iy := y - s.PadTop
			if iy < 0 || iy >= s.H {
				continue
			}
			for x := 0; x < s.W; x++ {
				px := dst[(s.PadLeft+x)*cp:]
				src := in[((n*s.H+iy)*s.W+x)*s.C:][:s.C]
				if mult == 1 {
					copy(px, src)
					continue
				}
				for oc := 0; oc < s.OC; oc++ {
					px[oc] = src[oc/mult]
				}
			}
		}
	})
	off := make([]int64, taps)
	for t := range off {
		off[t] = int64(((t/s.KW)*s.DilH*wp + (t%s.KW)*s.DilW) * cp * 4)
	}
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		var row []float32
		if cp != s.OC {
			row = make([]float32, ow*cp)
		}
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			base := buf[((n*hp+y*s.StrideH)*wp)*cp:]
			dst := out[r*ow*s.OC : (r+1)*ow*s.OC]
			o := dst
			if row != nil {
				o = row
			}
			if !depthwiseF32Row(base, off, taps, s.StrideW*cp*4, ow, wt, bs, o, cp) {
				for x := 0; x < ow; x++ {
					acc := o[x*cp : (x+1)*cp]
					copy(acc, bs)
					for t := 0; t < taps; t++ {
						src := base[x*s.StrideW*cp+int(off[t])/4:][:cp]
						wrow := wt[t*cp : (t+1)*cp]
						for c := range acc {
							acc[c] += src[c] * wrow[c]
						}
					}
				}
			}
			if row != nil {
				for x := 0; x < ow; x++ {
					copy(dst[x*s.OC:(x+1)*s.OC], row[x*cp:])
				}
			}
		}
	})
}

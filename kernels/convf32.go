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
		mult := s.OC / s.C
		parallelFor(m, 1, threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				n, y, x := r/(oh*ow), r/ow%oh, r%ow
				dst := out[r*s.OC : (r+1)*s.OC]
				for oc := range dst {
					if bias != nil {
						dst[oc] = bias[oc]
					} else {
						dst[oc] = 0
					}
				}
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
						t := kh*s.KW + kw
						for oc := range dst {
							dst[oc] += src[oc/mult] * w[oc*s.KH*s.KW+t]
						}
					}
				}
			}
		})
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

package kernels

import "math"

// qavgWindow is QAvgPool's general case on the vector row kernels
// (qavgRowAVX512, qavgRowAVX2): each thread takes bands of output rows, lays the input
// rows a band reads out with the zero point in the borders (so a padding tap
// adds zp and the kernel subtracts taps·zp: the sum over the taps inside the
// image of v − zp, exactly the Go loop's int32 sum), and requantizes each
// pixel with its own factor inScale / (outScale·count) in float64, count
// being the taps the ONNX definition counts (count_include_pad or not). It
// reports false, leaving the work to the Go loop, where the kernel does not
// run (no AVX2, or a factor that is not a positive finite number).
func qavgWindow(s PoolShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32, threads int) bool {
	width := qavgWidth()
	if width == 0 || inZP < -128 || inZP > 127 {
		return false
	}
	if f0 := float64(inScale) / float64(outScale); !(f0 > 0) || math.IsInf(f0, 0) {
		return false
	}
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	cp := (s.C + width - 1) / width * width
	rowLen := wp * cp
	span := (s.KH-1)*s.DilH + 1
	taps := s.KH * s.KW
	off := make([]int64, taps)
	for t := range off {
		off[t] = int64(((t/s.KW)*s.DilH*wp + (t%s.KW)*s.DilW) * cp)
	}
	counted := func(i, n, padA, padB int) bool {
		return i >= 0 && i < n || s.CountIncludePad && i >= -padA && i < n+padB
	}
	cntW := make([]int, ow)
	for x := range cntW {
		for kw := 0; kw < s.KW; kw++ {
			if counted(x*s.StrideW-s.PadLeft+kw*s.DilW, s.W, s.PadLeft, s.PadRight) {
				cntW[x]++
			}
		}
	}
	z := int8(inZP)
	lo, hi := float64(-128-outZP), float64(127-outZP)
	band := max(1, (128*1024/rowLen-span)/s.StrideH+1)
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := getABuf(((chunk-1)*s.StrideH + span) * rowLen)
		defer abufPool.Put(bp)
		buf := *bp
		fx := make([]float64, ow)
		var row8 []int8
		if cp != s.C {
			row8 = make([]int8, ow*cp)
		}
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				var src []int8
				if iy := y - s.PadTop; iy >= 0 && iy < s.H {
					src = in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
				}
				paddedRow(buf[(y-p0)*rowLen:(y-p0+1)*rowLen], src, s.W, s.C, cp, s.PadLeft, z, false)
			}
			for y := y0; y < y1; y++ {
				cntH := 0
				for kh := 0; kh < s.KH; kh++ {
					if counted(y*s.StrideH-s.PadTop+kh*s.DilH, s.H, s.PadTop, s.PadBottom) {
						cntH++
					}
				}
				for x, cw := range cntW {
					fx[x] = 0 // no tap counted: the sum is 0, the output zp
					if c := cntH * cw; c > 0 {
						fx[x] = float64(inScale) / (float64(outScale) * float64(c))
					}
				}
				base := buf[(y*s.StrideH-p0)*rowLen:]
				r := n*oh + y
				dst := out[r*ow*s.C : (r+1)*ow*s.C]
				if row8 == nil {
					qavgRow(width, base, off, s.StrideW*cp, ow, cp/width, fx, int32(taps)*inZP, lo, hi, outZP, dst, s.C)
					continue
				}
				qavgRow(width, base, off, s.StrideW*cp, ow, cp/width, fx, int32(taps)*inZP, lo, hi, outZP, row8, cp)
				for x := 0; x < ow; x++ {
					copy(dst[x*s.C:(x+1)*s.C], row8[x*cp:])
				}
			}
		})
	})
	return true
}

package kernels

import "fmt"

// A float32 depthwise 3-D convolution (X3D's and S3D's channel-wise 3x3x3
// layers) on channels-last volumes, on the row kernels of DepthwiseF32. The
// row kernels take one base pointer and a byte offset per tap; in a volume
// laid out zero-padded, [D'][H'][W'][cp] (cp the packed channel count), tap
// (kt, ki, kj) of every output pixel is at the same offset from the pixel's
// first tap, so one output row of a kd x kh x kw window is one call of the
// 2-D row kernel with kd·kh·kw taps. The padded volume is laid out once per
// image (one pass over the input, the padding cleared); the eighteenth
// session's NCDHW form interleaved the kd planes along the width for every
// output slice and transposed its output back, most of its time.

// Depthwise3DF32 computes a 3-D depthwise convolution (s.Groups == s.C,
// s.OC = s.C·mult) with a fused clamp and activation: x holds s.N·s.D·s.H·s.W
// pixels of s.C channels at pixel stride sx, channels-last (sx == 0: x is
// NCDHW), y receives s.N·OD·OH·OW pixels of s.OC channels at pixel stride sy.
// pw are the weights packed by PackDWF32(OC, mult, KD·KH, KW, w, bias) (w in
// ONNX order [OC][1][KD][KH][KW]). padded gives DepthwiseF32Padded's stores:
// where sy is the packed channel count (OC rounded up to 16) whole vectors
// are stored, padding lanes included, and y must hold every pixel's sy
// floats.
func Depthwise3DF32(s Conv3DShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, threads int, padded bool) {
	s = s.norm()
	if err := s.Validate(); err != nil {
		panic("kernels.Depthwise3DF32: " + err.Error())
	}
	if s.Groups != s.C || s.OC != pw.oc || s.OC != s.C*pw.mult || pw.kh != s.KD*s.KH || pw.kw != s.KW {
		panic(fmt.Sprintf("kernels.Depthwise3DF32: shape %+v does not match the packed weights (oc=%d mult=%d %dx%d)", s, pw.oc, pw.mult, pw.kh, pw.kw))
	}
	od, oh, ow := s.Out()
	if sx != 0 && sx < s.C || sy < s.OC {
		panic(fmt.Sprintf("kernels.Depthwise3DF32: pixel strides %d/%d below %d/%d channels", sx, sy, s.C, s.OC))
	}
	vol := s.D * s.H * s.W
	inLen := (s.N*vol-1)*sx + s.C
	if sx == 0 {
		inLen = s.N * s.C * vol
	}
	outPx := s.N * od * oh * ow
	outLen := (outPx-1)*sy + s.OC
	if padded && sy == pw.cp {
		outLen = outPx * sy
	}
	if len(x) < inLen || len(y) < outLen {
		panic(fmt.Sprintf("kernels.Depthwise3DF32: x (%d) or y (%d) too short", len(x), len(y)))
	}
	cp := pw.cp
	// The padded volume holds the planes, rows and columns the windows read.
	dn := (od-1)*s.StrideD + (s.KD-1)*s.DilD + 1
	hn := (oh-1)*s.StrideH + (s.KH-1)*s.DilH + 1
	wn := (ow-1)*s.StrideW + (s.KW-1)*s.DilW + 1
	taps := s.KD * s.KH * s.KW
	off := make([]int64, taps)
	for kt := 0; kt < s.KD; kt++ {
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				off[(kt*s.KH+ki)*s.KW+kj] = int64((((kt*s.DilD)*hn+ki*s.DilH)*wn + kj*s.DilW) * cp * 4)
			}
		}
	}
	whole := cp == s.OC || padded && sy == cp
	epk := [2]float32{ep.Lo, ep.Hi}
	volP := getF32(dn * hn * wn * cp)
	defer f32Pool.Put(volP)
	pv := *volP
	rows := od * oh
	chunk := max(1, rows/(8*max(threads, 1)))
	for img := 0; img < s.N; img++ {
		parallelFor(dn*hn, 1, threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dw3DFillRow(s, pw.mult, cp, x, sx, img, r/hn, r%hn, wn, pv[r*wn*cp:(r+1)*wn*cp])
			}
		})
		yi := y[img*od*oh*ow*sy:]
		parallelChunks(rows, chunk, threads, func(next func() (int, int, bool)) {
			rowP := getF32(ow * cp)
			defer f32Pool.Put(rowP)
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				for r := lo; r < hi; r++ {
					z, oy := r/oh, r%oh
					base := pv[((z*s.StrideD)*hn+oy*s.StrideH)*wn*cp:]
					dst := yi[r*ow*sy:]
					dw3DRow(base, off, taps, s.StrideW*cp, ow, pw, dst, sy, s.OC, whole, &epk, ep, rowP)
				}
			}
		})
	}
}

// dw3DRow computes one output row from the padded volume at base (pstride
// floats between consecutive output pixels' first taps) into dst.
func dw3DRow(base []float32, off []int64, taps, pstride, ow int, pw *DWWeightsF32, dst []float32, sy, oc int, whole bool, epk *[2]float32, ep F32Epilogue, rowP *[]float32) {
	cp := pw.cp
	if whole && (ep.Act == ActNone || sy == cp) && dwRowF32Wide(base, off, taps, pstride*4, ow, pw.w, pw.bias, dst, cp, sy, epk) {
		if ep.Act != ActNone {
			ActF32(ep.Act, dst[:ow*cp], dst[:ow*cp])
		}
		return
	}
	row := (*rowP)[:ow*cp]
	lo, hi := ep.Lo, ep.Hi
	if dwRowF32Wide(base, off, taps, pstride*4, ow, pw.w, pw.bias, row, cp, cp, epk) {
		lo, hi = NoEpilogue.Lo, NoEpilogue.Hi
	} else if !depthwiseF32Row(base, off, taps, pstride*4, ow, pw.w, pw.bias, row, cp) {
		dwRowGo(base, off, taps, pstride, ow, pw.w, pw.bias, row, cp)
	}
	if whole && sy == cp {
		clampActRow(dst[:ow*cp], row, lo, hi, ep.Act)
		return
	}
	for px := 0; px < ow; px++ {
		clampActRow(dst[px*sy:px*sy+oc], row[px*cp:px*cp+oc], lo, hi, ep.Act)
	}
}

// dw3DFillRow lays out row r of plane p of the padded volume of image img:
// wn pixels of cp channels, zero outside the input and in the channel
// padding (but for a channels-last input at the packed stride, whose
// padding lanes are copied as they are: every channel is its own lane and
// those lanes are never stored where they could be read).
func dw3DFillRow(s Conv3DShape, mult, cp int, x []float32, sx, img, p, r, wn int, dst []float32) {
	iz, iy := p-s.PadFront, r-s.PadTop
	if iz < 0 || iz >= s.D || iy < 0 || iy >= s.H {
		clear(dst)
		return
	}
	x0, x1 := min(s.PadLeft, wn), min(wn, s.PadLeft+s.W) // padded columns holding pixels
	clear(dst[:x0*cp])
	if x1 < wn {
		clear(dst[max(x1, x0)*cp:])
	}
	if x1 <= x0 {
		return
	}
	pix := ((img*s.D+iz)*s.H + iy) * s.W // the row's first pixel
	switch {
	case sx == 0: // NCDHW
		for j := x0; j < x1; j++ {
			clear(dst[j*cp+s.OC : (j+1)*cp])
		}
		vol := s.D * s.H * s.W
		for c := 0; c < s.C; c++ {
			src := x[(img*s.C+c)*vol+(iz*s.H+iy)*s.W:][:x1-x0]
			for m := 0; m < mult; m++ {
				d := dst[x0*cp+c*mult+m:]
				for j, v := range src {
					d[j*cp] = v
				}
			}
		}
	case mult == 1 && sx == cp:
		copy(dst[x0*cp:x1*cp], x[pix*sx:])
	case mult == 1 && s.C == cp:
		copyPixels(dst[x0*cp:], cp, x[pix*sx:], sx, x1-x0, cp)
	default:
		for j := x0; j < x1; j++ {
			px := dst[j*cp : (j+1)*cp]
			sp := x[(pix+j-x0)*sx:]
			for o := 0; o < s.OC; o++ {
				px[o] = sp[o/mult]
			}
			clear(px[s.OC:])
		}
	}
}

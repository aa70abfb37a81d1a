package kernels

// The depthwise rows read the input in place where they can. DWRowsF32.Rows
// lays every input row out zero-padded in a ring before the row kernel runs
// on it; when the input's pixel stride is already the padded channel count
// (the usual channels-last layout, pixelStride in the runtime) that copy is
// only needed for the padding. In EfficientNet-B0 the copies moved about 15
// MB per inference (dwFillBand, 0.2-0.7 ms of 13-17 at one thread in CPU
// profiles on a shared machine). So an output row whose taps stay inside the
// image vertically runs the row kernel on the input itself for the pixels
// whose taps stay inside horizontally, and on small padded copies of the few
// columns at each edge; the rows at the top and bottom go through the ring
// as before. Every output pixel sums the same products in the same order
// either way: the results are identical (the edge pixels, planEdges, leave
// out the products of the zero padding, which changes at most the sign of a
// zero sum).

// dwDirect is the precomputed part of the in-place path.
type dwDirect struct {
	ok     bool
	xa, xb int // output pixels [xa, xb) read no horizontal padding
	off    []int64
	edge   *[]float32
	edges  []dwEdge // the pixels outside [xa, xb), read in place (planEdges)
	ew     []float32
}

// dwEdge is an output pixel whose taps reach the horizontal padding, run on
// the input in place with the taps that read image columns only: their
// byte offsets from the first pixel of the row's first tap row, and their
// weights packed as the kernel reads them. A tap on the zero padding adds
// ±0 to the sum, which leaves it as it is (but for the sign of a zero sum),
// so leaving it out gives the result of the zero-padded copy that
// edgeSegment made for every edge pixel of every row: 20-35 % of the
// depthwise convolution's time on 56x56 and 112x112 maps with few channels
// (BenchmarkDepthwiseF32Mobile, CPU profiles).
type dwEdge struct {
	x   int
	off []int64
	w   []float32
}

// planEdges makes d.dd.edges for the current weights (nil where a pixel
// has no tap on the image: those keep edgeSegment).
func (d *DWRowsF32) planEdges() {
	s, pw, dd := d.s, d.pw, &d.dd
	dd.edges = dd.edges[:0]
	if !dd.ok {
		return
	}
	cp := pw.cp
	n := 0
	for x := 0; x < d.ow; x++ {
		if x == dd.xa {
			x = dd.xb - 1
			continue
		}
		n++
	}
	if cap(dd.ew) < n*s.KH*s.KW*cp {
		dd.ew = make([]float32, n*s.KH*s.KW*cp)
	}
	ew := dd.ew[:0]
	for x := 0; x < d.ow; x++ {
		if x >= dd.xa && x < dd.xb {
			continue
		}
		e := dwEdge{x: x}
		w0 := len(ew)
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				ix := x*s.StrideW - s.PadLeft + kj*s.DilW
				if ix < 0 || ix >= s.W {
					continue
				}
				e.off = append(e.off, int64((ki*s.DilH*s.W+ix)*cp*4))
				t := ki*s.KW + kj
				ew = append(ew, pw.w[t*cp:(t+1)*cp]...)
			}
		}
		if len(e.off) == 0 {
			dd.edges = dd.edges[:0]
			return
		}
		e.w = ew[w0:len(ew):len(ew)]
		dd.edges = append(dd.edges, e)
	}
	dd.ew = ew
}

// dwDirectMinPixels is the fewest interior pixels for which a row takes the
// in-place path (three calls of the row kernel instead of one), and
// dwDirectMaxEdge the largest share of a row's pixels (in tenths) its edge
// segments may have: on EfficientNet-B0's 14x14 and 28x28 maps with 5x5
// kernels (4 edge pixels in 14 or 28) the in-place rows were 10-25 % slower
// than the ring (per-step minimums of TestExportedStepScaling, two
// alternated runs, loaded machine), on the 112x112 stride-2 map 30 % faster.
const (
	dwDirectMinPixels = 4
	dwDirectMaxEdge   = 1
)

func newDWDirect(s ConvShape, mult, cp, sx, ow int) dwDirect {
	if mult != 1 || sx != cp {
		return dwDirect{}
	}
	xa := (s.PadLeft + s.StrideW - 1) / s.StrideW
	xb := min(ow, (s.W-1-(s.KW-1)*s.DilW+s.PadLeft)/s.StrideW+1)
	if s.W-1-(s.KW-1)*s.DilW+s.PadLeft < 0 || xb-xa < dwDirectMinPixels || (ow-(xb-xa))*10 > dwDirectMaxEdge*ow {
		return dwDirect{}
	}
	return dwDirect{ok: true, xa: xa, xb: xb, off: make([]int64, s.KH*s.KW)}
}

// rowInPlace computes output row oy of image img (to dst, as Rows does) with
// the interior pixels read in place, and reports false when the row's taps
// reach the top or bottom padding (the caller then uses the ring).
func (d *DWRowsF32) rowInPlace(img, oy int, dst []float32) bool {
	s, pw, dd := d.s, d.pw, &d.dd
	iy0 := oy*s.StrideH - s.PadTop
	if !dd.ok || iy0 < 0 || iy0+(s.KH-1)*s.DilH >= s.H {
		return false
	}
	cp := pw.cp
	for ki := 0; ki < s.KH; ki++ {
		for kj := 0; kj < s.KW; kj++ {
			dd.off[ki*s.KW+kj] = int64((ki*s.DilH*s.W + kj*s.DilW) * cp * 4)
		}
	}
	base := d.x[((img*s.H+iy0)*s.W+dd.xa*s.StrideW-s.PadLeft)*cp:]
	stored, clamped := d.segment(base, dd.off, s.KH*s.KW, pw.w, dd.xa, dd.xb, dst)
	if len(dd.edges) > 0 {
		row := d.x[(img*s.H+iy0)*s.W*cp:]
		for _, e := range dd.edges {
			d.segment(row, e.off, len(e.off), e.w, e.x, e.x+1, dst)
		}
	} else {
		if dd.xa > 0 {
			d.edgeSegment(img, iy0, 0, dd.xa, dst)
		}
		if dd.xb < d.ow {
			d.edgeSegment(img, iy0, dd.xb, d.ow, dst)
		}
	}
	if !stored {
		d.epilogue(dst, clamped)
	}
	return true
}

// edgeSegment computes output pixels [x0, x1) of the row whose first tap row
// is input row iy0 on a zero-padded copy of the columns they read.
func (d *DWRowsF32) edgeSegment(img, iy0, x0, x1 int, dst []float32) {
	s, pw, dd := d.s, d.pw, &d.dd
	cp := pw.cp
	ew := (x1-1-x0)*s.StrideW + (s.KW-1)*s.DilW + 1
	if dd.edge == nil || len(*dd.edge) < s.KH*ew*cp {
		if dd.edge != nil {
			f32Pool.Put(dd.edge)
		}
		dd.edge = getF32(s.KH * ew * cp)
	}
	buf := (*dd.edge)[:s.KH*ew*cp]
	for ki := 0; ki < s.KH; ki++ {
		src := d.x[((img*s.H+iy0+ki*s.DilH)*s.W)*cp:]
		for c := 0; c < ew; c++ {
			px := buf[(ki*ew+c)*cp : (ki*ew+c+1)*cp]
			if ix := x0*s.StrideW + c - s.PadLeft; ix >= 0 && ix < s.W {
				copy(px, src[ix*cp:(ix+1)*cp])
			} else {
				clear(px)
			}
		}
		for kj := 0; kj < s.KW; kj++ {
			dd.off[ki*s.KW+kj] = int64((ki*ew + kj*s.DilW) * cp * 4)
		}
	}
	d.segment(buf, dd.off, s.KH*s.KW, pw.w, x0, x1, dst)
}

// segment runs the row kernel (taps taps of weights w) for output pixels
// [x0, x1), pixel x0 at base: straight into dst with the epilogue where
// Rows would (stored), else into the row scratch, clamped or not.
func (d *DWRowsF32) segment(base []float32, off []int64, taps int, w []float32, x0, x1 int, dst []float32) (stored, clamped bool) {
	s, pw := d.s, d.pw
	cp, n := pw.cp, x1-x0
	ps := s.StrideW * cp * 4
	if d.direct && dwRowF32Wide(base, off, taps, ps, n, w, pw.bias, dst[x0*d.sy:], cp, d.sy, &d.epk) {
		return true, true
	}
	row := (*d.rowP)[x0*cp : d.ow*cp]
	if dwRowF32Wide(base, off, taps, ps, n, w, pw.bias, row, cp, cp, &d.epk) {
		return false, true
	}
	if !depthwiseF32Row(base, off, taps, ps, n, w, pw.bias, row, cp) {
		dwRowGo(base, off, taps, s.StrideW*cp, n, w, pw.bias, row, cp)
	}
	return false, false
}

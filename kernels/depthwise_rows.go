package kernels

import (
	"fmt"
	"math"
	"sync"
)

// DWWeightsF32 are the weights of a float32 depthwise convolution (Groups ==
// C, OC = C·mult) packed once for DepthwiseF32: per tap, the output channels
// padded to a multiple of 16 (one zmm or two ymm), bias likewise.
type DWWeightsF32 struct {
	oc, mult, kh, kw int
	cp               int
	w                []float32 // [kh·kw][cp]
	bias             []float32 // [cp]
	blocks           *sync.Map // [2]int{c0, c1} -> *DWWeightsF32 (depthwise_chan.go)
}

// PackDWF32 packs depthwise weights w [oc][1][kh][kw] (ONNX order) and an
// optional bias [oc]; mult is the channel multiplier oc/C.
func PackDWF32(oc, mult, kh, kw int, w, bias []float32) *DWWeightsF32 {
	taps := kh * kw
	if oc <= 0 || mult <= 0 || oc%mult != 0 || taps <= 0 || len(w) < oc*taps || bias != nil && len(bias) < oc {
		panic(fmt.Sprintf("kernels.PackDWF32: bad shape oc=%d mult=%d %dx%d (w %d, bias %d)", oc, mult, kh, kw, len(w), len(bias)))
	}
	cp := (oc + 15) &^ 15
	p := &DWWeightsF32{oc: oc, mult: mult, kh: kh, kw: kw, cp: cp, w: make([]float32, taps*cp), bias: make([]float32, cp), blocks: new(sync.Map)}
	for o := 0; o < oc; o++ {
		for t := 0; t < taps; t++ {
			p.w[t*cp+o] = w[o*taps+t]
		}
	}
	if bias != nil {
		copy(p.bias, bias[:oc])
	}
	return p
}

// F32Epilogue is what a float32 convolution applies to each output value
// before storing it: clamp to [Lo, Hi] (±Inf for none), then Act.
type F32Epilogue struct {
	Lo, Hi float32
	Act    Act
}

// NoEpilogue stores the convolution's values as they are.
var NoEpilogue = F32Epilogue{Lo: float32(math.Inf(-1)), Hi: float32(math.Inf(1))}

// DepthwiseF32 computes a 2-D depthwise convolution with fused epilogue on
// channels-last tensors: x holds s.N·s.H·s.W pixels of s.C channels at pixel
// stride sx (sx == 0: x is NCHW), y receives s.N·OH·OW pixels of s.OC
// channels at stride sy. s.Groups must be s.C. Each thread lays a band of
// input rows out zero-padded (channels padded to 16, repeated for a channel
// multiplier) and runs the row kernel on it: AVX-512 (4 pixels × up to 64
// channels per step, clamp in registers), AVX2 (one pixel × 32 channels), or
// Go; the activation is applied to each row while it is in L1.
func DepthwiseF32(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, threads int) {
	s = s.norm()
	checkDepthwiseF32(s, pw, x, sx, y, sy)
	oh, ow := s.OutH(), s.OutW()
	if s.N <= 0 || oh <= 0 || ow <= 0 {
		return
	}
	// Each thread keeps the input rows the current output row reads in a ring
	// of padded rows, so that every input row is laid out once per chunk of
	// output rows (rows of an image split in a few chunks per thread).
	chunk := max(1, (oh+4*threads-1)/(4*max(threads, 1)))
	// Not by channel blocks on small maps: each block's pixels are not
	// contiguous, so laying out its input rows, storing and activating
	// its outputs go pixel by pixel; BenchmarkDepthwiseF32Split measured
	// that at 40-80 % more work than the row chunks' repeated row layouts
	// (1-7 %).
	depthwiseF32Rows(s, pw, x, sx, y, sy, ep, threads, chunk, false)
}

// DepthwiseF32Padded is DepthwiseF32 for an output whose pixel stride sy
// holds padding lanes nobody reads (the runtime's channels-last tensors,
// whose pixels are padded to a multiple of 16 channels): where sy is the
// packed channel count (OC rounded up to 16) the row kernel stores whole
// vectors, lanes OC..sy-1 included, straight into y, and the activation runs
// over whole rows. The lanes OC..sy-1 then hold the values of channels whose
// weights and bias are zero (not necessarily 0: padding lanes of the input
// go through them). With MobileNetV3's 72 and 120 channels (stored 80 and
// 128 wide) the per-pixel copies of 72 floats out of a row scratch took as
// long as the convolution. Lanes 0..OC-1 are bit for bit DepthwiseF32's. y
// must hold every pixel's sy floats.
func DepthwiseF32Padded(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, threads int) {
	s = s.norm()
	checkDepthwiseF32(s, pw, x, sx, y, sy)
	oh, ow := s.OutH(), s.OutW()
	if s.N <= 0 || oh <= 0 || ow <= 0 {
		return
	}
	if len(y) < s.N*oh*ow*sy {
		panic(fmt.Sprintf("kernels.DepthwiseF32Padded: y (%d) shorter than %d pixels of %d", len(y), s.N*oh*ow, sy))
	}
	chunk := max(1, (oh+4*threads-1)/(4*max(threads, 1)))
	depthwiseF32Rows(s, pw, x, sx, y, sy, ep, threads, chunk, true)
}

// depthwiseF32Rows runs DepthwiseF32 as chunks of chunk output rows of one
// image each (padded: DepthwiseF32Padded's stores).
func depthwiseF32Rows(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, threads, chunk int, padded bool) {
	oh, ow := s.OutH(), s.OutW()
	rowsPerImg := (oh + chunk - 1) / chunk
	parallelChunks(s.N*rowsPerImg, 1, threads, func(next func() (int, int, bool)) {
		d := newDWRowsF32(s, pw, x, sx, sy, ep, padded)
		defer d.Release()
		for it, _, ok := next(); ok; it, _, ok = next() {
			img, c0 := it/rowsPerImg, it%rowsPerImg*chunk
			c1 := min(oh, c0+chunk)
			d.Rows(img, c0, c1, y[(img*oh+c0)*ow*sy:])
		}
	})
}

// checkDepthwiseF32 panics on arguments DepthwiseF32 cannot run (y nil: not
// checked).
func checkDepthwiseF32(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int) {
	if s.Groups != s.C || s.OC != pw.oc || s.OC != s.C*pw.mult || s.KH != pw.kh || s.KW != pw.kw {
		panic(fmt.Sprintf("kernels.DepthwiseF32: shape %+v does not match the packed weights (oc=%d mult=%d %dx%d)", s, pw.oc, pw.mult, pw.kh, pw.kw))
	}
	oh, ow := s.OutH(), s.OutW()
	if s.N <= 0 || oh <= 0 || ow <= 0 {
		return
	}
	if sx != 0 && sx < s.C || sy < s.OC {
		panic(fmt.Sprintf("kernels.DepthwiseF32: pixel strides %d/%d below %d/%d channels", sx, sy, s.C, s.OC))
	}
	inLen := (s.N*s.H*s.W-1)*sx + s.C // the last pixel's channels
	if sx == 0 {
		inLen = s.N * s.C * s.H * s.W
	}
	if len(x) < inLen || y != nil && len(y) < ((s.N*oh*ow)-1)*sy+s.OC {
		panic(fmt.Sprintf("kernels.DepthwiseF32: x (%d) or y (%d) too short", len(x), len(y)))
	}
}

// DWRowsF32 computes output rows of a DepthwiseF32 on one thread, a band at
// a time (a fused consumer runs on each band while it is in cache). It keeps
// the input rows the last band read, so consecutive bands of an image lay
// every input row out once.
type DWRowsF32 struct {
	s           ConvShape
	pw          *DWWeightsF32
	x           []float32
	sx, sy      int
	ep          F32Epilogue
	oh, ow      int
	wp, rowIn   int
	ring        int
	bandP, rowP *[]float32
	filled      []int // padded input row held by each slot
	off         []int64
	epk         [2]float32
	lastImg     int
	direct      bool
	actStrided  bool     // the row kernel stores, then the activation runs per pixel in place
	whole       bool     // the stores cover whole pixels: cp == OC, or padded output lanes are free
	dd          dwDirect // depthwise_rows_direct.go
}

// NewDWRowsF32 prepares the band computation of DepthwiseF32(s, pw, x, sx,
// ·, sy, ep); Release returns its buffers.
func NewDWRowsF32(s ConvShape, pw *DWWeightsF32, x []float32, sx, sy int, ep F32Epilogue) *DWRowsF32 {
	s = s.norm()
	checkDepthwiseF32(s, pw, x, sx, nil, sy)
	return newDWRowsF32(s, pw, x, sx, sy, ep, false)
}

// NewDWRowsF32Padded is NewDWRowsF32 with DepthwiseF32Padded's stores: the
// y given to Rows holds every pixel's sy floats, and where sy is the packed
// channel count its padding lanes are written.
func NewDWRowsF32Padded(s ConvShape, pw *DWWeightsF32, x []float32, sx, sy int, ep F32Epilogue) *DWRowsF32 {
	s = s.norm()
	checkDepthwiseF32(s, pw, x, sx, nil, sy)
	return newDWRowsF32(s, pw, x, sx, sy, ep, true)
}

func newDWRowsF32(s ConvShape, pw *DWWeightsF32, x []float32, sx, sy int, ep F32Epilogue, padded bool) *DWRowsF32 {
	d := &DWRowsF32{}
	d.reset(s, pw, x, sx, sy, ep)
	if padded && sy == pw.cp && pw.cp != s.OC {
		d.whole = true
		d.direct = ep.Act == ActNone
	}
	return d
}

// reset points d at another convolution, keeping the buffers it has where
// they are large enough (a thread of the channel-block split runs block
// after block).
func (d *DWRowsF32) reset(s ConvShape, pw *DWWeightsF32, x []float32, sx, sy int, ep F32Epilogue) {
	cp := pw.cp
	bandP, rowP, edge, edges, ew := d.bandP, d.rowP, d.dd.edge, d.dd.edges, d.dd.ew
	*d = DWRowsF32{s: s, pw: pw, x: x, sx: sx, sy: sy, ep: ep, oh: s.OutH(), ow: s.OutW(), lastImg: -1, filled: d.filled[:0], off: d.off[:0]}
	d.wp = (d.ow-1)*s.StrideW + (s.KW-1)*s.DilW + 1
	d.rowIn = d.wp * cp
	d.ring = (s.KH-1)*s.DilH + 1
	d.bandP, d.rowP = regetF32(bandP, d.ring*d.rowIn), regetF32(rowP, d.ow*cp)
	d.filled = append(d.filled, make([]int, d.ring)...)
	d.off = append(d.off, make([]int64, s.KH*s.KW)...)
	d.epk = [2]float32{ep.Lo, ep.Hi}
	// The AVX-512 row kernel stores at any pixel stride: without an
	// activation it writes dst itself whenever no lane is padding.
	d.whole = cp == s.OC
	d.direct = ep.Act == ActNone && d.whole
	d.actStrided = ep.Act != ActNone && cp == s.OC && sy != cp
	d.dd = newDWDirect(s, pw.mult, cp, sx, d.ow)
	d.dd.edge, d.dd.edges, d.dd.ew = edge, edges, ew
	d.planEdges()
}

// regetF32 returns p resized to n floats when it holds them, else a buffer
// from the pool (p, if any, goes back to it).
func regetF32(p *[]float32, n int) *[]float32 {
	if p != nil && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	if p != nil {
		f32Pool.Put(p)
	}
	return getF32(n)
}

// Release returns the buffers; d is not usable after it.
func (d *DWRowsF32) Release() {
	if d.bandP != nil {
		f32Pool.Put(d.bandP)
	}
	if d.rowP != nil {
		f32Pool.Put(d.rowP)
	}
	if d.dd.edge != nil {
		f32Pool.Put(d.dd.edge)
	}
	d.bandP, d.rowP, d.dd.edge = nil, nil, nil
}

// Rows computes output rows [oy0, oy1) of image img into y: row oy's pixels
// at y[((oy-oy0)*OW + px)*sy].
func (d *DWRowsF32) Rows(img, oy0, oy1 int, y []float32) {
	s, pw := d.s, d.pw
	cp, taps, ow, rowIn := pw.cp, s.KH*s.KW, d.ow, d.rowIn
	if img < 0 || img >= s.N || oy0 < 0 || oy1 > d.oh || oy0 >= oy1 {
		if oy0 == oy1 {
			return
		}
		panic(fmt.Sprintf("kernels.DWRowsF32: rows [%d, %d) of image %d out of range (%d×%d)", oy0, oy1, img, s.N, d.oh))
	}
	if len(y) < ((oy1-oy0)*ow-1)*d.sy+s.OC || d.whole && d.pw.cp != s.OC && len(y) < (oy1-oy0)*ow*d.sy {
		panic(fmt.Sprintf("kernels.DWRowsF32: y (%d) too short for %d rows", len(y), oy1-oy0))
	}
	band, row := (*d.bandP)[:d.ring*rowIn], (*d.rowP)[:ow*cp]
	if img != d.lastImg {
		for i := range d.filled {
			d.filled[i] = -1
		}
		d.lastImg = img
	}
	off, epk, sy := d.off, &d.epk, d.sy
	for oy := oy0; oy < oy1; oy++ {
		if d.rowInPlace(img, oy, y[(oy-oy0)*ow*sy:]) {
			continue
		}
		for ki := 0; ki < s.KH; ki++ {
			r := oy*s.StrideH + ki*s.DilH
			slot := r % d.ring
			if d.filled[slot] != r {
				dwFillBand(s, pw.mult, cp, d.x, d.sx, img, r, 1, d.wp, band[slot*rowIn:(slot+1)*rowIn])
				d.filled[slot] = r
			}
			for kj := 0; kj < s.KW; kj++ {
				off[ki*s.KW+kj] = int64((slot*rowIn + kj*s.DilW*cp) * 4)
			}
		}
		dst := y[(oy-oy0)*ow*sy:]
		if d.direct && dwRowF32Wide(band, off, taps, s.StrideW*cp*4, ow, pw.w, pw.bias, dst, cp, sy, epk) {
			continue
		}
		if d.actStrided && dwRowF32Wide(band, off, taps, s.StrideW*cp*4, ow, pw.w, pw.bias, dst, cp, sy, epk) {
			// A channel block of a wider tensor (depthwise_chan.go): whole
			// vectors per pixel, so each element takes the path it takes
			// in one call over the row.
			for px := 0; px < ow; px++ {
				p := dst[px*sy : px*sy+cp]
				ActF32(d.ep.Act, p, p)
			}
			continue
		}
		clamped := dwRowF32Wide(band, off, taps, s.StrideW*cp*4, ow, pw.w, pw.bias, row, cp, cp, epk)
		if !clamped && !depthwiseF32Row(band, off, taps, s.StrideW*cp*4, ow, pw.w, pw.bias, row, cp) {
			dwRowGo(band, off, taps, s.StrideW*cp, ow, pw.w, pw.bias, row, cp)
		}
		d.epilogue(dst, clamped)
	}
}

// epilogue stores the row scratch to dst with the clamp (unless the row
// kernel applied it) and the activation.
func (d *DWRowsF32) epilogue(dst []float32, clamped bool) {
	s, cp, ow, sy := d.s, d.pw.cp, d.ow, d.sy
	row := (*d.rowP)[:ow*cp]
	lo, hi := d.ep.Lo, d.ep.Hi
	if clamped {
		lo, hi = NoEpilogue.Lo, NoEpilogue.Hi
	}
	if d.whole && sy == cp {
		clampActRow(dst[:ow*cp], row, lo, hi, d.ep.Act)
		return
	}
	if cp == s.OC {
		// Whole vectors per pixel: the activation over the contiguous row
		// gives every element what the per-pixel calls would (the tail that
		// is not on exact math never runs), in one call instead of ow (a
		// channel block of depthwise_chan.go is 32-64 channels per pixel).
		clampActRow(row, row, lo, hi, d.ep.Act)
		copyPixels(dst, sy, row, cp, ow, cp)
		return
	}
	for px := 0; px < ow; px++ {
		clampActRow(dst[px*sy:px*sy+s.OC], row[px*cp:px*cp+s.OC], lo, hi, d.ep.Act)
	}
}

// dwFillBand lays out padded input rows iy0..iy0+nr-1 of image img: wp pixels
// of cp channels, zero outside the image and in the channel padding.
func dwFillBand(s ConvShape, mult, cp int, x []float32, sx, img, iy0, nr, wp int, band []float32) {
	rowIn := wp * cp
	for r := 0; r < nr; r++ {
		dst := band[r*rowIn : (r+1)*rowIn]
		iy := iy0 + r - s.PadTop
		if iy < 0 || iy >= s.H {
			clear(dst)
			continue
		}
		x0, x1 := s.PadLeft, min(wp, s.PadLeft+s.W) // padded columns holding pixels
		clear(dst[:x0*cp])
		if x1 < wp {
			clear(dst[x1*cp:])
		}
		switch {
		case sx == 0: // NCHW planes
			plane := s.H * s.W
			for j := x0; j < x1; j++ {
				px := dst[j*cp : (j+1)*cp]
				clear(px[s.OC:])
			}
			for c := 0; c < s.C; c++ {
				src := x[(img*s.C+c)*plane+iy*s.W:]
				for m := 0; m < mult; m++ {
					o := c*mult + m
					for j := x0; j < x1; j++ {
						dst[j*cp+o] = src[j-s.PadLeft]
					}
				}
			}
		case mult == 1 && sx == cp:
			// The pixels are contiguous at the padded stride: one copy. The
			// channels C..cp get whatever the producer left there (not zero
			// after an activation such as Sigmoid), harmless: every channel
			// is its own lane and those lanes are never stored.
			src := x[(img*s.H+iy)*s.W*sx:]
			copy(dst[x0*cp:x1*cp], src[(x0-s.PadLeft)*sx:])
		case mult == 1 && s.C == cp:
			src := x[(img*s.H+iy)*s.W*sx:]
			copyPixels(dst[x0*cp:], cp, src[(x0-s.PadLeft)*sx:], sx, x1-x0, cp)
		case mult == 1:
			src := x[(img*s.H+iy)*s.W*sx:]
			for j := x0; j < x1; j++ {
				px := dst[j*cp : (j+1)*cp]
				copy(px, src[(j-s.PadLeft)*sx:(j-s.PadLeft)*sx+s.C])
				clear(px[s.C:])
			}
		default:
			src := x[(img*s.H+iy)*s.W*sx:]
			for j := x0; j < x1; j++ {
				px := dst[j*cp : (j+1)*cp]
				sp := src[(j-s.PadLeft)*sx:]
				for o := 0; o < s.OC; o++ {
					px[o] = sp[o/mult]
				}
				clear(px[s.OC:])
			}
		}
	}
}

// dwRowGo is the portable row kernel (pstride in floats).
func dwRowGo(base []float32, off []int64, taps, pstride, ow int, w, bias, out []float32, cp int) {
	for x := 0; x < ow; x++ {
		acc := out[x*cp : (x+1)*cp]
		copy(acc, bias[:cp])
		for t := 0; t < taps; t++ {
			src := base[x*pstride+int(off[t])/4:][:cp]
			wr := w[t*cp : (t+1)*cp]
			for c := range acc {
				acc[c] += src[c] * wr[c]
			}
		}
	}
}

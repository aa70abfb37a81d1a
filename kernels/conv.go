package kernels

import (
	"errors"
	"fmt"
	"sync"
)

// ConvShape describes a 2-D convolution on NHWC int8 activations. Zero
// StrideH/StrideW/DilH/DilW/Groups mean 1.
type ConvShape struct {
	N, H, W, C                           int
	OC                                   int
	KH, KW                               int
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilH, DilW                           int
	Groups                               int
}

func (s ConvShape) norm() ConvShape {
	s.StrideH, s.StrideW = max(s.StrideH, 1), max(s.StrideW, 1)
	s.DilH, s.DilW = max(s.DilH, 1), max(s.DilW, 1)
	s.Groups = max(s.Groups, 1)
	return s
}

// outDim is the output size (floor mode) of a window of k taps, dilation
// dil, moving by stride over n positions padded by padA and padB.
func outDim(n, padA, padB, k, dil, stride int) int {
	span := n + padA + padB - dil*(k-1) - 1
	if span < 0 {
		// the window does not fit (Go's division truncates -1/2 to 0)
		return 0
	}
	return span/stride + 1
}

// OutH is the output height.
func (s ConvShape) OutH() int {
	s = s.norm()
	return outDim(s.H, s.PadTop, s.PadBottom, s.KH, s.DilH, s.StrideH)
}

// OutW is the output width.
func (s ConvShape) OutW() int {
	s = s.norm()
	return outDim(s.W, s.PadLeft, s.PadRight, s.KW, s.DilW, s.StrideW)
}

// Validate checks that the shape is consistent.
func (s ConvShape) Validate() error {
	if s.N <= 0 || s.H <= 0 || s.W <= 0 || s.C <= 0 || s.OC <= 0 || s.KH <= 0 || s.KW <= 0 {
		return fmt.Errorf("kernels: bad conv shape %+v", s)
	}
	if s.StrideH < 0 || s.StrideW < 0 || s.DilH < 0 || s.DilW < 0 || s.Groups < 0 ||
		s.PadTop < 0 || s.PadLeft < 0 || s.PadBottom < 0 || s.PadRight < 0 {
		return fmt.Errorf("kernels: negative stride/dilation/pad/groups in conv shape %+v", s)
	}
	n := s.norm()
	if n.C%n.Groups != 0 || n.OC%n.Groups != 0 {
		return fmt.Errorf("kernels: channels C=%d OC=%d not divisible by groups %d", n.C, n.OC, n.Groups)
	}
	if s.OutH() <= 0 || s.OutW() <= 0 {
		return fmt.Errorf("kernels: conv kernel larger than padded input %+v", s)
	}
	return nil
}

func (s ConvShape) depthwise() bool {
	return s.Groups == s.C && s.Groups > 1 && s.OC%s.C == 0
}

// QConvWeights are convolution weights packed by PackQConv.
type QConvWeights struct {
	s      ConvShape // filter part of the shape (normalised)
	inZP   int32
	full   bool            // a weight is -128 (see QGemmWeights.full)
	groups []*QGemmWeights // GEMM path, one per group
	dw     *dwWeights      // depthwise path
	// c4 packs the weights of a single-group convolution whose channel count is
	// not a multiple of 4 (an RGB stem) with the channels padded to a multiple
	// of 4 (zero weights): QConv copies the input into that layout and takes the
	// implicit GEMM instead of an im2col of 3-byte runs.
	c4 *QGemmWeights
	// grp is the grouped kernel's packing (4, 8 or 16 channels per group,
	// qgrouped.go), used instead of groups where its path runs.
	grp *groupedWeights
	// win is the window kernel's packing (few input channels per group,
	// outputs per group ≠ inputs, qgrouped_win.go), used where its path runs.
	win *winWeights
	// stem packs a single-group convolution of 1-4 input channels for the
	// stem kernel (qstem.go), used instead of the GEMM path when DilW == 1.
	stem *stemWeights
	// s2d packs such a convolution for its space-to-depth form
	// (conv_s2d.go), which the AMX path runs at stride 2; packed only where
	// the AMX path is selected.
	s2d *QGemmWeights
}

// PackQConv packs ONNX OIHW weights w ([OC][C/Groups][KH][KW], any int8: the
// symmetric [-127, 127] or the full range with -128, as PyTorch's per-channel
// qint8 weights use it) and an optional int32 bias (len OC) for QConv, folding
// the input zero point into the bias. Every path is exact on -128; the two
// AVX2 kernels that cannot represent it (the sign-trick GEMM and the stem) are
// not taken for such weights. Only the filter fields of s are bound
// (C, OC, KH, KW, Groups); N, H, W, strides, pads and dilations may change per
// QConv call.
func PackQConv(s ConvShape, w []int8, bias []int32, inZP int32) (*QConvWeights, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.norm()
	cg := s.C / s.Groups
	ocg := s.OC / s.Groups
	kk := cg * s.KH * s.KW
	if len(w) < s.OC*kk {
		return nil, fmt.Errorf("kernels.PackQConv: weights have %d values, want %d", len(w), s.OC*kk)
	}
	if bias != nil && len(bias) < s.OC {
		return nil, fmt.Errorf("kernels.PackQConv: bias has %d values, want %d", len(bias), s.OC)
	}
	if inZP < -128 || inZP > 127 {
		return nil, fmt.Errorf("kernels.PackQConv: input zero point %d outside [-128, 127]", inZP)
	}
	cw := &QConvWeights{s: s, inZP: inZP, full: hasMinI8(w[:s.OC*kk])}
	if s.depthwise() {
		cw.dw = packDepthwise(s, w, bias, inZP)
		return cw, nil
	}
	for g := 0; g < s.Groups; g++ {
		var gb []int32
		if bias != nil {
			gb = bias[g*ocg : (g+1)*ocg]
		}
		// K order is (kh, kw, c): NHWC im2col rows are runs of cg channels.
		at := func(c, k int) int8 {
			tap, ci := k/cg, k%cg
			kh, kw := tap/s.KW, tap%s.KW
			return w[(((g*ocg+c)*cg+ci)*s.KH+kh)*s.KW+kw]
		}
		cw.groups = append(cw.groups, packQGemm(ocg, kk, at, gb, inZP))
	}
	if groupedFits(s) {
		cw.grp = packGrouped(s, w, bias, inZP)
	}
	if winFits(s) {
		cw.win = packWin(s, w, bias, inZP)
	}
	if stemFits(s) {
		cw.stem = packStem(s, w, bias, inZP)
	}
	if amxOK && s2dPacks(s) {
		cw.s2d = packS2D(s, w, bias, inZP)
	}
	if s.Groups == 1 && s.C%4 != 0 && s.C < 16 {
		c4 := (s.C + 3) &^ 3
		cw.c4 = packQGemm(s.OC, s.KH*s.KW*c4, func(c, k int) int8 {
			tap, ci := k/c4, k%c4
			if ci >= s.C {
				return 0
			}
			return w[((c*s.C+ci)*s.KH+tap/s.KW)*s.KW+tap%s.KW]
		}, bias, inZP)
	}
	return cw, nil
}

// padChannels4 copies NHWC in (c channels) into dst with c4 channels per pixel,
// the extra channels set to z (they meet zero weights).
func padChannels4(dst, in []int8, pixels, c, c4 int, z int8, threads int) {
	parallelFor(pixels, 1024, threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			d := dst[p*c4 : (p+1)*c4]
			copy(d, in[p*c:(p+1)*c])
			for i := c; i < c4; i++ {
				d[i] = z
			}
		}
	})
}

var errConvMismatch = errors.New("kernels.QConv: shape does not match the packed weights")

// QConv computes an int8 NHWC convolution: in is [N][H][W][C], out
// [N][OutH][OutW][OC], out = requant(bias + Σ (in - inZP)·w) with padding equal
// to the input zero point. Depthwise convolutions (Groups == C, OC a multiple of
// C) use a dedicated kernel; 1×1 stride-1 unpadded convolutions are a direct
// GEMM on the input; other shapes go through an im2col packing (padded with the
// input zero point) into the int8 GEMM micro-kernels. threads <= 0 means
// GOMAXPROCS.
func QConv(s ConvShape, in []int8, w *QConvWeights, out []int8, rq *Requant, threads int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	ws := w.s
	if s.C != ws.C || s.OC != ws.OC || s.KH != ws.KH || s.KW != ws.KW || s.Groups != ws.Groups {
		panic(errConvMismatch)
	}
	oh, ow := s.OutH(), s.OutW()
	if len(in) < s.N*s.H*s.W*s.C || len(out) < s.N*oh*ow*s.OC {
		panic(fmt.Sprintf("kernels.QConv: buffers too small for %+v", s))
	}
	threads = resolveThreads(threads)
	p := rq.expand(s.OC)
	if w.dw != nil {
		depthwiseConv(s, in, w.dw, out, p, threads)
		return
	}
	if w.grp.usable() {
		groupedConv(s, in, w.grp, out, p, threads)
		return
	}
	if w.win.usable() {
		winConv(s, in, w.win, out, p, threads)
		return
	}
	if dilatedWidthFits(s) {
		dilatedWidthConv(s, in, w, out, rq, threads) // qconv_dilated.go
		return
	}
	if w.s2d != nil && s2dFits(s) && amxFits(s.N*oh*ow, w.s2d) {
		convAMXS2D(s, in, w.s2d, out, p, threads)
		return
	}
	if w.stem != nil && s.DilW == 1 && stemTakes(w.full) {
		stemConv(s, in, w.stem, int8(w.inZP), out, p, threads)
		return
	}
	kern := qKernelFor(w.full)
	cg := s.C / s.Groups
	ocg := s.OC / s.Groups
	unpadded := s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	if s.Groups == 1 && s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.C%4 == 0 && unpadded {
		// 1×1 stride 1: a GEMM over all pixels, A read in place
		o := &qOut{out8: out, ldo: s.OC, rq: p}
		qgemmRun(kern, s.N*s.H*s.W, qA{direct: in, lda: s.C}, w.groups[0], o, threads)
		return
	}
	amx := s.Groups == 1 && amxFits(s.N*oh*ow, w.groups[0])
	if amx && s.StrideH == 1 && s.StrideW == 1 && s.DilW == 1 && (s.KW*s.C)%64 == 0 {
		convAMXRows(s, in, w.groups[0], out, p, threads)
		return
	}
	if !amx && s.Groups == 1 && s.DilW == 1 && (s.KW*s.C)%4 == 0 && ow >= kern.mr/2 {
		convDirect(s, in, w.groups[0], out, p, kern, threads)
		return
	}
	if w.c4 != nil && s.DilW == 1 && ow >= kern.mr/2 {
		s4 := s
		s4.C = (s.C + 3) &^ 3
		pixels := s.N * s.H * s.W
		bp := getABuf(pixels * s4.C)
		defer abufPool.Put(bp)
		padChannels4(*bp, in, pixels, s.C, s4.C, int8(w.inZP), threads)
		convDirect(s4, *bp, w.c4, out, p, kern, threads)
		return
	}
	// Padded copy of the input with the zero point in the borders, so the
	// im2col source needs no bounds checks.
	pin, hp, wp, release := padInput(s, in, int8(w.inZP), threads)
	defer release()
	ps := s
	ps.H, ps.W = hp, wp
	ps.PadTop, ps.PadLeft, ps.PadBottom, ps.PadRight = 0, 0, 0, 0
	m := s.N * oh * ow
	for g, gw := range w.groups {
		o := &qOut{out8: out, ldo: s.OC, col0: g * ocg, rq: p}
		qgemmRun(kern, m, qA{src: im2colSource(ps, pin, g*cg, cg)}, gw, o, threads)
	}
}

var padPool = sync.Pool{New: func() any { return new([]int8) }}

// padInput returns the input surrounded by its padding (filled with zp).
// Without padding it returns in itself.
func padInput(s ConvShape, in []int8, zp int8, threads int) ([]int8, int, int, func()) {
	hp, wp := s.H+s.PadTop+s.PadBottom, s.W+s.PadLeft+s.PadRight
	if hp == s.H && wp == s.W {
		return in[:s.N*s.H*s.W*s.C], hp, wp, func() {}
	}
	bp := padPool.Get().(*[]int8)
	if cap(*bp) < s.N*hp*wp*s.C {
		*bp = make([]int8, s.N*hp*wp*s.C)
	}
	buf := (*bp)[:s.N*hp*wp*s.C]
	z := zp
	rowLen := wp * s.C
	parallelFor(s.N*hp, 1, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, y := r/hp, r%hp
			dst := buf[r*rowLen : (r+1)*rowLen]
			iy := y - s.PadTop
			if iy < 0 || iy >= s.H {
				fill(dst, z)
				continue
			}
			fill(dst[:s.PadLeft*s.C], z)
			fill(dst[(s.PadLeft+s.W)*s.C:], z)
			src := in[((n*s.H+iy)*s.W)*s.C : ((n*s.H+iy)*s.W+s.W)*s.C]
			copy(dst[s.PadLeft*s.C:], src)
		}
	})
	return buf, hp, wp, func() { padPool.Put(bp) }
}

// im2colSource is the A source of output pixels (rows) for the channels
// [c0, c0+cg) of an already padded input (s has no padding).
func im2colSource(s ConvShape, in []int8, c0, cg int) qSource {
	oh, ow := s.OutH(), s.OutW()
	k := s.KH * s.KW * cg
	if s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && cg == s.C {
		return copySource(in, s.C, s.C)
	}
	// taps of one kernel row are contiguous in NHWC when cg == C and DilW == 1
	rowRun := cg == s.C && s.DilW == 1
	return func(dst []int8, r0, rows, kp int) {
		for i := 0; i < rows; i++ {
			d := dst[i*kp : (i+1)*kp]
			r := r0 + i
			n, y, x := r/(oh*ow), r/ow%oh, r%ow
			off := 0
			for kh := 0; kh < s.KH; kh++ {
				base := ((n*s.H+y*s.StrideH+kh*s.DilH)*s.W + x*s.StrideW) * s.C
				if rowRun {
					copy(d[off:off+s.KW*cg], in[base:])
					off += s.KW * cg
					continue
				}
				for kw := 0; kw < s.KW; kw++ {
					copy(d[off:off+cg], in[base+kw*s.DilW*s.C+c0:])
					off += cg
				}
			}
			clear(d[k:])
		}
	}
}

// convDirect is the implicit GEMM for Groups == 1, DilW == 1: each thread
// copies the input rows of a band of output rows into a private
// zero-point-padded buffer (sized to stay in L2; int16 for the wide AVX2
// kernel), then a tile of consecutive output pixels of one output row reads,
// for each kernel row kh, KW·C contiguous values per pixel with a pixel stride
// of StrideW·C, and the micro-kernel walks the KH kernel rows itself.
func convDirect(s ConvShape, in []int8, w *QGemmWeights, out []int8, p *rqParams, kern qKernel, threads int) {
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	rowLen := wp * s.C
	span := (s.KH-1)*s.DilH + 1 // padded input rows read by one output row
	esize := 1
	if kern.wide {
		esize = 2
	}
	band := max(1, (256*1024/(rowLen*esize)-span)/s.StrideH+1)
	seg := s.KW * s.C // k per kernel row, a multiple of 4
	lda := s.StrideW * s.C
	sstride := s.DilH * rowLen
	bias := w.bias
	if kern.xor {
		bias = w.biasX
	}
	var w16 []int16
	if kern.wide {
		w16 = w.wide()
	}
	z := int8(w.inZP)
	fuse := kern.fused && p.mode == RequantFloat
	// An unpadded convolution reads its input rows in place: the padded
	// copy is the input itself (a 1×1 stride-2 downsample copied every
	// input row, the odd ones it never reads included).
	inPlace := !kern.wide && s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	// chunks of output rows: about 4 per thread, at most one band; at one
	// thread the band (chunks would only walk the weights more often)
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	if threads <= 1 {
		chunk = band
	}
	// The weights' walk: each output row of a band walks all the panels
	// (its input rows stay in L1), unless the panels do not stay in L2:
	// then the band's rows go inside each panel pair, so the panels are
	// read once per band (layer4 of ResNet-50: 2.4 MB of 3×3 weights read
	// once, not once per output row of the 7×7 map).
	panelsOuter := weightsStream(w)
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		nbuf := ((chunk-1)*s.StrideH + span) * rowLen
		var buf []int8
		var buf16 []int16
		switch {
		case kern.wide:
			bp := getI16(nbuf)
			defer i16Pool.Put(bp)
			buf16 = *bp
		case !inPlace:
			bp := getABuf(nbuf)
			defer abufPool.Put(bp)
			buf = *bp
		}
		var tile [12 * qTileStride]int32
		ep := qEpi{ldo: int64(s.OC), zp: p.zp, lo: float32(p.lo - p.zp), hi: float32(p.hi - p.zp)}
		if fuse {
			ep.mode = 1
		}
		rowTiles := (ow + kern.mr - 1) / kern.mr
		var pf pfPlan // the prefetch of the panels outer walk (a band's tiles per pair)
		if panelsOuter {
			pf = newPFPlan(w, kern.nv, seg/4*s.KH, rowTiles*min(chunk, oh))
		}
		// rowPanels computes output row y of image n (its input rows at
		// band offset pr0) for the panel pair at p0.
		rowPanels := func(band []int8, n, y, y0, pr0, p0 int) {
			r := n*oh + y
			nv := min(kern.nv, w.panels-p0)
			col := p0 * qPanel
			ncols := min(nv*qPanel, w.n-col)
			if fuse {
				ep.scale = &p.scale[col]
				ep.mask = colMasks(ncols)
			}
			for x0, tr, ti := 0, 0, (y-y0)*rowTiles; x0 < ow; x0, ti = x0+tr, ti+1 {
				tr = tileRows(ow-x0, kern.mr)
				o := out[(r*ow+x0)*s.OC+col:]
				ai := (y*s.StrideH-pr0)*rowLen + x0*lda
				if kern.wide {
					kern.runW(buf16[ai:], lda, w16[p0*qPanel*w.kp:], qPanel*w.kp, seg/2, s.KH, sstride, bias[col:], tile[:], tr, nv, false)
					p.tile(tile[:], qTileStride, tr, ncols, o, s.OC, col)
					continue
				}
				if fuse {
					ep.out = &o[0]
				}
				pf.at(&ep, p0*qPanel*w.kp, ti)
				kern.run(band[ai:], lda, w.data[p0*qPanel*w.kp:], qPanel*w.kp, seg/4, s.KH, sstride, bias[col:], tile[:], tr, nv, false, &ep)
				if !fuse {
					p.tile(tile[:], qTileStride, tr, ncols, o, s.OC, col)
				}
			}
		}
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			pr0, pr1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			band := buf
			if inPlace {
				band = in[(n*s.H+pr0)*rowLen : (n*s.H+pr1)*rowLen]
			} else {
				for pr := pr0; pr < pr1; pr++ {
					iy := pr - s.PadTop
					var src []int8
					if iy >= 0 && iy < s.H {
						src = in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
					}
					if kern.wide {
						padRow16(buf16[(pr-pr0)*rowLen:(pr-pr0+1)*rowLen], src, s.PadLeft*s.C, int16(z))
					} else {
						padRow(buf[(pr-pr0)*rowLen:(pr-pr0+1)*rowLen], src, s.PadLeft*s.C, z)
					}
				}
			}
			if panelsOuter {
				for p0 := 0; p0 < w.panels; p0 += kern.nv {
					for y := y0; y < y1; y++ {
						rowPanels(band, n, y, y0, pr0, p0)
					}
				}
				return
			}
			for y := y0; y < y1; y++ {
				for p0 := 0; p0 < w.panels; p0 += kern.nv {
					rowPanels(band, n, y, y0, pr0, p0)
				}
			}
		})
	})
}

// padRow writes one padded input row: z, then src at offset left, then z
// (all z when src is nil).
func padRow(dst, src []int8, left int, z int8) {
	if src == nil {
		fill(dst, z)
		return
	}
	fill(dst[:left], z)
	copy(dst[left:], src)
	fill(dst[left+len(src):], z)
}

// padRow16 is padRow into int16 (sign-extended).
func padRow16(dst []int16, src []int8, left int, z int16) {
	if src == nil {
		for i := range dst {
			dst[i] = z
		}
		return
	}
	for i := 0; i < left; i++ {
		dst[i] = z
	}
	widen(dst[left:left+len(src)], src)
	for i := left + len(src); i < len(dst); i++ {
		dst[i] = z
	}
}

// fill sets every byte of b to v (a byte loop is an order of magnitude slower
// than memmove for the padding rows of the convolutions: copy doubling).
func fill(b []int8, v int8) {
	if v == 0 {
		clear(b)
		return
	}
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

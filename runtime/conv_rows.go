package runtime

// Channels-last execution of float32 convolution chains. The NCHW executor's
// convolutions are GEMMs over im2col panels with the output pixels as the vector
// lanes; that costs a packing pass per layer and wastes lanes on small maps
// (7x7 = 49 pixels fill four 16-lane panels). Between convolutions (and the
// MaxPool and GlobalAveragePool around them) the session instead keeps tensors
// channels-last, NHWC, and runs each convolution as kernels.SgemmRows: output
// channels are the lanes, every input pixel is read in place, the weights are
// packed once, and the bias, residual and clamp are applied as each tile is
// stored. This is what ONNX Runtime's NCHWc transformer does for the same reason.
//
// A channels-last tensor is internal: it is never a graph output, a tap or an
// input of any other operator (the layout pass guarantees it), and its shape is
// [N, H, W, S] where S is the pixel stride: C, plus 16 when C is a multiple of
// 512, so that the six pixels a micro-kernel tile reads do not all fall in the
// same L1 cache sets (that doubled the speed of the 1024-channel layers in a
// one-off measurement).

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// pixelStride is the stored channel stride of a channels-last tensor of c
// channels. Above 16 channels it is a multiple of 16, the GEMM's narrowest
// panel, so that a convolution writing 24 or 40 channels stores whole panels
// in place (the padding channels are zero or unused) instead of running every
// tile of its last panel through a scratch tile and a copy: that path ran the
// 24-channel 1x1 layers of MobileNetV2 at half the speed of the others.
func pixelStride(c int) int {
	switch {
	case c%512 == 0:
		return c + 16
	case c > 16 && c%16 != 0:
		return (c + 15) / 16 * 16
	}
	return c
}

// rowsConvKernel is a Conv (with the fused residual Add and Relu/Clip of a
// fusedConvKernel, if any) whose input and/or output are channels-last.
type rowsConvKernel struct {
	conv     *convKernel
	nConvIn  int
	residual bool // input nConvIn is the residual, in the output's layout
	rowsEpilogue
	inNHWC  bool
	outNHWC bool
	c, m    int // input and output channels
	kh, kw  int
	pb      *kernels.RowsB // weights as [kh][kw][c] × m
	bias    []float32
	identK  []int32 // 0..kh*kw*c-1: the offsets of an im2col
	ident   []int32 // its first c: the offsets of a pointwise convolution
	// view places the output in a Concat's buffer (concat_view.go): m
	// channels at an offset, at the buffer's pixel stride.
	view *outView
	// narrow runs the convolution on the indexed path (conv_dense_idx.go).
	narrow *narrowIdx
	// mixed is the weights again in parts of wider panels where pb has
	// 16-wide ones (conv_rows_mixed.go): gemm runs them instead of pb.
	mixed []rowsPart
	// p16 is pb in 16-wide panels for channel blocks narrower than its own
	// panels (blockB), made on first use and shared by the kernel's copies.
	p16 *panels16
	// split is a detection head's Reshape → Transpose (→ Sigmoid) fused
	// into the convolution (layout_head.go): the output is [N, A, H, W, K].
	split *headSplitKernel
}

type panels16 struct {
	once sync.Once
	pb   *kernels.RowsB
}

// blockB returns the weights in panels that blocks of bw output channels,
// starting at multiples of bw, cut whole (kernels.RowsB.Panels): pb when
// its panel width divides bw, else its 16-wide repacking. Both give every
// output the same arithmetic.
func (k *rowsConvKernel) blockB(bw int) *kernels.RowsB {
	if bw%k.pb.PanelWidth() == 0 {
		return k.pb
	}
	if k.p16 == nil {
		return k.pb.Panels16()
	}
	k.p16.once.Do(func() { k.p16.pb = k.pb.Panels16() })
	return k.p16.pb
}

// setView makes the kernel write its output at v. The weights are packed
// again without padding columns: the GEMM must store only the m channels,
// the next ones belong to another input of the Concat.
func (k *rowsConvKernel) setView(v *outView) {
	k.view = v
	if pixelStride(k.m) != k.m {
		u := packRowsConvKernel(k.conv, nil, k.inNHWC, false, false)
		k.pb, k.bias, k.p16, k.mixed = u.pb, u.bias, u.p16, u.mixed
	}
}

func newRowsConvKernel(ck *convKernel, fk *fusedConvKernel, inNHWC, outNHWC bool) *rowsConvKernel {
	return packRowsConvKernel(ck, fk, inNHWC, outNHWC, !outNHWC)
}

// packRowsConvKernel is newRowsConvKernel; padNCHW rounds the columns of an
// NCHW output up to whole 16-wide panels (see below), which an output into
// a Concat's buffer (setView, packed as if NCHW: no padding) must not have.
func packRowsConvKernel(ck *convKernel, fk *fusedConvKernel, inNHWC, outNHWC, padNCHW bool) *rowsConvKernel {
	w := ck.wConst
	m, c, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	k := &rowsConvKernel{conv: ck, nConvIn: len(ck.node.Inputs), inNHWC: inNHWC, outNHWC: outNHWC, c: c, m: m, kh: kh, kw: kw, narrow: &narrowIdx{}, p16: &panels16{}}
	if fk != nil {
		k.nConvIn = fk.nConvIn
		k.residual = fk.add != nil
		k.clip, k.lo, k.hi = fk.act != nil, fk.lo, fk.hi
		k.post = fk.post
	}
	// Reorder OIHW to [(ki, kj, ci)][o]: the reduction order of the NHWC offsets.
	kdim := kh * kw * c
	wt := make([]float32, kdim*m)
	wd := w.F32()
	for o := 0; o < m; o++ {
		for ci := 0; ci < c; ci++ {
			for t := 0; t < kh*kw; t++ {
				wt[(t*c+ci)*m+o] = wd[(o*c+ci)*kh*kw+t]
			}
		}
	}
	// A channels-last output of a stride rounded up to whole panels is
	// computed over the whole stride: zero weights and bias in the padding.
	np := m
	if so := pixelStride(m); outNHWC && so > m && so < m+16 {
		np = so
	}
	// An NCHW output is computed channels-last and transposed: its stride
	// there is free, so a width no panel divides (YOLO's 255-channel Detect
	// heads, 3·85) is rounded up to whole 16-wide panels, and then takes
	// the wide panels of PackRowsB (255 → 256: four 64-wide panels instead
	// of fifteen 6x16 tiles and a partial panel through scratch; fourteenth
	// session, BenchmarkDenseConvMaps).
	if padNCHW && m > 16 && m%16 != 0 {
		np = (m + 15) / 16 * 16
	}
	if np != m {
		wp := make([]float32, kdim*np)
		for r := 0; r < kdim; r++ {
			copy(wp[r*np:r*np+m], wt[r*m:(r+1)*m])
		}
		wt = wp
	}
	// The indexed path (conv_dense_idx.go) runs every panel width.
	k.pb = kernels.PackRowsB(kdim, np, wt, np)
	if kh*kw == 1 && k.pb.NR() == 16 {
		k.mixed = packMixed(kdim, np, wt)
	}
	// The NCHW packing of the same weights is no longer used: drop it.
	ck.packed = nil
	if ck.bConst != nil {
		k.bias = ck.bConst.F32()
		if np != m {
			k.bias = append(append(make([]float32, 0, np), k.bias...), make([]float32, np-m)...)
		}
	}
	k.identK = make([]int32, kdim)
	for i := range k.identK {
		k.identK[i] = int32(i)
	}
	k.ident = k.identK[:c]
	return k
}

func (k *rowsConvKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	return k.run(ctx, in, nil)
}

// run is Run; sb, when not nil, is a per-sample bias added to the output
// (conv_rows_bias.go): each image is then computed on its own with the bias
// and that image's sb in one bias vector.
func (k *rowsConvKernel) run(ctx *ExecContext, in []*graph.Tensor, sb *graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nConvIn || k.residual && len(in) <= k.nConvIn {
		return nil, fmt.Errorf("channels-last Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if w != k.conv.wConst || b != k.conv.bConst || x == nil || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, fmt.Errorf("channels-last Conv: inputs are not the planned ones")
	}
	n, h, wd, sx, err := convInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, err
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, h, wd}}
	geom, outShape, err := k.conv.shapes(hdr, w, b, 1, false)
	if err != nil {
		return nil, err
	}
	oh, ow := outShape[2], outShape[3]
	so, yo := pixelStride(k.m), 0
	if !k.outNHWC {
		so = k.pb.N()
	}
	if k.view != nil {
		so, yo = k.view.g.stride, k.view.off
	}
	if n*oh*ow == 0 {
		return emptyConvOutput(k.outNHWC, n, oh, ow, so, outShape), nil
	}
	var res []float32
	if k.residual {
		if res, err = residualInput(in[k.nConvIn], k.outNHWC, outShape, n, oh, ow, so); err != nil {
			return nil, err
		}
	}
	var biases []float32
	if sb != nil {
		if biases, err = sampleBiases(sb, n, k.m, k.bias, k.pb.N()); err != nil {
			return nil, err
		}
	}
	p := k.conv.plan([]int{h, wd}, geom)
	if p.pointwise && k.inNHWC && !k.outNHWC && k.view == nil && sb == nil {
		return k.pointwiseNCHW(ctx, x.F32(), sx, n, oh*ow, so, outShape, res), nil
	}
	if k.split != nil && p.pointwise && k.inNHWC && res == nil && k.view == nil && sb == nil {
		return k.pointwiseSplit(ctx, x.F32(), sx, n, oh, ow, so), nil // layout_head.go
	}
	var ynh []float32
	if k.residualInPlace(ctx, p, res, n*oh*ow*so) {
		ynh = res // residual_inplace.go
	} else if k.view != nil {
		if ynh, err = ctx.viewBuffer(k.view.g, n*oh*ow*so); err != nil {
			return nil, err
		}
	} else {
		var release func()
		ynh, release = channelsLastScratch(ctx, k.outNHWC && k.split == nil, n*oh*ow*so)
		defer release()
	}
	// In NHWC the residual is applied by the GEMM; an NCHW one after the
	// transposition.
	gemmRes := res
	if !k.outNHWC {
		gemmRes = nil
	}
	resLater := res != nil && gemmRes == nil
	if biases == nil {
		if err := k.compute(ctx, x.F32(), h, wd, sx, p, n, oh, ow, so, yo, ynh, res, gemmRes, resLater); err != nil {
			return nil, err
		}
	} else {
		// One image at a time, each with its own bias vector: every path
		// of compute applies it as it applies the per-channel bias.
		isz, osz, np := h*wd*k.c, oh*ow*so, k.pb.N()
		if k.inNHWC {
			isz = h * wd * sx
		}
		for img := 0; img < n; img++ {
			ki := *k
			ki.bias = biases[img*np : (img+1)*np]
			if err := ki.compute(ctx, x.F32()[img*isz:(img+1)*isz], h, wd, sx, p, 1, oh, ow, so, yo, ynh[img*osz:(img+1)*osz], nil, nil, false); err != nil {
				return nil, err
			}
		}
	}
	if k.split != nil && k.outNHWC {
		y := ctx.AllocF32(n * k.m * oh * ow)
		for img := 0; img < n; img++ {
			k.split.splitNHWC(ynh[img*oh*ow*so:], so, y, img, oh*ow, 0, oh*ow, ctx.Threads)
		}
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, k.split.a, oh, ow, k.split.k}, Data: y}}, nil
	}
	if k.outNHWC {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: ynh}}, nil
	}
	// An NCHW consumer: transpose (and add an NCHW residual).
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	for img := 0; img < n; img++ {
		k.toNCHW(ynh[img*oh*ow*so:], so, y.F32(), res, img, 0, oh*ow, oh*ow, ctx.Threads)
	}
	return []*graph.Tensor{y}, nil
}

// compute runs the convolution of the n images of xd (NCHW, or channels-last
// at pixel stride sx) into ynh (channels-last at pixel stride so, each
// image's output yo floats in), with the residual gemmRes in the GEMM (res
// is the residual whatever its layout; resLater: it is added afterwards).
func (k *rowsConvKernel) compute(ctx *ExecContext, xd []float32, h, wd, sx int, p *convPlan, n, oh, ow, so, yo int, ynh, res, gemmRes []float32, resLater bool) error {
	if p.pointwise && k.inNHWC {
		// The input pixels are the rows: one GEMM over the whole batch.
		k.gemm(xd, sx, k.ident, n*h*wd, ynh[yo:], so, gemmRes, resLater, ctx.Threads)
	} else if !k.runNarrow(ctx, xd, h, wd, sx, p, n, so, yo, ynh, gemmRes, resLater) {
		rp := newRowsPlan(p, k.c, k.kh, k.kw)
		if rp == nil {
			return fmt.Errorf("convolution too large for 32-bit offsets")
		}
		buf := getF32(rp.size)
		defer putF32(buf)
		// Small maps waste a large share of rows on the padding columns (7x7 in
		// 9-pixel rows: 22 %): there the taps are gathered per output pixel
		// (an NHWC im2col, small at that size) instead.
		kdim := len(k.identK)
		im2col := rp.ppw != ow && (rp.ppw-ow)*100 > 15*rp.ppw && oh*ow*kdim <= 1<<20
		var colBuf *[]float32
		if im2col {
			colBuf = getF32((oh*ow + 5) / 6 * 6 * kdim)
			defer putF32(colBuf)
		}
		cbuf := rp.ppw != ow && !im2col
		isz := h * wd * k.c
		if k.inNHWC {
			isz = h * wd * sx
		}
		osz := oh * ow * so
		for img := 0; img < n; img++ {
			rp.fill(p, xd[img*isz:(img+1)*isz], k.inNHWC, sx, *buf, ctx.Threads)
			yi := ynh[img*osz+yo : (img+1)*osz]
			var ri []float32
			if gemmRes != nil {
				ri = gemmRes[img*osz : (img+1)*osz]
			}
			if im2col {
				col := *colBuf
				rp.gather(*buf, col, oh, ow, ctx.Threads)
				k.gemm(col, kdim, k.identK, oh*ow, yi, so, ri, resLater, ctx.Threads)
				continue
			}
			if !cbuf {
				k.gemm(*buf, rp.sb, rp.off, rp.q, yi, so, ri, resLater, ctx.Threads)
				continue
			}
			// Output rows carry ppw-ow padding pixels: computed, then dropped.
			k.bandedGEMM(rp, *buf, yi, ri, res != nil, oh, ow, so, ctx.Threads)
		}
	}
	return nil
}

// convBandRows is the number of padded output rows (ppw pixels of stride
// so, oh of them) computed at a time when the GEMM's rows are wider than the
// output's (ppw > ow): they are computed into a buffer that stays in L2 and
// copied out at once, instead of a whole image's worth going to memory and
// back (the stride-2 stems: 1.6 MB). A band is an eighth of L2 (128 KB on
// the 1 MB L2 this was measured on); but each band runs the whole GEMM and
// reads all the weights again, so an image whose rows fit half of L2 is one
// band (a 14x14 layer with 1.8 MB of weights ran three bands of six rows).
func convBandRows(oh, ppw, so int) int {
	row := ppw * so * 4
	l2 := kernels.L2Bytes()
	if oh*row <= l2/2 {
		return max(1, oh)
	}
	return max(1, min(oh, l2/8/row))
}

// bandedGEMM runs the GEMM of one laid-out image (buf) band of output rows by
// band into scratch rows of ppw pixels and copies the first ow pixels of each
// to y. The channels-last residual ri (same layout as y) is first copied to
// the band's layout so that the GEMM adds it and applies the clamp and the
// activation as it stores each tile (added in Go after the GEMM, element by
// element, it cost a third as much as the GEMM of a 56x56x64 3x3 layer of
// ResNet-18). Without ri, resLater means an NCHW residual is still to come:
// the clamp waits for it. Bands run in parallel when there are enough of
// them, else one after the other on a parallel GEMM.
func (k *rowsConvKernel) bandedGEMM(rp *rowsPlan, buf []float32, y, ri []float32, resLater bool, oh, ow, so, threads int) {
	bh := convBandRows(oh, rp.ppw, so)
	bands := (oh + bh - 1) / bh
	if ri != nil {
		resLater = false
	}
	run := func(b int, cb, rb []float32, th int) {
		y0, y1 := b*bh, min(oh, (b+1)*bh)
		var res []float32
		if ri != nil {
			res = rb
			for r := y0; r < y1; r++ {
				copy(rb[(r-y0)*rp.ppw*so:((r-y0)*rp.ppw+ow)*so], ri[r*ow*so:(r+1)*ow*so])
			}
		}
		k.gemm(buf[y0*rp.ppw*rp.sb:], rp.sb, rp.off, (y1-y0)*rp.ppw, cb, so, res, resLater, th)
		if k.view != nil {
			storeBandCols(y, cb, y0, y1, ow, rp.ppw, so, k.m)
		} else {
			k.storeBand(y, cb, nil, y0, y1, ow, rp.ppw, so)
		}
	}
	// band returns the scratch of one band of output rows (its residual
	// too, when there is one) and its release.
	band := func() (cb, rb []float32, release func()) {
		n := min(bh, oh) * rp.ppw * so
		c := getF32(n)
		if ri == nil {
			return *c, nil, func() { putF32(c) }
		}
		r := getF32(n)
		return *c, *r, func() { putF32(c); putF32(r) }
	}
	if threads <= 1 || bands < 4*threads {
		cb, rb, release := band()
		defer release()
		for b := 0; b < bands; b++ {
			run(b, cb, rb, threads)
		}
		return
	}
	// Bands in contiguous shares, the first to the caller (kernels.ParallelChunks):
	// a thread's bands are its rows of the neighbouring layers.
	kernels.ParallelChunks(bands, 1, threads, func(next func() (int, int, bool)) {
		cb, rb, release := band()
		defer release()
		for b, _, ok := next(); ok; b, _, ok = next() {
			run(b, cb, rb, 1)
		}
	})
}

// rowsEpilogue is what a channels-last convolution applies after its GEMM
// and residual: the fused Relu/Clip as a clamp, then an activation
// (fuse_act.go).
type rowsEpilogue struct {
	clip   bool
	lo, hi float32
	post   kernels.Act
}

func (e *rowsEpilogue) clamp(v float32) float32 {
	if e.clip {
		if e.lo > v {
			v = e.lo
		}
		if e.hi < v {
			v = e.hi
		}
	}
	return v
}

// storeBand copies output rows [y0, y1) of a band computed ppw pixels per row
// (cb) to y, ow pixels per row at pixel stride so; with a residual ri (same
// layout as y) it adds it and applies the clamp and the activation, which the
// GEMM left for later.
func (e *rowsEpilogue) storeBand(y, cb, ri []float32, y0, y1, ow, ppw, so int) {
	for r := y0; r < y1; r++ {
		dst := y[r*ow*so : (r+1)*ow*so]
		src := cb[(r-y0)*ppw*so : ((r-y0)*ppw+ow)*so]
		if ri == nil {
			copy(dst, src)
			continue
		}
		rr := ri[r*ow*so : (r+1)*ow*so]
		for j, v := range src {
			dst[j] = e.clamp(v + rr[j])
		}
		kernels.ActF32(e.post, dst, dst)
	}
}

// storeBandCols is storeBand without a residual for an output in a wider
// buffer (a Concat's, concat_view.go): only the first m channels of each
// pixel are the convolution's, the rest of the stride so another input's.
func storeBandCols(y, cb []float32, y0, y1, ow, ppw, so, m int) {
	m16 := m &^ 15
	for r := y0; r < y1; r++ {
		for p := 0; p < ow; p++ {
			q := (r*ow + p) * so
			s := ((r-y0)*ppw + p) * so
			// Whole 16-channel blocks as array moves: a copy call per
			// pixel of DenseNet's 32 channels cost more than the data.
			dst, src := y[q:q+m], cb[s:s+m]
			for c := 0; c < m16; c += 16 {
				*(*[16]float32)(dst[c:]) = *(*[16]float32)(src[c:])
			}
			copy(dst[m16:], src[m16:])
		}
	}
}

// gemm runs the convolution's GEMM with its bias into c (row stride ldc), then
// the residual res (nil for none) and, unless a residual is still to come
// (resLater), the clamp.
func (k *rowsConvKernel) gemm(x []float32, lda int, off []int32, rows int, c []float32, ldc int, res []float32, resLater bool, threads int) {
	if k.mixed != nil {
		k.gemmParts(x, lda, off, rows, c, ldc, res, resLater, threads)
		return
	}
	post := k.post
	if resLater {
		post = kernels.ActNone
	}
	kernels.SgemmRowsAct(k.pb, x, lda, off, rows, k.bias, c, ldc, res, k.clip && !resLater, k.lo, k.hi, post, threads)
}

// rowsPlan lays one image out for SgemmRows: channels-last, zero-padded, split
// into stride phases (only the phases some tap reads), so that kernel tap
// (ki, kj) of output pixel q = oy*ppw + ox is pixel q plus a constant of one
// phase plane. Output rows are ppw pixels wide; the last ppw-ow are dropped.
type rowsPlan struct {
	sh, sw   int
	slot     []int // per phase (a*sw + b), its plane, or -1
	nph      int
	pph, ppw int
	c        int     // channels
	sb       int     // channel stride of the buffer
	q        int     // GEMM rows: oh*ppw
	off      []int32 // per reduction step (ki, kj, ci)
	planes   int     // floats of the phase planes
	size     int     // buffer floats, with room for the last row tile
}

func newRowsPlan(p *convPlan, c, kh, kw int) *rowsPlan {
	oh, ow := p.out[0], p.out[1]
	rp := &rowsPlan{sh: p.s[0], sw: p.s[1], c: c, sb: pixelStride(c)}
	pih := (oh-1)*p.s[0] + (kh-1)*p.d[0] + 1
	piw := (ow-1)*p.s[1] + (kw-1)*p.d[1] + 1
	rp.pph, rp.ppw = (pih+rp.sh-1)/rp.sh, (piw+rp.sw-1)/rp.sw
	rp.slot, rp.nph = phaseSlots(p, kh, kw)
	pp := rp.pph * rp.ppw * rp.sb
	rp.planes = rp.nph * pp
	rp.q = oh * rp.ppw
	rp.off = make([]int32, kh*kw*c)
	maxOff := 0
	for ki := 0; ki < kh; ki++ {
		ry := ki * p.d[0]
		for kj := 0; kj < kw; kj++ {
			rx := kj * p.d[1]
			o := rp.slot[(ry%rp.sh)*rp.sw+rx%rp.sw]*pp + (ry/rp.sh*rp.ppw+rx/rp.sw)*rp.sb
			for ci := 0; ci < c; ci++ {
				rp.off[(ki*kw+kj)*c+ci] = int32(o + ci)
			}
			maxOff = max(maxOff, o+c-1)
		}
	}
	// Whole row tiles of six read up to five rows past q.
	rp.size = max(rp.planes, ((rp.q+5)/6*6-1)*rp.sb+maxOff+1)
	if rp.size > math.MaxInt32 {
		return nil
	}
	return rp
}

// slotPhase is the (row, column) phase whose plane fill writes to slot s.
func (rp *rowsPlan) slotPhase(s int) (a, b int) {
	for ph, sl := range rp.slot {
		if sl == s {
			a, b = ph/rp.sw, ph%rp.sw
		}
	}
	return a, b
}

// phaseRow places row i of the padded plane of phase (a, b): the input row y
// it reads and the plane columns [jlo, jhi) that fall inside the input (the
// rest is padding); ok is false when the whole row is padding.
func (rp *rowsPlan) phaseRow(i, a, b, top, left, ih, iw int) (y, jlo, jhi int, ok bool) {
	y = i*rp.sh + a - top
	jlo = max(0, ceilDiv(left-b, rp.sw))
	jhi = min(rp.ppw, max(jlo, ceilDiv(iw+left-b, rp.sw)))
	return y, jlo, jhi, y >= 0 && y < ih && jlo < jhi
}

// fill lays one image x out in buf: x is NCHW (c planes) or, with nhwc, pixels
// of stride sx.
func (rp *rowsPlan) fill(p *convPlan, x []float32, nhwc bool, sx int, buf []float32, threads int) {
	ih, iw := p.in[0], p.in[1]
	top, left := p.pb[0], p.pb[1]
	c := rp.c
	pp := rp.pph * rp.ppw * rp.sb
	rows := rp.nph * rp.pph
	nnParallel(min(threads, max(1, rp.planes/parallelMinWork)), rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s, i := r/rp.pph, r%rp.pph
			a, b := rp.slotPhase(s)
			row := buf[s*pp+i*rp.ppw*rp.sb : s*pp+(i+1)*rp.ppw*rp.sb]
			y, jlo, jhi, ok := rp.phaseRow(i, a, b, top, left, ih, iw)
			if !ok {
				clear(row)
				continue
			}
			clear(row[:jlo*rp.sb])
			clear(row[jhi*rp.sb:])
			switch {
			case nhwc && rp.sw == 1 && sx == rp.sb:
				copy(row[jlo*rp.sb:jhi*rp.sb], x[(y*iw+jlo+b-left)*sx:])
			case nhwc:
				for j := jlo; j < jhi; j++ {
					copy(row[j*rp.sb:j*rp.sb+c], x[(y*iw+j*rp.sw+b-left)*sx:])
				}
			default:
				fillNCHWRow(row[jlo*rp.sb:jhi*rp.sb], x, c, ih*iw, y*iw+jlo*rp.sw+b-left, rp.sb, rp.sw)
			}
		}
	})
	clear(buf[rp.planes:rp.size])
}

// gather writes the im2col of one laid-out image: row y*ow+x holds, tap after
// tap, the c channels that output pixel (y, x) reads; the rows after the last
// pixel, up to a whole row tile, are zero.
func (rp *rowsPlan) gather(buf, col []float32, oh, ow, threads int) {
	c := rp.c
	taps := len(rp.off) / c
	kdim := taps * c
	nnParallel(min(threads, max(1, oh*ow*kdim/parallelMinWork)), oh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			for x := 0; x < ow; x++ {
				row := col[(y*ow+x)*kdim : (y*ow+x+1)*kdim]
				q := (y*rp.ppw + x) * rp.sb
				for t := 0; t < taps; t++ {
					o := int(rp.off[t*c]) + q
					copy(row[t*c:(t+1)*c], buf[o:o+c])
				}
			}
		}
	})
	clear(col[oh*ow*kdim:])
}

// emptyConvOutput is the output of a convolution over no pixels: channels-last
// at pixel stride so, or NCHW with outShape.
func emptyConvOutput(outNHWC bool, n, oh, ow, so int, outShape []int) []*graph.Tensor {
	if outNHWC {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: []float32{}}}
	}
	return []*graph.Tensor{graph.NewTensor(graph.Float32, outShape)}
}

// channelsLastScratch is where a convolution computes its channels-last
// output of size elements: the run's arena when that is the output, else a
// pooled buffer the caller releases.
func channelsLastScratch(ctx *ExecContext, outNHWC bool, size int) (y []float32, release func()) {
	if outNHWC {
		return ctx.AllocF32(size), func() {}
	}
	tmp := getF32(size)
	return *tmp, func() { putF32(tmp) }
}

// residualInput checks the residual operand r of a fused convolution against
// the output it is added to: outShape in NCHW, [n, oh, ow, so] channels-last.
func residualInput(r *graph.Tensor, outNHWC bool, outShape []int, n, oh, ow, so int) ([]float32, error) {
	want := outShape
	if outNHWC {
		want = []int{n, oh, ow, so}
	}
	if r == nil {
		return nil, fmt.Errorf("missing residual input")
	}
	if r.DType != graph.Float32 || !slices.Equal(r.Shape, want) {
		return nil, fmt.Errorf("residual %s %v does not match the output %v", r.DType, r.Shape, want)
	}
	return r.F32(), nil
}

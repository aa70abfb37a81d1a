package runtime

// Channels-last grouped convolutions (RegNet, ResNeXt: groups of 4 to 64
// channels). The NCHW executor runs them as one im2col + GEMM per group with
// the output pixels as the lanes, and its NCHW output cut the channels-last
// chain around them in two (a transposition on each side). Here they run on
// the rows layout of conv_rows.go: the input is laid out once, zero-padded and
// split into stride phases, and every block of groups is one kernels.SgemmRows
// call whose offsets select that block's input channels and whose output
// columns are that block's channels of the NHWC output (row stride: the whole
// pixel).
//
// The output channels are the GEMM's vector lanes, 16 per panel: a group of 4
// or 8 output channels alone would fill a quarter or half of each panel and
// run through the kernel's scratch-tile path. Consecutive groups are therefore
// merged into blocks of f groups (f·mg a multiple of 16) whose weights are
// block-diagonal: the zeros cost f times the multiplies of the group alone,
// which the f times wider lanes pay back, and every store is a whole panel.
// The last block may hold fewer groups; its panel is padded into the pixel
// stride (pixelStride rounds it up to whole panels).

import (
	"fmt"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// groupedWeights returns the constant weights and bias of a grouped (not
// depthwise) 2-D Conv step that can run channels-last, or nil.
func (s *Session) groupedWeights(st step, ck *convKernel) (w, b *graph.Tensor) {
	if ck.group <= 1 || len(st.in) < 2 || st.in[1] < 0 {
		return nil, nil
	}
	w = s.consts[st.in[1]]
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != 4 || w.Shape[0]%ck.group != 0 ||
		graph.NumElements(w.Shape) == 0 || checkTensor("input W", w) != nil {
		return nil, nil
	}
	if len(st.in) > 2 && len(ck.node.Inputs) > 2 && ck.node.Inputs[2] != "" {
		if st.in[2] < 0 {
			return nil, nil
		}
		b = s.consts[st.in[2]]
		if b == nil || b.DType != graph.Float32 || len(b.Shape) != 1 || b.Shape[0] != w.Shape[0] || checkTensor("input B", b) != nil {
			return nil, nil
		}
	}
	x := s.model.Graph.Values[s.nameOf(st.in[0])]
	if x == nil || !x.HasShape || len(x.Shape) != 4 || x.DType != graph.Float32 || x.Shape[1].Size != w.Shape[1]*ck.group {
		return nil, nil
	}
	if x.Shape[1].Size == ck.group && w.Shape[1] == 1 {
		return nil, nil // depthwise: conv_depthwise.go
	}
	return w, b
}

// groupBlock is one kernels.SgemmRows call of a grouped convolution: output
// channels [o0, o0+pb.N()) from input channels [c0, c0+cn).
type groupBlock struct {
	o0, c0, cn int
	pb         *kernels.RowsB
	bias       []float32
	// pair: two blocks of 16 outputs on kernels.SgemmRowsIdxPair, the
	// second's input channels dc on (conv_grouped_pair.go).
	pair bool
	dc   int
	// red > 0: a block of the reduced tiles, red input channels a step,
	// weights rw instead of pb (conv_grouped_red.go); dc is then the
	// channel shift between its groups.
	red int
	rw  *kernels.RowsRed
}

// groupedRowsKernel is a grouped Conv (with the fused residual Add, clamp and
// activation of a fusedConvKernel, if any) on the rows layout.
type groupedRowsKernel struct {
	conv     *convKernel
	nConvIn  int
	w, b     *graph.Tensor
	residual bool // input nConvIn is the residual, in the output's layout
	rowsEpilogue
	inNHWC, outNHWC bool
	c, m, groups    int
	kh, kw          int
	blocks          []groupBlock
	idx             bool // blocks run on kernels.SgemmRowsIdx (conv_grouped_idx.go)
	spread          int  // > 0: one group per block into a scratch of this pixel stride (conv_grouped_spread.go)
	plan            atomic.Pointer[groupedIdxPlan]
}

// idxConv returns the indexed path's view of k.
func (k *groupedRowsKernel) idxConv() *idxConv {
	return &idxConv{kh: k.kh, kw: k.kw, c: k.c, inNHWC: k.inNHWC, blocks: k.blocks, ep: &k.rowsEpilogue, plan: &k.plan}
}

// groupMerge is the number of consecutive groups of mg output channels that
// one GEMM block computes: the fewest whose channels fill whole 16-lane panels.
func groupMerge(mg, groups int) int {
	f := 1
	for f < groups && (f*mg)%16 != 0 {
		f++
	}
	return f
}

func newGroupedRowsKernel(ck *convKernel, fk *fusedConvKernel, w, b *graph.Tensor, nConvIn int, inNHWC, outNHWC bool) *groupedRowsKernel {
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	groups := ck.group
	k := &groupedRowsKernel{conv: ck, nConvIn: nConvIn, w: w, b: b, inNHWC: inNHWC, outNHWC: outNHWC,
		c: cg * groups, m: m, groups: groups, kh: kh, kw: kw}
	if fk != nil {
		k.residual = fk.add != nil
		k.clip, k.lo, k.hi = fk.act != nil, fk.lo, fk.hi
		k.post = fk.post
	}
	mg := m / groups
	if blocks := redBlocks(w, b, groups); blocks != nil {
		k.idx, k.blocks = true, blocks
		return k
	}
	if spreadGroups(mg, groups, cg*kh*kw) {
		k.idx = true
		k.blocks, k.spread = spreadBlocks(w, b, groups)
		return k
	}
	f := groupMerge(mg, groups)
	so := pixelStride(m)
	// The indexed row tiles write whole 16-lane panels: every block's panel
	// is one when the pixel stride is a multiple of 16 (all but outputs of
	// fewer than 16 channels).
	k.idx = so%16 == 0
	wd := w.F32()
	taps := kh * kw
	var wts [][]float32
	for g0 := 0; g0 < groups; g0 += f {
		nf := min(f, groups-g0)
		o0, c0, cn, n := g0*mg, g0*cg, nf*cg, nf*mg
		// The last block's panel reaches into the stride's padding channels.
		np := min((n+15)/16*16, so-o0)
		kdim := taps * cn
		// [(tap, ci)][o]: the reduction order of the rows offsets, zero
		// across groups.
		wt := make([]float32, kdim*np)
		for o := 0; o < n; o++ {
			gi := o / mg // group within the block
			for ci := 0; ci < cg; ci++ {
				for t := 0; t < taps; t++ {
					wt[(t*cn+gi*cg+ci)*np+o] = wd[((o0+o)*cg+ci)*taps+t]
				}
			}
		}
		blk := groupBlock{o0: o0, c0: c0, cn: cn}
		// The indexed tiles take PackRowsB's panels too where they are
		// whole (np is a multiple of 16): 32-, 48- and 64-wide on AVX-512,
		// one broadcast of the input feeding two to four FMAs instead of
		// one (groups of 32, 48 or 64 channels, and merged blocks of 32 or
		// 48 columns: fourteenth session).
		blk.pb = kernels.PackRowsB(kdim, np, wt, np)
		blk.bias = make([]float32, np)
		if b != nil {
			copy(blk.bias, b.F32()[o0:o0+n])
		}
		k.blocks = append(k.blocks, blk)
		wts = append(wts, wt)
	}
	if k.idx {
		k.blocks = pairBlocks(k.blocks, wts)
	}
	return k
}

func (k *groupedRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nConvIn || k.residual && len(in) <= k.nConvIn {
		return nil, fmt.Errorf("channels-last grouped Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if w != k.w || b != k.b || x == nil || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, fmt.Errorf("channels-last grouped Conv: inputs are not the planned ones")
	}
	n, h, wd, sx, err := convInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, err
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, h, wd}}
	geom, outShape, err := convShapes(k.conv.node, hdr, w, b, k.groups, false)
	if err != nil {
		return nil, err
	}
	if len(geom.Kernel) != 2 {
		return nil, fmt.Errorf("channels-last grouped Conv: %d spatial axes, want 2", len(geom.Kernel))
	}
	oh, ow := outShape[2], outShape[3]
	// The output is computed channels-last at the padded stride whatever its
	// final layout: the last block writes whole panels.
	so := pixelStride(k.m)
	if n*oh*ow == 0 {
		return emptyConvOutput(k.outNHWC, n, oh, ow, so, outShape), nil
	}
	var res []float32
	if k.residual {
		if res, err = residualInput(in[k.nConvIn], k.outNHWC, outShape, n, oh, ow, so); err != nil {
			return nil, err
		}
	}
	ynh, release := channelsLastScratch(ctx, k.outNHWC, n*oh*ow*so)
	defer release()
	p := newConvPlan([]int{h, wd}, geom)
	if k.spread > 0 {
		sc := ctx.AllocF32(n * oh * ow * k.spread)
		if !k.idxConv().runIdx(ctx, x.F32(), isz(k, h, wd, sx), h, wd, sx, p, n, k.spread, 0, sc, nil, true) {
			return nil, fmt.Errorf("convolution too large for 32-bit offsets")
		}
		var r []float32
		if k.outNHWC {
			r = res
		}
		k.gatherSpread(sc, k.spread, ynh, so, r, n*oh*ow, k.outNHWC || res == nil, ctx.Threads)
		return k.finish(ctx, ynh, res, n, oh, ow, so, outShape)
	}
	if k.idx {
		var gemmRes []float32
		if k.outNHWC {
			gemmRes = res
		}
		if !k.idxConv().runIdx(ctx, x.F32(), isz(k, h, wd, sx), h, wd, sx, p, n, so, 0, ynh, gemmRes, !k.outNHWC && res != nil) {
			return nil, fmt.Errorf("convolution too large for 32-bit offsets")
		}
		if k.blocks[0].red > 0 && so > k.m {
			// The reduced tiles store the m channels only: the stride's
			// padding channels are zeros (the next layer's weights
			// multiply them).
			clearPadding(ynh, n*oh*ow, k.m, so)
		}
		return k.finish(ctx, ynh, res, n, oh, ow, so, outShape)
	}
	rp := newRowsPlan(p, k.c, k.kh, k.kw)
	if rp == nil {
		return nil, fmt.Errorf("convolution too large for 32-bit offsets")
	}
	buf := getF32(rp.size)
	defer putF32(buf)
	// Per block, its channels of every tap's offsets.
	taps := k.kh * k.kw
	offs := make([][]int32, len(k.blocks))
	for i, blk := range k.blocks {
		o := make([]int32, taps*blk.cn)
		for t := 0; t < taps; t++ {
			copy(o[t*blk.cn:(t+1)*blk.cn], rp.off[t*k.c+blk.c0:])
		}
		offs[i] = o
	}
	// Rows of ppw > ow pixels: computed into a scratch band, then the first
	// ow pixels of each row copied out (with the residual, in NHWC).
	var band *[]float32
	bh := oh
	if rp.ppw != ow {
		bh = convBandRows(oh, rp.ppw, so)
		band = getF32(bh * rp.ppw * so)
		defer putF32(band)
	}
	gemmRes := k.outNHWC && res != nil
	xd := x.F32()
	is := isz(k, h, wd, sx)
	osz := oh * ow * so
	for img := 0; img < n; img++ {
		rp.fill(p, xd[img*is:(img+1)*is], k.inNHWC, sx, *buf, ctx.Threads)
		yi := ynh[img*osz : (img+1)*osz]
		var ri []float32
		if gemmRes {
			ri = res[img*osz : (img+1)*osz]
		}
		if band == nil {
			k.gemms(*buf, rp.sb, offs, oh*ow, yi, so, ri, !gemmRes && res != nil, ctx.Threads)
			continue
		}
		for y0 := 0; y0 < oh; y0 += bh {
			y1 := min(oh, y0+bh)
			cb := *band
			k.gemms((*buf)[y0*rp.ppw*rp.sb:], rp.sb, offs, (y1-y0)*rp.ppw, cb, so, nil, res != nil, ctx.Threads)
			k.storeBand(yi, cb, ri, y0, y1, ow, rp.ppw, so)
		}
	}
	return k.finish(ctx, ynh, res, n, oh, ow, so, outShape)
}

// isz is the number of floats of one input image.
func isz(k *groupedRowsKernel, h, wd, sx int) int {
	if k.inNHWC {
		return h * wd * sx
	}
	return h * wd * k.c
}

// finish returns the channels-last result ynh, or its NCHW copy with the
// residual res (NCHW then), the clamp and the activation applied.
func (k *groupedRowsKernel) finish(ctx *ExecContext, ynh, res []float32, n, oh, ow, so int, outShape []int) ([]*graph.Tensor, error) {
	if k.outNHWC {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: ynh}}, nil
	}
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	nhwcToNCHWF32(ynh, so, y.F32(), n, k.m, oh*ow, ctx.Threads)
	if res != nil {
		yd := y.F32()
		plane := oh * ow
		nnParallel(min(ctx.Threads, max(1, len(yd)/parallelMinWork)), n*k.m, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst, rr := yd[i*plane:(i+1)*plane], res[i*plane:(i+1)*plane]
				for j := range dst {
					dst[j] = k.clamp(dst[j] + rr[j])
				}
				kernels.ActF32(k.post, dst, dst)
			}
		})
	}
	return []*graph.Tensor{y}, nil
}

// gemms runs every block's GEMM over rows of x into c (row stride ldc): with
// the bias, the residual res (nil for none) and, unless a residual is still
// to come (resLater), the clamp and the activation.
func (k *groupedRowsKernel) gemms(x []float32, lda int, offs [][]int32, rows int, c []float32, ldc int, res []float32, resLater bool, threads int) {
	post := k.post
	if resLater {
		post = kernels.ActNone
	}
	run := func(i, th int) {
		blk := k.blocks[i]
		var rb []float32
		if res != nil {
			rb = res[blk.o0:]
		}
		kernels.SgemmRowsAct(blk.pb, x, lda, offs[i], rows, blk.bias, c[blk.o0:], ldc, rb, k.clip && !resLater, k.lo, k.hi, post, th)
	}
	// A block is one or a few 16-lane panels, too narrow for SgemmRows to
	// split over the threads: the threads take whole blocks (disjoint output
	// columns) instead.
	if threads > 1 && len(k.blocks) >= 2*threads {
		var next atomic.Int64
		nnParallel(threads, threads, func(int, int) {
			for i := int(next.Add(1)) - 1; i < len(k.blocks); i = int(next.Add(1)) - 1 {
				run(i, 1)
			}
		})
		return
	}
	for i := range k.blocks {
		run(i, threads)
	}
}

// groupedFusable reports whether a Conv step runs on groupedRowsKernel when
// channels-last, which takes a clamp and an activation epilogue.
func (s *Session) groupedFusable(st step, ck *convKernel) bool {
	w, _ := s.groupedWeights(st, ck)
	return w != nil && channelsLastMode
}

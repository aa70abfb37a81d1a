package runtime

// The grouped convolution's blocks on kernels.SgemmRowsIdx: the output pixels
// are the GEMM rows one after the other, each with its own offset into A and
// into the output. The SgemmRows path computed the ppw-ow padding columns of
// every row of the laid-out input too and copied each band of rows out (a 7x7
// map: 63 rows for 49 pixels, computed as 11 tiles of six with the last
// through a scratch tile), and it took one SgemmRows call with its planning
// per 16-channel block.
//
// With per-row offsets a channels-last input need not be laid out at all:
// the output pixels whose taps all fall inside the input (the interior) read
// it in place, strides and dilations included, and only the border pixels
// read zero-padded copies of their taps (patches). That replaces the copy of
// the whole input (1.6 MB for RegNet's first grouped layer) by a copy of the
// border taps where the border is the smaller part; on small maps (7x7: 24 of
// 49 pixels are border) the laid-out input stays cheaper and is used.

import (
	"math"
	"sync/atomic"

	"github.com/warboy-sim/warboy/kernels"
)

// idxRows is one set of GEMM rows of a grouped convolution: A row i starts at
// aoff[i] of its source, output row i at coff[i]; offs gives, per block
// width cn, the (tap, channel) offsets of the block's first channel.
type idxRows struct {
	aoff, coff []int32
	offs       map[int][]int32
}

// groupedIdxPlan is the plan of one input size (and pixel stride): built on
// the first run of that size, shared by later and concurrent runs.
type groupedIdxPlan struct {
	h, wd, sx int
	so        int       // output pixel stride
	rp        *rowsPlan // laid-out mode (direct == false)
	direct    bool      // the interior reads the input in place
	nchw      bool      // direct from an NCHW input (a stem, conv_stem.go)
	runs      []stemRun // nchw: interior pixels on the 12-row stem tiles
	runStride int       // nchw: the input floats between a run's pixels
	sets      []idxRows // laid out: one set; direct: the interior, then the border
	border    []int32   // direct: output pixel (y*ow+x) of each patch
	patchLen  int       // floats of one border patch: taps·sx
}

// idxConv is what the indexed path needs of a convolution: its kernel size,
// input channels and layout, its blocks of output channels (one block for an
// ungrouped convolution), its epilogue, and the plan of the last input size.
type idxConv struct {
	kh, kw, c int
	inNHWC    bool
	blocks    []groupBlock
	ep        *rowsEpilogue
	plan      *atomic.Pointer[groupedIdxPlan]
	// stem reads an NCHW input in place too (conv_stem.go); stem16 may run
	// 12-row stem tiles (no residual).
	stem, stem16 bool
}

// idxPlan returns the plan of an h×wd input of pixel stride sx (channels-
// last) or NCHW (sx unused), geometry p, output pixel stride so.
func (k *idxConv) idxPlan(h, wd, sx int, p *convPlan, so int) *groupedIdxPlan {
	if pl := k.plan.Load(); pl != nil && pl.h == h && pl.wd == wd && pl.sx == sx && pl.so == so {
		return pl
	}
	oh, ow := p.out[0], p.out[1]
	taps := k.kh * k.kw
	pl := &groupedIdxPlan{h: h, wd: wd, sx: sx, so: so}
	offsFor := func(tapOff func(t int) int) map[int][]int32 {
		m := map[int][]int32{}
		for _, blk := range k.blocks {
			if m[blk.offKey()] != nil {
				continue
			}
			if blk.red > 0 {
				m[blk.offKey()] = redOffsets(taps, blk.cn, blk.red, tapOff) // conv_grouped_red.go
				continue
			}
			o := make([]int32, taps*blk.cn)
			for t := 0; t < taps; t++ {
				for ci := 0; ci < blk.cn; ci++ {
					o[t*blk.cn+ci] = int32(tapOff(t) + ci)
				}
			}
			m[blk.cn] = o
		}
		return m
	}
	inside := func(y, x int) bool {
		y0, x0 := y*p.s[0]-p.pb[0], x*p.s[1]-p.pb[1]
		return y0 >= 0 && x0 >= 0 && y0+(k.kh-1)*p.d[0] < h && x0+(k.kw-1)*p.d[1] < wd
	}
	if k.inNHWC {
		var in idxRows
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				if inside(y, x) {
					in.aoff = append(in.aoff, int32(((y*p.s[0]-p.pb[0])*wd+x*p.s[1]-p.pb[1])*sx))
					in.coff = append(in.coff, int32((y*ow+x)*so))
				} else {
					pl.border = append(pl.border, int32(y*ow+x))
				}
			}
		}
		pl.patchLen = taps * sx
		// Direct where the border's patches are smaller than the laid-out
		// input (which holds at least the padded input).
		padded := (h + p.pb[0] + p.pb[0]) * (wd + p.pb[1] + p.pb[1]) * pixelStride(k.c)
		if len(in.aoff) > 0 && len(pl.border)*pl.patchLen <= padded && h*wd*sx <= math.MaxInt32 {
			pl.direct = true
			in.offs = offsFor(func(t int) int { return ((t/k.kw)*p.d[0]*wd + (t%k.kw)*p.d[1]) * sx })
			pl.sets = append(pl.sets, in)
			if len(pl.border) > 0 {
				bd := idxRows{aoff: make([]int32, len(pl.border)), coff: make([]int32, len(pl.border))}
				for j, q := range pl.border {
					bd.aoff[j] = int32(j * pl.patchLen)
					bd.coff[j] = q * int32(so)
				}
				bd.offs = offsFor(func(t int) int { return t * sx })
				pl.sets = append(pl.sets, bd)
			}
			k.plan.Store(pl)
			return pl
		}
		pl.border = nil
	}
	if !k.inNHWC && k.stem && k.stemPlan(pl, p, h, wd, inside) {
		k.plan.Store(pl)
		return pl
	}
	rp := newRowsPlan(p, k.c, k.kh, k.kw)
	if rp == nil {
		return nil
	}
	pl.rp = rp
	all := idxRows{aoff: make([]int32, oh*ow), coff: make([]int32, oh*ow)}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			all.aoff[y*ow+x] = int32((y*rp.ppw + x) * rp.sb)
			all.coff[y*ow+x] = int32((y*ow + x) * so)
		}
	}
	all.offs = offsFor(func(t int) int { return int(rp.off[t*k.c]) })
	pl.sets = []idxRows{all}
	k.plan.Store(pl)
	return pl
}

// runIdx computes the n images of xd (is floats each) into ynh (channels-
// last, pixel stride so, each image's output yo floats in: a Concat view)
// with the bias, and the residual gemmRes when not nil (in ynh's layout);
// with resLater the clamp and the activation wait for a residual added
// afterwards. It reports false when the geometry does not fit 32-bit
// offsets.
func (k *idxConv) runIdx(ctx *ExecContext, xd []float32, is, h, wd, sx int, p *convPlan, n, so, yo int, ynh, gemmRes []float32, resLater bool) bool {
	pl := k.idxPlan(h, wd, sx, p, so)
	if pl == nil {
		return false
	}
	osz := p.out[0] * p.out[1] * so
	var buf *[]float32
	if pl.direct {
		buf = getF32(max(1, len(pl.border)*pl.patchLen))
	} else {
		buf = getF32(pl.rp.size)
	}
	defer putF32(buf)
	src := make([][]float32, len(pl.sets))
	shares := k.idxShares(pl, ctx.Threads) // conv_idx_shares.go
	for img := 0; img < n; img++ {
		xi := xd[img*is : (img+1)*is]
		if shares != nil {
			var ri []float32
			if gemmRes != nil {
				ri = gemmRes[img*osz : (img+1)*osz]
			}
			k.runShares(pl, p, shares, xi, *buf, ynh[img*osz+yo:(img+1)*osz], ri, resLater, ctx.Threads)
			continue
		}
		if pl.direct {
			k.fillPatches(pl, p, xi, *buf, ctx.Threads) // conv_idx_split.go
		}
		if pl.direct {
			src[0] = xi
			if len(src) > 1 {
				src[1] = *buf
			}
		} else {
			pl.rp.fill(p, xi, k.inNHWC, sx, *buf, ctx.Threads)
			src[0] = *buf
		}
		var ri []float32
		if gemmRes != nil {
			ri = gemmRes[img*osz : (img+1)*osz]
		}
		if len(pl.runs) > 0 {
			k.stemRuns(pl, xi, ynh[img*osz+yo:(img+1)*osz], ctx.Threads)
		}
		k.idxGemms(pl, src, ynh[img*osz+yo:(img+1)*osz], ri, resLater, ctx.Threads)
	}
	return true
}

// patches copies, for border output pixels [j0, j1) of the direct plan, the input
// pixel under each tap (c channels; zeros outside the input) into buf.
func (k *idxConv) patches(pl *groupedIdxPlan, p *convPlan, x, buf []float32, j0, j1 int) {
	ow := p.out[1]
	for j := j0; j < j1; j++ {
		q := pl.border[j]
		y, xo := int(q)/ow, int(q)%ow
		dst := buf[j*pl.patchLen:]
		for t := 0; t < k.kh*k.kw; t++ {
			iy := y*p.s[0] - p.pb[0] + (t/k.kw)*p.d[0]
			ix := xo*p.s[1] - p.pb[1] + (t%k.kw)*p.d[1]
			d := dst[t*pl.sx : t*pl.sx+k.c]
			if iy < 0 || ix < 0 || iy >= pl.h || ix >= pl.wd {
				clear(d)
				continue
			}
			copy(d, x[(iy*pl.wd+ix)*pl.sx:])
		}
	}
}

// idxGemms runs every block over every row set of one image (src[i] the A of
// set i). Above one thread the work items are (block, set, range of rows):
// whole sets when there are enough blocks to share out, else each set's rows
// in a few ranges.
func (k *idxConv) idxGemms(pl *groupedIdxPlan, src [][]float32, y, res []float32, resLater bool, threads int) {
	post, clip := k.ep.post, k.ep.clip
	if resLater {
		post, clip = kernels.ActNone, false
	}
	chunks := 1
	cols := idxColumnChunks(k.blocks, pl.sets, threads) // conv_idx_split.go
	if cols == 1 && threads > 1 && len(k.blocks) < 2*threads {
		chunks = (2*threads + len(k.blocks) - 1) / len(k.blocks)
	}
	ns := len(pl.sets)
	// Blocks of the reduced tiles run in bands of rows, every block over a
	// band before the next band (redBandRows, conv_grouped_red.go): a
	// block's 16 input channels are one 64-byte line of a pixel of 128 or
	// more, and block after block over the whole map read each pixel's
	// lines from L2 or beyond eight times.
	nb := len(k.blocks)
	banded := k.blocks[0].red > 0 && nb > 1 && cols == 1
	if banded {
		mx := 0
		for _, st := range pl.sets {
			mx = max(mx, len(st.aoff))
		}
		chunks = max(chunks, (mx+redBandRows-1)/redBandRows)
	}
	// span returns the block, the row set and the rows [r0, r1) of item i.
	span := func(i int) (blk *groupBlock, set, r0, r1 int) {
		i /= cols
		if banded {
			blk = &k.blocks[i%nb]
			i /= nb
		} else {
			blk = &k.blocks[i/(ns*chunks)]
		}
		set = i / chunks % ns
		m := len(pl.sets[set].aoff)
		rows := ((m+chunks-1)/chunks + 5) / 6 * 6
		r0 = (i % chunks) * rows
		return blk, set, r0, min(m, r0+rows)
	}
	run := func(i int) {
		blk, set, r0, r1 := span(i)
		if r0 >= r1 {
			return
		}
		k.runItem(blk, i%cols, cols, &pl.sets[set], src[set], r0, r1, y, res, clip, post) // conv_idx_shares.go
	}
	items := len(k.blocks) * ns * chunks * cols
	if threads <= 1 || items < 2 {
		for i := 0; i < items; i++ {
			run(i)
		}
		return
	}
	// Above one thread the items (or bands) are dealt in contiguous shares
	// of about equal work, the first to the caller (kernels.ParallelItems,
	// twenty-first session): a thread's rows are then its rows of the
	// neighbouring layers, whose output it wrote, where a shared counter
	// dealt alternate items. The shares are cut by work, not by count: the
	// border set's items are a few pixels each (counted as items, one
	// thread's share was the whole interior and the other's the border).
	if banded {
		// A thread takes a whole band, every block over it, as one thread
		// runs them (twentieth session): with (block, band) items the two
		// threads ran the same band at once, each reading its blocks' lines
		// of the same input pixels and writing its lines of the same output
		// pixels. RegNet-X-800MF's 64-channel stride-2 layer on 112x112 alone
		// (BenchmarkConvThreads): 242-284 -> 174 µs at 2 threads (300-320
		// at 1).
		bands := ns * chunks
		work := make([]int, bands)
		for b := range work {
			_, _, r0, r1 := span(b * nb * cols)
			work[b] = max(0, r1-r0)
		}
		kernels.ParallelItems(work, threads, func(next func() (int, bool)) {
			for b, ok := next(); ok; b, ok = next() {
				for j := 0; j < nb; j++ {
					run(b*nb + j)
				}
			}
		})
		return
	}
	work := make([]int, items)
	for i := range work {
		blk, _, r0, r1 := span(i)
		work[i] = max(0, r1-r0) * blockWork(blk) / cols
	}
	kernels.ParallelItems(work, threads, func(next func() (int, bool)) {
		for i, ok := next(); ok; i, ok = next() {
			run(i)
		}
	})
}

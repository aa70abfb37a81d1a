package runtime

// The grouped convolution's blocks on kernels.SgemmRowsIdx: the output pixels
// are the GEMM rows one after the other, each with its own offset into the
// laid-out input (which has ppw ≥ ow pixels a row) and into the output. The
// SgemmRows path computed the ppw-ow padding columns of every row too and
// copied each band of rows out (a 7x7 map: 63 rows for 49 pixels, computed
// as 11 tiles of six with the last through a scratch tile), and it took one
// SgemmRows call with its planning per 16-channel block.

import (
	"sync/atomic"

	"github.com/warboy-sim/warboy/kernels"
)

// groupedIdxPlan holds the row and reduction offsets of one input size: they
// depend only on the geometry, so they are built on the first run of that
// size and shared by later (and concurrent) runs.
type groupedIdxPlan struct {
	h, wd      int
	aoff, coff []int32         // per output pixel: its A row in the laid-out image, its C row
	offs       map[int][]int32 // per block width cn: the (tap, channel) offsets of the block's first channel
}

// idxPlan returns the plan of an h×wd input laid out by rp.
func (k *groupedRowsKernel) idxPlan(h, wd int, rp *rowsPlan, oh, ow, so int) *groupedIdxPlan {
	if pl := k.plan.Load(); pl != nil && pl.h == h && pl.wd == wd {
		return pl
	}
	pl := &groupedIdxPlan{h: h, wd: wd, aoff: make([]int32, oh*ow), coff: make([]int32, oh*ow), offs: map[int][]int32{}}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			pl.aoff[y*ow+x] = int32((y*rp.ppw + x) * rp.sb)
			pl.coff[y*ow+x] = int32((y*ow + x) * so)
		}
	}
	taps := k.kh * k.kw
	for _, blk := range k.blocks {
		if pl.offs[blk.cn] != nil {
			continue
		}
		o := make([]int32, taps*blk.cn)
		for t := 0; t < taps; t++ {
			copy(o[t*blk.cn:(t+1)*blk.cn], rp.off[t*k.c:])
		}
		pl.offs[blk.cn] = o
	}
	k.plan.Store(pl)
	return pl
}

// runIdx computes the n images of xd (is floats each) into ynh (channels-
// last, pixel stride so) with the bias, and the residual res when the output
// is channels-last (else res, NCHW, is added by finish, and the clamp and the
// activation wait for it).
func (k *groupedRowsKernel) runIdx(ctx *ExecContext, xd []float32, is, h, wd, sx int, rp *rowsPlan, p *convPlan, n, oh, ow, so int, buf, ynh, res []float32) {
	pl := k.idxPlan(h, wd, rp, oh, ow, so)
	gemmRes := k.outNHWC && res != nil
	resLater := !gemmRes && res != nil
	osz := oh * ow * so
	for img := 0; img < n; img++ {
		rp.fill(p, xd[img*is:(img+1)*is], k.inNHWC, sx, buf, ctx.Threads)
		var ri []float32
		if gemmRes {
			ri = res[img*osz : (img+1)*osz]
		}
		k.idxGemms(pl, buf, ynh[img*osz:(img+1)*osz], ri, resLater, ctx.Threads)
	}
}

// idxGemms runs every block over all output pixels of one image. Above one
// thread the work items are (block, range of rows): whole blocks when there
// are enough of them to share out, else each block's rows in a few ranges.
func (k *groupedRowsKernel) idxGemms(pl *groupedIdxPlan, buf, y, res []float32, resLater bool, threads int) {
	post, clip := k.post, k.clip
	if resLater {
		post, clip = kernels.ActNone, false
	}
	m := len(pl.aoff)
	chunks, rows := 1, m
	if threads > 1 && len(k.blocks) < 2*threads {
		chunks = (2*threads + len(k.blocks) - 1) / len(k.blocks)
		rows = ((m+chunks-1)/chunks + 5) / 6 * 6
		chunks = (m + rows - 1) / rows
	}
	run := func(i int) {
		blk := &k.blocks[i/chunks]
		r0 := (i % chunks) * rows
		r1 := min(m, r0+rows)
		var rb []float32
		if res != nil {
			rb = res[blk.o0:]
		}
		kernels.SgemmRowsIdx(blk.pb, buf[blk.c0:], pl.aoff[r0:r1], pl.offs[blk.cn], blk.bias, y[blk.o0:], pl.coff[r0:r1], rb, clip, k.lo, k.hi, post)
	}
	items := len(k.blocks) * chunks
	if threads <= 1 || items < 2 {
		for i := 0; i < items; i++ {
			run(i)
		}
		return
	}
	var next atomic.Int64
	nnParallel(threads, threads, func(int, int) {
		for i := int(next.Add(1)) - 1; i < items; i = int(next.Add(1)) - 1 {
			run(i)
		}
	})
}

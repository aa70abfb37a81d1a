package qat

import (
	"sync"

	"github.com/warboy-sim/warboy/kernels"
)

// A convolution's three GEMMs (output, input gradient, weight gradient) run over
// chunks of the column matrix small enough to stay in the L2 cache, instead of over
// the whole batch's column matrix (for a 3x3 layer at 28x28 and batch 64, 29 MB
// written, packed and read back from memory several times per step): the forward
// pass and the input gradient take a few images at a time, each image's output
// written in place, and the backward pass builds the columns again rather than
// keeping them. The weight gradient sums over every output position, in chunks
// whose boundaries are multiples of the GEMM's reduction block, so the sums are
// those of one GEMM over the whole batch.

// convChunkBytes bounds the column matrix of one chunk.
const convChunkBytes = 512 << 10

// sgemmKC is kernels.Sgemm's reduction block (kernels/sgemm_driver.go, sgKC): the
// weight gradient's chunks start at multiples of it, so chunking does not change
// how its sums are grouped.
const sgemmKC = 384

// convScratch is one worker's chunk buffers.
type convScratch struct {
	cols, out, dyT []float32
	// lo, hi: the min/max of the outputs this worker stored (has: any)
	lo, hi float32
	has    bool
	// the shifted paths' images: x (forward pass, weight gradient) and dy
	// (input gradient) in their padded layouts, and dy spread over the padded
	// width (weight gradient; its layout dyqOf)
	xpad, dypad padded
	dyq         []float32
	dyqOf       *shiftGeom
	// dy in the strided layers' input-gradient layout (conv_phase_grad.go)
	phasePad []float32
	phaseOf  *phaseGrad
	// the written input gradient's phase planes, then one interleaved channel
	phaseOut []float32
}

// convCore holds a convolution's geometry and its scratch buffers (reused across
// steps).
type convCore struct {
	g       convGeom
	scratch []convScratch
	dyR     []float32
	dwT     []float32
	shift   *shiftCache
	trans   *transCache
	dw      *dwLayout // depthwise phase layout (conv_depthwise.go) for dwGeom
	dwGeom  convGeom
	// phases are the depthwise forward pass's phase planes of the input whose
	// first element is phasesOf, read again by the weight gradient (the input of
	// a training step is not changed between its forward and backward passes).
	phases   []float32
	phasesOf *float32
	// wantMinMax asks the next forward pass for its output's min/max; hasMinMax
	// says it computed them (the shifted path does, in its store), into minLo
	// and maxHi.
	wantMinMax, hasMinMax bool
	minLo, maxHi          float32
	// xq: x is the input of a fake quantization whose output is this
	// convolution's input, applied as the shifted paths lay x out (nil: x is
	// the input; set by convOp per pass, only when the shifted paths run)
	xq *fillQuant
	// phase is the strided input gradient's phase-plane layout (nil: columns
	// and col2im) for the geometry phaseN; phaseWT packs its weights
	phase   *phaseGrad
	phaseN  convGeom
	phaseWT []float32
}

// transCache is the input-gradient convolution (nil: columns and col2im) for the
// geometry n.
type transCache struct {
	n convGeom
	t *transposedConv
}

// shiftCache is the shifted layout (nil: im2col) for the geometry n.
type shiftCache struct {
	n convGeom
	s *shiftGeom
}

// imagesPerChunk is the number of images of a forward or input-gradient chunk.
func (g *convGeom) imagesPerChunk() int {
	per := convChunkBytes / 4 / max(1, g.c*g.kh*g.kw) / g.p
	return max(1, min(per, g.n))
}

// weightChunk is the number of output positions of a weight-gradient chunk, a
// multiple of sgemmKC.
func (g *convGeom) weightChunk() int {
	return sgemmKC * max(1, convChunkBytes/4/max(1, g.c*g.kh*g.kw)/sgemmKC)
}

// runChunks runs f(worker, chunk) for chunk in [0, chunks) on workers goroutines,
// each taking a contiguous run of chunks.
func runChunks(chunks, workers int, f func(worker, chunk int)) {
	if workers <= 1 {
		for ch := 0; ch < chunks; ch++ {
			f(0, ch)
		}
		return
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		lo, hi := wk*chunks/workers, (wk+1)*chunks/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := lo; ch < hi; ch++ {
				f(wk, ch)
			}
		}()
	}
	wg.Wait()
}

// split returns the image chunking of the batch: images per chunk, chunks, worker
// goroutines and the threads each worker's kernels use.
func (c *convCore) split(threads int) (per, chunks, workers, inner int) {
	return c.splitImages(c.g.imagesPerChunk(), threads)
}

// splitImages is split with per images per chunk.
func (c *convCore) splitImages(per, threads int) (_, chunks, workers, inner int) {
	g := &c.g
	chunks = (g.n + per - 1) / per
	threads = resolveThreads(threads)
	workers = max(1, min(threads, chunks))
	inner = max(1, threads/workers)
	for len(c.scratch) < workers {
		c.scratch = append(c.scratch, convScratch{})
	}
	return per, chunks, workers, inner
}

// forward computes y = conv(x, w) + bias (bias may be nil); y must hold N*OC*P values.
func (c *convCore) forward(x, w, bias, y []float32, threads int) {
	g := &c.g
	c.hasMinMax = false
	if g.depthwise() {
		c.forwardDepthwise(x, w, bias, y, threads)
		return
	}
	if g.pointwise() {
		// x itself is each image's column matrix: one GEMM per image, written in
		// place, with no padded copy nor output rows to move
		c.forwardCols(1, x, w, bias, y, threads)
		return
	}
	if c.shift == nil || c.shift.n != *g {
		c.shift = &shiftCache{n: *g, s: g.shifted()}
	}
	if c.shift.s != nil {
		c.forwardShifted(c.shift.s, x, w, bias, y, threads)
		return
	}
	c.forwardIm2col(x, w, bias, y, threads)
}

// shiftedForward reports whether forward and the weight gradient run on the
// stride-1 shifted layout for the current geometry (where a fused fake
// quantization can be applied as the input is laid out).
func (c *convCore) shiftedForward() bool {
	g := &c.g
	if g.depthwise() || g.pointwise() || g.sh != 1 || g.sw != 1 {
		return false
	}
	if c.shift == nil || c.shift.n != *g {
		c.shift = &shiftCache{n: *g, s: g.shifted()}
	}
	return c.shift.s != nil
}

// forwardIm2col is forward over chunks of the column matrix.
func (c *convCore) forwardIm2col(x, w, bias, y []float32, threads int) {
	c.forwardCols(c.g.imagesPerChunk(), x, w, bias, y, threads)
}

// forwardCols is forward over chunks of per images.
func (c *convCore) forwardCols(per int, x, w, bias, y []float32, threads int) {
	g := &c.g
	per, chunks, workers, inner := c.splitImages(per, threads)
	rows := g.c * g.kh * g.kw
	pa := c.packWeights(false, w)
	runChunks(chunks, workers, func(wk, ch int) {
		s := &c.scratch[wk]
		n0, n1 := ch*per, min(g.n, (ch+1)*per)
		l := (n1 - n0) * g.p
		cols, ldb := x[n0*g.c*g.h*g.w:], g.p
		if n1-n0 > 1 || !g.pointwise() {
			s.cols = grow(s.cols, rows*l)
			g.im2colRange(x, s.cols, n0*g.p, n1*g.p, inner)
			cols, ldb = s.cols, l
		}
		// One image's [OC][P] output is its slice of y; several go through out.
		out := y[n0*g.oc*g.p:]
		if n1-n0 > 1 {
			s.out = grow(s.out, g.oc*l)
			out = s.out
		}
		for gi := 0; gi < g.group; gi++ {
			kernels.SgemmPackedAFunc(pa[gi], l, kernels.PackBRowMajor(false, cols[gi*g.k*ldb:], ldb), out[gi*g.ocg*l:], l, false, nil, inner)
		}
		for n := n0; n < n1; n++ {
			for o := 0; o < g.oc; o++ {
				dst := y[(n*g.oc+o)*g.p:][:g.p]
				if n1-n0 > 1 {
					copy(dst, out[o*l+(n-n0)*g.p:][:g.p])
				}
				if bias != nil {
					b := bias[o]
					for i := range dst {
						dst[i] += b
					}
				}
			}
		}
	})
}

// packWeights packs each group's weights once per pass as the left operand of its
// GEMMs: [OCg][K] for the output, transposed ([K][OCg]) for the input gradient.
// (kernels.SgemmPackedAFunc computes what kernels.Sgemm does, bit for bit, without
// packing the weights again for every chunk.)
func (c *convCore) packWeights(trans bool, w []float32) []*kernels.PackedA {
	g := &c.g
	pa := make([]*kernels.PackedA, g.group)
	for gi := range pa {
		if trans {
			pa[gi] = kernels.PackSgemmA(true, g.k, g.ocg, w[gi*g.ocg*g.k:], g.k, nil)
		} else {
			pa[gi] = kernels.PackSgemmA(false, g.ocg, g.k, w[gi*g.ocg*g.k:], g.k, nil)
		}
	}
	return pa
}

// backward accumulates dw (and dbias, dx when not nil) from dy; x is the input of
// the last forward.
func (c *convCore) backward(x, w, dy, dx, dw, dbias []float32, set bool, ste *steStore, threads int) (steDone bool) {
	g := &c.g
	if dbias != nil {
		parallel(g.oc, threads, func(lo, hi int) { biasGrad(g, dy, dbias, lo, hi) })
	}
	if g.depthwise() {
		c.weightGradDepthwise(x, dy, dw, threads)
		if dx != nil {
			if set {
				clear(dx)
			}
			c.inputGradDepthwise(w, dy, dx, threads)
		}
		return false
	}
	if g.pointwise() && (c.shift == nil || c.shift.n != *g) {
		// the forward pass did not need the layout; the weight gradient does
		c.shift = &shiftCache{n: *g, s: g.shifted()}
	}
	if c.shift != nil && c.shift.n == *g && c.shift.s != nil && dx != nil && !g.pointwise() && resolveThreads(threads) == 1 {
		// one thread: both gradients image by image on one padded dy
		if c.trans == nil || c.trans.n != *g {
			c.trans = &transCache{n: *g, t: g.transposed(true)}
		}
		if t := c.trans.t; t != nil {
			if base, ok := t.sharedDy(c.shift.s); ok {
				if ste != nil && set != (ste.acc == nil) {
					ste = nil
				}
				c.gradsShifted(c.shift.s, t, base, x, w, dy, dx, dw, set, ste)
				return ste != nil
			}
		}
	}
	if c.shift != nil && c.shift.n == *g && c.shift.s != nil {
		c.weightGradShifted(c.shift.s, x, dy, dw, threads)
	} else {
		c.weightGrad(x, dy, dw, threads)
	}
	if dx == nil {
		return false
	}
	if g.pointwise() {
		c.inputGradPointwise(w, dy, dx, set, threads)
		return false
	}
	if c.trans == nil || c.trans.n != *g {
		c.trans = &transCache{n: *g, t: g.transposed(true)}
	}
	if ste != nil && set != (ste.acc == nil) {
		ste = nil // set: a written input gradient; acc: an accumulated one
	}
	if c.trans.t != nil {
		c.inputGradShifted(c.trans.t, w, dy, dx, set, ste, threads)
		return ste != nil
	}
	if g.sh != 1 || g.sw != 1 {
		if c.phase == nil || c.phaseN != *g {
			c.phase, c.phaseN = g.phased(), *g
		}
		if c.phase != nil {
			c.inputGradPhased(c.phase, w, dy, dx, set, ste, threads)
			return ste != nil
		}
	}
	if set {
		clear(dx)
	}
	c.inputGrad(w, dy, dx, threads)
	return false
}

// biasGrad adds to dbias[o], o in [lo, hi), the sum of dy over the batch's
// positions of channel o: one float32 running sum per channel in (image,
// position) order. Four channels are summed side by side, so that the four
// chains of dependent additions overlap (one chain waits on the adder's latency
// at every element); each channel's sum is the same sequence of additions.
func biasGrad(g *convGeom, dy, dbias []float32, lo, hi int) {
	o := lo
	for ; o+4 <= hi; o += 4 {
		var s0, s1, s2, s3 float32
		for n := 0; n < g.n; n++ {
			b := (n*g.oc + o) * g.p
			d0 := dy[b : b+g.p]
			d1, d2, d3 := dy[b+g.p:][:len(d0)], dy[b+2*g.p:][:len(d0)], dy[b+3*g.p:][:len(d0)]
			for i, v := range d0 {
				s0 += v
				s1 += d1[i]
				s2 += d2[i]
				s3 += d3[i]
			}
		}
		dbias[o] += s0
		dbias[o+1] += s1
		dbias[o+2] += s2
		dbias[o+3] += s3
	}
	for ; o < hi; o++ {
		var s float32
		for n := 0; n < g.n; n++ {
			for _, v := range dy[(n*g.oc+o)*g.p:][:g.p] {
				s += v
			}
		}
		dbias[o] += s
	}
}

// weightGrad accumulates dw from dy and the columns of x: per group, the
// transposed gradient [K][OCg] is the columns [K][N*P] times dy laid out as
// [N*P][OC] (both operands packed by plain row copies), summed over chunks of
// positions.
func (c *convCore) weightGrad(x, dy, dw []float32, threads int) {
	g := &c.g
	np := g.n * g.p
	rows := g.c * g.kh * g.kw
	lmax := min(g.weightChunk(), np)
	c.split(threads)
	s := &c.scratch[0]
	s.cols = grow(s.cols, rows*lmax)
	c.dyR = grow(c.dyR, lmax*g.oc)
	c.dwT = grow(c.dwT, g.group*g.k*g.ocg)
	clear(c.dwT)
	for a := 0; a < np; a += lmax {
		b := min(np, a+lmax)
		l := b - a
		g.im2colRange(x, s.cols, a, b, threads)
		g.positionsMajor(dy, c.dyR, a, b, threads)
		for gi := 0; gi < g.group; gi++ {
			kernels.Sgemm(false, false, g.k, g.ocg, l, s.cols[gi*g.k*l:], l, c.dyR[gi*g.ocg:], g.oc, c.dwT[gi*g.k*g.ocg:], g.ocg, true, threads)
		}
	}
	for gi := 0; gi < g.group; gi++ {
		wt := c.dwT[gi*g.k*g.ocg:]
		for o := 0; o < g.ocg; o++ {
			d := dw[(gi*g.ocg+o)*g.k:][:g.k]
			for kk := range d {
				d[kk] += wt[kk*g.ocg+o]
			}
		}
	}
}

// positionsMajor writes dy's output positions [a, b) (N*P order) as rows of OC
// values: dst[(q-a)*OC+o] = dy[n][o][p] for q = n*P+p.
func (g *convGeom) positionsMajor(dy, dst []float32, a, b, threads int) {
	parallel(b-a, threads, func(lo, hi int) {
		lo, hi = lo+a, hi+a
		for n := lo / g.p; n*g.p < hi; n++ {
			base := n * g.p
			plo, phi := max(lo, base)-base, min(hi, base+g.p)-base
			for o := 0; o < g.oc; o++ {
				src := dy[(n*g.oc+o)*g.p:][plo:phi]
				d := dst[(base+plo-a)*g.oc+o:]
				for i, v := range src {
					d[i*g.oc] = v
				}
			}
		}
	})
}

// inputGradPointwise adds (with set: writes) the input gradient of a 1x1
// stride-1 unpadded convolution to dx: per image and group, dx += w^T·dy, the GEMM adding into dx in
// place (dy is the image's right operand as it lies, dx its column matrix).
func (c *convCore) inputGradPointwise(w, dy, dx []float32, set bool, threads int) {
	g := &c.g
	pa := c.packWeights(true, w)
	_, _, workers, inner := c.splitImages(1, threads)
	runChunks(g.n, workers, func(_, n int) {
		dyn, dxn := dy[n*g.oc*g.p:], dx[n*g.c*g.p:]
		for gi := 0; gi < g.group; gi++ {
			kernels.SgemmPackedAFunc(pa[gi], g.p, kernels.PackBRowMajor(false, dyn[gi*g.ocg*g.p:], g.p), dxn[gi*g.cg*g.p:], g.p, !set, nil, inner)
		}
	})
}

// inputGrad adds the input gradient to dx: per chunk of images, the columns'
// gradient w^T·dy, then added back to the pixels they were copied from.
func (c *convCore) inputGrad(w, dy, dx []float32, threads int) {
	g := &c.g
	per, chunks, workers, inner := c.split(threads)
	rows := g.c * g.kh * g.kw
	pa := c.packWeights(true, w)
	runChunks(chunks, workers, func(wk, ch int) {
		s := &c.scratch[wk]
		n0, n1 := ch*per, min(g.n, (ch+1)*per)
		l := (n1 - n0) * g.p
		dyc := dy[n0*g.oc*g.p:]
		if n1-n0 > 1 {
			s.dyT = grow(s.dyT, g.oc*l)
			for n := n0; n < n1; n++ {
				for o := 0; o < g.oc; o++ {
					copy(s.dyT[o*l+(n-n0)*g.p:][:g.p], dy[(n*g.oc+o)*g.p:])
				}
			}
			dyc = s.dyT
		}
		s.cols = grow(s.cols, rows*l)
		for gi := 0; gi < g.group; gi++ {
			kernels.SgemmPackedAFunc(pa[gi], l, kernels.PackBRowMajor(false, dyc[gi*g.ocg*l:], l), s.cols[gi*g.k*l:], l, false, nil, inner)
		}
		g.col2imImages(s.cols, dx, n0, n1, inner)
	})
}

package kernels

import (
	"fmt"
	"sync"
)

// qPanel is the column width of a packed weight panel. Packed weights are laid
// out as [panel][k/4][16 columns][4 k] so that one 64-byte row of a panel is one
// zmm (VNNI) or two ymm (AVX2) holding 4 consecutive k of 16 columns.
const qPanel = 16

// qTileStride is the row stride (in int32) of the accumulator tile written by the
// micro-kernels (up to 2 panels = 32 columns).
const qTileStride = 32

// QGemmWeights are int8 weights packed for QGemm/QGemmInt32 (and the GEMM-based
// convolutions). The packing does not depend on the dispatch path, so packed
// weights stay valid after Detect switches paths.
type QGemmWeights struct {
	n, k, kp, panels int
	inZP             int32
	// full is set when a weight is -128 (the full int8 range, as PyTorch's
	// symmetric quantization writes): every kernel is exact on it except the
	// AVX2 sign trick's (VPSIGNB cannot negate -128 and a VPMADDUBSW pair of
	// 128·128 overflows int16), which qKernelFor then replaces by the int16 one.
	full  bool
	data  []int8  // [panels][kp/4][16][4]
	bias  []int32 // bias[c] - inZP*Σ_k w[c,k], padded to panels*16
	biasX []int32 // bias[c] - (inZP+128)*Σ_k w[c,k] (activations XOR 0x80)

	wideOnce sync.Once
	data16   []int16 // [panels][kp/2][16][2], built on first use by the int16 AVX2 kernel

	amxOnce sync.Once
	data64  []int8 // data with K padded to a multiple of 64 (AMX), built on first use when kp%64 != 0
}

// wide returns the int16 packing [panels][kp/2][16][2] of the weights.
func (w *QGemmWeights) wide() []int16 {
	w.wideOnce.Do(func() {
		d := make([]int16, len(w.data))
		for p := 0; p < w.panels; p++ {
			src := w.data[p*qPanel*w.kp : (p+1)*qPanel*w.kp]
			dst := d[p*qPanel*w.kp : (p+1)*qPanel*w.kp]
			for k4 := 0; k4 < w.kp/4; k4++ {
				for j := 0; j < qPanel; j++ {
					for t := 0; t < 4; t++ {
						// k = 4·k4+t lives in pair step 2·k4+t/2, slot t%2
						dst[((2*k4+t/2)*qPanel+j)*2+t%2] = int16(src[k4*64+j*4+t])
					}
				}
			}
		}
		w.data16 = d
	})
	return w.data16
}

// N is the number of output columns (channels).
func (w *QGemmWeights) N() int { return w.n }

// K is the reduction length.
func (w *QGemmWeights) K() int { return w.k }

// InZP is the activation zero point folded into the packed bias.
func (w *QGemmWeights) InZP() int32 { return w.inZP }

// PackQGemm packs constant weights for QGemm. w is n×k row-major (output-major,
// like Gemm with transB=1) with any int8 values: the TFLite symmetric range
// [-127, 127] or the full range with -128 (PyTorch's per-channel qint8), exact on
// every dispatch path (weights holding a -128 never take the AVX2 sign-trick
// kernel: qKernelFor). bias (len n) may be nil. inZP is the activation
// zero point, folded into the bias: acc[c] = bias[c] + Σ_k (a[k]-inZP)·w[c,k].
func PackQGemm(n, k int, w []int8, bias []int32, inZP int32) (*QGemmWeights, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("kernels.PackQGemm: bad shape n=%d k=%d", n, k)
	}
	if len(w) < n*k {
		return nil, fmt.Errorf("kernels.PackQGemm: weights have %d values, want %d", len(w), n*k)
	}
	if bias != nil && len(bias) < n {
		return nil, fmt.Errorf("kernels.PackQGemm: bias has %d values, want %d", len(bias), n)
	}
	if inZP < -128 || inZP > 127 {
		return nil, fmt.Errorf("kernels.PackQGemm: input zero point %d outside [-128, 127]", inZP)
	}
	return packQGemm(n, k, func(c, kk int) int8 { return w[c*k+kk] }, bias, inZP), nil
}

func packQGemm(n, k int, at func(c, kk int) int8, bias []int32, inZP int32) *QGemmWeights {
	kp := (k + 3) &^ 3
	panels := (n + qPanel - 1) / qPanel
	pw := &QGemmWeights{n: n, k: k, kp: kp, panels: panels, inZP: inZP,
		data:  make([]int8, panels*qPanel*kp),
		bias:  make([]int32, panels*qPanel),
		biasX: make([]int32, panels*qPanel),
	}
	for c := 0; c < n; c++ {
		p, j := c/qPanel, c%qPanel
		base := p * qPanel * kp
		var sum int64
		for kk := 0; kk < k; kk++ {
			v := at(c, kk)
			sum += int64(v)
			pw.full = pw.full || v == -128
			pw.data[base+(kk>>2)*64+j*4+(kk&3)] = v
		}
		var b int64
		if bias != nil {
			b = int64(bias[c])
		}
		pw.bias[c] = int32(b - int64(inZP)*sum)
		pw.biasX[c] = int32(b - (int64(inZP)+128)*sum)
	}
	return pw
}

// qOut describes where QGemm tiles go.
type qOut struct {
	out8  []int8
	out32 []int32
	ldo   int
	col0  int // column offset in out and channel offset in rq (grouped conv)
	rq    *rqParams
}

// qSource packs rows [r0, r0+rows) of the A operand (k values each) into dst with
// row stride kp, zero-filling k..kp.
type qSource func(dst []int8, r0, rows, kp int)

// qA is the A operand of a GEMM run: either a packing source, or a matrix the
// micro-kernels read directly (k a multiple of 4).
type qA struct {
	src    qSource
	direct []int8
	lda    int
}

// qEpi is the epilogue descriptor read by the VNNI micro-kernels (field
// offsets are fixed: see TestQEpiLayout). mode 0 stores the int32 tile; mode 1
// requantizes in float32 and stores int8 rows to out (stride ldo), columns
// masked by mask[v] for panel v.
type qEpi struct {
	mode  int64
	out   *int8
	ldo   int64
	scale *float32
	zp    int32
	lo    float32 // float32(Min - zp)
	hi    float32 // float32(Max - zp)
	mask  [2]uint32
	// pf, when not nil, is where the kernel prefetches weights of later
	// tiles from: a line at pf, pf+pfStep, pf+2·pfStep, ... one per step
	// of 4 k, into L2 (pfPlan, qgemm_prefetch.go). Read in either mode.
	pf     *int8
	pfStep int64
}

var abufPool = sync.Pool{New: func() any { return new([]int8) }}

// tilePool holds the accumulator tiles of qgemmBlock (contents undefined: the
// micro-kernels start each tile from the bias).
var tilePool = sync.Pool{New: func() any { return new(qTileBuf) }}

// qTileBuf is an accumulator tile with the epilogue descriptor the fused
// micro-kernels read: both escape through kern.run (a function value), so
// both are recycled with the tile instead of the descriptor being a heap
// object per qgemmBlock call (one allocation per QGemm step, twentieth
// session's profile).
type qTileBuf struct {
	tile [12 * qTileStride]int32
	ep   qEpi
}

func getABuf(n int) *[]int8 { return getBuf[int8](&abufPool, n) }

// qgemmRun computes rows [0, m) of A·W with the current int8 path, splitting
// the work over threads goroutines.
func qgemmRun(kern qKernel, m int, a qA, w *QGemmWeights, o *qOut, threads int) {
	if amxFits(m, w) {
		qgemmAMX(m, a, w, o, threads)
		return
	}
	mr, nvMax := kern.mr, kern.nv
	groups := (w.panels + nvMax - 1) / nvMax
	rowTiles := (m + mr - 1) / mr
	if threads <= 1 {
		// One block: the chunks below exist to share rows between
		// threads, and each chunk walks all of W again (on a 7×7 map
		// by 2048 outputs, 49 rows made chunks of 24, 24 and 1: three
		// walks of 1 MB of weights, the last a one-row GEMV).
		qgemmBlock(kern, 0, m, 0, w.panels, a, w, o)
		return
	}
	if threads > 1 && rowTiles < 4*threads && groups >= 2*threads {
		// few rows (GEMV-like): split the output channels
		parallelFor(groups, 1, threads, func(g0, g1 int) {
			qgemmBlock(kern, 0, m, g0*nvMax, min(g1*nvMax, w.panels), a, w, o)
		})
		return
	}
	// dynamic chunks of whole tiles, about 4 per thread
	chunk := max(1, (rowTiles+4*threads-1)/(4*threads)) * mr
	parallelChunks(m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			qgemmBlock(kern, lo, hi, 0, w.panels, a, w, o)
		}
	})
}

func qgemmBlock(kern qKernel, lo, hi, p0, p1 int, a qA, w *QGemmWeights, o *qOut) {
	if hi <= lo || p1 <= p0 {
		return
	}
	kp := w.kp
	mr := kern.mr
	mc := (qBlockBytes(w) / kp) / mr * mr
	mc = max(mc, mr)
	mc = min(mc, (hi-lo+mr-1)/mr*mr)
	var abuf []int8
	if a.direct == nil {
		bufp := getABuf(mc * kp)
		defer abufPool.Put(bufp)
		abuf = *bufp
	}
	var abuf16, w16 []int16
	if kern.wide {
		bp16 := getI16(mc * kp)
		defer i16Pool.Put(bp16)
		abuf16 = *bp16
		w16 = w.wide()
	}
	lda := kp
	tp := tilePool.Get().(*qTileBuf) // escapes through kern.run: recycled, not allocated per block
	defer tilePool.Put(tp)
	tile := &tp.tile
	bias := w.bias
	if kern.xor {
		bias = w.biasX
	}
	fuse := kern.fused && o.rq != nil && o.rq.mode == RequantFloat
	ep := &tp.ep
	*ep = qEpi{}
	if fuse {
		*ep = qEpi{mode: 1, ldo: int64(o.ldo), zp: o.rq.zp, lo: float32(o.rq.lo - o.rq.zp), hi: float32(o.rq.hi - o.rq.zp)}
	}
	for r := lo; r < hi; r += mc {
		rows := min(mc, hi-r)
		ab := abuf
		if a.direct != nil {
			ab, lda = a.direct[r*a.lda:], a.lda
		} else {
			a.src(abuf, r, rows, kp)
		}
		if kern.wide {
			for i := 0; i < rows; i++ {
				widen(abuf16[i*kp:(i+1)*kp], ab[i*lda:i*lda+kp])
			}
		}
		pf := newPFPlan(w, kern.nv, kp/4, (rows+mr-1)/mr)
		for p := p0; p < p1; p += kern.nv {
			nv := min(kern.nv, p1-p)
			col := p * qPanel
			ncols := min(nv*qPanel, w.n-col)
			if fuse {
				ep.scale = &o.rq.scale[o.col0+col]
				ep.mask = colMasks(ncols)
			}
			for t, tr, ti := 0, 0, 0; t < rows; t, ti = t+tr, ti+1 {
				tr = tileRows(rows-t, mr)
				if kern.wide {
					kern.runW(abuf16[t*kp:], kp, w16[p*qPanel*kp:], qPanel*kp, kp/2, 1, 0, bias[col:], tile[:], tr, nv, false)
					o.store(tile[:], r+t, tr, col, ncols)
					continue
				}
				pf.at(ep, p*qPanel*kp, ti)
				if fuse {
					ep.out = &o.out8[(r+t)*o.ldo+o.col0+col]
					kern.run(ab[t*lda:], lda, w.data[p*qPanel*kp:], qPanel*kp, kp/4, 1, 0, bias[col:], tile[:], tr, nv, false, ep)
					continue
				}
				kern.run(ab[t*lda:], lda, w.data[p*qPanel*kp:], qPanel*kp, kp/4, 1, 0, bias[col:], tile[:], tr, nv, false, ep)
				o.store(tile[:], r+t, tr, col, ncols)
			}
		}
	}
}

// qBlockBytes is the size of the A block qgemmBlock keeps in cache while it
// walks the weight panels once per block. 96 KB (a share of L2 next to the
// panels) unless the weights themselves do not stay in L2: then each block
// walks them from L3 or memory, and a block four times larger (all the rows
// of a 7×7 map at K = 2048: 49 rows, one walk of 1 MB instead of two)
// streams them fewer times.
func qBlockBytes(w *QGemmWeights) int {
	if w.panels*qPanel*w.kp > 512*1024 {
		return 384 * 1024
	}
	return 96 * 1024
}

// tileRows is the height of the next row tile when left rows remain and
// tiles hold at most mr: the rows are dealt evenly over the fewest tiles
// (49 rows by 12: 10, 10, 10, 10, 9 rather than 12, 12, 12, 12, 1). A
// one-row tile costs nearly as much as a full one (its few accumulators
// wait on each VPDPBUSD's latency, its weight loads serve one row), so on
// small maps the remainder tile was a fifth of a layer's time for a
// fiftieth of its rows.
func tileRows(left, mr int) int {
	nt := (left + mr - 1) / mr
	return (left + nt - 1) / nt
}

// colMasks returns the per-panel column masks of an ncols-wide tile.
func colMasks(ncols int) [2]uint32 {
	var m [2]uint32
	for v := range m {
		c := min(max(ncols-16*v, 0), 16)
		m[v] = 1<<uint(c) - 1
	}
	return m
}

func (o *qOut) store(tile []int32, row, rows, col, ncols int) {
	o.storeN(tile, qTileStride, row, rows, col, ncols)
}

// storeN stores (or requantizes) rows×ncols int32 of tile (row stride ts)
// at output row row, column col.
func (o *qOut) storeN(tile []int32, ts, row, rows, col, ncols int) {
	if o.out32 != nil {
		for i := 0; i < rows; i++ {
			copy(o.out32[(row+i)*o.ldo+o.col0+col:][:ncols], tile[i*ts:])
		}
		return
	}
	o.rq.tile(tile, ts, rows, ncols, o.out8[row*o.ldo+o.col0+col:], o.ldo, o.col0+col)
}

// qgemmMatrix runs the GEMM on a row-major A: read in place by the
// micro-kernels when k is a multiple of 4, packed otherwise.
func qgemmMatrix(m int, a []int8, lda int, w *QGemmWeights, o *qOut, threads int) {
	kern := qKernelFor(w.full)
	if w.k%4 != 0 {
		qgemmRun(kern, m, qA{src: copySource(a, lda, w.k)}, w, o, threads)
		return
	}
	qgemmRun(kern, m, qA{direct: a, lda: lda}, w, o, threads)
}

// copySource is the A source of a plain row-major matrix.
func copySource(a []int8, lda, k int) qSource {
	return func(dst []int8, r0, rows, kp int) {
		for i := 0; i < rows; i++ {
			d := dst[i*kp : (i+1)*kp]
			copy(d, a[(r0+i)*lda:(r0+i)*lda+k])
			clear(d[k:])
		}
	}
}

func checkQGemm(m int, a []int8, lda int, w *QGemmWeights, outLen, ldo int) {
	if w == nil {
		panic("kernels: nil QGemmWeights")
	}
	if lda < w.k || len(a) < (m-1)*lda+w.k {
		panic(fmt.Sprintf("kernels.QGemm: A too small or bad lda (m=%d k=%d lda=%d len=%d)", m, w.k, lda, len(a)))
	}
	if ldo < w.n || outLen < (m-1)*ldo+w.n {
		panic(fmt.Sprintf("kernels.QGemm: output too small or bad ldo (m=%d n=%d ldo=%d len=%d)", m, w.n, ldo, outLen))
	}
}

// QGemm computes out[i,c] = requant(bias'[c] + Σ_k a[i,k]·w[c,k]) for i < m,
// where bias' = bias - inZP·Σw is the packed bias (so effectively
// Σ_k (a-inZP)·w + bias). a is m×k row-major with stride lda, out m×n with
// stride ldo. threads <= 0 means GOMAXPROCS.
func QGemm(m int, a []int8, lda int, w *QGemmWeights, out []int8, ldo int, rq *Requant, threads int) {
	if m <= 0 {
		return
	}
	checkQGemm(m, a, lda, w, len(out), ldo)
	o := &qOut{out8: out, ldo: ldo, rq: rq.expand(w.n)}
	qgemmMatrix(m, a, lda, w, o, resolveThreads(threads))
}

// QGemmRows is QGemm with the requantization expanded once for rows of w's
// n outputs (Requant.ForRows(n)), for a caller that runs the same GEMM run
// after run: QGemm expands a per-tensor scale to n values on every call. At
// one thread (and where the micro-kernels read A in place) the GEMM runs on
// the calling goroutine without the driver's closures and chunk counter: on
// the small projections of a transformer encoder ([32, 32] by 96) those, the
// expansion and the heap descriptors cost more than the VNNI tiles (docs/
// runtime.md, "int8 attention, fifth round (twenty-first session)"). Same
// results as QGemm: every output is the same integer sum, requantized alike.
func QGemmRows(m int, a []int8, lda int, w *QGemmWeights, out []int8, ldo int, rr *RequantRows, threads int) {
	if m <= 0 {
		return
	}
	checkQGemm(m, a, lda, w, len(out), ldo)
	if rr.n != w.n {
		panic(fmt.Sprintf("kernels.QGemmRows: requantization for rows of %d, weights have %d outputs", rr.n, w.n))
	}
	threads = resolveThreads(threads)
	if threads == 1 && w.k%4 == 0 && !amxFits(m, w) {
		o := qOut{out8: out, ldo: ldo, rq: rr.p}
		qgemmBlock(qKernelFor(w.full), 0, m, 0, w.panels, qA{direct: a, lda: lda}, w, &o)
		return
	}
	qgemmMatrix(m, a, lda, w, &qOut{out8: out, ldo: ldo, rq: rr.p}, threads)
}

// QGemmInt32 is QGemm without requantization: out[i,c] = bias[c] + Σ_k (a[i,k]-inZP)·w[c,k]
// as int32 (for dynamic quantization / MatMulInteger).
func QGemmInt32(m int, a []int8, lda int, w *QGemmWeights, out []int32, ldo int, threads int) {
	if m <= 0 {
		return
	}
	checkQGemm(m, a, lda, w, len(out), ldo)
	o := &qOut{out32: out, ldo: ldo}
	qgemmMatrix(m, a, lda, w, o, resolveThreads(threads))
}

// qKernel is a micro-kernel: it computes an mr×(16·nv) accumulator tile (row
// stride qTileStride) from mr rows of A (stride lda, k4*4 values each) and nv
// weight panels (panel stride pstride bytes), starting from bias.
type qKernel struct {
	mr, nv int
	xor    bool // the kernel computes with a^0x80 (VNNI u8·s8): use biasX
	fused  bool // the kernel can requantize (float mode) itself via qEpi
	run    func(a []int8, lda int, b []int8, pstride, k4, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool, ep *qEpi)
	// wide kernels take A sign-extended to int16 (lda, sstride in elements)
	// and the int16 weight packing (pstride in elements, k2 = k/2 steps).
	wide bool
	runW func(a []int16, lda int, b []int16, pstride, k2, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool)
}

var qKernelGo = qKernel{mr: 4, nv: 2, run: qTileGo}

func qTileGo(a []int8, lda int, b []int8, pstride, k4, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool, _ *qEpi) {
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			acc := (*[16]int32)(tile[r*qTileStride+v*16:])
			if !accum {
				copy(acc[:], bias[v*16:v*16+16])
			}
			for seg := 0; seg < nseg; seg++ {
				arow := a[seg*sstride+r*lda : seg*sstride+r*lda+k4*4]
				bp := b[v*pstride+seg*k4*64 : v*pstride+(seg+1)*k4*64]
				for kk := 0; kk < k4; kk++ {
					a0, a1, a2, a3 := int32(arow[kk*4]), int32(arow[kk*4+1]), int32(arow[kk*4+2]), int32(arow[kk*4+3])
					bk := (*[64]int8)(bp[kk*64:])
					for j := 0; j < 16; j++ {
						acc[j] += a0*int32(bk[j*4]) + a1*int32(bk[j*4+1]) + a2*int32(bk[j*4+2]) + a3*int32(bk[j*4+3])
					}
				}
			}
		}
	}
}

package kernels

import (
	"fmt"
	"math"
	"sync"
)

// The channels-last implicit GEMM of a convolution: output pixel q is a row of
// C, its reduction step p (a kernel tap and an input channel) reads
// x[q*lda + off[p]] in place (an NHWC buffer, zero-padded and split into stride
// phases so that every tap is one constant shift), and the weights are a
// pre-packed B. Nothing is packed per call, the output channels are the vector
// lanes (panels of 64 with AVX-512, 16 with AVX2: no waste for the usual
// multiples of 64), and a tile's sums stay in registers over a block of the
// reduction, so C is written once per block, the last time with the bias, the
// residual and the clamp applied.

// sgRowsL2 is the budget (bytes) for the A rows of one block of row tiles,
// which every weight panel of the block runs over.
const sgRowsL2 = 256 << 10

// rowsTilesInL2 is the number of row tiles whose A rows fit sgRowsL2 for one
// reduction block (every weight panel of the block runs over them, so the
// weights are read once per block of tiles). Rows lda apart that each read
// more than lda floats overlap (the taps of a convolution read in place
// read the same pixels): there a tile adds six rows of lda floats, and the
// block as a whole the span of the offsets once. (Counting every tile's
// rows as distinct split a 14x14 layer's 38 tiles in two blocks and read
// its 1.8 MB of weights twice.)
func rowsTilesInL2(tiles, k, lda, maxOff, nr int) int {
	kc := min(k, rowsKC(nr))
	per := 4 * sgMR * max(1, min(kc, lda))
	budget := sgRowsL2
	if lda < kc {
		budget -= 4 * maxOff
	}
	return max(1, min(tiles, budget/per))
}

// rowsKC is the reduction block of SgemmRows (measured best of 128/256/512 on
// ResNet-50's layers: 512 with the 64-wide kernel, 256 with the 16-wide one).
func rowsKC(nr int) int {
	if nr > sgNR {
		return 512
	}
	return 256
}

// rowsTilesPerCall bounds one assembly call of SgemmRows: 16 tiles of at
// most 512 reduction steps are about 50 µs.
const rowsTilesPerCall = 16

// rowsWideNR is the panel width of the AVX-512 kernel: 6×64 tiles, 24 zmm
// accumulators (measured 0-15 % faster than 6×32 on ResNet-50's layers).
const rowsWideNR = 4 * sgNR

// rowsPanelWidth is the column panel width of PackRowsB for n columns on
// this CPU: 16 without AVX-512; with it 64 where n is a multiple of 64, else
// the widest of 48 and 32 that divides n (96 = 2·48, 144 = 3·48, 672 =
// 14·48, 160 = 5·32), else 16. A partial last panel (n not a multiple of 16)
// keeps 16-wide panels: its tiles run through scratch, and a 24-column
// product in one 32-wide partial panel was slower than in a whole 16-wide
// panel and a partial one.
//
// The zmm kernels of 16-48 columns run at 1.4-1.6x the AVX2 6x16 kernel's
// speed on mobile networks' 1x1 shapes (BenchmarkSgemmRowsPointwise, Xeon
// with AVX-512: 16 → 96 channels on 112x112 63 → 105 GFLOP/s, 128 → 48 on
// 28x28 107 → 160).
func rowsPanelWidth(n int) int {
	switch {
	case !f32Wide:
		return sgNR
	case n%rowsWideNR == 0:
		return rowsWideNR
	case n%48 == 0:
		return 48
	case n%32 == 0:
		return 32
	}
	return sgNR
}

// RowsB is the right operand (k×n, the weights) of SgemmRows, packed once in
// column panels of nr (64 where the AVX-512 kernel runs and n is a multiple of
// 64, else 16) as [k][nr],
// zero-padded.
type RowsB struct {
	k, n, nr int
	data     []float32
}

// K returns the inner dimension.
func (p *RowsB) K() int { return p.k }

// N returns the number of columns.
func (p *RowsB) N() int { return p.n }

// PackRowsB packs b (k×n, row stride ldb) for SgemmRows on this CPU.
func PackRowsB(k, n int, b []float32, ldb int) *RowsB {
	if n <= 0 || k < 0 || k > 0 && (ldb < n || len(b) < (k-1)*ldb+n) {
		panic(fmt.Sprintf("kernels.PackRowsB: bad shape %d×%d (ldb=%d, len=%d)", k, n, ldb, len(b)))
	}
	// The 64-wide AVX-512 panels only where n fills them: a partial panel runs
	// through a scratch tile, so 16 or 32 output channels take 16-wide panels
	// (the AVX2 kernel) instead.
	nr := rowsPanelWidth(n)
	panels := (n + nr - 1) / nr
	p := &RowsB{k: k, n: n, nr: nr, data: make([]float32, panels*k*nr)}
	for q := 0; q < panels; q++ {
		w := min(nr, n-q*nr)
		for r := 0; r < k; r++ {
			copy(p.data[(q*k+r)*nr:(q*k+r)*nr+w], b[r*ldb+q*nr:])
		}
	}
	return p
}

// SgemmRows computes, for q < m and j < n = pb.N(), C[q*ldc+j] =
// clamp(bias[j] + Σ_p x[q*lda+off[p]]·B[p][j] + res[q*ldc+j]) with bias and res
// optional (nil) and the clamp to [lo, hi] only when clip. len(off) must be
// pb.K(), every x[q*lda+off[p]] must exist, and a row tile of six reads rows
// q ≥ m of x only while they exist too (otherwise it is gathered).
func SgemmRows(pb *RowsB, x []float32, lda int, off []int32, m int, bias, c []float32, ldc int, res []float32, clip bool, lo, hi float32, threads int) {
	SgemmRowsAct(pb, x, lda, off, m, bias, c, ldc, res, clip, lo, hi, ActNone, threads)
}

// SgemmRowsResidualInPlace reports whether SgemmRows and SgemmRowsAct on pb
// may be given the residual as C itself (res and c the same slice, same
// ldc): its reduction is one block, so every output is written once, after
// its residual is read. A convolution's output can then take the residual's
// buffer, as ONNX Runtime's fused Conv + Sum does: its memory is read and
// written once instead of a residual read plus a separate output written
// (whose lines the store first reads in).
func SgemmRowsResidualInPlace(pb *RowsB) bool { return pb.k <= rowsKC(pb.nr) }

// SgemmRowsAct is SgemmRows followed by the activation act on every output,
// applied to each block of rows and panels as soon as it is final (while it is
// still in cache).
func SgemmRowsAct(pb *RowsB, x []float32, lda int, off []int32, m int, bias, c []float32, ldc int, res []float32, clip bool, lo, hi float32, act Act, threads int) {
	if m <= 0 {
		return
	}
	threads = resolveThreads(threads)
	rc, release := newRowsCall(pb, x, lda, off, m, bias, c, ldc, res, clip, lo, hi, act, threads)
	defer release()
	if rc == nil {
		return // the one-row product ran
	}
	rc.run(threads)
}

// newRowsCall checks the arguments of SgemmRowsAct (m > 0) and sets up its
// call: the padded bias, the one-row tail, the row tiles read in place.
// It returns nil when the product was a single row and ran here (sgemvRows,
// on threads threads);
// release returns the tail's buffer once the call is done.
func newRowsCall(pb *RowsB, x []float32, lda int, off []int32, m int, bias, c []float32, ldc int, res []float32, clip bool, lo, hi float32, act Act, threads int) (rc *rowsCall, release func()) {
	n, k := pb.n, pb.k
	release = func() {}
	if len(off) != k {
		panic(fmt.Sprintf("kernels.SgemmRows: %d offsets for K=%d", len(off), k))
	}
	maxOff := -1
	for p, o := range off {
		if o < 0 {
			panic(fmt.Sprintf("kernels.SgemmRows: negative offset %d at step %d", o, p))
		}
		maxOff = max(maxOff, int(o))
	}
	if lda < 0 || k > 0 && (m-1)*lda+maxOff >= len(x) {
		panic(fmt.Sprintf("kernels.SgemmRows: %d rows of stride %d with offsets up to %d do not fit %d elements", m, lda, maxOff, len(x)))
	}
	checkMatrix("kernels.SgemmRows", "C", false, m, n, c, ldc)
	if bias != nil && len(bias) < n || res != nil && len(res) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels.SgemmRows: bias (%d) or residual (%d) too short for %d×%d", len(bias), len(res), m, n))
	}
	if res != nil && len(res) > 0 && len(c) > 0 && &res[0] == &c[0] && !SgemmRowsResidualInPlace(pb) {
		panic(fmt.Sprintf("kernels.SgemmRows: the residual is C with a reduction of %d steps (more than one block)", k))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	nr := pb.nr
	panels := (n + nr - 1) / nr
	if bias != nil && n%nr != 0 {
		bias = append(append(make([]float32, 0, panels*nr), bias[:n]...), make([]float32, panels*nr-n)...)
	}
	if m == 1 && sgemvRows(pb, x, off, bias, c, res, lo, hi, act, threads) {
		return nil, release
	}
	// A last row tile of one row (a 7x7 map: 49 = 8·6 + 1 pixels) would
	// compute five rows of nothing for every weight: that row runs as the
	// one-row product (the same arithmetic) instead, on each block of weights
	// right after the row tiles, while it is in cache. (Run as a separate
	// product after the GEMM, it read all the weights a second time, from
	// memory when they do not fit L2: ResNet-18's 512-channel 3x3 layers took
	// 30 % longer than with 48 rows.)
	tail := -1
	var tailA []float32
	if m > sgMR && m%sgMR == 1 && sgemvRowsAsmOK(nr) {
		tail = m - 1
		ap := getF32(max(k, 1))
		release = func() { f32Pool.Put(ap) }
		tailA = (*ap)[:k]
		row := x[tail*lda:]
		for p, o := range off {
			tailA[p] = row[o]
		}
		m = tail
	}
	tiles := (m + sgMR - 1) / sgMR
	// Row tiles whose six rows all exist in x run in place; the others are
	// gathered.
	inPlace := tiles
	if k > 0 {
		inPlace = min(tiles, ((len(x)-1-maxOff)/max(lda, 1)+1)/sgMR)
		if lda == 0 {
			inPlace = tiles
		}
	}
	return &rowsCall{pb: pb, x: x, lda: lda, off: off, m: m, bias: bias, c: c, ldc: ldc, res: res, lo: lo, hi: hi, act: act, inPlace: inPlace,
		tiles: tiles, tail: tail, tailA: tailA, maxOff: maxOff}, release
}

type rowsCall struct {
	pb      *RowsB
	x       []float32
	lda     int
	off     []int32
	m       int
	bias, c []float32
	ldc     int
	res     []float32
	lo, hi  float32
	act     Act
	inPlace int // row tiles [0, inPlace) read x in place
	tiles   int // row tiles of the m rows
	// tail is the row after the m rows that runs as a one-row product with
	// the block owning the last row tile (-1: none), tailA its A row.
	tail  int
	tailA []float32
	// maxOff is the largest of off.
	maxOff int
	// prefetch makes the tiles of each weight block prefetch the next one
	// whatever the size of the weights, and then is the block to prefetch
	// after the call's last one (the next call's first, sgemm_rows_parts.go;
	// nil for none).
	prefetch bool
	then     []float32
}

// rowsScratch is one thread's buffers: gathered row tiles (rows that would
// read past x) and the partial output tiles (the last rows, a partial panel),
// which accumulate over the reduction blocks like C.
type rowsScratch struct {
	ident  []int32
	src    []rowsSrc
	gather [][]float32
	tiles  [][]float32
	batch  []float32 // whole in-place tiles of a partial panel (partialTiles)
}

// rowsScratchPool recycles the per-thread buffers across calls (a layer of a
// small model is tens of microseconds: allocating them each time showed in
// its profile).
var rowsScratchPool = sync.Pool{New: func() any { return new(rowsScratch) }}

// rowsSrc is where a row tile's A comes from.
type rowsSrc struct {
	a   []float32
	lda int
	off []int32
}

// block computes row tiles [t0, t1) and column panels [p0, p1) over the
// reduction in blocks, so that a weight block stays in cache across the row
// tiles and the rows' block in L2 across the panels. Tiles that are not whole
// (the last rows, a partial panel) accumulate in scratch tiles and get the
// residual and the clamp when they are copied out.
func (rc *rowsCall) block(s *rowsScratch, t0, t1, p0, p1 int) {
	k, n, nr := rc.pb.k, rc.pb.n, rc.pb.nr
	inf := float32(math.Inf(1))
	s.src = s.src[:0]
	ng := 0
	for t := t0; t < t1; t++ {
		r0 := t * sgMR
		if t < rc.inPlace {
			s.src = append(s.src, rowsSrc{rc.x[r0*rc.lda:], rc.lda, rc.off})
			continue
		}
		s.src = append(s.src, rowsSrc{s.gatherRows(rc, ng, r0, min(sgMR, rc.m-r0)), k, s.ident})
		ng++
	}
	np := p1 - p0
	// Tiles [t0, fullT) have six rows and read x in place.
	fullT := max(t0, min(t1, rc.inPlace, rc.m/sgMR))
	kc := rowsKC(nr)
	nkb := max(1, (k+kc-1)/kc)
	// scratch returns the scratch tile of (t, p), nil for a whole tile. Over
	// one reduction block a single tile is reused, and flushed as soon as it
	// is computed: a tile per (t, p) of the block was allocated on every call,
	// which made the partial panel of a 24-channel 1x1 layer ten times slower
	// than the whole ones.
	scratch := func(t, p int) []float32 {
		if t*sgMR+sgMR <= rc.m && (p+1)*nr <= n {
			return nil
		}
		i := (t-t0)*np + p - p0
		if nkb == 1 {
			i = 0
		}
		for len(s.tiles) <= i {
			s.tiles = append(s.tiles, nil)
		}
		if s.tiles[i] == nil {
			s.tiles[i] = make([]float32, sgMR*rowsWideNR)
		}
		return s.tiles[i]
	}
	// Weights of 1 MB or more are not in cache from the last run: the tiles
	// of each block prefetch the block that follows (nextBlock).
	prefetch := rc.prefetch || len(rc.pb.data) >= idxPrefetchFloats
	for kb := 0; kb < nkb; kb++ {
		pc, pe := k*kb/nkb, k*(kb+1)/nkb
		acc, last := kb > 0, kb == nkb-1
		for p := p0; p < p1; p++ {
			panel := rc.pb.data[(p*k+pc)*nr : (p*k+pe)*nr]
			var pf []float32
			if prefetch {
				pf = rc.nextBlock(p, p0, p1, kb, nkb)
			}
			col := p * nr
			var bias []float32
			if rc.bias != nil && !acc {
				bias = rc.bias[col : col+nr]
			}
			lo, hi := -inf, inf
			if last {
				lo, hi = rc.lo, rc.hi
			}
			// Whole tiles read in place run a few at a time per assembly call:
			// enough to amortise the call, few enough (tens of microseconds)
			// that the goroutine stays preemptible.
			for ta := t0; (p+1)*nr <= n && ta < fullT; ta += rowsTilesPerCall {
				r0 := ta * sgMR
				var res []float32
				if last && rc.res != nil {
					res = rc.res[r0*rc.ldc+col:]
				}
				nt := min(rowsTilesPerCall, fullT-ta)
				q := min(len(pf)/64, nt*((pe-pc)/4))
				rowsTilesPf(nt, nr, pe-pc, rc.x[r0*rc.lda:], rc.lda, rc.off[pc:pe], panel, bias, rc.c[r0*rc.ldc+col:], rc.ldc, acc, res, lo, hi, pf, q)
				pf = pf[q*64:]
			}
			tFrom := t0
			if nkb == 1 && rc.res == nil && (p+1)*nr > n {
				rc.partialTiles(s, t0, fullT, p, panel, bias)
				tFrom = fullT
			}
			if rc.tail >= 0 && t1 == rc.tiles {
				rc.tailRow(panel, p, pc, pe, acc, last)
			}
			for t := tFrom; t < t1; t++ {
				st := scratch(t, p)
				if st == nil {
					if t < fullT {
						continue // done above
					}
					// A whole tile whose rows are gathered.
					r0 := t * sgMR
					var res []float32
					if last && rc.res != nil {
						res = rc.res[r0*rc.ldc+col:]
					}
					src := s.src[t-t0]
					rowsTiles(1, nr, pe-pc, src.a, src.lda, src.off[pc:pe], panel, bias, rc.c[r0*rc.ldc+col:], rc.ldc, acc, res, lo, hi)
					continue
				}
				src := s.src[t-t0]
				if nkb == 1 && rc.res == nil {
					// The clamp in registers, as for whole tiles: the
					// copy out is all that is left (a partial panel of
					// eight channels on a 112x112 map spent 30 % of its
					// time clamping row by row in Go).
					rowsTiles(1, nr, pe-pc, src.a, src.lda, src.off[pc:pe], panel, bias, st, nr, acc, nil, lo, hi)
					rc.copyOut(st, t, p)
					continue
				}
				rowsTiles(1, nr, pe-pc, src.a, src.lda, src.off[pc:pe], panel, bias, st, nr, acc, nil, -inf, inf)
				if nkb == 1 {
					rc.flush(st, t, p)
				}
			}
		}
	}
	for t := t0; nkb > 1 && t < t1; t++ {
		for p := p0; p < p1; p++ {
			if st := scratch(t, p); st != nil {
				rc.flush(st, t, p)
			}
		}
	}
	if rc.act != ActNone {
		r1 := min(t1*sgMR, rc.m)
		if rc.tail >= 0 && t1 == rc.tiles {
			r1 = rc.tail + 1
		}
		rc.activate(t0*sgMR, r1, p0*nr, min(p1*nr, n))
	}
}

// nextBlock returns the weights block(p, kb) runs after panel p of reduction
// block kb: the next panel's rows of the same block, or the first panel's of
// the next block (rc.then after the last), which its tiles prefetch (see
// sgemmRowsPfKernels in kernels/_gen).
func (rc *rowsCall) nextBlock(p, p0, p1, kb, nkb int) []float32 {
	k, nr := rc.pb.k, rc.pb.nr
	if p+1 < p1 {
		pc, pe := k*kb/nkb, k*(kb+1)/nkb
		return rc.pb.data[((p+1)*k+pc)*nr : ((p+1)*k+pe)*nr]
	}
	if kb+1 < nkb {
		pc, pe := k*(kb+1)/nkb, k*(kb+2)/nkb
		return rc.pb.data[(p0*k+pc)*nr : (p0*k+pe)*nr]
	}
	return rc.then
}

// tailRow runs reduction steps [pc, pe) of the one-row tail against block
// panel of column panel p: from the bias (or zero) on the first block, from
// C on the others, and with the residual and the clamp on the last, in the
// order of the tile kernel, so the row is bit-identical to a tile's.
func (rc *rowsCall) tailRow(panel []float32, p, pc, pe int, accum, last bool) {
	nr := rc.pb.nr
	col := p * nr
	w := min(nr, rc.pb.n-col)
	var init, out [rowsWideNR]float32
	dst := rc.c[rc.tail*rc.ldc+col : rc.tail*rc.ldc+col+w]
	if accum {
		copy(init[:w], dst)
	} else if rc.bias != nil {
		copy(init[:nr], rc.bias[col:col+nr])
	}
	if pe > pc {
		sgemvPanel(nr, pe-pc, rc.tailA[pc:pe], panel, &init, &out)
	} else {
		out = init
	}
	// The residual before C is written: it may be C itself.
	if last && rc.res != nil {
		for j, r := range rc.res[rc.tail*rc.ldc+col : rc.tail*rc.ldc+col+w] {
			out[j] += r
		}
	}
	copy(dst, out[:w])
	if last {
		clampRow(dst, rc.lo, rc.hi)
	}
}

// flush copies the final scratch tile of row tile t and panel p to C, with
// the residual and the clamp.
func (rc *rowsCall) flush(st []float32, t, p int) {
	nr := rc.pb.nr
	r0 := t * sgMR
	mr := min(sgMR, rc.m-r0)
	col := p * nr
	w := min(nr, rc.pb.n-col)
	for r := 0; r < mr; r++ {
		src := st[r*nr : r*nr+w]
		// The residual before C is written: it may be C itself.
		if rc.res != nil {
			for j, v := range rc.res[(r0+r)*rc.ldc+col : (r0+r)*rc.ldc+col+w] {
				src[j] += v
			}
		}
		dst := rc.c[(r0+r)*rc.ldc+col : (r0+r)*rc.ldc+col+w]
		copy(dst, src)
		clampRow(dst, rc.lo, rc.hi)
	}
}

// partialTiles computes the whole in-place row tiles [t0, t1) of the
// partial last panel p (one reduction block, no residual) up to
// rowsTilesPerCall at a time into a scratch block, clamped in registers, and
// copies their w < nr columns out: one assembly call per tile made the
// 8-channel projection of a 112x112 map twice as slow as a 16-channel one.
func (rc *rowsCall) partialTiles(s *rowsScratch, t0, t1, p int, panel, bias []float32) {
	nr, k := rc.pb.nr, rc.pb.k
	col := p * nr
	w := rc.pb.n - col
	if len(s.batch) < rowsTilesPerCall*sgMR*nr {
		s.batch = make([]float32, rowsTilesPerCall*sgMR*rowsWideNR)
	}
	for ta := t0; ta < t1; ta += rowsTilesPerCall {
		nt := min(rowsTilesPerCall, t1-ta)
		r0 := ta * sgMR
		rowsTiles(nt, nr, k, rc.x[r0*rc.lda:], rc.lda, rc.off, panel, bias, s.batch, nr, false, nil, rc.lo, rc.hi)
		for r := 0; r < nt*sgMR; r++ {
			dst := rc.c[(r0+r)*rc.ldc+col : (r0+r)*rc.ldc+col+w]
			for j, v := range s.batch[r*nr : r*nr+w] {
				dst[j] = v
			}
		}
	}
}

// copyOut copies the final, clamped scratch tile of row tile t and panel p
// to C (no residual).
func (rc *rowsCall) copyOut(st []float32, t, p int) {
	nr := rc.pb.nr
	r0 := t * sgMR
	mr := min(sgMR, rc.m-r0)
	col := p * nr
	w := min(nr, rc.pb.n-col)
	for r := 0; r < mr; r++ {
		dst := rc.c[(r0+r)*rc.ldc+col : (r0+r)*rc.ldc+col+w]
		for j, v := range st[r*nr : r*nr+w] {
			dst[j] = v
		}
	}
}

// gatherRows copies rows [r0, r0+mr) of A (zero rows after them) into
// scratch buffer i as a 6×K row-major block read with the identity offsets.
func (s *rowsScratch) gatherRows(rc *rowsCall, i, r0, mr int) []float32 {
	k := rc.pb.k
	if len(s.ident) != k {
		s.ident = make([]int32, k)
		for p := range s.ident {
			s.ident[p] = int32(p)
		}
		s.gather = nil
	}
	for len(s.gather) <= i {
		s.gather = append(s.gather, make([]float32, sgMR*max(k, 1)))
	}
	a := s.gather[i]
	clear(a)
	for r := 0; r < mr; r++ {
		row := rc.x[(r0+r)*rc.lda:]
		d := a[r*k : (r+1)*k]
		for p, o := range rc.off {
			d[p] = row[o]
		}
	}
	return a
}

// rowsTiles runs ntiles 6×nr in-place-A tiles (six rows apart in A, C and
// res): the assembly kernel for the panel width when this CPU has it, else Go.
func rowsTiles(ntiles, nr, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	switch {
	case k == 0 || f32Path == isaGo || nr != sgNR && !f32Wide:
		rowsTilesGo(ntiles, nr, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
	case nr == rowsWideNR:
		sgemmTileRowsWide(ntiles, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
	case f32Wide:
		// 16-wide panels on zmm too: 1.0-1.2x the AVX2 kernel.
		sgemmTileRowsZ(nr, ntiles, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
	default:
		sgemmTileRows(ntiles, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
	}
}

func rowsTilesGo(ntiles, nr, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	for t := 0; t < ntiles; t++ {
		var rt []float32
		if res != nil {
			rt = res[t*sgMR*ldc:]
		}
		rowsTileGo(nr, k, a[t*sgMR*lda:], lda, off, b, bias, c[t*sgMR*ldc:], ldc, accum, rt, lo, hi)
	}
}

// rowsTileGo is the pure-Go version (same order: C or the bias, then the sum
// over p, then the residual, then the clamp).
func rowsTileGo(nr, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	var acc [sgMR][rowsWideNR]float32
	if accum {
		for r := range acc {
			copy(acc[r][:nr], c[r*ldc:r*ldc+nr])
		}
	} else if bias != nil {
		for r := range acc {
			copy(acc[r][:nr], bias[:nr])
		}
	}
	for p := 0; p < k; p++ {
		bp := b[p*nr : (p+1)*nr]
		for r := 0; r < sgMR; r++ {
			av := a[r*lda+int(off[p])]
			ar := acc[r][:nr]
			for j, bv := range bp {
				ar[j] += av * bv
			}
		}
	}
	for r := 0; r < sgMR; r++ {
		// The residual before C is written: it may be C itself.
		if res != nil {
			for j, v := range res[r*ldc : r*ldc+nr] {
				acc[r][j] += v
			}
		}
		row := c[r*ldc : r*ldc+nr]
		copy(row, acc[r][:nr])
		clampRow(row, lo, hi)
	}
}

package kernels

import (
	"fmt"
	"math"
)

// Pre-packed float32 GEMM operands. A constant operand (convolution or Gemm
// weights) is packed once into the micro-kernel's layout instead of on every
// call; the other operand is packed per call, in cache-sized column blocks,
// either from a row-major matrix or by a caller-supplied packer (im2col straight
// into the panel layout).

// SgemmEpilogue is an optional fused post-operation of the packed GEMMs,
// applied to each finished C tile while it is in cache: C = clip((C + (RowBias[i]
// + ColBias[j])) + Residual[i][j]), in that order, so that a convolution followed
// by a residual Add and a Relu gives exactly the result of the three operators
// run one after the other. nil slices and Clip false are no-ops.
type SgemmEpilogue struct {
	RowBias  []float32 // len m, or nil
	ColBias  []float32 // len n, or nil
	Residual []float32 // m×n with C's row stride ldc, or nil
	Clip     bool      // clamp to [Min, Max] (ReLU: Min 0, Max +Inf)
	Min      float32
	Max      float32
}

// ReluEpilogue returns an epilogue that clamps at 0 (plus the given row bias).
func ReluEpilogue(rowBias []float32) *SgemmEpilogue {
	return &SgemmEpilogue{RowBias: rowBias, Clip: true, Min: 0, Max: float32(math.Inf(1))}
}

// PackedA is a constant left operand (m×k) packed for SgemmPackedA: for each
// K block of sgKC rows, the row tiles of 6 as [kc][6], zero-padded. With a bias,
// the bias is an extra column k of A (and SgemmPackedA feeds a row of ones for
// it), so the per-row bias costs one more step of the micro-kernel.
type PackedA struct {
	m, k  int // k excludes the bias column
	kt    int // k, plus 1 with a bias
	tiles int
	bias  bool
	data  []float32
}

// blockK returns the size of the K block starting at pc: sgKC, except that a bias
// column that would be alone in a last block joins the previous one (a block of
// one step would cost a whole extra pass over C).
func (p *PackedA) blockK(pc int) int {
	if p.bias && p.kt-pc == sgKC+1 {
		return sgKC + 1
	}
	return min(sgKC, p.kt-pc)
}

// M returns the number of rows of the packed operand.
func (p *PackedA) M() int { return p.m }

// K returns the inner dimension of the packed operand (without the bias column).
func (p *PackedA) K() int { return p.k }

// HasBias reports whether a per-row bias is folded into the operand.
func (p *PackedA) HasBias() bool { return p.bias }

// PackSgemmA packs A (m×k, stored k×m when transA, row stride lda) once for
// SgemmPackedA. bias, if not nil, has m entries added to every element of the
// corresponding row of the product (fused into the GEMM).
func PackSgemmA(transA bool, m, k int, a []float32, lda int, bias []float32) *PackedA {
	if m <= 0 || k < 0 {
		panic(fmt.Sprintf("kernels.PackSgemmA: bad shape %d×%d", m, k))
	}
	if k > 0 {
		checkMatrix("kernels.PackSgemmA", "A", transA, m, k, a, lda)
	}
	if bias != nil && len(bias) < m {
		panic(fmt.Sprintf("kernels.PackSgemmA: bias has %d entries, want %d", len(bias), m))
	}
	p := &PackedA{m: m, k: k, kt: k, tiles: (m + sgMR - 1) / sgMR, bias: bias != nil}
	if p.bias {
		p.kt++
	}
	mPad := p.tiles * sgMR
	p.data = make([]float32, mPad*p.kt)
	for pc := 0; pc < p.kt; pc += p.blockK(pc) {
		kc := p.blockK(pc)
		dst := p.data[pc*mPad : pc*mPad+kc*mPad]
		kr := min(kc, k-pc) // real rows of this block
		if kr == kc {
			packABlock(transA, a, lda, 0, m, pc, kc, dst)
			continue
		}
		// The last block holds the bias column at index kr.
		for t := 0; t < p.tiles; t++ {
			d := dst[t*sgMR*kc : (t+1)*sgMR*kc]
			clear(d)
			for r := 0; r < min(sgMR, m-t*sgMR); r++ {
				i := t*sgMR + r
				for q := 0; q < kr; q++ {
					if transA {
						d[q*sgMR+r] = a[(pc+q)*lda+i]
					} else {
						d[q*sgMR+r] = a[i*lda+pc+q]
					}
				}
				d[kr*sgMR+r] = bias[i]
			}
		}
	}
	return p
}

// PackPanelRows copies columns [0, 16) of n rows of src (row stride ld) into the
// 16-wide panel dst ([n][16]): the packing of a full panel of a row-major B.
func PackPanelRows(dst, src []float32, ld, n int) {
	if n <= 0 {
		return
	}
	if len(dst) < 16*n || ld < 0 || len(src) < (n-1)*ld+16 {
		panic(fmt.Sprintf("kernels.PackPanelRows: %d rows of stride %d do not fit (dst %d, src %d)", n, ld, len(dst), len(src)))
	}
	panelRows(dst, src, ld, n)
}

func panelRowsGo(dst, src []float32, ld, n int) {
	for r := 0; r < n; r++ {
		d := (*[sgNR]float32)(dst[r*sgNR:])
		s := (*[sgNR]float32)(src[r*ld:])
		for l := range d {
			d[l] = s[l]
		}
	}
}

// PackBFunc packs rows [p0, p0+kc) and columns [j0, j0+nc) of a right operand
// into dst as panels of 16 columns: element (p, j) goes to
// dst[q*stride + (p-p0)*16 + l] where j-j0 = 16q+l. Lanes past nc in the last
// panel must be set to 0.
type PackBFunc func(dst []float32, stride, p0, kc, j0, nc int)

// PackBRowMajor returns the PackBFunc of a stored B (k×n, or n×k when transB,
// row stride ldb).
func PackBRowMajor(transB bool, b []float32, ldb int) PackBFunc {
	return func(dst []float32, stride, p0, kc, j0, nc int) {
		for q := 0; q*sgNR < nc; q++ {
			d := dst[q*stride : q*stride+kc*sgNR]
			col := j0 + q*sgNR
			w := min(sgNR, nc-q*sgNR)
			switch {
			case !transB && w == sgNR:
				panelRows(d, b[p0*ldb+col:], ldb, kc)
			case !transB:
				for p := 0; p < kc; p++ {
					dp := d[p*sgNR : p*sgNR+sgNR]
					copy(dp, b[(p0+p)*ldb+col:(p0+p)*ldb+col+w])
					clear(dp[w:])
				}
			default:
				if w < sgNR {
					clear(d)
				}
				for j := 0; j < w; j++ {
					src := b[(col+j)*ldb+p0 : (col+j)*ldb+p0+kc]
					for p, v := range src {
						d[p*sgNR+j] = v
					}
				}
			}
		}
	}
}

// sgNC is the column block of SgemmPackedA: a packed B block of sgKC×sgNC
// floats (384 KiB) stays in L2 while every row tile of A runs over it.
const sgNC = 256

// SgemmPackedA computes C = A·B (C += A·B when accumulate), plus A's bias and the
// epilogue, with A pre-packed and B (k×n, or n×k when transB) packed per call.
// Without a bias or an epilogue the result is bit-identical to Sgemm's.
func SgemmPackedA(pa *PackedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue, threads int) {
	if n <= 0 {
		return
	}
	if pa.k > 0 {
		checkMatrix("kernels.SgemmPackedA", "B", transB, pa.k, n, b, ldb)
	}
	SgemmPackedAFunc(pa, n, PackBRowMajor(transB, b, ldb), c, ldc, accumulate, ep, threads)
}

// SgemmPackedAFunc is SgemmPackedA with B supplied by a packer (for example an
// im2col that writes the panel layout directly). packB is called concurrently
// from several threads on disjoint column ranges.
func SgemmPackedAFunc(pa *PackedA, n int, packB PackBFunc, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue, threads int) {
	m := pa.m
	if n <= 0 {
		return
	}
	checkMatrix("kernels.SgemmPackedA", "C", false, m, n, c, ldc)
	checkEpilogue(ep, m, n, ldc)
	threads = resolveThreads(threads)
	if pa.kt == 0 {
		emptyReduction(c, ldc, m, n, accumulate, ep)
		return
	}
	panels := (n + sgNR - 1) / sgNR
	if panels >= threads {
		// Split the columns into chunks, a multiple of the thread count.
		chunks := max((n+sgNC-1)/sgNC, threads)
		chunks = (chunks + threads - 1) / threads * threads
		chunk := ((n+chunks-1)/chunks + sgNR - 1) / sgNR * sgNR
		parallelChunks(n, chunk, threads, func(next func() (int, int, bool)) {
			buf := getF32(min(sgKC+1, pa.kt) * min(chunk, panels*sgNR))
			defer f32Pool.Put(buf)
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				sgemmPackedABlock(pa, packB, *buf, lo, hi-lo, 0, pa.tiles, c, ldc, accumulate, ep)
			}
		})
		return
	}
	// Few columns: split the row tiles; every thread packs all of B.
	parallelFor(pa.tiles, 1, threads, func(t0, t1 int) {
		if t1 <= t0 {
			return
		}
		buf := getF32(min(sgKC+1, pa.kt) * panels * sgNR)
		defer f32Pool.Put(buf)
		for j0 := 0; j0 < n; j0 += sgNC {
			sgemmPackedABlock(pa, packB, *buf, j0, min(sgNC, n-j0), t0, t1, c, ldc, accumulate, ep)
		}
	})
}

func checkEpilogue(ep *SgemmEpilogue, m, n, ldc int) {
	if ep == nil {
		return
	}
	if ep.RowBias != nil && len(ep.RowBias) < m || ep.ColBias != nil && len(ep.ColBias) < n {
		panic(fmt.Sprintf("kernels: epilogue bias too short (row %d, col %d) for %d×%d", len(ep.RowBias), len(ep.ColBias), m, n))
	}
	if ep.Residual != nil && len(ep.Residual) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels: epilogue residual has %d elements, too few for %d×%d with ldc=%d", len(ep.Residual), m, n, ldc))
	}
}

// packedTile runs the 6×16 micro-kernel of the current path.
func packedTile(kc int, a, b, c []float32, ldc int, accum bool) {
	if f32Path == isaGo {
		sgemmTileGo(kc, a, b, c, ldc, accum)
		return
	}
	sgemmTile(kc, a, b, c, ldc, accum)
}

// sgemmTileGo is the pure-Go 6×16 tile (same summation order as the assembly:
// one running sum per element over p).
func sgemmTileGo(kc int, a, b, c []float32, ldc int, accum bool) {
	var acc [sgMR][sgNR]float32
	for p := 0; p < kc; p++ {
		bp := (*[sgNR]float32)(b[p*sgNR:])
		ap := (*[sgMR]float32)(a[p*sgMR:])
		for r := 0; r < sgMR; r++ {
			av := ap[r]
			for j := 0; j < sgNR; j++ {
				acc[r][j] += av * bp[j]
			}
		}
	}
	for r := 0; r < sgMR; r++ {
		row := c[r*ldc : r*ldc+sgNR]
		for j := range row {
			if accum {
				row[j] += acc[r][j]
			} else {
				row[j] = acc[r][j]
			}
		}
	}
}

// sgemmPackedABlock computes columns [j0, j0+nc) and row tiles [t0, t1) of C.
func sgemmPackedABlock(pa *PackedA, packB PackBFunc, bbuf []float32, j0, nc, t0, t1 int, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue) {
	m := pa.m
	mPad := pa.tiles * sgMR
	panels := (nc + sgNR - 1) / sgNR
	var tile [sgMR * sgNR]float32
	// Full tiles get a residual and clamp epilogue in the micro-kernel's registers.
	asmEp := ep != nil && ep.RowBias == nil && ep.ColBias == nil && f32Path != isaGo
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if asmEp && ep.Clip {
		lo, hi = ep.Min, ep.Max
	}
	for pc := 0; pc < pa.kt; pc += pa.blockK(pc) {
		kc := pa.blockK(pc)
		stride := kc * sgNR
		bb := bbuf[:panels*stride]
		kr := min(kc, pa.k-pc)
		if kr > 0 {
			packB(bb, stride, pc, kr, j0, nc)
		}
		if kr < kc { // the bias row of ones
			for q := 0; q < panels; q++ {
				row := bb[q*stride+kr*sgNR : q*stride+kr*sgNR+sgNR]
				w := min(sgNR, nc-q*sgNR)
				for l := range row {
					if l < w {
						row[l] = 1
					} else {
						row[l] = 0
					}
				}
			}
		}
		acc := accumulate || pc > 0
		last := pc+kc >= pa.kt
		ablk := pa.data[pc*mPad:]
		// A block of sgMC rows stays in L2 while each B panel (in L1) runs over it.
		for tb := t0; tb < t1; tb += sgMC / sgMR {
			for q := 0; q < panels; q++ {
				col := j0 + q*sgNR
				w := min(sgNR, nc-q*sgNR)
				bsub := bb[q*stride:]
				if !(last && ep != nil) && nc-q*sgNR >= 2*sgNR && f32Path != isaGo && f32Tile512 {
					// two full panels per call on the AVX-512 kernels (same bits)
					for t := tb; t < min(t1, tb+sgMC/sgMR); t++ {
						r0 := t * sgMR
						sgemmTile2Panels(min(sgMR, m-r0), kc, ablk[t*sgMR*kc:], bsub, stride, c[r0*ldc+col:], ldc, acc)
					}
					q++
					continue
				}
				for t := tb; t < min(t1, tb+sgMC/sgMR); t++ {
					asub := ablk[t*sgMR*kc:]
					r0 := t * sgMR
					mr := min(sgMR, m-r0)
					switch {
					case mr == sgMR && w == sgNR && last && asmEp:
						var res []float32
						if ep.Residual != nil {
							res = ep.Residual[r0*ldc+col:]
						}
						sgemmTileEp(kc, asub, bsub, c[r0*ldc+col:], ldc, acc, res, lo, hi)
						continue
					case mr == sgMR && w == sgNR:
						packedTile(kc, asub, bsub, c[r0*ldc+col:], ldc, acc)
					case w == sgNR && f32Path != isaGo && sgemmTilePart(mr, kc, asub, bsub, c[r0*ldc+col:], ldc, acc):
						// the last row tile on its real rows, straight into C
					default:
						packedTile(kc, asub, bsub, tile[:], sgNR, false)
						putTile(c[r0*ldc+col:], ldc, tile[:], mr, w, acc)
					}
					if last && ep != nil {
						applyEpilogue(ep, c, ldc, r0, r0+mr, col, col+w)
					}
				}
			}
		}
	}
}

// applyEpilogue applies ep to rows [r0, r1) and columns [c0, c1) of C.
func applyEpilogue(ep *SgemmEpilogue, c []float32, ldc, r0, r1, c0, c1 int) {
	if ep == nil {
		return
	}
	lo, hi := ep.Min, ep.Max
	for i := r0; i < r1; i++ {
		row := c[i*ldc+c0 : i*ldc+c1]
		var rb float32
		if ep.RowBias != nil {
			rb = ep.RowBias[i]
		}
		if ep.ColBias != nil {
			cb := ep.ColBias[c0:c1]
			for j := range row {
				row[j] += rb + cb[j]
			}
		} else if rb != 0 {
			for j := range row {
				row[j] += rb
			}
		}
		if ep.Residual != nil {
			res := ep.Residual[i*ldc+c0 : i*ldc+c1]
			for j := range row {
				row[j] += res[j]
			}
		}
		if ep.Clip {
			clampRow(row, lo, hi)
		}
	}
}

// PackedB is a constant right operand (k×n) packed for SgemmPackedB: column
// panels of 16 as [k][16], zero-padded (the layout Sgemm packs B into on every
// call).
type PackedB struct {
	k, n int
	data []float32
}

// K returns the inner dimension of the packed operand.
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of the packed operand.
func (p *PackedB) N() int { return p.n }

// PackSgemmB packs B (k×n, stored n×k when transB, row stride ldb) once for
// SgemmPackedB.
func PackSgemmB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	if n <= 0 || k < 0 {
		panic(fmt.Sprintf("kernels.PackSgemmB: bad shape %d×%d", k, n))
	}
	if k > 0 {
		checkMatrix("kernels.PackSgemmB", "B", transB, k, n, b, ldb)
	}
	panels := (n + sgNR - 1) / sgNR
	p := &PackedB{k: k, n: n, data: make([]float32, panels*k*sgNR)}
	if k > 0 {
		packB(transB, b, ldb, k, n, 0, panels, p.data)
	}
	return p
}

// SgemmPackedB computes C = A·B (C += A·B when accumulate) with B pre-packed,
// then applies the epilogue. Without an epilogue the result is bit-identical to
// Sgemm's. With m == 1 (a matrix-vector product) the weights are streamed once,
// split by column panels over the threads.
func SgemmPackedB(transA bool, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue, threads int) {
	n, k := pb.n, pb.k
	if m <= 0 {
		return
	}
	if k > 0 {
		checkMatrix("kernels.SgemmPackedB", "A", transA, m, k, a, lda)
	}
	checkMatrix("kernels.SgemmPackedB", "C", false, m, n, c, ldc)
	checkEpilogue(ep, m, n, ldc)
	threads = resolveThreads(threads)
	if k == 0 {
		emptyReduction(c, ldc, m, n, accumulate, ep)
		return
	}
	panels := (n + sgNR - 1) / sgNR
	rowTiles := (m + sgMR - 1) / sgMR
	// The one-thread calls of the two small-row paths below run without a
	// closure: a closure handed to parallelFor escapes, and its allocation
	// (with the GC work it brings) was a visible part of a recurrent step of
	// a few microseconds (an LSTM or GRU cell's H·Rᵀ at batch 1-2).
	if m == 1 && (!transA || lda == 1) && f32Path != isaGo {
		// A matrix-vector product (a classifier head): the weights are read
		// once by the matrix-vector kernels, split in groups of four panels.
		if min(threads, (panels+3)/4) <= 1 {
			sgemvPanels(transA, k, n, a, lda, pb, 0, panels, c, ldc, accumulate, ep)
			return
		}
		parallelFor(panels, 4, threads, func(p0, p1 int) {
			sgemvPanels(transA, k, n, a, lda, pb, p0, p1, c, ldc, accumulate, ep)
		})
		return
	}
	if m < sgMR && !transA && f32Path != isaGo && fewRowsOK() {
		// Two to five rows (the batch of an LSTM or GRU step): A in place,
		// only the real rows, four panels a call; the 6x16 tile's bits.
		if min(threads, (panels+3)/4) <= 1 {
			fewRowsPanelsEp(m, 0, panels, n, k, a, lda, pb.data, c, ldc, accumulate, ep)
			return
		}
		parallelFor(panels, 4, threads, func(p0, p1 int) {
			fewRowsPanelsEp(m, p0, p1, n, k, a, lda, pb.data, c, ldc, accumulate, ep)
		})
		return
	}
	block := func(lo, hi, p0, p1 int) {
		if f32Path == isaGo {
			sgemmPackedBGo(transA, lo, hi, p0, p1, n, k, a, lda, pb.data, c, ldc, accumulate)
		} else {
			sgemmBlock(transA, lo, hi, p0, p1, n, k, a, lda, pb.data, c, ldc, accumulate)
		}
		if ep != nil {
			applyEpilogue(ep, c, ldc, lo, hi, min(p0*sgNR, n), min(p1*sgNR, n))
		}
	}
	if threads > 1 && rowTiles < 2*threads && panels >= 2*threads || m == 1 {
		parallelFor(panels, 1, threads, func(p0, p1 int) { block(0, m, p0, p1) })
		return
	}
	chunk := max(1, (rowTiles+4*threads-1)/(4*threads)) * sgMR
	parallelChunks(m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			block(lo, hi, 0, panels)
		}
	})
}

// sgemvPanels is SgemmPackedB's matrix-vector product on panels [p0, p1).
func sgemvPanels(transA bool, k, n int, a []float32, lda int, pb *PackedB, p0, p1 int, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue) {
	if !sgemvPanelsAsm(a[:k], pb, p0, p1, c, accumulate) {
		sgemmBlock(transA, 0, 1, p0, p1, n, k, a, lda, pb.data, c, ldc, accumulate)
	}
	if ep != nil {
		applyEpilogue(ep, c, ldc, 0, 1, min(p0*sgNR, n), min(p1*sgNR, n))
	}
}

// fewRowsPanelsEp is SgemmPackedB's few-row product on panels [p0, p1),
// then the epilogue on them.
func fewRowsPanelsEp(m, p0, p1, n, k int, a []float32, lda int, bpack, c []float32, ldc int, accumulate bool, ep *SgemmEpilogue) {
	fewRowsPanels(m, p0, p1, n, k, a, lda, bpack, c, ldc, accumulate)
	if ep != nil {
		applyEpilogue(ep, c, ldc, 0, m, min(p0*sgNR, n), min(p1*sgNR, n))
	}
}

// emptyReduction is a product with k == 0: C = 0 (kept when accumulate),
// then the epilogue.
func emptyReduction(c []float32, ldc, m, n int, accumulate bool, ep *SgemmEpilogue) {
	if !accumulate {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	applyEpilogue(ep, c, ldc, 0, m, 0, n)
}

// sgemmPackedBGo is the pure-Go path of SgemmPackedB: plain loops over the
// packed panels.
func sgemmPackedBGo(transA bool, lo, hi, p0, p1, n, k int, a []float32, lda int, bpack []float32, c []float32, ldc int, accumulate bool) {
	for i := lo; i < hi; i++ {
		for p := p0; p < p1; p++ {
			col := p * sgNR
			w := min(sgNR, n-col)
			var s [sgNR]float32
			panel := bpack[p*k*sgNR : (p+1)*k*sgNR]
			for q := 0; q < k; q++ {
				var av float32
				if transA {
					av = a[q*lda+i]
				} else {
					av = a[i*lda+q]
				}
				bp := (*[sgNR]float32)(panel[q*sgNR:])
				for j := range s {
					s[j] += av * bp[j]
				}
			}
			putRow(c[i*ldc+col:i*ldc+col+w], s[:w], accumulate)
		}
	}
}

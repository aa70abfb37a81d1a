//go:build amd64 && !purego && !noasm

package kernels

import "unsafe"

//go:generate sh -c "cd _gen && go run . -out ../asm_amd64.s -stubs ../stubs_amd64.go -pkg kernels"

const haveAsm = true

type qAsmFunc func(a *int8, lda int, b *int8, pstride int, k4 int, nseg int, sstride int, bias *int32, c *int32, accum int)

type qVNNIFunc func(a *int8, lda int, b *int8, pstride int, k4 int, nseg int, sstride int, bias *int32, c *int32, accum int, ep *int64)

var qVNNITable = [2][12]qVNNIFunc{
	{qgemmVNNI_1x1, qgemmVNNI_2x1, qgemmVNNI_3x1, qgemmVNNI_4x1, qgemmVNNI_5x1, qgemmVNNI_6x1,
		qgemmVNNI_7x1, qgemmVNNI_8x1, qgemmVNNI_9x1, qgemmVNNI_10x1, qgemmVNNI_11x1, qgemmVNNI_12x1},
	{qgemmVNNI_1x2, qgemmVNNI_2x2, qgemmVNNI_3x2, qgemmVNNI_4x2, qgemmVNNI_5x2, qgemmVNNI_6x2,
		qgemmVNNI_7x2, qgemmVNNI_8x2, qgemmVNNI_9x2, qgemmVNNI_10x2, qgemmVNNI_11x2, qgemmVNNI_12x2},
}

var qAVX2Table = [4]qAsmFunc{qgemmAVX2_1x1, qgemmAVX2_2x1, qgemmAVX2_3x1, qgemmAVX2_4x1}

var qAVX2WTable = [6]func(a *int16, lda int, b *int16, k2 int, nseg int, sstride int, bias *int32, c *int32, accum int){
	qgemmAVX2W_1x1, qgemmAVX2W_2x1, qgemmAVX2W_3x1, qgemmAVX2W_4x1, qgemmAVX2W_5x1, qgemmAVX2W_6x1,
}

var (
	qKernelVNNI      = qKernel{mr: 12, nv: 2, xor: true, fused: true, run: qTileVNNI}
	qKernelAVX2Sign  = qKernel{mr: 4, nv: 1, run: qTileAVX2}
	qKernelAVX2Int16 = qKernel{mr: 6, nv: 1, wide: true, runW: qTileAVX2W}
)

// avx2SignTrick selects the AVX2 sign-trick kernel (VPSIGNB/VPMADDUBSW) instead
// of the int16 VPMADDWD kernel (the default: faster on this core, see README).
var avx2SignTrick = false

func qTileAVX2W(a []int16, lda int, b []int16, pstride, k2, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool) {
	_ = a[(nseg-1)*sstride+(mr-1)*lda+k2*2-1]
	_ = bias[nv*16-1]
	_ = tile[(mr-1)*qTileStride+nv*16-1]
	for v := 0; v < nv; v++ {
		_ = b[v*pstride+nseg*k2*32-1]
		qAVX2WTable[mr-1](&a[0], lda*2, &b[v*pstride], k2, nseg, sstride*2, &bias[v*16], &tile[v*16], b2i(accum))
	}
}

// widen sign-extends src into dst (same length).
func widen(dst []int16, src []int8) {
	n := len(src) &^ 15
	_ = dst[:len(src)]
	if n > 0 {
		widenAVX2(&dst[0], &src[0], n)
	}
	for i := n; i < len(src); i++ {
		dst[i] = int16(src[i])
	}
}

// qEpiInt32 is the mode-0 epilogue (store the int32 tile), shared and only
// read by the kernels: a &qEpi{} per call escaped to the heap through the
// kernel table, one allocation per tile (sixteenth session: most of an int8
// BiLSTM's allocations, a few rows per recurrent step).
var qEpiInt32 qEpi

func qTileVNNI(a []int8, lda int, b []int8, pstride, k4, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool, ep *qEpi) {
	_ = a[(nseg-1)*sstride+(mr-1)*lda+k4*4-1]
	_ = b[(nv-1)*pstride+nseg*k4*64-1]
	_ = bias[nv*16-1]
	_ = tile[(mr-1)*qTileStride+nv*16-1]
	if ep == nil {
		ep = &qEpiInt32
	}
	qVNNITable[nv-1][mr-1](&a[0], lda, &b[0], pstride, k4, nseg, sstride, &bias[0], &tile[0], b2i(accum), &ep.mode)
}

func qTileAVX2(a []int8, lda int, b []int8, pstride, k4, nseg, sstride int, bias []int32, tile []int32, mr, nv int, accum bool, _ *qEpi) {
	_ = a[(nseg-1)*sstride+(mr-1)*lda+k4*4-1]
	_ = bias[nv*16-1]
	_ = tile[(mr-1)*qTileStride+nv*16-1]
	for v := 0; v < nv; v++ {
		_ = b[v*pstride+nseg*k4*64-1]
		qAVX2Table[mr-1](&a[0], lda, &b[v*pstride], pstride, k4, nseg, sstride, &bias[v*16], &tile[v*16], b2i(accum))
	}
}

func currentQKernel() qKernel {
	switch int8Path {
	case isaVNNI:
		return qKernelVNNI
	case isaAVX2:
		if avx2SignTrick {
			return qKernelAVX2Sign
		}
		return qKernelAVX2Int16
	}
	return qKernelGo
}

// qKernelFor is currentQKernel for packed weights: weights holding a -128
// (full) take the int16 AVX2 kernel instead of the sign trick's, which cannot
// represent it. Every other kernel is exact on the full int8 range: VPDPBUSD
// adds its four u8·s8 products into int32 without saturation, VPMADDWD's pair
// of int16 products (at most 2·128·255 in magnitude) fits int32, and so does Go's.
func qKernelFor(full bool) qKernel {
	if full && int8Path == isaAVX2 {
		return qKernelAVX2Int16
	}
	return currentQKernel()
}

// b2i is the int flag (0 or 1) the assembly kernels take for a bool.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rqConsts packs the scalar parameters of the requantization kernels.
func (p *rqParams) consts() [8]int32 {
	var c [8]int32
	c[0] = p.zp
	if p.mode == RequantFixedPoint {
		c[1], c[2] = p.lo-p.zp, p.hi-p.zp
	} else {
		c[3] = int32(mathFloat32bits(float32(p.lo - p.zp)))
		c[4] = int32(mathFloat32bits(float32(p.hi - p.zp)))
	}
	return c
}

func (p *rqParams) row(src []int32, dst []int8, c0 int) {
	p.tile(src, len(src), 1, len(src), dst, len(dst), c0)
}

func (p *rqParams) tile(src []int32, ts, rows, ncols int, dst []int8, ldo int, c0 int) {
	n8 := ncols / 8
	if n8 > 0 && simdPath != isaGo && rows > 0 {
		_ = src[(rows-1)*ts+ncols-1]
		_ = dst[(rows-1)*ldo+ncols-1]
		c := p.consts()
		if p.mode == RequantFixedPoint {
			_ = p.mult[c0+ncols-1]
			_ = p.shift[c0+ncols-1]
			requantFixedAVX2(&src[0], ts*4, &dst[0], ldo, rows, n8, &p.mult[c0], &p.shift[c0], &c)
		} else {
			_ = p.scale[c0+ncols-1]
			requantFloatAVX2(&src[0], ts*4, &dst[0], ldo, rows, n8, &p.scale[c0], &c)
		}
	} else {
		n8 = 0
	}
	if done := n8 * 8; done < ncols {
		for i := 0; i < rows; i++ {
			p.rowGo(src[i*ts+done:i*ts+ncols], dst[i*ldo+done:i*ldo+ncols], c0+done)
		}
	}
}

// sgemmTile computes a 6×16 tile from packed A ([kc][6]) and B ([kc][16]).
func sgemmTile(kc int, a, b, c []float32, ldc int, accum bool) {
	_ = a[kc*sgMR-1]
	_ = b[kc*sgNR-1]
	_ = c[(sgMR-1)*ldc+sgNR-1]
	sgemmAVX2_6x16(kc, &a[0], &b[0], &c[0], ldc, b2i(accum))
}

// panelRows copies 16 floats from each of n rows of src (row stride ld) into the
// 16-wide panel dst.
func panelRows(dst, src []float32, ld, n int) {
	if n <= 0 {
		return
	}
	_ = dst[16*n-1]
	_ = src[(n-1)*ld+15]
	if simdPath == isaGo {
		panelRowsGo(dst, src, ld, n)
		return
	}
	panelRowsAVX2(&dst[0], &src[0], ld, n)
}

// sgemmTileRows runs ntiles 6×16 tiles (six rows apart in A, C and res) with
// A element (r, p) at a[r*lda+off[p]], B a packed panel, accumulators
// initialised from C (accum) or the bias, and the residual and clamp epilogue.
// SgemmRows has checked the offsets against x.
func sgemmTileRows(ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	tileRowsArgs(ntiles, k, sgNR, off, b, bias, c, ldc, res)
	sgemmAVX2_6x16rows(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles)
}

// sgemmTileRowsWide is sgemmTileRows on 64-column panels with the AVX-512
// kernel.
func sgemmTileRowsWide(ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	tileRowsArgs(ntiles, k, rowsWideNR, off, b, bias, c, ldc, res)
	sgemmAVX512_6x64rows(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles)
}

// sgemmTileRowsZ is sgemmTileRows on 16-, 32- or 48-column panels (nr)
// with the AVX-512 kernels of that width.
func sgemmTileRowsZ(nr, ntiles, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	tileRowsArgs(ntiles, k, nr, off, b, bias, c, ldc, res)
	switch nr {
	case 16:
		sgemmAVX512_6x16rows(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles)
	case 32:
		sgemmAVX512_6x32rows(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles)
	case 48:
		sgemmAVX512_6x48rows(k, &a[0], lda, &off[0], &b[0], ptrOrNil(bias), &c[0], ldc, b2i(accum), ptrOrNil(res), lo, hi, ntiles)
	default:
		panic("kernels: no AVX-512 row kernel of this width")
	}
}

// tileRowsArgs checks the bounds the row-tile kernels rely on.
func tileRowsArgs(ntiles, k, nr int, off []int32, b, bias, c []float32, ldc int, res []float32) {
	if ntiles < 1 {
		panic("kernels: no row tile")
	}
	_ = off[k-1]
	_ = b[k*nr-1]
	_ = c[(ntiles*sgMR-1)*ldc+nr-1]
	if bias != nil {
		_ = bias[nr-1]
	}
	if res != nil {
		_ = res[(ntiles*sgMR-1)*ldc+nr-1]
	}
}

func ptrOrNil(s []float32) *float32 {
	if s == nil {
		return nil
	}
	return &s[0]
}

// maxInto sets dst[i] = max(dst[i], src[i]), eight lanes at a time.
func maxInto(dst, src []float32) {
	n := len(dst)
	_ = src[n-1]
	if simdPath == isaGo || n < 8 {
		maxIntoGo(dst, src)
		return
	}
	v := n &^ 7
	maxF32AVX2(&dst[0], &src[0], v)
	maxIntoGo(dst[v:], src[v:n])
}

// sgemmTileEp is sgemmTile followed by C = clamp(C + res, lo, hi) in registers
// (res a tile with C's row stride, or nil).
func sgemmTileEp(kc int, a, b, c []float32, ldc int, accum bool, res []float32, lo, hi float32) {
	_ = a[kc*sgMR-1]
	_ = b[kc*sgNR-1]
	_ = c[(sgMR-1)*ldc+sgNR-1]
	var rp *float32
	if res != nil {
		_ = res[(sgMR-1)*ldc+sgNR-1]
		rp = &res[0]
	}
	sgemmAVX2_6x16ep(kc, &a[0], &b[0], &c[0], ldc, b2i(accum), rp, lo, hi)
}

// sgemmTileInd is the 6×16 tile with B row p read at x[off[p]:] (16 floats)
// and the clamp epilogue. The caller (SgemmShifted) has checked every offset
// against x.
func sgemmTileInd(kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) {
	_ = a[kc*sgMR-1]
	_ = off[kc-1]
	_ = c[(sgMR-1)*ldc+sgNR-1]
	sgemmAVX2_6x16ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, b2i(accum), nil, lo, hi)
}

// sgemmTileInd2 is sgemmTileInd on two adjacent panels (a 6×32 tile: B row p at
// x[off[p]:], 32 floats), with the AVX-512 kernel; false (nothing done) without it.
func sgemmTileInd2(kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) bool {
	if !f32Tile512 {
		return false
	}
	_ = a[kc*sgMR-1]
	_ = off[kc-1]
	_ = c[(sgMR-1)*ldc+2*sgNR-1]
	sgemmAVX512_6x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, b2i(accum), nil, lo, hi)
	return true
}

// sgemmTilePart is sgemmTile on the first rows (1-5) of the tile only, with the
// AVX-512 kernels (one zmm per row: the same running sums as the AVX2 6x16
// kernel); false (nothing done) without them.
func sgemmTilePart(rows, kc int, a, b, c []float32, ldc int, accum bool) bool {
	if !f32Tile512 || rows < 1 || rows >= sgMR {
		return false
	}
	_ = a[kc*sgMR-1]
	_ = b[kc*sgNR-1]
	_ = c[(rows-1)*ldc+sgNR-1]
	acc := b2i(accum)
	switch rows {
	case 1:
		sgemmAVX512_1x16(kc, &a[0], &b[0], &c[0], ldc, acc)
	case 2:
		sgemmAVX512_2x16(kc, &a[0], &b[0], &c[0], ldc, acc)
	case 3:
		sgemmAVX512_3x16(kc, &a[0], &b[0], &c[0], ldc, acc)
	case 4:
		sgemmAVX512_4x16(kc, &a[0], &b[0], &c[0], ldc, acc)
	default:
		sgemmAVX512_5x16(kc, &a[0], &b[0], &c[0], ldc, acc)
	}
	return true
}

// sgemmTile2Panels runs the first rows (1-6) of a 6x32 tile from two packed
// 16-column panels, bs floats apart, into C (columns contiguous): each element
// the running FMA sum over p of packedTile, then added to C when accum (the same
// bits as packedTile on each panel; sgemmTilePart on each for fewer rows).
func sgemmTile2Panels(rows, kc int, a, b []float32, bs int, c []float32, ldc int, accum bool) bool {
	if !f32Tile512 || rows < 1 || rows > sgMR {
		return false
	}
	_ = a[kc*sgMR-1]
	_ = b[bs+kc*sgNR-1]
	_ = c[(rows-1)*ldc+2*sgNR-1]
	acc := b2i(accum)
	switch rows {
	case 1:
		sgemmAVX512_1x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	case 2:
		sgemmAVX512_2x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	case 3:
		sgemmAVX512_3x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	case 4:
		sgemmAVX512_4x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	case 5:
		sgemmAVX512_5x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	default:
		sgemmAVX512_6x32(kc, &a[0], &b[0], bs, &c[0], ldc, acc)
	}
	return true
}

// sgemmTileInd2Rows is sgemmTileInd2 on the first rows (1-6) of the tile only:
// the last row tile of a GEMM whose rows are not a multiple of six, whose other
// rows (A's zero padding) need not be computed. Each element it writes is the
// one sgemmTileInd2 writes.
func sgemmTileInd2Rows(rows, kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) bool {
	if !f32Tile512 {
		return false
	}
	_ = a[kc*sgMR-1]
	_ = off[kc-1]
	_ = c[(rows-1)*ldc+2*sgNR-1]
	acc := b2i(accum)
	switch rows {
	case 1:
		sgemmAVX512_1x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	case 2:
		sgemmAVX512_2x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	case 3:
		sgemmAVX512_3x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	case 4:
		sgemmAVX512_4x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	case 5:
		sgemmAVX512_5x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	default:
		sgemmAVX512_6x32ind(kc, &a[0], &x[0], &off[0], &c[0], ldc, acc, nil, lo, hi)
	}
	return true
}

// peakLoop returns the peak loop of the current path for dtype ("int8" or
// "float32") and the int8 MACs (or float32 FMAs) of one iteration.
func peakLoop(dtype string) (func(int), int) {
	if dtype == "float32" {
		if f32Path == isaAVX2 {
			return peakFMA, 96
		}
		return nil, 0
	}
	switch int8Path {
	case isaVNNI:
		if amxOK {
			return peakAMXRun, 262144
		}
		return peakVNNIZ, 1536
	case isaAVX2:
		if avx2SignTrick {
			return peakAVX2Int8, 256
		}
		return peakAVX2Madd16, 128
	}
	return nil, 0
}

func depthwisePath() isaPath {
	if int8Path == isaVNNI {
		return isaVNNI
	}
	if simdPath != isaGo {
		return isaAVX2
	}
	return isaGo
}

// dwEpi is the epilogue descriptor of the depthwise kernels (offsets fixed,
// see TestEpiLayout): mode 0 stores int32; mode 1 requantizes (float) to int8
// at out (pixel stride ostride bytes) with scale in dwOrder per 16 channels.
type dwEpi struct {
	mode    int64
	out     *int8
	ostride int64
	scale   *float32
	consts  [24]int32 // zp×8, float32bits(Min-zp)×8, float32bits(Max-zp)×8
}

type dwFunc func(in *int16, off *int64, npairs int, pstride int, ow int, w *int16, wstride int, bias *int32, out *int32, ostride int, ep *int64)

// dwKernels[nb-1] = {main kernel, its pixels per iteration, tail kernel (1 pixel)}
var dwKernels = [2]struct {
	main, tail dwFunc
	px         int
}{
	{depthwiseAVX2_1x4, depthwiseAVX2_1x1, 4},
	{depthwiseAVX2_2x2, depthwiseAVX2_2x1, 2},
}

func depthwiseRow(base []int16, off []int64, d *dwWeights, pstride, ow int, out []int32, ep *dwEpi) {
	last := ((ow-1)*pstride+int(off[d.npairs-1]))/2 + 2*d.cp - 1
	_ = base[last]
	_ = out[ow*d.cp-1]
	nblk := d.cp / 16
	var e dwEpi
	if ep != nil {
		e = *ep
	}
	for b := 0; b < nblk; {
		nb := min(2, nblk-b)
		k := dwKernels[nb-1]
		main := ow - ow%k.px
		for _, part := range [2]struct{ x0, n int }{{0, main}, {main, ow - main}} {
			if part.n == 0 {
				continue
			}
			fn := k.main
			if part.x0 == main {
				fn = k.tail
			}
			if ep != nil {
				e.out = (*int8)(unsafe.Add(unsafe.Pointer(ep.out), b*16+part.x0*int(ep.ostride)))
				e.scale = (*float32)(unsafe.Add(unsafe.Pointer(ep.scale), b*64))
			}
			fn(&base[b*32+part.x0*pstride/2], &off[0], d.npairs, pstride, part.n, &d.w16[b*32], nblk*64, &d.biasP[b*16], &out[b*16+part.x0*d.cp], d.cp*4, &e.mode)
		}
		b += nb
	}
}

// dwPairs builds one row of the pair buffer from n+dil int8 pixels of cp channels.
func dwPairs(dst []int16, src []int8, n, cp, dil int) {
	_ = src[(n+dil)*cp-1]
	_ = dst[n*2*cp-1]
	dwPairsAVX2(&dst[0], &src[0], n, cp, dil)
}

var dwF32Table = [4]func(in *float32, off *int64, taps int, pstride int, ow int, w *float32, wstride int, bias *float32, out *float32, ostride int){
	depthwiseF32AVX2_1, depthwiseF32AVX2_2, depthwiseF32AVX2_3, depthwiseF32AVX2_4,
}

// depthwiseF32Row computes one output row (ow pixels, cp channels) from a
// padded input row base; weights [taps][cp], bias [cp], out stride cp.
func depthwiseF32Row(base []float32, off []int64, taps, pstride, ow int, w, bias, out []float32, cp int) bool {
	if f32Path == isaGo {
		return false
	}
	_ = base[(ow-1)*pstride/4+int(off[taps-1])/4+cp-1]
	_ = w[taps*cp-1]
	_ = out[ow*cp-1]
	for c := 0; c < cp; c += 32 {
		nb := min(4, (cp-c)/8)
		dwF32Table[nb-1](&base[c], &off[0], taps, pstride, ow, &w[c], cp*4, &bias[c], &out[c], cp*4)
	}
	return true
}

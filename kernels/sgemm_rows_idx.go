package kernels

import (
	"fmt"
	"math"
)

// The indexed variant of SgemmRows for narrow convolutions (a group of 8 to
// 64 channels, 16 or 32 output channels): every output row has its own A
// offset and its own C offset. SgemmRows takes the rows of a laid-out image
// at one constant stride, so a convolution whose padded row is wider than
// its output (ppw > ow: every 3x3 one) computes the padding columns too and
// copies the output rows out of a band (7x7 maps: 63 rows for 49 pixels,
// 11 tiles of six for them), and a short last tile goes through a scratch
// tile. With per-row offsets the tiles run over the output pixels only, a
// short last tile repeats its last row, and C is written in place.

// idxTilesPerCall bounds one assembly call (tiles of a reduction of at most
// a few hundred steps: tens of microseconds), so that the goroutine stays
// preemptible.
const idxTilesPerCall = 32

// idxPrefetchFloats is the size of packed weights (1 MB) from which
// SgemmRowsIdx has its tiles prefetch the next panel: weights that large
// are not in cache from the previous run (ResNet-50's 3x3 layers of 0.6-2.4
// MB, its stride-2 projections of 0.5-8 MB), and the first tile on each
// panel otherwise waits for it from memory.
// Smaller weights stay in L2 between runs, where a prefetch only costs its
// load slot.
const idxPrefetchFloats = 1 << 18

// PackRowsB16 packs b (k×n, row stride ldb, n a multiple of 16) in 16-wide
// column panels [k][16], the layout SgemmRowsIdx takes on every CPU.
func PackRowsB16(k, n int, b []float32, ldb int) *RowsB {
	if n <= 0 || n%sgNR != 0 || k <= 0 || ldb < n || len(b) < (k-1)*ldb+n {
		panic(fmt.Sprintf("kernels.PackRowsB16: bad shape %d×%d (ldb=%d, len=%d)", k, n, ldb, len(b)))
	}
	panels := n / sgNR
	p := &RowsB{k: k, n: n, nr: sgNR, data: make([]float32, panels*k*sgNR)}
	for q := 0; q < panels; q++ {
		for r := 0; r < k; r++ {
			copy(p.data[(q*k+r)*sgNR:(q*k+r+1)*sgNR], b[r*ldb+q*sgNR:])
		}
	}
	return p
}

// SgemmRowsIdx computes, for every row i < len(aoff) and j < n = pb.N(),
// C[coff[i]+j] = act(clamp(bias[j] + Σ_p x[aoff[i]+off[p]]·B[p][j] +
// res[coff[i]+j])), bias and res optional (nil), the clamp to [lo, hi] only
// when clip. pb comes from PackRowsB16, or from PackRowsB where its panels
// are whole (n a multiple of the panel width: 32, 48 or 64 columns on
// AVX-512, run on the zmm tiles of that width); len(off) = pb.K(); coff has
// len(aoff) entries. Rows may alias in C only if they are identical rows
// (same aoff and coff). It runs on the calling goroutine: callers split the
// rows or the panels over threads themselves.
func SgemmRowsIdx(pb *RowsB, x []float32, aoff, off []int32, bias, c []float32, coff []int32, res []float32, clip bool, lo, hi float32, act Act) {
	sgemmRowsIdx(pb, x, aoff, off, bias, c, coff, res, clip, lo, hi, act, len(pb.data) >= idxPrefetchFloats)
}

// sgemmRowsIdx is SgemmRowsIdx, its tiles prefetching the next weight panel
// when prefetch (BenchmarkRowsIdxPrefetch times both).
func sgemmRowsIdx(pb *RowsB, x []float32, aoff, off []int32, bias, c []float32, coff []int32, res []float32, clip bool, lo, hi float32, act Act, prefetch bool) {
	m, n, k, nr := len(aoff), pb.n, pb.k, pb.nr
	if nr%sgNR != 0 || nr > rowsWideNR || n%nr != 0 {
		panic(fmt.Sprintf("kernels.SgemmRowsIdx: %d columns in partial %d-wide panels", n, nr))
	}
	if len(coff) != m || len(off) != k {
		panic(fmt.Sprintf("kernels.SgemmRowsIdx: %d row offsets for C, %d for A; %d steps for K=%d", len(coff), m, len(off), k))
	}
	if m == 0 {
		return
	}
	maxA, maxC, maxOff := idxMax("A row", aoff), idxMax("C row", coff), idxMax("step", off)
	if maxA+maxOff >= len(x) {
		panic(fmt.Sprintf("kernels.SgemmRowsIdx: offsets up to %d+%d do not fit %d elements of x", maxA, maxOff, len(x)))
	}
	if maxC+n > len(c) || res != nil && maxC+n > len(res) {
		panic(fmt.Sprintf("kernels.SgemmRowsIdx: C offsets up to %d with %d columns do not fit C (%d) or the residual (%d)", maxC, n, len(c), len(res)))
	}
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels.SgemmRowsIdx: bias of %d for %d columns", len(bias), n))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	full := m / sgMR
	var ta, tc [sgMR]int32
	if rem := m % sgMR; rem != 0 {
		for r := range ta {
			i := full*sgMR + min(r, rem-1)
			ta[r], tc[r] = aoff[i], coff[i]
		}
	}
	// pf is the next panel, pfn its 256-byte blocks not yet prefetched; a
	// call of nt tiles prefetches at most one block every four reduction
	// steps of each tile.
	for p := 0; p < n/nr; p++ {
		panel := pb.data[p*k*nr : (p+1)*k*nr]
		col := p * nr
		var pf []float32
		if prefetch && p+1 < n/nr {
			pf = pb.data[(p+1)*k*nr : (p+2)*k*nr]
		}
		call := func(nt int) ([]float32, int) {
			q := min(len(pf)/64, nt*(k/4))
			next := pf
			pf = pf[q*64:]
			return next, q
		}
		var pbias, pres []float32
		if bias != nil {
			pbias = bias[col:]
		}
		if res != nil {
			pres = res[col:]
		}
		pc := c[col:]
		// The activation runs on each call's rows of the panel right after
		// it, while they are in L1/L2: after the whole product it read
		// every output back from memory on large maps (fourteenth session).
		for t := 0; t < full; t += idxTilesPerCall {
			nt := min(idxTilesPerCall, full-t)
			npf, q := call(nt)
			rowsIdxDispatch(nr, nt, k, x, aoff[t*sgMR:(t+nt)*sgMR], off, panel, pbias, pc, coff[t*sgMR:(t+nt)*sgMR], pres, lo, hi, npf, q)
			if act != ActNone {
				activatePanelRows(act, pc, coff[t*sgMR:(t+nt)*sgMR], nr, n)
			}
		}
		if m%sgMR != 0 {
			npf, q := call(1)
			rowsIdxDispatch(nr, 1, k, x, ta[:], off, panel, pbias, pc, tc[:], pres, lo, hi, npf, q)
			if act != ActNone {
				// The short tile's repeated row is activated once.
				activatePanelRows(act, pc, coff[full*sgMR:], nr, n)
			}
		}
	}
}

// activatePanelRows applies act to the nr columns (a whole panel, a
// multiple of 16: every element on the vector path, as in activateRows) at
// c[coff[i]:] of each row; where the panel is the whole row (nr == n) the
// rows that follow each other in C take one call per run.
func activatePanelRows(act Act, c []float32, coff []int32, nr, n int) {
	if nr == n {
		activateRows(act, c, coff, n)
		return
	}
	for _, o := range coff {
		row := c[o : int(o)+nr]
		ActF32(act, row, row)
	}
}

// activateRows applies act to the n columns of the C rows at coff. Rows
// that follow each other in C (a convolution's output pixels at a pixel
// stride of n: a stem's 16 channels) take one call per run instead of one
// per row: MobileNetV3's 3 → 16 stem made 12,544 HardSwish calls of 16
// floats. Only when n is a multiple of 16 (every vector width): each element
// is then on the vector path in either form, so the values are the same.
func activateRows(act Act, c []float32, coff []int32, n int) {
	for i := 0; i < len(coff); {
		j := i + 1
		if n%16 == 0 {
			for j < len(coff) && int(coff[j]) == int(coff[j-1])+n {
				j++
			}
		}
		run := c[coff[i] : int(coff[i])+(j-i)*n]
		ActF32(act, run, run)
		i = j
	}
}

// idxMax returns the largest of the offsets, which must not be negative.
func idxMax(what string, offs []int32) int {
	mx := 0
	for i, o := range offs {
		if o < 0 {
			panic(fmt.Sprintf("kernels.SgemmRowsIdx: negative %s offset %d at %d", what, o, i))
		}
		mx = max(mx, int(o))
	}
	return mx
}

// rowsIdxDispatch runs ntiles indexed tiles on the path of this CPU; the
// assembly tiles also prefetch pfn 256-byte blocks of pf (Go has no
// prefetch: its tiles ignore them).
func rowsIdxDispatch(nr, ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32, pf []float32, pfn int) {
	if f32Path == isaGo || nr != sgNR && !f32Wide {
		rowsIdxTilesGo(nr, ntiles, k, a, aoff, off, b, bias, c, coff, res, lo, hi)
		return
	}
	rowsIdxTiles(nr, ntiles, k, a, aoff, off, b, bias, c, coff, res, lo, hi, pf, pfn)
}

// rowsIdxTilesGo is the pure-Go version of the indexed tiles on panels of
// nr columns (same order: the bias, the sum over p, the residual, the
// clamp).
func rowsIdxTilesGo(nr, ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	var accs [sgMR][rowsWideNR]float32
	for t := 0; t < ntiles; t++ {
		for r := range accs {
			if bias != nil {
				copy(accs[r][:nr], bias[:nr])
			} else {
				accs[r] = [rowsWideNR]float32{}
			}
		}
		for p := 0; p < k; p++ {
			bp := b[p*nr : (p+1)*nr]
			for r := 0; r < sgMR; r++ {
				av := a[int(aoff[t*sgMR+r])+int(off[p])]
				acc := accs[r][:nr]
				for j, bv := range bp {
					acc[j] += av * bv
				}
			}
		}
		// Every residual row is read before any C row is written, as the
		// assembly does: a repeated row reads the same residual even when
		// the residual is C itself.
		for r := 0; res != nil && r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			for j, v := range res[o : o+nr] {
				accs[r][j] += v
			}
		}
		for r := 0; r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			row := c[o : o+nr]
			copy(row, accs[r][:nr])
			clampRow(row, lo, hi)
		}
	}
}

package kernels

import (
	"fmt"
	"math"
)

// The 16-channel stride-2 stems (MobileNetV3's 3 → 16 3x3): one 16-wide
// weight panel, so the indexed tiles of SgemmRowsIdx have six accumulators,
// too few to cover the FMA latency over a 27-step reduction. Runs of
// consecutive output pixels of one output row read their NCHW input two
// floats apart: a 12-row tile addresses all its rows from one base register
// (sgemmAVX512_12x16stemS2) and keeps twelve accumulators.

// stemTileRows is the rows of one stem tile.
const stemTileRows = 12

// Stem16Fast reports whether SgemmStem16 runs on its assembly tile on this
// CPU (AVX-512 with full-width FMA units); elsewhere it runs in Go and the
// indexed tiles are the faster path.
func Stem16Fast() bool { return rows16Z }

// SgemmStem16 is SgemmStem at input stride 2 on one 16-wide panel.
func SgemmStem16(pb *RowsB, x []float32, a0 int, off []int32, bias, c []float32, c0, ldc, ntiles int, clip bool, lo, hi float32, act Act) {
	if pb.n != sgNR {
		panic(fmt.Sprintf("kernels.SgemmStem16: %d columns", pb.n))
	}
	SgemmStem(pb, x, a0, 2, off, bias, c, c0, ldc, ntiles, clip, lo, hi, act)
}

// StemFast reports whether SgemmStem runs on an assembly tile for a panel
// of nr columns and input stride xs on this CPU (AVX-512 with full-width
// FMA units); elsewhere it runs in Go and the indexed tiles are the faster
// path.
func StemFast(nr, xs int) bool {
	return rows16Z && (nr == sgNR || nr == 2*sgNR && f32Wide) && (xs == 1 || xs == 2)
}

// SgemmStem computes ntiles tiles of twelve rows: for row i < 12·ntiles
// and j < n, C[c0 + i·ldc + j] = act(clamp(bias[j] + Σ_p x[a0 + xs·i +
// off[p]]·B[p][j])), bias optional (nil), the clamp to [lo, hi] only when
// clip. pb is one panel of n = 16 or 32 columns (PackRowsB, or PackRowsB16
// of 16 columns); xs is 1 or 2; len(off) = pb.K(). The arithmetic of every
// output is SgemmRowsIdx's (the bias, then one FMA per step in order, then
// the clamp and act).
func SgemmStem(pb *RowsB, x []float32, a0, xs int, off []int32, bias, c []float32, c0, ldc, ntiles int, clip bool, lo, hi float32, act Act) {
	k, n := pb.k, pb.n
	if n != pb.nr || n != sgNR && n != 2*sgNR || xs != 1 && xs != 2 || len(off) != k || k == 0 {
		panic(fmt.Sprintf("kernels.SgemmStem: %d columns in %d-wide panels, input stride %d, %d steps for K=%d", n, pb.nr, xs, len(off), k))
	}
	if ntiles <= 0 {
		return
	}
	rows := stemTileRows * ntiles
	maxOff := idxMax("step", off)
	if a0 < 0 || a0+xs*(rows-1)+maxOff >= len(x) {
		panic(fmt.Sprintf("kernels.SgemmStem: A rows from %d with offsets up to %d do not fit %d elements", a0, maxOff, len(x)))
	}
	if c0 < 0 || ldc < n || c0+(rows-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("kernels.SgemmStem: C rows from %d (ldc %d) do not fit %d elements", c0, ldc, len(c)))
	}
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels.SgemmStem: bias of %d for %d columns", len(bias), n))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	for t := 0; t < ntiles; t += idxTilesPerCall {
		nt := min(idxTilesPerCall, ntiles-t)
		ct := c[c0+stemTileRows*t*ldc:]
		stemTiles(n, xs, nt, k, x[a0+xs*stemTileRows*t:], off, pb.data, bias, ct, ldc, lo, hi)
		if act == ActNone {
			continue
		}
		// The activation runs on each call's rows right after it, while
		// they are in L1/L2 (as SgemmRowsIdx's).
		if ldc == n {
			run := ct[:nt*stemTileRows*n]
			ActF32(act, run, run)
			continue
		}
		for i := 0; i < nt*stemTileRows; i++ {
			row := ct[i*ldc : i*ldc+n]
			ActF32(act, row, row)
		}
	}
}

// stemTilesGo is the pure-Go version of the stem tiles (n columns, input
// stride xs).
func stemTilesGo(n, xs, ntiles, k int, a []float32, off []int32, b, bias, c []float32, ldc int, lo, hi float32) {
	for i := 0; i < stemTileRows*ntiles; i++ {
		var acc [2 * sgNR]float32
		if bias != nil {
			copy(acc[:n], bias[:n])
		}
		for p := 0; p < k; p++ {
			av := a[xs*i+int(off[p])]
			for j, bv := range b[p*n : (p+1)*n] {
				acc[j] += av * bv
			}
		}
		row := c[i*ldc : i*ldc+n]
		copy(row, acc[:n])
		clampRow(row, lo, hi)
	}
}

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

// SgemmStem16 computes ntiles tiles of twelve rows: for row i <
// 12·ntiles and j < 16, C[c0 + i·ldc + j] = act(clamp(bias[j] +
// Σ_p x[a0 + 2i + off[p]]·B[p][j])), bias optional (nil), the clamp to
// [lo, hi] only when clip. pb is one 16-wide panel (PackRowsB or
// PackRowsB16 of 16 columns); len(off) = pb.K(). The arithmetic of every
// output is SgemmRowsIdx's (the bias, then one FMA per step in order, then
// the clamp and act).
func SgemmStem16(pb *RowsB, x []float32, a0 int, off []int32, bias, c []float32, c0, ldc, ntiles int, clip bool, lo, hi float32, act Act) {
	k := pb.k
	if pb.n != sgNR || pb.nr != sgNR || len(off) != k || k == 0 {
		panic(fmt.Sprintf("kernels.SgemmStem16: %d columns in %d-wide panels, %d steps for K=%d", pb.n, pb.nr, len(off), k))
	}
	if ntiles <= 0 {
		return
	}
	rows := stemTileRows * ntiles
	maxOff := idxMax("step", off)
	if a0 < 0 || a0+2*(rows-1)+maxOff >= len(x) {
		panic(fmt.Sprintf("kernels.SgemmStem16: A rows from %d with offsets up to %d do not fit %d elements", a0, maxOff, len(x)))
	}
	if c0 < 0 || ldc < sgNR || c0+(rows-1)*ldc+sgNR > len(c) {
		panic(fmt.Sprintf("kernels.SgemmStem16: C rows from %d (ldc %d) do not fit %d elements", c0, ldc, len(c)))
	}
	if bias != nil && len(bias) < sgNR {
		panic(fmt.Sprintf("kernels.SgemmStem16: bias of %d for 16 columns", len(bias)))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	for t := 0; t < ntiles; t += idxTilesPerCall {
		nt := min(idxTilesPerCall, ntiles-t)
		stem16Tiles(nt, k, x[a0+2*stemTileRows*t:], off, pb.data, bias, c[c0+stemTileRows*t*ldc:], ldc, lo, hi)
	}
	if act == ActNone {
		return
	}
	if ldc == sgNR {
		run := c[c0 : c0+rows*sgNR]
		ActF32(act, run, run)
		return
	}
	for i := 0; i < rows; i++ {
		row := c[c0+i*ldc : c0+i*ldc+sgNR]
		ActF32(act, row, row)
	}
}

// stem16TilesGo is the pure-Go version of the stem tiles.
func stem16TilesGo(ntiles, k int, a []float32, off []int32, b, bias, c []float32, ldc int, lo, hi float32) {
	for i := 0; i < stemTileRows*ntiles; i++ {
		var acc [sgNR]float32
		if bias != nil {
			copy(acc[:], bias[:sgNR])
		}
		for p := 0; p < k; p++ {
			av := a[2*i+int(off[p])]
			for j, bv := range b[p*sgNR : (p+1)*sgNR] {
				acc[j] += av * bv
			}
		}
		row := c[i*ldc : i*ldc+sgNR]
		copy(row, acc[:])
		clampRow(row, lo, hi)
	}
}

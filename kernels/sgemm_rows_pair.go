package kernels

import (
	"fmt"
	"math"
)

// Two groups of a grouped convolution in one indexed row tile (thirteenth
// session). The indexed tiles of SgemmRowsIdx run one 16-channel group of a
// grouped convolution (RegNet's groups of 16, ResNeXt's and RegNet-Y's
// groups of 4 and 8 merged into 16-channel blocks) with six accumulators,
// one zmm per row: on a CPU with full-width 512-bit FMA units their latency,
// not the units, bounds the tile. SgemmRowsIdxPair runs two consecutive
// groups side by side (twelve accumulators): the second group's A is the
// first's shifted by dc channels, its 16 outputs the next 16 lanes of the
// same C row.

// RowsPairFast reports whether SgemmRowsIdxPair runs on its assembly tile
// on this CPU (AVX-512 with full-width FMA units); elsewhere it runs in Go
// and two SgemmRowsIdx calls are the faster path.
func RowsPairFast() bool { return rows16Z }

// PackRowsPair packs the [k][16] weights of two groups (b0 and b1, row
// stride 16) as the [k][32] panel SgemmRowsIdxPair takes.
func PackRowsPair(k int, b0, b1 []float32) *RowsB {
	if k <= 0 || len(b0) < k*sgNR || len(b1) < k*sgNR {
		panic(fmt.Sprintf("kernels.PackRowsPair: bad shape k=%d (len %d, %d)", k, len(b0), len(b1)))
	}
	p := &RowsB{k: k, n: 2 * sgNR, nr: 2 * sgNR, data: make([]float32, k*2*sgNR)}
	for r := 0; r < k; r++ {
		copy(p.data[r*2*sgNR:], b0[r*sgNR:(r+1)*sgNR])
		copy(p.data[r*2*sgNR+sgNR:], b1[r*sgNR:(r+1)*sgNR])
	}
	return p
}

// SgemmRowsIdxPair computes, for every row i < len(aoff), j < 16 and group
// h ∈ {0, 1}, C[coff[i]+16h+j] = act(clamp(bias[16h+j] + Σ_p
// x[aoff[i]+off[p]+h·dc]·B_h[p][j] + res[coff[i]+16h+j])), bias and res
// optional (nil), the clamp to [lo, hi] only when clip. pb comes from
// PackRowsPair; len(off) = pb.K(); coff has len(aoff) entries. Every output
// has SgemmRowsIdx's arithmetic (the bias, one FMA per step in order, the
// residual, the clamp, act). Rows may alias in C only if they are identical
// rows. It runs on the calling goroutine.
func SgemmRowsIdxPair(pb *RowsB, x []float32, aoff, off []int32, dc int, bias, c []float32, coff []int32, res []float32, clip bool, lo, hi float32, act Act) {
	m, k := len(aoff), pb.k
	if pb.n != 2*sgNR || pb.nr != 2*sgNR {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxPair: %d columns in %d-wide panels, want one of 32", pb.n, pb.nr))
	}
	if len(coff) != m || len(off) != k || dc < 0 {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxPair: %d row offsets for C, %d for A; %d steps for K=%d; dc %d", len(coff), m, len(off), k, dc))
	}
	if m == 0 {
		return
	}
	maxA, maxC, maxOff := idxMax("A row", aoff), idxMax("C row", coff), idxMax("step", off)
	if maxA+maxOff+dc >= len(x) || maxA+maxOff+dc > math.MaxInt32 {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxPair: offsets up to %d+%d+%d do not fit %d elements of x", maxA, maxOff, dc, len(x)))
	}
	if maxC+2*sgNR > len(c) || res != nil && maxC+2*sgNR > len(res) {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxPair: C offsets up to %d do not fit C (%d) or the residual (%d)", maxC, len(c), len(res)))
	}
	if bias != nil && len(bias) < 2*sgNR {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxPair: bias of %d for 32 columns", len(bias)))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	full := m / sgMR
	for t := 0; t < full; t += idxTilesPerCall {
		nt := min(idxTilesPerCall, full-t)
		rowsPairTiles(nt, k, x, aoff[t*sgMR:(t+nt)*sgMR], off, dc, pb.data, bias, c, coff[t*sgMR:(t+nt)*sgMR], res, lo, hi)
	}
	if rem := m % sgMR; rem != 0 {
		// A short last tile repeats its last row.
		var ta, tc [sgMR]int32
		for r := range ta {
			i := full*sgMR + min(r, rem-1)
			ta[r], tc[r] = aoff[i], coff[i]
		}
		rowsPairTiles(1, k, x, ta[:], off, dc, pb.data, bias, c, tc[:], res, lo, hi)
	}
	if act != ActNone {
		activateRows(act, c, coff, 2*sgNR)
	}
}

// rowsPairTilesGo is the pure-Go version of the paired tiles (same order:
// the bias, the sum over p, the residual, the clamp).
func rowsPairTilesGo(ntiles, k int, a []float32, aoff, off []int32, dc int, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	const nr = 2 * sgNR
	var accs [sgMR][nr]float32
	for t := 0; t < ntiles; t++ {
		for r := range accs {
			if bias != nil {
				copy(accs[r][:], bias[:nr])
			} else {
				accs[r] = [nr]float32{}
			}
		}
		for p := 0; p < k; p++ {
			bp := b[p*nr : (p+1)*nr]
			for r := 0; r < sgMR; r++ {
				base := int(aoff[t*sgMR+r]) + int(off[p])
				a0, a1 := a[base], a[base+dc]
				acc := &accs[r]
				for j := 0; j < sgNR; j++ {
					acc[j] += a0 * bp[j]
					acc[sgNR+j] += a1 * bp[sgNR+j]
				}
			}
		}
		// Every residual row is read before any C row is written.
		for r := 0; res != nil && r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			for j, v := range res[o : o+nr] {
				accs[r][j] += v
			}
		}
		for r := 0; r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			row := c[o : o+nr]
			copy(row, accs[r][:])
			clampRow(row, lo, hi)
		}
	}
}

package kernels

import (
	"fmt"
	"math"
)

// Indexed row tiles for grouped convolutions with the reduction split over
// the lanes (fourteenth session). The tiles of SgemmRowsIdx broadcast one
// input channel a step to 16 output lanes, so a group narrower than 16
// outputs (RegNet-Y's and ResNeXt's groups of 4 and 8) ran merged with its
// neighbours in a block whose weights are block-diagonal: a group of 8 in a
// 16-lane block spends half its multiply-adds on zeros, a group of 4 three
// quarters, groups of 24 half of a 48-lane block. SgemmRowsIdxRed
// broadcasts P = 2 or 4 consecutive input channels a step instead: lane l
// of a vector adds channel l mod P, a vector holds 16/P outputs as P
// partial sums each, and the epilogue adds the partial sums and stores the
// outputs in channel order. Every lane then does useful work, and a step
// covers P channels.

// RowsRedFast reports whether SgemmRowsIdxRed runs on its assembly tiles on
// this CPU (AVX-512 with full-width FMA units, as the paired tile);
// elsewhere it runs in Go and the merged blocks of SgemmRowsIdx are the
// faster path.
func RowsRedFast() bool { return rows16Z }

// RowsRed is the packed weights and bias of SgemmRowsIdxRed: ngrp groups of
// nout outputs, k steps of P channels.
type RowsRed struct {
	p, nacc, ngrp, nout, k int
	data, bias             []float32
	// vdata, vbias: four groups of four outputs also packed for the vector
	// tile (sgemmAVX512_6xRedVec4x4: one load of the 16 channels a step
	// instead of four broadcasts), used when the groups' channels are
	// consecutive (dc = 4): lane 4g+i of vector j is channel i of group g
	// for output j.
	vdata, vbias []float32
}

// Outputs returns the number of output channels of one row (ngrp·nout).
func (w *RowsRed) Outputs() int { return w.ngrp * w.nout }

// Groups returns the number of groups of a tile.
func (w *RowsRed) Groups() int { return w.ngrp }

// K returns the number of steps (the reduction length over P).
func (w *RowsRed) K() int { return w.k }

// rowsRedShapes are the (P, accumulators a row, groups a tile) with an
// assembly tile (gen_rows_red.go).
var rowsRedShapes = map[[3]int]bool{
	{2, 1, 1}: true, {2, 2, 1}: true, {2, 3, 1}: true, {2, 4, 1}: true, {2, 4, 2}: true, {2, 2, 2}: true,
	{4, 1, 1}: true, {4, 2, 1}: true, {4, 3, 1}: true, {4, 4, 1}: true, {4, 4, 2}: true, {4, 2, 2}: true, {4, 3, 3}: true, {4, 4, 4}: true,
}

// RowsRedShape reports whether ngrp groups of nout outputs with P channels
// a step make a tile: nout a multiple of 16/P and at most four vectors a
// row, split evenly over the groups.
func RowsRedShape(p, ngrp, nout int) bool {
	if p != 2 && p != 4 || ngrp < 1 || nout <= 0 || nout%(16/p) != 0 {
		return false
	}
	return rowsRedShapes[[3]int{p, ngrp * nout * p / 16, ngrp}]
}

// PackRowsRed packs the weights of ngrp groups for SgemmRowsIdxRed: w[g] is
// group g's [k·P][nout] weights (row q: the q-th input of the reduction, in
// the order of the step offsets — step s covers rows s·P .. s·P+P-1, read
// at consecutive input addresses), bias[g] its nout biases (bias nil: no
// bias).
func PackRowsRed(p, ngrp, nout, k int, w, bias [][]float32) *RowsRed {
	if !RowsRedShape(p, ngrp, nout) || k <= 0 || len(w) != ngrp || bias != nil && len(bias) != ngrp {
		panic(fmt.Sprintf("kernels.PackRowsRed: no tile of %d groups of %d outputs, %d channels a step (k=%d, %d weight groups)", ngrp, nout, p, k, len(w)))
	}
	per := nout * p / 16 // vectors of one group
	nacc := per * ngrp
	pw := &RowsRed{p: p, nacc: nacc, ngrp: ngrp, nout: nout, k: k, data: make([]float32, k*nacc*16)}
	for g := 0; g < ngrp; g++ {
		if len(w[g]) < k*p*nout || bias != nil && len(bias[g]) < nout {
			panic(fmt.Sprintf("kernels.PackRowsRed: group %d: %d weights for %d×%d", g, len(w[g]), k*p, nout))
		}
	}
	// Lane l of vector v (group v/per) is output (v%per)·16/P + l/P of the
	// group and reads the group's step input l%P.
	for s := 0; s < k; s++ {
		for v := 0; v < nacc; v++ {
			g, j0 := v/per, (v%per)*16/p
			for l := 0; l < 16; l++ {
				pw.data[(s*nacc+v)*16+l] = w[g][(s*p+l%p)*nout+j0+l/p]
			}
		}
	}
	if bias != nil {
		pw.bias = make([]float32, nacc*16)
		for v := 0; v < nacc; v++ {
			g, j0 := v/per, (v%per)*16/p
			for l := 0; l < 16; l += p {
				pw.bias[v*16+l] = bias[g][j0+l/p]
			}
		}
	}
	if p == 4 && ngrp == 4 && nout == 4 {
		pw.vdata = make([]float32, k*4*16)
		for s := 0; s < k; s++ {
			for j := 0; j < 4; j++ {
				for l := 0; l < 16; l++ {
					pw.vdata[(s*4+j)*16+l] = w[l/4][(s*4+l%4)*4+j]
				}
			}
		}
		if bias != nil {
			pw.vbias = make([]float32, 4*16)
			for j := 0; j < 4; j++ {
				for g := 0; g < 4; g++ {
					pw.vbias[j*16+4*g] = bias[g][j]
				}
			}
		}
	}
	return pw
}

// rowsRedPerm is the VPERMPS index of the epilogue: after the VSHUFPS sums,
// lane 4m+i holds, for P = 2, output 2m + i%2 of vector i/2 of a pair of
// vectors and, for P = 4, output m of vector i of four; the stores want
// each vector's outputs in consecutive lanes.
var rowsRedPerm = func() (perm [5][16]int32) {
	for t := 0; t < 16; t++ {
		perm[2][t] = int32(4*((t%8)/2) + (t%8)%2 + 2*(t/8))
		perm[4][t] = int32(4*(t%4) + t/4)
		perm[1][t] = int32(t) // the vector tile's lanes are in channel order
	}
	return perm
}()

// SgemmRowsIdxRed computes, for every row i < len(aoff), group g < ngrp and
// output j < nout, C[coff[i] + g·nout + j] = act(clamp(bias_g[j] + Σ_q
// x[aoff[i] + off[q/P] + g·dc + q%P]·W_g[q][j] + res[coff[i] + g·nout +
// j])) over q < K·P, bias and res optional, the clamp to [lo, hi] only
// when clip. The sum runs as P partial sums over q ≡ 0 .. P-1 (mod P),
// added ((s0 + s1) + (s2 + s3)) in the epilogue. pw comes from
// PackRowsRed; len(off) = pw.K(); coff has len(aoff) entries. Rows may
// alias in C only if they are identical rows. It runs on the calling
// goroutine.
func SgemmRowsIdxRed(pw *RowsRed, x []float32, aoff, off []int32, dc int, c []float32, coff []int32, res []float32, clip bool, lo, hi float32, act Act) {
	m, k, n := len(aoff), pw.k, pw.Outputs()
	if len(coff) != m || len(off) != k || dc < 0 {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxRed: %d row offsets for C, %d for A; %d steps for K=%d; dc %d", len(coff), m, len(off), k, dc))
	}
	if m == 0 {
		return
	}
	maxA, maxC, maxOff := idxMax("A row", aoff), idxMax("C row", coff), idxMax("step", off)
	last := maxA + maxOff + (pw.ngrp-1)*dc + pw.p - 1
	if last >= len(x) || last > math.MaxInt32 {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxRed: offsets up to %d do not fit %d elements of x", last, len(x)))
	}
	// The assembly stores whole vectors where nacc fills them: 16/P·nacc
	// floats rounded up to 16 only for the masked last one, so n floats.
	if maxC+n > len(c) || res != nil && maxC+n > len(res) {
		panic(fmt.Sprintf("kernels.SgemmRowsIdxRed: C offsets up to %d with %d columns do not fit C (%d) or the residual (%d)", maxC, n, len(c), len(res)))
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	full := m / sgMR
	for t := 0; t < full; t += idxTilesPerCall {
		nt := min(idxTilesPerCall, full-t)
		rowsRedTiles(pw, nt, x, aoff[t*sgMR:(t+nt)*sgMR], off, dc, c, coff[t*sgMR:(t+nt)*sgMR], res, lo, hi)
	}
	if rem := m % sgMR; rem != 0 {
		// A short last tile repeats its last row.
		var ta, tc [sgMR]int32
		for r := range ta {
			i := full*sgMR + min(r, rem-1)
			ta[r], tc[r] = aoff[i], coff[i]
		}
		rowsRedTiles(pw, 1, x, ta[:], off, dc, c, tc[:], res, lo, hi)
	}
	if act != ActNone {
		activateRows(act, c, coff, n)
	}
}

// rowsRedTilesGo is the pure-Go version of the reduced tiles, with their
// arithmetic: the lanes' partial sums from the lane-layout bias, one FMA a
// step each (rounded as a multiply and an add here: the tests compare with
// a tolerance), the partial sums added pairwise, the residual, the clamp.
func rowsRedTilesGo(pw *RowsRed, ntiles int, a []float32, aoff, off []int32, dc int, c []float32, coff []int32, res []float32, lo, hi float32) {
	p, nacc, per := pw.p, pw.nacc, pw.nacc/pw.ngrp
	n := pw.Outputs()
	acc := make([]float32, nacc*16)
	out := make([]float32, n)
	for t := 0; t < ntiles; t++ {
		var outs [sgMR][]float32
		for r := 0; r < sgMR; r++ {
			if pw.bias != nil {
				copy(acc, pw.bias)
			} else {
				clear(acc)
			}
			base := int(aoff[t*sgMR+r])
			for s := 0; s < pw.k; s++ {
				bs := pw.data[s*nacc*16 : (s+1)*nacc*16]
				for v := 0; v < nacc; v++ {
					xa := a[base+int(off[s])+(v/per)*dc:]
					for l := 0; l < 16; l++ {
						acc[v*16+l] += xa[l%p] * bs[v*16+l]
					}
				}
			}
			for j := range out {
				v, l := j/(16/p), (j%(16/p))*p
				lane := acc[v*16+l:]
				if p == 2 {
					out[j] = lane[0] + lane[1]
				} else {
					out[j] = (lane[0] + lane[1]) + (lane[2] + lane[3])
				}
			}
			outs[r] = append([]float32(nil), out...)
		}
		// Every residual row is read before any C row is written.
		for r := 0; res != nil && r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			for j, v := range res[o : o+n] {
				outs[r][j] += v
			}
		}
		for r := 0; r < sgMR; r++ {
			o := int(coff[t*sgMR+r])
			row := c[o : o+n]
			copy(row, outs[r])
			clampRow(row, lo, hi)
		}
	}
}

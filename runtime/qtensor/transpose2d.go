package qtensor

// Blocked byte transposes for the layout conversions of int8 tensors
// (fourteenth session). NCHW ↔ NHWC, NCL ↔ NLC and every permutation that
// swaps two adjacent groups of dimensions after a batch prefix is a batch of
// 2-D transposes [rows][cols] → [cols][rows]. The per-pixel gather loops
// read one byte per source row at a time (about 0.75 ns a byte on the
// 32-channel 80×80 maps of groupnorm_net); here 8×8 byte blocks are read as
// eight 64-bit words, transposed in registers (three rounds of masked
// shifts: bytes, 16-bit pairs, 32-bit halves) and written as eight words.

import "encoding/binary"

// BlockSwap reports whether perm swaps two adjacent groups of dimensions of
// shape after a prefix that stays in place ([0, 2, 3, 1], [0, 3, 1, 2],
// [0, 2, 1], [1, 0], ...) and returns the transpose it amounts to: batch
// matrices of rows × cols (rows: the first group, cols: the second).
func BlockSwap(shape, perm []int) (batch, rows, cols int, ok bool) {
	r := len(perm)
	if r != len(shape) || r < 2 {
		return 0, 0, 0, false
	}
	p := 0
	for p < r && perm[p] == p {
		p++
	}
	if p >= r-1 {
		return 0, 0, 0, false
	}
	// perm[p:] must be q, q+1, ..., r-1, p, p+1, ..., q-1 for some p < q < r.
	q := perm[p]
	if q <= p || q >= r {
		return 0, 0, 0, false
	}
	for i := 0; i < r-q; i++ {
		if perm[p+i] != q+i {
			return 0, 0, 0, false
		}
	}
	for i := 0; i < q-p; i++ {
		if perm[p+r-q+i] != p+i {
			return 0, 0, 0, false
		}
	}
	batch, rows, cols = 1, 1, 1
	for _, d := range shape[:p] {
		batch *= d
	}
	for _, d := range shape[p:q] {
		rows *= d
	}
	for _, d := range shape[q:] {
		cols *= d
	}
	return batch, rows, cols, true
}

// transposeBatch2D writes dst[b][j][i] = src[b][i][j] for batch matrices of
// rows × cols bytes, on up to threads threads (split over blocks of 64
// columns of each matrix).
func transposeBatch2D(dst, src []byte, batch, rows, cols, threads int) {
	const tile = 64
	tiles := (cols + tile - 1) / tile
	size := rows * cols
	ParallelChunks(batch*tiles, threads, max(1, (1<<14)/max(1, tile*rows)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, c0 := t/tiles, t%tiles*tile
			transposeTile(dst[b*size:(b+1)*size], src[b*size:(b+1)*size], rows, cols, c0, min(cols, c0+tile))
		}
	})
}

// transposeTile transposes the columns [c0, c1) of one rows × cols matrix.
func transposeTile(dst, src []byte, rows, cols, c0, c1 int) {
	r8 := rows &^ 7
	le := binary.LittleEndian
	for r := 0; r < r8; r += 8 {
		c := c0
		for ; c+8 <= c1; c += 8 {
			o := r*cols + c
			x0, x1, x2, x3 := le.Uint64(src[o:]), le.Uint64(src[o+cols:]), le.Uint64(src[o+2*cols:]), le.Uint64(src[o+3*cols:])
			o += 4 * cols
			x4, x5, x6, x7 := le.Uint64(src[o:]), le.Uint64(src[o+cols:]), le.Uint64(src[o+2*cols:]), le.Uint64(src[o+3*cols:])
			x0, x1 = swapBlocks(x0, x1, 8, m1)
			x2, x3 = swapBlocks(x2, x3, 8, m1)
			x4, x5 = swapBlocks(x4, x5, 8, m1)
			x6, x7 = swapBlocks(x6, x7, 8, m1)
			x0, x2 = swapBlocks(x0, x2, 16, m2)
			x1, x3 = swapBlocks(x1, x3, 16, m2)
			x4, x6 = swapBlocks(x4, x6, 16, m2)
			x5, x7 = swapBlocks(x5, x7, 16, m2)
			x0, x4 = swapBlocks(x0, x4, 32, m4)
			x1, x5 = swapBlocks(x1, x5, 32, m4)
			x2, x6 = swapBlocks(x2, x6, 32, m4)
			x3, x7 = swapBlocks(x3, x7, 32, m4)
			d := c*rows + r
			le.PutUint64(dst[d:], x0)
			le.PutUint64(dst[d+rows:], x1)
			le.PutUint64(dst[d+2*rows:], x2)
			le.PutUint64(dst[d+3*rows:], x3)
			d += 4 * rows
			le.PutUint64(dst[d:], x4)
			le.PutUint64(dst[d+rows:], x5)
			le.PutUint64(dst[d+2*rows:], x6)
			le.PutUint64(dst[d+3*rows:], x7)
		}
		for ; c < c1; c++ {
			d := dst[c*rows+r : c*rows+r+8]
			for k := range d {
				d[k] = src[(r+k)*cols+c]
			}
		}
	}
	for r := r8; r < rows; r++ {
		s := src[r*cols : (r+1)*cols]
		for c := c0; c < c1; c++ {
			dst[c*rows+r] = s[c]
		}
	}
}

// The masks of the three rounds of an 8×8 byte transpose: the even bytes,
// 16-bit pairs and 32-bit halves.
const m1, m2, m4 = 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF

// swapBlocks exchanges the odd blocks of a (blocks of sh bits) with the even
// blocks of b: a's block 2k+1 becomes b's block 2k and the other way round,
// which transposes the 2×2 block matrices [a; b] (byte j of word i is element
// (i, j); words of rows i and i+sh/8).
func swapBlocks(a, b uint64, sh uint, m uint64) (uint64, uint64) {
	t := (a>>sh ^ b) & m
	return a ^ t<<sh, b ^ t
}

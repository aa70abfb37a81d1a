package kernels

import (
	"fmt"
	"sync"
)

// SgemmScaled is the product of two computed matrices (attention's q·kᵀ and
// p·v, per head, thirteenth session): C = alpha·A·B, A m×k row-major in place
// (row stride lda), B k×n (stored n×k when transB, row stride ldb). Where the
// 12x32 tiles of SgemmDense run, B is packed per call into their 32-wide
// panels, multiplied by alpha on the way (a scalar Mul or Div on q or on
// q·kᵀ folded into the product costs nothing), and A is read in place by the
// tiles: Sgemm packed both operands, ran 6x16 tiles, and a head's 197x64 ·
// 64x197 product spent a quarter of its time packing A. Elsewhere it is Sgemm
// followed by the scaling.
func SgemmScaled(transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, threads int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k > 0 {
		checkMatrix("kernels.SgemmScaled", "A", false, m, k, a, lda)
		checkMatrix("kernels.SgemmScaled", "B", transB, k, n, b, ldb)
	}
	checkMatrix("kernels.SgemmScaled", "C", false, m, n, c, ldc)
	threads = resolveThreads(threads)
	if k == 0 || !denseTilesOK() {
		Sgemm(false, transB, m, n, k, a, lda, b, ldb, c, ldc, false, threads)
		if alpha != 1 {
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				for j := range row {
					row[j] *= alpha
				}
			}
		}
		return
	}
	d := denseScratch.Get().(*DenseB)
	defer denseScratch.Put(d)
	d.repack(transB, k, n, alpha, b, ldb)
	runDense(d, a, lda, m, nil, c, ldc, nil, ActNone, threads)
}

// denseScratch recycles the per-call packed B of SgemmScaled.
var denseScratch = sync.Pool{New: func() any { return new(DenseB) }}

// repack packs alpha·B (k×n, stored n×k when transB) into p's 32-wide block
// layout, reusing p's buffer.
func (p *DenseB) repack(transB bool, k, n int, alpha float32, b []float32, ldb int) {
	if n <= 0 || k <= 0 {
		panic(fmt.Sprintf("kernels: DenseB.repack of %d×%d", k, n))
	}
	p.k, p.n, p.rows, p.ident = k, n, nil, nil
	p.panels = (n + denseNR - 1) / denseNR
	p.nkb = max(1, (k+denseKC-1)/denseKC)
	size := p.panels * denseNR * k
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
	last := (p.panels - 1) * denseNR
	w := n - last // columns of the last panel
	for kb := 0; kb < p.nkb; kb++ {
		pc, pe := p.block(kb)
		if w < denseNR {
			blk := p.panel(kb, p.panels-1)
			for r := 0; r < pe-pc; r++ {
				clear(blk[r*denseNR+w : (r+1)*denseNR])
			}
		}
		if !transB {
			for r := pc; r < pe; r++ {
				row := b[r*ldb : r*ldb+n]
				for q := 0; q < p.panels; q++ {
					col := q * denseNR
					dst := p.panel(kb, q)[(r-pc)*denseNR:]
					src := row[col:min(n, col+denseNR)]
					if alpha == 1 {
						copy(dst, src)
						continue
					}
					for j, v := range src {
						dst[j] = v * alpha
					}
				}
			}
			continue
		}
		// Whole groups of 16 columns and rows: 16x16 register transposes
		// on AVX-512 (packTrans16Vec, the same products alpha·v).
		// The rest four columns at a time: four reads of B in flight per
		// step and one pass over the panel's rows per four columns.
		for q := 0; q < p.panels; q++ {
			blk := p.panel(kb, q)
			col := q * denseNR
			w := min(denseNR, n-col)
			l, rv := 0, 0
			for ; l+16 <= w; l += 16 {
				rv = packTrans16Vec(blk[l:], denseNR, b[(col+l)*ldb+pc:], ldb, pe-pc, alpha)
				if rv == 0 {
					break
				}
			}
			if rv > 0 {
				// the rows past the vector blocks of the columns done
				for c := 0; c < l; c++ {
					for r, v := range b[(col+c)*ldb+pc+rv : (col+c)*ldb+pe] {
						blk[(rv+r)*denseNR+c] = v * alpha
					}
				}
			}
			for ; l+4 <= w; l += 4 {
				b0 := b[(col+l)*ldb+pc : (col+l)*ldb+pe]
				b1 := b[(col+l+1)*ldb+pc : (col+l+1)*ldb+pe]
				b2 := b[(col+l+2)*ldb+pc : (col+l+2)*ldb+pe]
				b3 := b[(col+l+3)*ldb+pc : (col+l+3)*ldb+pe]
				b1, b2, b3 = b1[:len(b0)], b2[:len(b0)], b3[:len(b0)]
				for r := range b0 {
					d := (*[4]float32)(blk[r*denseNR+l:])
					d[0], d[1], d[2], d[3] = b0[r]*alpha, b1[r]*alpha, b2[r]*alpha, b3[r]*alpha
				}
			}
			for ; l < w; l++ {
				for r, v := range b[(col+l)*ldb+pc : (col+l)*ldb+pe] {
					blk[r*denseNR+l] = v * alpha
				}
			}
		}
	}
}

package kernels

import (
	"fmt"
	"sync"
)

// Fused attention (fifteenth session): one head of softmax(α·Q·Kᵀ + bias)·V
// (since the sixteenth, the bias is a list of ScoreTerms: Adds and the
// Where selects of masks)
// computed block of query rows by block of query rows, so that the scores
// of a block are written by the q·kᵀ tiles, turned into probabilities by the
// softmax row pass and read back by the p·v tiles while they are in L1. Run
// as three steps, the product wrote the whole score tensor (1.9 MB for a
// ViT-B/16 layer), the softmax read it and wrote as much again, and p·v read
// that: the row pass cost twice ONNX Runtime's for the same softmax
// (docs/runtime.md, twelfth and fourteenth sessions), because of the memory
// traffic, not of its arithmetic. Kᵀ (scaled by α) and V are packed once per
// head into the 32-wide panels of the dense GEMM (SgemmScaled packed them
// per call anyway), and Q and the output are read and written in place.

// AttentionHead describes one head. Shapes: Q is M×D, K is N×D (KT false:
// the keys as rows, the usual layout) or D×N (KT true: kᵀ stored), V is N×DV
// (VT false) or DV×N (VT true); O is M×DV. Ld* are the row strides.
type AttentionHead struct {
	M, N, D, DV int
	// Alpha scales q·kᵀ (the folded 1/√d); VAlpha scales the output (a
	// scalar Mul/Div folded into the p·v product; 1 for none).
	Alpha, VAlpha float32
	Q             []float32
	LdQ           int
	K             []float32
	LdK           int
	KT            bool
	V             []float32
	LdV           int
	VT            bool
	// Terms are applied to each row of α·Q·Kᵀ before the softmax, in order
	// (ScoreTerm: bias Adds and mask selects); query row i takes the rows
	// at Row[i] of each.
	Terms []ScoreTerm
	O     []float32
	LdO   int
	// P, when not nil, receives the probabilities (M×N, row stride LdP):
	// another step reads them (the averaged attention weights of torch's
	// MultiheadAttention).
	P   []float32
	LdP int
}

// attnBlockBytes bounds the scores of one block of query rows: 32 KB stays in
// the 48 KB L1 beside a 32-wide panel block of V being read.
const attnBlockBytes = 32 << 10

// attnBlockRows returns the query rows of one block for rows of n scores: a
// multiple of the dense tile's 12 rows whose scores fit attnBlockBytes (at
// least one tile).
func attnBlockRows(n int) int {
	r := attnBlockBytes / 4 / max(n, 1) / denseMR * denseMR
	return max(r, denseMR)
}

// attnScratch holds one worker's packed operands and score block.
type attnScratch struct {
	kp, vp DenseB
	s      []float32
}

var attnPool = sync.Pool{New: func() any { return new(attnScratch) }}

// Attention computes h.O = VAlpha · softmax(Alpha·Q·Kᵀ + bias) · V for one
// head on up to threads threads (the query row blocks split over them; a
// caller with many heads runs one head per thread with threads = 1). The
// softmax is SoftmaxTermsRowF32's, the products those of SgemmScaled, so
// the result equals the three steps run one by one up to the order of the
// reduction inside the tiles.
func Attention(h *AttentionHead, threads int) {
	m, n, d, dv := h.M, h.N, h.D, h.DV
	if m <= 0 || dv <= 0 {
		return
	}
	if n <= 0 || d <= 0 {
		panic(fmt.Sprintf("kernels.Attention: %d keys of width %d", n, d))
	}
	checkMatrix("kernels.Attention", "Q", false, m, d, h.Q, h.LdQ)
	checkMatrix("kernels.Attention", "K", !h.KT, d, n, h.K, h.LdK)
	checkMatrix("kernels.Attention", "V", h.VT, n, dv, h.V, h.LdV)
	checkMatrix("kernels.Attention", "O", false, m, dv, h.O, h.LdO)
	if h.P != nil {
		checkMatrix("kernels.Attention", "P", false, m, n, h.P, h.LdP)
	}
	checkScoreTerms("kernels.Attention", h.Terms, 0, m, n)
	threads = resolveThreads(threads)
	br := attnBlockRows(n)
	blocks := (m + br - 1) / br
	threads = min(threads, blocks)
	sc := attnPool.Get().(*attnScratch)
	defer attnPool.Put(sc)
	dense := denseTilesOK()
	if dense {
		sc.kp.repack(!h.KT, d, n, h.Alpha, h.K, h.LdK)
		sc.vp.repack(h.VT, n, dv, h.VAlpha, h.V, h.LdV)
	}
	if threads <= 1 {
		for r0 := 0; r0 < m; r0 += br {
			attnBlock(h, sc, dense, &sc.kp, &sc.vp, r0, min(m, r0+br))
		}
		return
	}
	parallelChunks(blocks, 1, threads, func(next func() (int, int, bool)) {
		ws := attnPool.Get().(*attnScratch)
		defer attnPool.Put(ws)
		for lo, _, ok := next(); ok; lo, _, ok = next() {
			attnBlock(h, ws, dense, &sc.kp, &sc.vp, lo*br, min(m, (lo+1)*br))
		}
	})
}

// attnBlock computes query rows [r0, r1) of h: scores into P's rows or the
// worker's scratch, the softmax in place, then the rows of O. kp and vp are
// α·Kᵀ and VAlpha·V packed (dense only).
func attnBlock(h *AttentionHead, ws *attnScratch, dense bool, kp, vp *DenseB, r0, r1 int) {
	rows, n := r1-r0, h.N
	s, lds := h.P, h.LdP
	if s != nil {
		s = s[r0*lds:]
	} else {
		lds = n
		if cap(ws.s) < rows*n {
			ws.s = make([]float32, attnBlockRows(n)*n)
		}
		s = ws.s[:rows*n]
	}
	q, o := h.Q[r0*h.LdQ:], h.O[r0*h.LdO:]
	if dense {
		denseItem(kp, q, h.LdQ, 0, rows, 0, kp.panels, nil, s, lds, nil, ActNone)
	} else {
		Sgemm(false, !h.KT, rows, n, h.D, q, h.LdQ, h.K, h.LdK, s, lds, false, 1)
		scaleRows(s, lds, rows, n, h.Alpha)
	}
	for i := 0; i < rows; i++ {
		row := s[i*lds : i*lds+n]
		SoftmaxRowF32(row, applyScoreTerms(row, row, h.Terms, r0+i))
	}
	if dense {
		denseItem(vp, s, lds, 0, rows, 0, vp.panels, nil, o, h.LdO, nil, ActNone)
		return
	}
	Sgemm(false, h.VT, rows, h.DV, n, s, lds, h.V, h.LdV, o, h.LdO, false, 1)
	scaleRows(o, h.LdO, rows, h.DV, h.VAlpha)
}

// scaleRows multiplies an m×n matrix (row stride ld) by alpha.
func scaleRows(c []float32, ld, m, n int, alpha float32) {
	if alpha == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ld : i*ld+n]
		for j := range row {
			row[j] *= alpha
		}
	}
}

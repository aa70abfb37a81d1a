package runtime

import (
	"sync"

	"github.com/warboy-sim/warboy/kernels"
)

// zpGemm is a constant n×k int8 weight matrix with zero points (one, or one per
// output column), which the packed kernel does not take as they are. Such weights
// come from a value the quantizer saw as an activation: a weight sliced, transposed
// or reshaped out of an initializer (nn.MultiheadAttention's in_proj_weight at
// opset 12, mha_cross_op12 of the detection set), folded to a constant once the
// shapes are bound, quantized asymmetrically over its range. They took the general
// path (genWeights: int16 rows, a scalar loop per output), 0.23 of 0.35 ms of the
// int8 steps of mha_cross_op12 for a 30×64×128 product.
//
// Here the weights are packed as they are (any int8, -128 included: the packed
// kernels take the full range) and the zero point's term is subtracted after the
// packed GEMM:
//
//	Σ_k (a_k - aZP)(w_ck - z_c) = Σ_k (a_k - aZP)·w_ck - z_c·Σ_k (a_k - aZP)
//
// every term is an exact int32 sum, so the accumulators are those of the general
// path bit for bit. (Until the nineteenth session -128s were packed as -127 and
// corrected per row as well.)
type zpGemm struct {
	n, k   int
	packed *kernels.QGemmWeights // w with the bias folded, activation zero point 0
	colSum []int32               // Σ_k w_ck: the run-time activation zero point's term
	zp     []int32               // z_c per column; nil when all are 0
}

// newZPGemm packs the weights at(c, kk) (c < n output columns, kk < k) with
// zero points wzp (1 or n values) and bias (nil or n values).
func newZPGemm(n, k int, at func(c, kk int) int8, wzp, bias []int32) (*zpGemm, error) {
	g := &zpGemm{n: n, k: k, colSum: make([]int32, n)}
	w := make([]int8, n*k)
	for c := 0; c < n; c++ {
		for kk := 0; kk < k; kk++ {
			v := at(c, kk)
			w[c*k+kk] = v
			g.colSum[c] += int32(v)
		}
	}
	zp := make([]int32, n)
	for c := range zp {
		zp[c] = wzp[0]
		if len(wzp) > 1 {
			zp[c] = wzp[c]
		}
		if zp[c] != 0 {
			g.zp = zp
		}
	}
	var err error
	if g.packed, err = kernels.PackQGemm(n, k, w, bias, 0); err != nil {
		return nil, err
	}
	return g, nil
}

var i32Pool = sync.Pool{New: func() any { return new([]int32) }}

// gemm computes acc[r][c] = bias[c] + Σ_k (a[r,k] - aZP)(w[c,k] - z_c) for
// rows r < m of a (stride lda) into acc (m×n).
func (g *zpGemm) gemm(m int, a []int8, lda int, aZP int32, acc []int32, threads int) {
	kernels.QGemmInt32(m, a, lda, g.packed, acc, g.n, threads)
	for r := 0; r < m; r++ {
		arow := a[r*lda : r*lda+g.k]
		row := acc[r*g.n : (r+1)*g.n]
		var s int32
		for _, v := range arow {
			s += int32(v)
		}
		s -= int32(g.k) * aZP // Σ_k (a_k - aZP)
		for c := range row {
			row[c] -= aZP * g.colSum[c]
		}
		if g.zp != nil {
			for c, z := range g.zp {
				row[c] -= z * s
			}
		}
	}
}

// gemmRequant is gemm requantized into out (m×n int8) with rq.
func (g *zpGemm) gemmRequant(m int, a []int8, lda int, aZP int32, out []int8, rq *kernels.Requant, threads int) {
	bp := i32Pool.Get().(*[]int32)
	defer i32Pool.Put(bp)
	if cap(*bp) < m*g.n {
		*bp = make([]int32, m*g.n)
	}
	acc := (*bp)[:m*g.n]
	g.gemm(m, a, lda, aZP, acc, threads)
	rq.Rows(acc, out, g.n)
}

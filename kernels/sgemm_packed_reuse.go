package kernels

import "fmt"

// RepackSgemmA is PackSgemmA without a bias, reusing p's storage when it is large
// enough (p may be nil): callers that pack a new left operand for every small GEMM
// (for example one image's output gradient in a convolution's weight gradient)
// then do not allocate one per call. The returned operand replaces p.
func RepackSgemmA(p *PackedA, transA bool, m, k int, a []float32, lda int) *PackedA {
	if m <= 0 || k < 0 {
		panic(fmt.Sprintf("kernels.RepackSgemmA: bad shape %d×%d", m, k))
	}
	if k > 0 {
		checkMatrix("kernels.RepackSgemmA", "A", transA, m, k, a, lda)
	}
	if p == nil {
		p = &PackedA{}
	}
	data := p.data
	*p = PackedA{m: m, k: k, kt: k, tiles: (m + sgMR - 1) / sgMR}
	mPad := p.tiles * sgMR
	if cap(data) < mPad*k {
		data = make([]float32, mPad*k)
	}
	p.data = data[:mPad*k]
	for pc := 0; pc < k; pc += p.blockK(pc) {
		kc := p.blockK(pc)
		packABlock(transA, a, lda, 0, m, pc, kc, p.data[pc*mPad:pc*mPad+kc*mPad])
	}
	return p
}

package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSgemmOperandPanics checks the operand-size panics of the float32 GEMM
// entry points (one checkMatrix behind all of them): which call, which
// operand, the stored shape and the stride.
func TestSgemmOperandPanics(t *testing.T) {
	f := func(n int) []float32 { return make([]float32, n) }
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"Sgemm A", func() { Sgemm(false, false, 2, 3, 4, f(7), 4, f(12), 3, f(6), 3, false, 1) },
			"kernels.Sgemm: A too small or bad lda (2×4, lda=4, len=7)"},
		{"Sgemm A transposed", func() { Sgemm(true, false, 2, 3, 4, f(8), 1, f(12), 3, f(6), 3, false, 1) },
			"kernels.Sgemm: A too small or bad lda (4×2, lda=1, len=8)"},
		{"Sgemm B", func() { Sgemm(false, true, 2, 3, 4, f(8), 4, f(12), 3, f(6), 3, false, 1) },
			"kernels.Sgemm: B too small or bad ldb (3×4, ldb=3, len=12)"},
		{"Sgemm C", func() { Sgemm(false, false, 2, 3, 4, f(8), 4, f(12), 3, f(5), 3, false, 1) },
			"kernels.Sgemm: C too small or bad ldc (2×3, ldc=3, len=5)"},
		{"PackSgemmA", func() { PackSgemmA(false, 2, 4, f(7), 4, nil) },
			"kernels.PackSgemmA: A too small or bad lda (2×4, lda=4, len=7)"},
		{"PackSgemmB", func() { PackSgemmB(true, 4, 3, f(11), 4) },
			"kernels.PackSgemmB: B too small or bad ldb (3×4, ldb=4, len=11)"},
		{"SgemmPackedA B", func() {
			SgemmPackedA(PackSgemmA(false, 2, 4, f(8), 4, nil), false, 3, f(11), 3, f(6), 3, false, nil, 1)
		},
			"kernels.SgemmPackedA: B too small or bad ldb (4×3, ldb=3, len=11)"},
		{"SgemmPackedA C", func() {
			SgemmPackedA(PackSgemmA(false, 2, 4, f(8), 4, nil), false, 3, f(12), 3, f(6), 2, false, nil, 1)
		},
			"kernels.SgemmPackedA: C too small or bad ldc (2×3, ldc=2, len=6)"},
		{"SgemmPackedB A", func() { SgemmPackedB(false, 2, f(7), 4, PackSgemmB(false, 4, 3, f(12), 3), f(6), 3, false, nil, 1) },
			"kernels.SgemmPackedB: A too small or bad lda (2×4, lda=4, len=7)"},
		{"SgemmPackedB C", func() { SgemmPackedB(false, 2, f(8), 4, PackSgemmB(false, 4, 3, f(12), 3), f(5), 3, false, nil, 1) },
			"kernels.SgemmPackedB: C too small or bad ldc (2×3, ldc=3, len=5)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.PanicsWithValue(t, tc.want, tc.call)
		})
	}
}

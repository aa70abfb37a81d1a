package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/kernels"
)

// zpGemm against the plain sum Σ_k (a - aZP)(w - z_c) + bias: zero points per
// tensor and per column, -128s (as asymmetric quantization of a weight
// computed at run time makes them), odd k, rows that span several micro-kernel
// tiles, 1 and 2 threads; and its requantized output against requantizing the
// reference accumulators one by one. Any share of -128s packs (the kernels take the
// full int8 range).
func TestZPGemmAgainstReference(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m, n, k   int
		wzp       []int32 // nil: one random zero point per column
		aZP       int32
		lowShare  float64 // share of -128 weights
		bias      bool
		threads   int
		wideRange bool // weights over the full int8 range
	}{
		{name: "MHA key projection (30x64x128), one zero point", m: 30, n: 128, k: 64, wzp: []int32{-7}, aZP: 3, lowShare: 0.01, bias: true, threads: 1, wideRange: true},
		{name: "per-column zero points, odd k", m: 7, n: 20, k: 37, aZP: -128, lowShare: 0.02, threads: 1, wideRange: true},
		{name: "zero point 0 but -128s in every column", m: 33, n: 48, k: 16, wzp: []int32{0}, aZP: 127, lowShare: 0.05, bias: true, threads: 2},
		{name: "one row, two threads", m: 1, n: 40, k: 96, wzp: []int32{12}, aZP: 0, threads: 2, wideRange: true},
		{name: "half the weights -128, activations at the zero point's far end", m: 4, n: 8, k: 16, wzp: []int32{1}, aZP: 127, lowShare: 0.5, threads: 1},
		{name: "every weight -128, two threads", m: 40, n: 33, k: 20, wzp: []int32{-1}, aZP: -128, lowShare: 1, threads: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tc.m*1000 + tc.n*10 + tc.k)))
			w := make([]int8, tc.n*tc.k)
			for i := range w {
				if tc.wideRange {
					w[i] = int8(rng.Intn(256) - 128)
				} else {
					w[i] = int8(rng.Intn(255) - 127)
				}
				if rng.Float64() < tc.lowShare {
					w[i] = -128
				}
			}
			wzp := tc.wzp
			if wzp == nil {
				wzp = make([]int32, tc.n)
				for c := range wzp {
					wzp[c] = int32(rng.Intn(256) - 128)
				}
			}
			var bias []int32
			if tc.bias {
				bias = make([]int32, tc.n)
				for c := range bias {
					bias[c] = int32(rng.Intn(20001) - 10000)
				}
			}
			at := func(c, kk int) int8 { return w[c*tc.k+kk] }
			g, err := newZPGemm(tc.n, tc.k, at, wzp, bias)
			require.NoError(t, err)
			require.NotNil(t, g)
			a := make([]int8, tc.m*tc.k)
			for i := range a {
				a[i] = int8(rng.Intn(256) - 128)
			}
			want := make([]int32, tc.m*tc.n)
			for r := 0; r < tc.m; r++ {
				for c := 0; c < tc.n; c++ {
					z := wzp[0]
					if len(wzp) > 1 {
						z = wzp[c]
					}
					var s int32
					if bias != nil {
						s = bias[c]
					}
					for kk := 0; kk < tc.k; kk++ {
						s += (int32(a[r*tc.k+kk]) - tc.aZP) * (int32(w[c*tc.k+kk]) - z)
					}
					want[r*tc.n+c] = s
				}
			}
			got := make([]int32, tc.m*tc.n)
			g.gemm(tc.m, a, tc.k, tc.aZP, got, tc.threads)
			require.Equal(t, want, got)

			scales := make([]float64, tc.n)
			for c := range scales {
				scales[c] = 1e-4 + 1e-3*rng.Float64()
			}
			rq := kernels.NewRequant(kernels.RequantFloat, scales, -5, -128, 127)
			out := make([]int8, tc.m*tc.n)
			g.gemmRequant(tc.m, a, tc.k, tc.aZP, out, rq, tc.threads)
			for i, v := range want {
				require.Equal(t, rq.Apply(v, i%tc.n), out[i], "output %d", i)
			}
		})
	}
}

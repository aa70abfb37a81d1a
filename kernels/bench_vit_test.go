package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkSgemmTokens times the packed-weight GEMM of a transformer
// encoder's Linear layers (SgemmRowsAct with A read row-major in place, and
// SgemmDense) on
// ViT-B/16's shapes: 197 tokens, 768 → 2304 (QKV), 768 → 3072 and 3072 →
// 768 (the MLP), 768 → 768 (the attention output), with the weights cycled
// through 64 MiB of copies so that they come from memory as in a session.
// GOPS counts 2·m·k·n; cpu-GOPS (1 thread) divides by the thread's CPU time.
//
//	go test ./kernels -run '^$' -bench BenchmarkSgemmTokens -benchtime 20x
func BenchmarkSgemmTokens(b *testing.B) {
	for _, s := range []struct{ m, k, n int }{
		{197, 768, 2304}, {197, 768, 3072}, {197, 3072, 768}, {197, 768, 768},
		{1, 2048, 1000}, {1, 1280, 1000}, {50, 768, 768},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		a := randF32(rng, s.m*s.k)
		copies := make([]*RowsB, max(2, (64<<20)/(4*s.k*s.n)))
		dense := make([]*DenseB, len(copies))
		for i := range copies {
			w := randF32(rng, s.k*s.n)
			copies[i] = PackRowsB(s.k, s.n, w, s.n)
			dense[i] = packDenseB(s.k, s.n, w, s.n)
		}
		ident := make([]int32, s.k)
		for p := range ident {
			ident[p] = int32(p)
		}
		bias := randF32(rng, s.n)
		c := make([]float32, s.m*s.n)
		for _, th := range benchThreads() {
			for _, kern := range []string{"rows", "dense"} {
				b.Run(fmt.Sprintf("%s/%s/%dx%dx%d/threads=%d", RowsPath(), kern, s.m, s.k, s.n, th), func(b *testing.B) {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					i := 0
					cpu0 := threadCPUNanos()
					for b.Loop() {
						if kern == "rows" {
							SgemmRowsAct(copies[i%len(copies)], a, s.k, ident, s.m, bias, c, s.n, nil, false, 0, 0, ActNone, th)
						} else {
							SgemmDense(dense[i%len(copies)], a, s.k, s.m, bias, c, s.n, nil, ActNone, th)
						}
						i++
					}
					ops := 2 * float64(s.m) * float64(s.k) * float64(s.n)
					reportGOPS(b, ops)
					if th == 1 {
						b.ReportMetric(ops*float64(b.N)/float64(threadCPUNanos()-cpu0), "cpu-GOPS")
					}
				})
			}
		}
	}
}

// BenchmarkSgemmScaledHeads times SgemmScaled on one head of ViT-B/16's
// attention (197 tokens, 64 dims, operands read with the 768-float row
// stride of the token-major layout): q·kᵀ (kᵀ stored transposed) and p·v.
//
//	go test ./kernels -run '^$' -bench BenchmarkSgemmScaledHeads -benchtime 2000x
func BenchmarkSgemmScaledHeads(b *testing.B) {
	const t, d, ld = 197, 64, 768
	rng := rand.New(rand.NewPCG(3, 4))
	q, kv := randF32(rng, t*ld), randF32(rng, t*ld)
	p := randF32(rng, t*t)
	c := make([]float32, t*ld)
	for _, s := range []struct {
		name string
		run  func()
		ops  float64
	}{
		{"q·kT", func() { SgemmScaled(true, t, t, d, 0.125, q, ld, kv, ld, c, t, 1) }, 2 * t * t * d},
		{"p·v", func() { SgemmScaled(false, t, d, t, 1, p, t, kv, ld, c, ld, 1) }, 2 * t * t * d},
	} {
		b.Run(fmt.Sprintf("%s/%s", RowsPath(), s.name), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for b.Loop() {
				s.run()
			}
			reportGOPS(b, s.ops)
			b.ReportMetric(s.ops*float64(b.N)/float64(threadCPUNanos()-cpu0), "cpu-GOPS")
		})
	}
}

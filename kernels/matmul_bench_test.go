package kernels

import (
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"testing"
)

// BenchmarkMatMulInt8Attention times the int8 MatMul of two activations on
// attention's shapes with both zero points non-zero (as the quantizer's
// asymmetric activations have them), 1 thread: q·kᵀ with inner size 16 and
// 64, and p·v. cpu-µs is the thread's CPU time per product (the machine is
// shared):
//
//	go test ./kernels -run '^$' -bench MatMulInt8Attention -benchtime 3000x -count 3
func BenchmarkMatMulInt8Attention(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{128, 128, 16}, {128, 128, 64}, {128, 16, 128}, {197, 197, 64}, {24, 24, 16}, {24, 16, 24}, {10, 30, 8}, {16, 16, 8}, {16, 8, 16}} {
		r := rand.New(rand.NewPCG(3, 4))
		a, w := make([]int8, s.m*s.k), make([]int8, s.k*s.n)
		for i := range a {
			a[i] = int8(r.IntN(255) - 127)
		}
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		out := make([]int32, s.m*s.n)
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for i := 0; i < b.N; i++ {
				MatMulInt8Threads(s.m, s.n, s.k, a, 3, w, -5, out, 1)
			}
			b.ReportMetric(float64(threadCPUNanos()-cpu0)/1e3/float64(b.N), "cpu-µs")
		})
	}
}

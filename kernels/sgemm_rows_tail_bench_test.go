package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkSgemmRowsTail times SgemmRowsAct on the 7x7 maps of ResNet's last
// stage (49 rows = eight row tiles of six and a one-row tail) against 42 and
// 48 rows (whole tiles only) and 54 (nine whole tiles), in thread CPU time
// per product and per row: what a 7-row tile (49 = 7·7) could save over
// the tail row (fourteenth session). The weights are the same each call
// (4-9 MB: from L3/memory, as in a run).
//
//	go test ./kernels -run '^$' -bench BenchmarkSgemmRowsTail -count 3
func BenchmarkSgemmRowsTail(b *testing.B) {
	for _, g := range [][2]int{{512, 2048}, {4608, 512}, {2048, 512}} {
		kdim, n := g[0], g[1]
		pb := PackRowsB(kdim, n, randF32(rand.New(rand.NewPCG(2, 1)), kdim*n), n)
		x := randF32(rand.New(rand.NewPCG(3, 1)), 60*kdim)
		off := make([]int32, kdim)
		for i := range off {
			off[i] = int32(i)
		}
		c := make([]float32, 60*n)
		bias := make([]float32, n)
		for _, m := range []int{42, 48, 49, 54} {
			b.Run(fmt.Sprintf("k%d_n%d_m%d", kdim, n, m), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				t0 := threadCPUNanos()
				for b.Loop() {
					SgemmRowsAct(pb, x, kdim, off, m, bias, c, n, nil, true, 0, float32(math.Inf(1)), ActNone, 1)
				}
				ns := float64(threadCPUNanos()-t0) / float64(b.N)
				b.ReportMetric(ns/1e3, "cpu-us/op")
				b.ReportMetric(ns/1e3/float64(m), "cpu-us/row")
			})
		}
	}
}

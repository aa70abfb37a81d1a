package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkRowsIdxKBlocks asks whether the indexed tiles of 3x3
// convolutions on large maps (YOLO's C3 bottlenecks: 64 channels on 80x80,
// 128 on 40x40, 256 on 20x20, one 64-wide weight panel) lose to their weight
// panel streaming from L2 (K·256 bytes per tile of six rows): the whole
// reduction per tile (kb0) against the reduction cut in blocks of kb steps
// (kb·256 bytes of weights, in L1 while every row tile runs over them).
// The blocked form here writes each block's sums over C instead of adding
// them (its results are not the product), so it is the cheapest a K-blocked
// driver could be: where it is not faster, K-blocking is not worth a kernel
// that adds C (fourteenth session). Thread CPU time:
//
//	go test ./kernels -run '^$' -bench BenchmarkRowsIdxKBlocks -count 2
func BenchmarkRowsIdxKBlocks(b *testing.B) {
	for _, g := range [][2]int{{64, 80}, {128, 40}, {256, 20}} {
		cin, hw := g[0], g[1]
		const k, cout = 3, 64
		kdim := k * k * cin
		inW := hw + k - 1
		off := make([]int32, kdim)
		for kh := 0; kh < k; kh++ {
			for kw := 0; kw < k; kw++ {
				for ci := 0; ci < cin; ci++ {
					off[(kh*k+kw)*cin+ci] = int32((kh*inW+kw)*cin + ci)
				}
			}
		}
		m := hw * hw
		aoff, coff := make([]int32, m), make([]int32, m)
		for i := range aoff {
			aoff[i] = int32(((i/hw)*inW + (i % hw)) * cin)
			coff[i] = int32(i * cout)
		}
		x := randF32(rand.New(rand.NewPCG(3, 1)), inW*inW*cin)
		c := make([]float32, m*cout)
		bias := make([]float32, cout)
		wt := randF32(rand.New(rand.NewPCG(2, 1)), kdim*cout)
		pb := PackRowsB(kdim, cout, wt, cout)
		for _, kb := range []int{0, 96, 192, 384} {
			var pbs []*RowsB
			for k0 := 0; kb > 0 && k0 < kdim; k0 += kb {
				pbs = append(pbs, PackRowsB(min(kdim, k0+kb)-k0, cout, wt[k0*cout:], cout))
			}
			b.Run(fmt.Sprintf("cin%d_hw%d_kb%d", cin, hw, kb), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				t0 := threadCPUNanos()
				for b.Loop() {
					if kb == 0 {
						sgemmRowsIdx(pb, x, aoff, off, bias, c, coff, nil, true, 0, float32(math.Inf(1)), ActNone, false)
						continue
					}
					for i, p := range pbs {
						sgemmRowsIdx(p, x, aoff, off[i*kb:i*kb+p.K()], bias, c, coff, nil, true, 0, float32(math.Inf(1)), ActNone, false)
					}
				}
				b.ReportMetric(float64(m)*float64(kdim)*float64(cout)*float64(b.N)/float64(threadCPUNanos()-t0), "GMAC/cpu-s")
			})
		}
	}
}

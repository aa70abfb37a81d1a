package runtime

import (
	"fmt"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/kernels"
)

// BenchmarkGroupPairTiles times two 16-channel groups of a 3x3 grouped
// convolution (RegNet's) on an oh×oh map read from a padded buffer of 64
// channels a pixel, as two kernels.SgemmRowsIdx calls (one per group,
// "idx") and as one kernels.SgemmRowsIdxPair call ("pair"), in
// multiply-adds per second of the calling thread's CPU time:
//
//	go test ./runtime -run '^$' -bench BenchmarkGroupPairTiles
func BenchmarkGroupPairTiles(b *testing.B) {
	for _, oh := range []int{7, 14, 28, 56} {
		for _, kind := range []string{"idx", "pair"} {
			b.Run(fmt.Sprintf("%dx%d_%s", oh, oh, kind), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				const sb = 64
				pw := oh + 2
				x := randF32(rng, (pw*pw+2*pw+8)*sb).F32()
				off := make([]int32, 9*16)
				for t := 0; t < 9; t++ {
					for ci := 0; ci < 16; ci++ {
						off[t*16+ci] = int32(((t/3)*pw+t%3)*sb + ci)
					}
				}
				m := oh * oh
				aoff, coff := make([]int32, m), make([]int32, m)
				for i := range aoff {
					aoff[i] = int32((i/oh*pw + i%oh) * sb)
					coff[i] = int32(i * sb)
				}
				w0, w1 := randF32(rng, 144*16).F32(), randF32(rng, 144*16).F32()
				pb0, pb1 := kernels.PackRowsB16(144, 16, w0, 16), kernels.PackRowsB16(144, 16, w1, 16)
				pair := kernels.PackRowsPair(144, w0, w1)
				c := make([]float32, m*sb+sb)
				bias := randF32(rng, 32).F32()
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				b.ResetTimer()
				t0 := cpuClock(clockThreadCPU)
				for i := 0; i < b.N; i++ {
					if kind == "pair" {
						kernels.SgemmRowsIdxPair(pair, x, aoff, off, 16, bias, c, coff, nil, false, 0, 0, kernels.ActNone)
						continue
					}
					kernels.SgemmRowsIdx(pb0, x, aoff, off, bias, c, coff, nil, false, 0, 0, kernels.ActNone)
					kernels.SgemmRowsIdx(pb1, x[16:], aoff, off, bias[16:], c[16:], coff, nil, false, 0, 0, kernels.ActNone)
				}
				cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
				b.ReportMetric(float64(2*m*144*16)*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
			})
		}
	}
}

package runtime

import (
	"fmt"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/kernels"
)

// BenchmarkGroupIdxTiles times the GEMM of one 16-channel group of a 3x3
// convolution on an oh×oh map read from a padded buffer of pixel stride sb
// floats (sb = 16: the group's channels alone, a group-major layout; larger:
// a whole NHWC pixel of which the group is one 64-byte line), with
// kernels.SgemmRowsIdx (idx: the output pixels only) and kernels.SgemmRows
// (rows: every padded column too), in multiply-adds per second of the
// calling thread's CPU time (the machine is shared):
//
//	go test ./runtime -run '^$' -bench BenchmarkGroupIdxTiles
func BenchmarkGroupIdxTiles(b *testing.B) {
	for _, g := range []struct{ oh, sb int }{{7, 16}, {7, 400}, {14, 16}, {14, 160}, {28, 16}, {28, 64}} {
		for _, kind := range []string{"idx", "rows"} {
			b.Run(fmt.Sprintf("%dx%d_sb%d_%s", g.oh, g.oh, g.sb, kind), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				pw := g.oh + 2
				rnd := func(n int) []float32 {
					v := make([]float32, n)
					for i := range v {
						v[i] = rng.Float32()*2 - 1
					}
					return v
				}
				x := rnd((pw*pw + 2*pw + 8) * g.sb)
				off := make([]int32, 9*16)
				for t := 0; t < 9; t++ {
					for ci := 0; ci < 16; ci++ {
						off[t*16+ci] = int32(((t/3)*pw+t%3)*g.sb + ci)
					}
				}
				m := g.oh * g.oh
				aoff, coff := make([]int32, m), make([]int32, m)
				for i := range aoff {
					aoff[i] = int32((i/g.oh*pw + i%g.oh) * g.sb)
					coff[i] = int32(i * 16)
				}
				w := rnd(144 * 16)
				pb16, pb := kernels.PackRowsB16(144, 16, w, 16), kernels.PackRowsB(144, 16, w, 16)
				c := make([]float32, pw*pw*16)
				bias := rnd(16)
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				b.ResetTimer()
				t0 := cpuClock(clockThreadCPU)
				for i := 0; i < b.N; i++ {
					if kind == "idx" {
						kernels.SgemmRowsIdx(pb16, x, aoff, off, bias, c, coff, nil, false, 0, 0, kernels.ActNone)
					} else {
						kernels.SgemmRows(pb, x, g.sb, off, g.oh*pw, bias, c, 16, nil, false, 0, 0, 1)
					}
				}
				cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
				b.ReportMetric(float64(m*144*16)*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
			})
		}
	}
}

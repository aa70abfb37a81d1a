//go:build amd64 && !purego && !noasm

package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkQConvSmallMapsCold times QConv at one thread on the ResNet-50
// shapes whose weights do not stay in cache (layer4 on 7×7 and 14×14) and
// on the stem and a K = 64 1×1 for comparison, by the thread's CPU time:
// the minimum over runs with the weights in cache (hot) and over runs after
// 64 MB were written (cold: the weights come from memory, as in a whole
// model run), with the weight prefetch off and on, alternated over 4
// rounds. It prints its table; the iteration count does not matter.
//
//	go test ./kernels -run '^$' -bench BenchmarkQConvSmallMapsCold -benchtime 1x
func BenchmarkQConvSmallMapsCold(b *testing.B) {
	for b.Loop() {
	}
	defer func(v bool) { weightPrefetch = v }(weightPrefetch)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	peak := PeakGOPS("int8", 200*time.Millisecond) / 2
	r := rand.New(rand.NewPCG(5, 5))
	mk := func(hw, c, oc, k, st int) ConvShape {
		p := k / 2
		return ConvShape{N: 1, H: hw, W: hw, C: c, OC: oc, KH: k, KW: k, StrideH: st, StrideW: st, PadTop: p, PadLeft: p, PadBottom: p, PadRight: p}
	}
	shapes := map[string]ConvShape{
		"ds1x1s2_14": mk(14, 1024, 2048, 1, 2),
		"1x1_7_512":  mk(7, 512, 2048, 1, 1),
		"1x1_7_2048": mk(7, 2048, 512, 1, 1),
		"stem":       mk(224, 3, 64, 7, 2),
		"1x1_56_64":  mk(56, 64, 256, 1, 1),
		"3x3_7_512":  mk(7, 512, 512, 3, 1),
		"3x3s2_14":   mk(14, 512, 512, 3, 2),
	}
	evict := make([]byte, 64<<20)
	for _, name := range []string{"ds1x1s2_14", "1x1_7_512", "1x1_7_2048", "3x3_7_512", "3x3s2_14", "stem", "1x1_56_64"} {
		s := shapes[name]
		w, _ := PackQConv(s, randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127), randI32(r, s.OC, 5000), -3)
		sc := make([]float64, s.OC)
		for c := range sc {
			sc[c] = 0.0005
		}
		rq := NewRequant(RequantFloat, sc, -5, -128, 127)
		in := randI8(r, s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.OutH()*s.OutW()*s.OC)
		macs := convOps(s) / 2
		for round := 0; round < 4; round++ {
			var res [2][2]int64
			for v := 0; v < 2; v++ {
				weightPrefetch = v == 1
				hot, cold := int64(1<<62), int64(1<<62)
				for i := 0; i < 30; i++ {
					c0 := threadCPUNanos()
					QConv(s, in, w, out, rq, 1)
					hot = min(hot, threadCPUNanos()-c0)
				}
				for i := 0; i < 15; i++ {
					for j := 0; j < len(evict); j += 64 {
						evict[j]++
					}
					c0 := threadCPUNanos()
					QConv(s, in, w, out, rq, 1)
					cold = min(cold, threadCPUNanos()-c0)
				}
				res[v] = [2]int64{hot, cold}
			}
			b.Logf("%-12s %.1f MMAC: pf off hot %6.1f cold %6.1f   pf on hot %6.1f cold %6.1f µs", name, macs/1e6, float64(res[0][0])/1e3, float64(res[0][1])/1e3, float64(res[1][0])/1e3, float64(res[1][1])/1e3)
		}
	}
	b.Logf("int8 peak %.1f GMAC/s (PeakGOPS/2)", peak)
}

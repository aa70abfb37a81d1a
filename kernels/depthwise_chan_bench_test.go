package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
)

// BenchmarkDepthwiseF32Split times the small-map depthwise layers of
// EfficientNet-B0 and MobileNetV2 (SiLU) at one thread ("1t") and at two
// ("rows-2t", DepthwiseF32's split by row chunks), and the work of the
// splits run all on the calling thread: "rows-work" (the 2-thread row
// chunks, each laying out the input rows its taps read), "finerows-work"
// (chunks half as tall), "blocks-work" (blocks of 64 channels of the whole
// map, pixels not contiguous: what the runtime's fused expansion step does
// on a contiguous slab instead). Besides ns/op it reports cpu-ns/op, the
// process CPU time per call, steadier than wall time on a shared machine.
//
//	go test ./kernels -run '^$' -bench DepthwiseF32Split
func BenchmarkDepthwiseF32Split(b *testing.B) {
	shapes := []struct{ h, c, k, stride int }{
		{14, 672, 5, 1}, {14, 480, 3, 1}, {14, 576, 3, 1}, {7, 1152, 5, 1}, {7, 960, 3, 1}, {28, 240, 5, 1}, {14, 672, 5, 2},
	}
	ep := F32Epilogue{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU}
	for _, sh := range shapes {
		r := rand.New(rand.NewPCG(1, 2))
		p := sh.k / 2
		s := ConvShape{N: 1, H: sh.h, W: sh.h, C: sh.c, OC: sh.c, KH: sh.k, KW: sh.k, StrideH: sh.stride, StrideW: sh.stride,
			DilH: 1, DilW: 1, PadTop: p, PadLeft: p, PadBottom: p, PadRight: p, Groups: sh.c}
		pw := PackDWF32(sh.c, 1, sh.k, sh.k, randF32(r, sh.c*sh.k*sh.k), randF32(r, sh.c))
		sx := (sh.c + 15) &^ 15
		x := randF32(r, sh.h*sh.h*sx)
		oh := s.OutH()
		y := make([]float32, oh*s.OutW()*sx)
		chunk := max(1, (oh+7)/8) // DepthwiseF32's at two threads
		for _, mode := range []string{"1t", "rows-2t", "rows-work", "finerows-work", "blocks-work"} {
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d/%s", sh.h, sh.h, sh.c, sh.k, sh.stride, mode), func(b *testing.B) {
				c0 := cpuNanos()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					switch mode {
					case "1t":
						DepthwiseF32(s, pw, x, sx, y, sx, ep, 1)
					case "rows-2t":
						DepthwiseF32(s, pw, x, sx, y, sx, ep, 2)
					case "rows-work":
						depthwiseF32Rows(s, pw, x, sx, y, sx, ep, 1, chunk, false)
					case "finerows-work":
						depthwiseF32Rows(s, pw, x, sx, y, sx, ep, 1, max(1, chunk/2), false)
					case "blocks-work":
						depthwiseByBlocks(s, pw, x, sx, y, sx, ep, 64)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuNanos is the process's user + system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkDepthwiseF32Mobile times DepthwiseF32 at one thread on the
// depthwise layers of MobileNetV3-Large/-Small and EfficientNet whose channel
// counts are not multiples of 16 (72, 120, 184, 200: stored at the padded
// pixel stride) and on 5x5 stride-2 layers, with the runtime's epilogues
// (ReLU as a clamp, HardSwish). It reports cpu-ns/op as
// BenchmarkDepthwiseF32Split does; padded=true is DepthwiseF32Padded.
//
//	go test ./kernels -run '^$' -bench DepthwiseF32Mobile
func BenchmarkDepthwiseF32Mobile(b *testing.B) {
	relu := F32Epilogue{Lo: 0, Hi: NoEpilogue.Hi}
	hsw := F32Epilogue{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}
	shapes := []struct {
		h, c, k, stride int
		ep              F32Epilogue
		name            string
	}{
		{112, 16, 3, 1, relu, "relu"}, {56, 72, 5, 2, relu, "relu"}, {28, 120, 5, 1, relu, "relu"}, {56, 72, 3, 1, relu, "relu"},
		{14, 200, 3, 1, hsw, "hswish"}, {14, 184, 3, 1, hsw, "hswish"}, {14, 672, 5, 2, hsw, "hswish"}, {7, 960, 5, 1, hsw, "hswish"},
	}
	for _, sh := range shapes {
		r := rand.New(rand.NewPCG(1, 2))
		p := sh.k / 2
		s := ConvShape{N: 1, H: sh.h, W: sh.h, C: sh.c, OC: sh.c, KH: sh.k, KW: sh.k, StrideH: sh.stride, StrideW: sh.stride,
			DilH: 1, DilW: 1, PadTop: p, PadLeft: p, PadBottom: p, PadRight: p, Groups: sh.c}
		pw := PackDWF32(sh.c, 1, sh.k, sh.k, randF32(r, sh.c*sh.k*sh.k), randF32(r, sh.c))
		sx := (sh.c + 15) &^ 15
		x := randF32(r, sh.h*sh.h*sx)
		y := make([]float32, s.OutH()*s.OutW()*sx)
		for _, padded := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d_%s/padded=%v", sh.h, sh.h, sh.c, sh.k, sh.stride, sh.name, padded), func(b *testing.B) {
				c0 := cpuNanos()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if padded {
						DepthwiseF32Padded(s, pw, x, sx, y, sx, sh.ep, 1)
					} else {
						DepthwiseF32(s, pw, x, sx, y, sx, sh.ep, 1)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

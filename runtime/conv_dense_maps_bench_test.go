package runtime

import (
	"fmt"
	"math"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// BenchmarkDenseConvMaps times the ungrouped convolutions that dominate
// detector- and VGG-style exports and the last stage of ResNets, on the path
// the session picks for them (newRowsConvKernel, channels-last input), in
// multiply-adds per second of the calling thread's CPU time (fourteenth
// session; compare with BenchmarkPeak/fma-f32-zmm in ./kernels, GOPS = 2·GMAC):
//
//	go test ./runtime -run '^$' -bench BenchmarkDenseConvMaps
//
// The cases: YOLOv5s's 3x3 layers at 640² (C3 bottlenecks on 80x80 and 40x40,
// stride-2 downsamples; with their SiLU), its 255-channel Detect head (1x1, NCHW output),
// VGG's 3x3 layers on 56x56 and 28x28, ResNet's 3x3 and 1x1 layers on 7x7.
func BenchmarkDenseConvMaps(b *testing.B) {
	for _, g := range []struct {
		name          string
		c, m, h, s, k int
		outNCHW       bool
		act           kernels.Act
	}{
		{"yolo_c3_64", 64, 64, 80, 1, 3, false, kernels.ActSiLU},
		{"yolo_c3_128", 128, 128, 40, 1, 3, false, kernels.ActSiLU},
		{"yolo_c3_32", 32, 32, 160, 1, 3, false, kernels.ActSiLU},
		{"yolo_down_32_64", 32, 64, 320, 2, 3, false, kernels.ActSiLU},
		{"yolo_down_128_256", 128, 256, 80, 2, 3, false, kernels.ActSiLU},
		{"yolo_head_128_255", 128, 255, 80, 1, 1, true, kernels.ActNone},
		{"yolo_1x1_64_32", 64, 32, 160, 1, 1, false, kernels.ActSiLU},
		{"yolo_1x1_64_64", 64, 64, 160, 1, 1, false, kernels.ActSiLU},
		{"yolo_1x1_64_32_noact", 64, 32, 160, 1, 1, false, kernels.ActNone},
		{"vgg_256", 256, 256, 56, 1, 3, false, kernels.ActNone},
		{"vgg_512", 512, 512, 28, 1, 3, false, kernels.ActNone},
		{"yolov3tiny_13x13_512_1024", 512, 1024, 13, 1, 3, false, kernels.ActNone},
		{"yolov3tiny_26x26_384_256", 384, 256, 26, 1, 3, false, kernels.ActNone},
		{"resnet_7x7_512", 512, 512, 7, 1, 3, false, kernels.ActNone},
		{"resnet_7x7_1x1_512_2048", 512, 2048, 7, 1, 1, false, kernels.ActNone},
	} {
		b.Run(fmt.Sprintf("%s_c%d_m%d_%dx%d_k%d_s%d", g.name, g.c, g.m, g.h, g.h, g.k, g.s), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			w, bias := randF32(rng, g.m, g.c, g.k, g.k), randF32(rng, g.m)
			node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.k, g.k}),
				"pads":         graph.IntsAttr("pads", []int{g.k / 2, g.k / 2, g.k / 2, g.k / 2}),
				"strides":      graph.IntsAttr("strides", []int{g.s, g.s}),
			}}
			ck := &convKernel{node: node, group: 1, wConst: w, bConst: bias}
			inf := float32(math.Inf(1))
			k := newRowsConvKernel(ck, &fusedConvKernel{conv: ck, nConvIn: 3, post: g.act, lo: -inf, hi: inf}, true, !g.outNCHW)
			sx := pixelStride(g.c)
			x := &graph.Tensor{DType: graph.Float32, Shape: []int{1, g.h, g.h, sx}, Data: make([]float32, g.h*g.h*sx)}
			for i := range x.F32() {
				x.F32()[i] = rng.Float32()
			}
			in := []*graph.Tensor{x, w, bias}
			// Outputs come from a buffer pool, as in a session's runs (a
			// new 6.5 MB output per run costs its page faults).
			pool := &bufPool{}
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			b.ResetTimer()
			t0 := cpuClock(clockThreadCPU)
			for i := 0; i < b.N; i++ {
				ctx := &ExecContext{Threads: 1, arena: &runArena{pool: pool}}
				if _, err := k.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
				for _, buf := range ctx.arena.bufs {
					pool.put(buf.data)
				}
			}
			cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
			b.ReportMetric(cpu/float64(b.N)*1e6, "cpu-us/op")
			oh := (g.h-1)/g.s + 1
			b.ReportMetric(float64(oh*oh*g.m*g.c*g.k*g.k)*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
		})
	}
}

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

// BenchmarkSmallMapConvs times the dense 1x1 convolutions of the last stages
// of ImageNet CNNs (7x7 and 14x14 maps: GEMMs of 49 or 196 rows and hundreds
// to thousands of reduction steps and columns) on the path the session picks
// for them (newRowsConvKernel, channels-last input and output), with their
// weights cold as in a run of the whole model: each iteration runs the next
// of enough copies of the layer (different weights) to pass 16 MB, so that
// every layer's weights come from L3, not from L2 (fifteenth session). It
// reports thread CPU time per layer and multiply-adds per second of it
// (compare with BenchmarkPeak/fma-f32-zmm in ./kernels, GOPS = 2·GMAC):
//
//	go test ./runtime -run '^$' -bench BenchmarkSmallMapConvs -count 3
//
// The cases: RegNet-X-400MF's 400 → 400 on 7x7 (23 of its 74 steps), its
// 160 → 400 stride-2 projection and 160 → 160 on 14x14; ResNet-50's layer4
// 512 → 2048 and 2048 → 512 on 7x7 and 1024 → 256 on 14x14; RegNet-Y-1.6GF's
// 888 → 888 on 7x7; EfficientNet-B0's 320 → 1280 head on 7x7.
func BenchmarkSmallMapConvs(b *testing.B) {
	for _, g := range []struct {
		name       string
		c, m, h, s int
		residual   bool
	}{
		{"regnetx400_7x7", 400, 400, 7, 1, true},
		{"regnetx400_proj", 160, 400, 14, 2, false},
		{"regnetx400_14x14", 160, 160, 14, 1, false},
		{"resnet50_l4_expand", 512, 2048, 7, 1, true},
		{"resnet50_l4_reduce", 2048, 512, 7, 1, false},
		{"resnet50_l3_reduce", 1024, 256, 14, 1, false},
		{"regnety16_7x7", 888, 888, 7, 1, false},
		{"effb0_head", 320, 1280, 7, 1, false},
	} {
		b.Run(fmt.Sprintf("%s_c%d_m%d_%dx%d_s%d", g.name, g.c, g.m, g.h, g.h, g.s), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			ncopy := max(2, (16<<20)/(4*g.c*g.m)+1)
			inf := float32(math.Inf(1))
			type layer struct {
				k  *rowsConvKernel
				in []*graph.Tensor
			}
			sx := pixelStride(g.c)
			x := &graph.Tensor{DType: graph.Float32, Shape: []int{1, g.h, g.h, sx}, Data: make([]float32, g.h*g.h*sx)}
			for i := range x.F32() {
				x.F32()[i] = rng.Float32()
			}
			oh := (g.h-1)/g.s + 1
			so := pixelStride(g.m)
			layers := make([]layer, ncopy)
			for i := range layers {
				w, bias := randF32(rng, g.m, g.c, 1, 1), randF32(rng, g.m)
				node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
					"kernel_shape": graph.IntsAttr("kernel_shape", []int{1, 1}),
					"strides":      graph.IntsAttr("strides", []int{g.s, g.s}),
				}}
				ck := &convKernel{node: node, group: 1, wConst: w, bConst: bias}
				fk := &fusedConvKernel{conv: ck, nConvIn: 3, post: kernels.ActNone, lo: 0, hi: inf}
				in := []*graph.Tensor{x, w, bias}
				if g.residual {
					fk.add = KernelFunc(nil) // only its presence: the residual is fused
					r := &graph.Tensor{DType: graph.Float32, Shape: []int{1, oh, oh, so}, Data: make([]float32, oh*oh*so)}
					in = append(in, r)
				}
				fk.act = KernelFunc(nil) // a clamp to [0, +Inf): the models' Relu
				layers[i] = layer{newRowsConvKernel(ck, fk, true, true), in}
			}
			pool := &bufPool{}
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			b.ResetTimer()
			t0 := cpuClock(clockThreadCPU)
			for i := 0; i < b.N; i++ {
				l := layers[i%ncopy]
				ctx := &ExecContext{Threads: 1, arena: &runArena{pool: pool}}
				if _, err := l.k.Run(ctx, l.in); err != nil {
					b.Fatal(err)
				}
				for _, buf := range ctx.arena.bufs {
					pool.put(buf.data)
				}
			}
			cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
			b.ReportMetric(cpu/float64(b.N)*1e6, "cpu-us/op")
			b.ReportMetric(float64(oh*oh*g.m*g.c)*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
		})
	}
}

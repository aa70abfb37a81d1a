package runtime

import (
	"fmt"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// BenchmarkDenseNarrowConv times DenseNet's 3x3 convolutions (128 channels
// in, 32 out, channels-last in and out) and a 3x3 stride-2 stem (3 → 32, NCHW
// input) on the rows path (rowsConvKernel with its indexed path off:
// laid-out input, SgemmRows) and on the indexed one (conv_dense_idx.go), in
// multiply-adds per second of the calling thread's CPU time:
//
//	go test ./runtime -run '^$' -bench BenchmarkDenseNarrowConv
func BenchmarkDenseNarrowConv(b *testing.B) {
	for _, g := range []struct{ c, m, h, s, k int }{{128, 32, 56, 1, 3}, {128, 32, 28, 1, 3}, {128, 32, 14, 1, 3}, {128, 32, 7, 1, 3}, {3, 32, 224, 2, 3}, {3, 16, 224, 2, 3}, {3, 64, 224, 2, 7}, {16, 64, 55, 1, 3}, {32, 128, 27, 1, 3}, {64, 64, 56, 1, 3}, {128, 128, 28, 1, 3}, {256, 256, 14, 1, 3}, {512, 512, 7, 1, 3}} {
		for _, kind := range []string{"rows", "idx"} {
			b.Run(fmt.Sprintf("c%d_m%d_%dx%d_k%d_s%d_%s", g.c, g.m, g.h, g.h, g.k, g.s, kind), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				w, bias := randF32(rng, g.m, g.c, g.k, g.k), randF32(rng, g.m)
				node := &graph.Node{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
					"kernel_shape": graph.IntsAttr("kernel_shape", []int{g.k, g.k}),
					"pads":         graph.IntsAttr("pads", []int{g.k / 2, g.k / 2, g.k / 2, g.k / 2}),
					"strides":      graph.IntsAttr("strides", []int{g.s, g.s}),
				}}
				ck := &convKernel{node: node, group: 1, wConst: w, bConst: bias}
				nhwc := g.c > 3
				k := newRowsConvKernel(ck, nil, nhwc, true)
				if kind == "rows" {
					k.narrow = nil
				}
				sx := pixelStride(g.c)
				x := &graph.Tensor{DType: graph.Float32, Shape: []int{1, g.h, g.h, sx}, Data: make([]float32, g.h*g.h*sx)}
				if !nhwc {
					x.Shape = []int{1, g.c, g.h, g.h}
				}
				for i := range x.F32() {
					x.F32()[i] = rng.Float32()
				}
				in := []*graph.Tensor{x, w, bias}
				ctx := &ExecContext{Threads: 1}
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				b.ResetTimer()
				t0 := cpuClock(clockThreadCPU)
				for i := 0; i < b.N; i++ {
					if _, err := k.Run(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
				b.ReportMetric(cpu/float64(b.N)*1e6, "cpu-us/op")
				oh := (g.h-1)/g.s + 1
				b.ReportMetric(float64(oh*oh*g.m*g.c*g.k*g.k)*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
			})
		}
	}
}

package runtime

import (
	"fmt"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// BenchmarkGroupedRows times the channels-last grouped convolution on the
// layers of RegNet-X-400MF (groups of 16 channels, 3x3, stride 2 at the
// start of each stage) and of ResNeXt (groups of 4), reporting the achieved
// multiply-adds per second of the calling thread's CPU time. The layers of
// the other RegNets and ResNeXt-50 (fourteenth session): groups of 8
// (RegNet-Y-400MF), 24 (RegNet-Y-1.6GF), 32 (ResNeXt's last stage) and 48
// (RegNet-X-3.2GF), each with the reduced tiles (red, conv_grouped_red.go)
// and without (nored: merged, paired and wide blocks). Outputs come from a run arena as in a session, so that
// the allocator and the GC are not timed:
//
//	go test ./runtime -run '^$' -bench BenchmarkGroupedRows
func BenchmarkGroupedRows(b *testing.B) {
	for _, g := range []struct {
		c, h, groups, stride int
	}{
		{32, 112, 2, 2}, {64, 56, 4, 2}, {64, 28, 4, 1}, {160, 28, 10, 2}, {160, 14, 10, 1},
		{400, 14, 25, 2}, {400, 7, 25, 1}, {128, 56, 32, 1},
		{208, 14, 26, 1}, {440, 7, 55, 1}, {336, 14, 14, 1}, {888, 7, 37, 1}, {1024, 7, 32, 1},
		{432, 14, 9, 1}, {1008, 7, 21, 1}, {192, 28, 4, 1}, {64, 112, 4, 2}, {128, 56, 8, 2},
	} {
		for _, red := range []bool{true, false} {
			name := "red"
			if !red {
				name = "nored"
			}
			b.Run(fmt.Sprintf("c%d_%dx%d_g%d_s%d_%s", g.c, g.h, g.h, g.groups, g.stride, name), func(b *testing.B) {
				defer func(v bool) { reducedGroupTiles = v }(reducedGroupTiles)
				reducedGroupTiles = red
				rng := rand.New(rand.NewSource(1))
				cg := g.c / g.groups
				w := randF32(rng, g.c, cg, 3, 3)
				bias := randF32(rng, g.c)
				node := &graph.Node{Name: "gconv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
					"group":        graph.IntAttr("group", int64(g.groups)),
					"kernel_shape": graph.IntsAttr("kernel_shape", []int{3, 3}),
					"strides":      graph.IntsAttr("strides", []int{g.stride, g.stride}),
					"pads":         graph.IntsAttr("pads", []int{1, 1, 1, 1}),
				}}
				ck := &convKernel{node: node, group: g.groups}
				k := newGroupedRowsKernel(ck, nil, w, bias, 3, true, true)
				x := &graph.Tensor{DType: graph.Float32, Shape: []int{1, g.h, g.h, pixelStride(g.c)}, Data: make([]float32, g.h*g.h*pixelStride(g.c))}
				for i := range x.F32() {
					x.F32()[i] = rng.Float32()
				}
				in := []*graph.Tensor{x, w, bias}
				pool := &bufPool{}
				arena := &runArena{pool: pool}
				ctx := &ExecContext{Threads: 1, arena: arena}
				oh := (g.h-1)/g.stride + 1
				macs := float64(oh * oh * g.c * cg * 9)
				// Thread CPU time: the machine is shared, the wall clock says little.
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				b.ResetTimer()
				t0 := cpuClock(clockThreadCPU)
				for i := 0; i < b.N; i++ {
					if _, err := k.Run(ctx, in); err != nil {
						b.Fatal(err)
					}
					for _, buf := range arena.bufs {
						pool.put(buf.data)
					}
					arena.bufs = arena.bufs[:0]
				}
				cpu := float64(cpuClock(clockThreadCPU)-t0) / 1e9
				b.ReportMetric(cpu/float64(b.N)*1e6, "cpu-us/op")
				b.ReportMetric(macs*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
			})
		}
	}
}

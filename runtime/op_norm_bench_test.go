package runtime

import (
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// BenchmarkBatchNormTraining times a float32 training-mode
// BatchNormalization (batch statistics, running mean and variance) on the
// shapes of the unseen set's train_bn_op14, in thread CPU time:
//
//	go test ./runtime -run '^$' -bench BenchmarkBatchNormTraining
func BenchmarkBatchNormTraining(b *testing.B) {
	for _, shape := range [][]int{{4, 16, 16, 16}, {4, 32, 8, 8}} {
		b.Run(graph.ShapeOf(shape...).String(), func(b *testing.B) {
			r := rand.New(rand.NewSource(3))
			c := shape[1]
			in := []*graph.Tensor{graph.NewTensor(graph.Float32, shape)}
			for i, d := 0, in[0].F32(); i < len(d); i++ {
				d[i] = r.Float32()
			}
			for i := 0; i < 4; i++ {
				p := graph.NewTensor(graph.Float32, []int{c})
				for j := range p.F32() {
					p.F32()[j] = r.Float32() + 0.5
				}
				in = append(in, p)
			}
			k := &batchNormKernel{eps: 1e-5, momentum: 0.9, spatial: true, training: true}
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
			b.ReportMetric(float64(cpuClock(clockThreadCPU)-t0)/1e3/float64(b.N), "cpu-us/op")
		})
	}
}

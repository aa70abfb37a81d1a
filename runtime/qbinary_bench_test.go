package runtime

import (
	"math"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// BenchmarkQBinaryCdist times the int8 cdist difference [256,1,56] - [1,200,56]
// on the planned blocks and on the expansion it replaced (thread CPU minimum).
func BenchmarkQBinaryCdist(b *testing.B) {
	n := &graph.Node{Name: "q", OpType: "QBinary", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
	for _, a := range []*graph.Attr{graph.StringAttr("op", "Sub"),
		graph.FloatAttr("a_scale", 0.05), graph.IntAttr("a_zp", 3),
		graph.FloatAttr("b_scale", 0.02), graph.IntAttr("b_zp", -7),
		graph.FloatAttr("y_scale", 0.04), graph.IntAttr("y_zp", 1)} {
		n.Attrs[a.Name] = a
	}
	kern, err := buildQBinary(&BuildContext{Node: n})
	require.NoError(b, err)
	k := kern.(*qbinaryKernel)
	as, bs := []int{256, 1, 56}, []int{1, 200, 56}
	x, y := make([]int8, 256*56), make([]int8, 200*56)
	in := []*graph.Tensor{graph.FromInt8(as, x), graph.FromInt8(bs, y)}
	b.Run("planned", func(b *testing.B) {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		best := int64(math.MaxInt64)
		for i := 0; i < b.N; i++ {
			t0 := stepClock(1)
			_, _ = k.Run(&ExecContext{Threads: 1}, in)
			best = min(best, stepClock(1)-t0)
		}
		b.ReportMetric(float64(best)/1e6, "min-ms")
	})
	b.Run("expanded", func(b *testing.B) {
		os := []int{256, 200, 56}
		out := make([]int8, 256*200*56)
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		best := int64(math.MaxInt64)
		for i := 0; i < b.N; i++ {
			t0 := stepClock(1)
			ea := qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(x), as, os))
			for j := 0; j < 256; j++ {
				k.apply(ea[j*11200:(j+1)*11200], y, out[j*11200:(j+1)*11200])
			}
			best = min(best, stepClock(1)-t0)
		}
		b.ReportMetric(float64(best)/1e6, "min-ms")
	})
}

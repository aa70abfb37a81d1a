package kernels

import (
	"fmt"
	"math"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// threadCPUNanos is the calling thread's CPU time: at 1 thread it times a
// kernel without the time other processes of a shared machine take.
func threadCPUNanos() int64 {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// BenchmarkSgemmRowsPointwise times SgemmRows on the 1x1 layer shapes of
// MobileNetV2 / EfficientNet-B0 (channel counts that are not multiples of 64,
// small maps), weights from memory as in a session.
//
//	go test ./kernels -run '^$' -bench BenchmarkSgemmRowsPointwise -benchtime 200x
func BenchmarkSgemmRowsPointwise(b *testing.B) {
	for _, s := range []struct{ hw, cin, cout, st int }{
		{112, 16, 96, 0}, {112, 32, 16, 0}, {56, 96, 24, 0}, {56, 24, 144, 0}, {56, 144, 24, 0}, {28, 144, 32, 0}, {28, 32, 192, 0},
		{14, 96, 576, 0}, {14, 576, 96, 0}, {14, 480, 80, 0}, {14, 80, 480, 0}, {7, 960, 160, 0}, {7, 160, 960, 0}, {7, 320, 1280, 0},
		{14, 64, 64, 0}, {14, 64, 128, 0},
		{28, 128, 64, 0}, {28, 128, 48, 0}, {28, 128, 128, 0}, {28, 128, 112, 0}, {28, 128, 96, 0},
		{56, 24, 144, 32}, {56, 24, 24, 0}, {56, 24, 32, 0}, {56, 24, 24, 32}, {56, 24, 32, 32},
	} {
		m := s.hw * s.hw
		st := max(s.cin, s.st)
		off := make([]int32, s.cin)
		for i := range off {
			off[i] = int32(i)
		}
		x := make([]float32, (m+6)*st)
		c := make([]float32, m*s.cout)
		bias := make([]float32, s.cout)
		copies := make([]*RowsB, max(2, (64<<20)/(4*s.cin*s.cout)))
		for i := range copies {
			copies[i] = PackRowsB(s.cin, s.cout, make([]float32, s.cin*s.cout), s.cout)
		}
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/%dx%dx%d-%d/stride=%d/threads=%d", RowsPath(), s.hw, s.hw, s.cin, s.cout, st, th), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				i := 0
				cpu0 := threadCPUNanos()
				for b.Loop() {
					SgemmRows(copies[i%len(copies)], x, st, off, m, bias, c, s.cout, nil, true, 0, float32(math.Inf(1)), th)
					i++
				}
				ops := 2 * float64(m) * float64(s.cin) * float64(s.cout)
				reportGOPS(b, ops)
				if th == 1 {
					b.ReportMetric(ops*float64(b.N)/float64(threadCPUNanos()-cpu0), "cpu-GOPS")
				}
			})
		}
	}
}

// BenchmarkActF32 times the vector activations on 64K floats (an L2-resident
// row block), per element.
func BenchmarkActF32(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	y := make([]float32, len(x))
	for _, a := range []struct {
		name string
		act  Act
	}{{"silu", ActSiLU}, {"sigmoid", ActSigmoid}, {"gelu", ActGELU}} {
		b.Run(a.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for b.Loop() {
				ActF32(a.act, y, x)
			}
			b.ReportMetric(float64(threadCPUNanos()-cpu0)/float64(b.N*len(x)), "cpu-ns/elem")
		})
	}
}

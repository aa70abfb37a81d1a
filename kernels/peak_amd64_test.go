//go:build amd64 && !purego && !noasm

package kernels

import (
	"runtime"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// BenchmarkPeak measures the throughput of the inner instruction sequences
// (register operands only, independent accumulators): the int8 and float32
// peaks of one core that the GEMM figures are compared against.
func BenchmarkPeak(b *testing.B) {
	cases := []struct {
		name string
		macs int
		ok   bool
		fn   func(int)
	}{
		{"vnni-zmm", 1536, cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VNNI), peakVNNIZ},
		{"vnni-zmm+vpxord", 1536, cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VNNI), peakVNNIZXor},
		{"vnni-ymm", 384, cpuid.CPU.Supports(cpuid.AVX512VL, cpuid.AVX512VNNI), peakVNNIY},
		{"avx2-int8-signtrick", 256, cpuid.CPU.Supports(cpuid.AVX2), peakAVX2Int8},
		{"avx2-int8-maddubs-inexact", 256, cpuid.CPU.Supports(cpuid.AVX2), peakAVX2Madd},
		{"avx2-int16-maddwd-exact", 128, cpuid.CPU.Supports(cpuid.AVX2), peakAVX2Madd16},
		{"fma-f32", 96, cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3), peakFMA},
		{"fma-f32-zmm", 192, cpuid.CPU.Supports(cpuid.AVX512F), peakFMAZ},
		{"amx-int8", 262144, amxOK, peakAMXRun},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if !c.ok {
				b.Skip("not supported")
			}
			const iters = 1 << 16
			// The thread's CPU time too: on a shared machine the wall
			// clock counts other processes' time slices (at load 30 on
			// 2 vCPUs the zmm FMA read 7.5 GOPS of wall clock and 190
			// of CPU time, nineteenth session).
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPUNanos()
			for b.Loop() {
				c.fn(iters)
			}
			ops := 2 * float64(c.macs) * iters * float64(b.N)
			b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOPS")
			b.ReportMetric(ops/float64(max(1, threadCPUNanos()-cpu0)), "cpu-GOPS")
		})
	}
}

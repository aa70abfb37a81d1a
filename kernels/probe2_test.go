//go:build amd64 && !purego && !noasm

package kernels

import (
	"fmt"
	"os"

	"github.com/klauspost/cpuid/v2"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuGOPS measures single-threaded work by the CPU time of the locked OS thread
// (immune to being descheduled on a shared machine).
func cpuGOPS(fn func(), ops float64, total time.Duration) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	t0 := time.Now()
	n := 0
	for time.Since(t0) < total {
		fn()
		n++
	}
	return ops * float64(n) / (threadCPU() - c0).Seconds() / 1e9
}

func bestGOPS(fn func(), ops float64, total time.Duration) float64 {
	best := 0.0
	t00 := time.Now()
	for time.Since(t00) < total {
		t0 := time.Now()
		n := 0
		for n == 0 || time.Since(t0) < 10*time.Millisecond {
			fn()
			n++
		}
		best = max(best, ops*float64(n)/time.Since(t0).Seconds()/1e9)
	}
	return best
}

func TestProbeOps(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	if os.Getenv("PROBE_AVX2") != "" {
		saved := cpuid.CPU
		cpuid.CPU.Disable(cpuid.AVX512VNNI)
		Detect()
		defer func() { cpuid.CPU = saved; Detect() }()
		t.Logf("int8 path %s, peak %.0f", Int8Path(), PeakGOPS("int8", 300*time.Millisecond))
	}
	r := rand.New(rand.NewPCG(1, 1))
	t.Logf("peak vnni %.0f fma %.0f", cpuGOPS(func() { peakVNNIZ(1 << 12) }, 1536*2*(1<<12), 300*time.Millisecond), cpuGOPS(func() { peakFMA(1 << 12) }, 96*2*(1<<12), 300*time.Millisecond))
	for _, n := range []int{256, 512, 1024} {
		a := randI8(r, n*n, -128, 127)
		w := randI8(r, n*n, -127, 127)
		pw, _ := PackQGemm(n, n, w, randI32(r, n, 1000), 3)
		rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
		out := make([]int8, n*n)
		fa, fb, fc := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
		for _, th := range []int{1, 2} {
			meas := bestGOPS
			if th == 1 {
				meas = cpuGOPS
			}
			q := meas(func() { QGemm(n, a, n, pw, out, n, rq, th) }, 2*float64(n*n*n), 500*time.Millisecond)
			f := meas(func() { Sgemm(false, false, n, n, n, fa, n, fb, n, fc, n, false, th) }, 2*float64(n*n*n), 500*time.Millisecond)
			t.Logf("n=%d threads=%d int8 %s %.1f GOPS  f32 %s %.1f GOPS", n, th, Int8Path(), q, F32Path(), f)
		}
	}
	for _, tc := range benchConvs {
		s := tc.s.norm()
		w := randI8(r, s.OC*s.C/s.Groups*s.KH*s.KW, -127, 127)
		pw, _ := PackQConv(s, w, randI32(r, s.OC, 1000), -5)
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.002}, 0, -128, 127)
		for _, th := range []int{1, 2} {
			meas := bestGOPS
			if th == 1 {
				meas = cpuGOPS
			}
			g := meas(func() { QConv(s, in, pw, out, rq, th) }, convOps(s), 500*time.Millisecond)
			t.Logf("%s threads=%d %.1f GOPS", tc.name, th, g)
		}
	}
	_ = fmt.Sprint()
}

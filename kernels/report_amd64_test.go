//go:build amd64 && !purego && !noasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/cpuid/v2"
)

// TestKernelReport prints the README table (WARBOY_KERNEL_REPORT=1):
//
//	WARBOY_KERNEL_REPORT=1 go test ./kernels -run TestKernelReport -v -timeout 30m
//
// One thread is measured by the CPU time of the locked OS thread (immune to
// being descheduled on a shared machine); 1 vs 2 threads by the best wall time
// of 10 ms batches, alternated so both see the same machine load.
func TestKernelReport(t *testing.T) {
	if os.Getenv("WARBOY_KERNEL_REPORT") == "" {
		t.Skip("set WARBOY_KERNEL_REPORT=1")
	}
	d := 2 * time.Second
	if v, err := time.ParseDuration(os.Getenv("WARBOY_KERNEL_REPORT_TIME")); err == nil {
		d = v
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| kernel | dtype | path | 1 thread GOPS (cpu) | 1 thread GOPS (wall) | 2 threads GOPS (wall) | 2T/1T |\n|---|---|---|---:|---:|---:|---:|\n")
	r := rand.New(rand.NewPCG(7, 7))
	type op struct {
		name, dtype string
		ops         float64
		run         func(th int)
	}
	var ops []op
	for _, n := range []int{256, 512, 1024} {
		a, w := randI8(r, n*n, -128, 127), randI8(r, n*n, -127, 127)
		pw, _ := PackQGemm(n, n, w, randI32(r, n, 1000), 3)
		rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
		out := make([]int8, n*n)
		fa, fb, fc := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
		nn := n
		ops = append(ops,
			op{fmt.Sprintf("gemm %d³", n), "int8", 2 * float64(n*n*n), func(th int) { QGemm(nn, a, nn, pw, out, nn, rq, th) }},
			op{fmt.Sprintf("gemm %d³", n), "float32", 2 * float64(n*n*n), func(th int) { Sgemm(false, false, nn, nn, nn, fa, nn, fb, nn, fc, nn, false, th) }})
	}
	for _, tc := range benchConvs {
		s := tc.s.norm()
		w := randI8(r, s.OC*s.C/s.Groups*s.KH*s.KW, -127, 127)
		pw, _ := PackQConv(s, w, randI32(r, s.OC, 1000), -5)
		in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
		out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
		rq := NewRequant(RequantFloat, []float64{0.002}, 0, -128, 127)
		fw, fin, fout := randF32(r, len(w)), randF32(r, len(in)), make([]float32, len(out))
		ops = append(ops,
			op{tc.name, "int8", convOps(s), func(th int) { QConv(s, in, pw, out, rq, th) }},
			op{tc.name, "float32", convOps(s), func(th int) { ConvF32(s, fin, fw, nil, fout, th) }})
	}
	paths := []struct {
		name      string
		disable   []cpuid.FeatureID
		signTrick bool
	}{
		{"avx512vnni", nil, false},
		{"avx2 (int16 vpmaddwd)", []cpuid.FeatureID{cpuid.AVX512VNNI}, false},
		{"avx2 (sign trick)", []cpuid.FeatureID{cpuid.AVX512VNNI}, true},
	}
	for pi, pc := range paths {
		saved := cpuid.CPU
		cpuid.CPU.Disable(pc.disable...)
		Detect()
		avx2SignTrick = pc.signTrick
		peak := func(dt string) float64 {
			fn, macs := peakLoop(dt)
			return cpuGOPS(func() { fn(1 << 12) }, 2*float64(macs)*(1<<12), d/4)
		}
		fmt.Fprintf(&sb, "| peak (instruction loop) | int8 | %s | %.1f | | | |\n", pc.name, peak("int8"))
		if pi == 0 {
			fmt.Fprintf(&sb, "| peak (instruction loop) | float32 | %s | %.1f | | | |\n", F32Path(), peak("float32"))
		}
		for _, o := range ops {
			if o.dtype == "float32" && pi != 0 {
				continue
			}
			path := pc.name
			if o.dtype == "float32" {
				path = F32Path()
			} else if strings.HasPrefix(o.name, "dw") {
				path = DepthwisePath()
			}
			c1 := cpuGOPS(func() { o.run(1) }, o.ops, d)
			w1, w2 := 0.0, 0.0
			for t0 := time.Now(); time.Since(t0) < 2*d; {
				w1 = max(w1, bestGOPS(func() { o.run(1) }, o.ops, d/10))
				w2 = max(w2, bestGOPS(func() { o.run(2) }, o.ops, d/10))
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %.1f | %.1f | %.1f | %.2f |\n", o.name, o.dtype, path, c1, w1, w2, w2/w1)
		}
		avx2SignTrick = false
		cpuid.CPU = saved
		Detect()
	}
	t.Logf("GOMAXPROCS=%d\n%s", runtime.GOMAXPROCS(0), sb.String())
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuGOPS measures single-threaded work by the CPU time of the locked OS thread.
func cpuGOPS(fn func(), ops float64, total time.Duration) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fn()
	c0 := threadCPU()
	n := 0
	for t0 := time.Now(); time.Since(t0) < total || n == 0; n++ {
		fn()
	}
	return ops * float64(n) / (threadCPU() - c0).Seconds() / 1e9
}

// bestGOPS is the best throughput of >= 10 ms batches within total.
func bestGOPS(fn func(), ops float64, total time.Duration) float64 {
	best := 0.0
	for t00 := time.Now(); time.Since(t00) < total || best == 0; {
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

// TestScalingReport measures 1 vs 2 threads (WARBOY_KERNEL_REPORT=1): best
// wall time of single calls, alternating 20 calls with 1 and 2 threads for
// WARBOY_KERNEL_REPORT_TIME per kernel, so both see the same machine load.
func TestScalingReport(t *testing.T) {
	if os.Getenv("WARBOY_KERNEL_REPORT") == "" {
		t.Skip("set WARBOY_KERNEL_REPORT=1")
	}
	d := 20 * time.Second
	if v, err := time.ParseDuration(os.Getenv("WARBOY_KERNEL_REPORT_TIME")); err == nil {
		d = v
	}
	r := rand.New(rand.NewPCG(9, 9))
	n := 1024
	a, w := randI8(r, n*n, -128, 127), randI8(r, n*n, -127, 127)
	pw, _ := PackQGemm(n, n, w, nil, 3)
	rq := NewRequant(RequantFloat, []float64{0.001}, 0, -128, 127)
	out := make([]int8, n*n)
	fa, fb, fc := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
	s := benchConvs[0].s.norm()
	cw, _ := PackQConv(s, randI8(r, s.OC*s.C*9, -127, 127), nil, 0)
	cin := randI8(r, s.H*s.W*s.C, -128, 127)
	cout := make([]int8, s.H*s.W*s.OC)
	s1 := benchConvs[1].s.norm()
	cw1, _ := PackQConv(s1, randI8(r, s1.OC*s1.C, -127, 127), nil, 0)
	c1in := randI8(r, s1.H*s1.W*s1.C, -128, 127)
	pw256, _ := PackQGemm(256, 256, w[:256*256], nil, 3)
	cases := []struct {
		name string
		ops  float64
		run  func(int)
	}{
		{"int8 gemm 1024³ " + Int8Path(), 2 * float64(n*n*n), func(th int) { QGemm(n, a, n, pw, out, n, rq, th) }},
		{"float32 gemm 1024³ " + F32Path(), 2 * float64(n*n*n), func(th int) { Sgemm(false, false, n, n, n, fa, n, fb, n, fc, n, false, th) }},
		{"int8 conv3x3 56x56x64 " + Int8Path(), convOps(s), func(th int) { QConv(s, cin, cw, cout, rq, th) }},
		{"int8 conv1x1 56x56x256 " + Int8Path(), convOps(s1), func(th int) { QConv(s1, c1in, cw1, cout, rq, th) }},
		{"int8 gemm 256³ " + Int8Path(), 2 * 256 * 256 * 256, func(th int) { QGemm(256, a, 256, pw256, out, 256, rq, th) }},
	}
	var sb strings.Builder
	for _, c := range cases {
		if f := os.Getenv("WARBOY_REPORT_FILTER"); f != "" && !strings.Contains(c.name, f) {
			continue
		}
		w1, w2 := 0.0, 0.0
		for t0 := time.Now(); time.Since(t0) < d; {
			w1 = max(w1, bestCall(func() { c.run(1) }, c.ops, 20))
			w2 = max(w2, bestCall(func() { c.run(2) }, c.ops, 20))
		}
		fmt.Fprintf(&sb, "| %s | %.1f | %.1f | %.2f |\n", c.name, w1, w2, w2/w1)
	}
	t.Logf("\n| kernel | 1 thread GOPS | 2 threads GOPS | 2T/1T |\n|---|---:|---:|---:|\n%s", sb.String())
}

// bestCall is the throughput of the fastest of n calls.
func bestCall(fn func(), ops float64, n int) float64 {
	best := 0.0
	for i := 0; i < n; i++ {
		t0 := time.Now()
		fn()
		best = max(best, ops/time.Since(t0).Seconds()/1e9)
	}
	return best
}

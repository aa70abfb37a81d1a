package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/warboy-sim/warboy/kernels"
)

// KernelBenchOptions configure RunKernelBench.
type KernelBenchOptions struct {
	// Threads lists the thread counts to run (default {1, GOMAXPROCS}).
	Threads []int
	// MinTime is the measuring time per case (default 1s; 20ms in Quick mode).
	MinTime time.Duration
	// Quick runs every case briefly (smoke test), with Threads defaulting to {1}.
	Quick bool
}

// KernelResult is one kernel throughput figure.
type KernelResult struct {
	Name     string  `json:"name"`
	DType    string  `json:"dtype"` // "int8" or "float32"
	Threads  int     `json:"threads"`
	GOPS     float64 `json:"gops"`    // 2 ops per multiply-add
	Seconds  float64 `json:"seconds"` // per operation
	Path     string  `json:"path"`    // avx512vnni|avx2|go
	Measured string  `json:"measured"`
}

type kernelCase struct {
	name, dtype string
	ops         float64
	path        func() string
	setup       func(r *rand.Rand) func(threads int)
}

func kernelCases() []kernelCase {
	var cs []kernelCase
	for _, n := range []int{256, 512, 1024} {
		n := n
		ops := 2 * float64(n) * float64(n) * float64(n)
		cs = append(cs, kernelCase{fmt.Sprintf("gemm-%d", n), "int8", ops, kernels.Int8Path, func(r *rand.Rand) func(int) {
			a, w := randI8(r, n*n, -128, 127), randI8(r, n*n, -127, 127)
			pw, err := kernels.PackQGemm(n, n, w, randI32(r, n), 3)
			if err != nil {
				panic(err)
			}
			rq := kernels.NewRequant(kernels.RequantFloat, randScales(r, n), -2, -128, 127)
			out := make([]int8, n*n)
			return func(th int) { kernels.QGemm(n, a, n, pw, out, n, rq, th) }
		}})
		cs = append(cs, kernelCase{fmt.Sprintf("gemm-%d", n), "float32", ops, kernels.F32Path, func(r *rand.Rand) func(int) {
			a, b, c := randF32(r, n*n), randF32(r, n*n), make([]float32, n*n)
			return func(th int) { kernels.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false, th) }
		}})
	}
	convs := []struct {
		name string
		s    kernels.ConvShape
		path func() string
	}{
		{"conv3x3-resnet50-56x56x64-64", kernels.ConvShape{N: 1, H: 56, W: 56, C: 64, OC: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, kernels.Int8Path},
		{"conv1x1-resnet50-56x56x256-64", kernels.ConvShape{N: 1, H: 56, W: 56, C: 256, OC: 64, KH: 1, KW: 1}, kernels.Int8Path},
		{"dwconv3x3-112x112x32", kernels.ConvShape{N: 1, H: 112, W: 112, C: 32, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32}, kernels.DepthwisePath},
	}
	for _, c := range convs {
		c := c
		s := c.s
		groups := max(s.Groups, 1)
		wlen := s.OC * s.C / groups * s.KH * s.KW
		ops := 2 * float64(s.N*s.OutH()*s.OutW()*s.OC) * float64(s.C/groups*s.KH*s.KW)
		cs = append(cs, kernelCase{c.name, "int8", ops, c.path, func(r *rand.Rand) func(int) {
			pw, err := kernels.PackQConv(s, randI8(r, wlen, -127, 127), randI32(r, s.OC), -5)
			if err != nil {
				panic(err)
			}
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			out := make([]int8, s.N*s.OutH()*s.OutW()*s.OC)
			rq := kernels.NewRequant(kernels.RequantFloat, randScales(r, s.OC), 3, -128, 127)
			return func(th int) { kernels.QConv(s, in, pw, out, rq, th) }
		}})
		cs = append(cs, kernelCase{c.name, "float32", ops, kernels.F32Path, func(r *rand.Rand) func(int) {
			w, b := randF32(r, wlen), randF32(r, s.OC)
			in := randF32(r, s.N*s.H*s.W*s.C)
			out := make([]float32, s.N*s.OutH()*s.OutW()*s.OC)
			return func(th int) { kernels.ConvF32(s, in, w, b, out, th) }
		}})
	}
	return cs
}

// RunKernelBench measures the int8 and float32 kernels (GEMM M=N=K 256/512/1024,
// the ResNet-50 3x3 and 1x1 convolutions, a depthwise 3x3) for each thread
// count, plus the single-core instruction peak ("peak") of the int8 and float32
// micro-kernels. Each figure is the best of repeated batches of at least 10 ms
// (or one operation) within MinTime, which is robust to other processes on a
// shared machine. progress, if not nil, receives one line per result.
func RunKernelBench(opts KernelBenchOptions, progress io.Writer) ([]KernelResult, error) {
	if opts.MinTime <= 0 {
		opts.MinTime = time.Second
		if opts.Quick {
			opts.MinTime = 20 * time.Millisecond
		}
	}
	if len(opts.Threads) == 0 {
		opts.Threads = []int{1}
		if p := runtime.GOMAXPROCS(0); p > 1 && !opts.Quick {
			opts.Threads = append(opts.Threads, p)
		}
	}
	for _, t := range opts.Threads {
		if t <= 0 {
			return nil, fmt.Errorf("bench: bad thread count %d", t)
		}
	}
	var res []KernelResult
	emit := func(kr KernelResult) {
		res = append(res, kr)
		if progress != nil {
			fmt.Fprintf(progress, "%-32s %-8s threads=%-2d %9.1f GOPS %12.3f ms  [%s]\n",
				kr.Name, kr.DType, kr.Threads, kr.GOPS, kr.Seconds*1e3, kr.Path)
		}
	}
	for _, dt := range []string{"int8", "float32"} {
		path := kernels.Int8Path()
		if dt == "float32" {
			path = kernels.F32Path()
		}
		if g := kernels.PeakGOPS(dt, min(opts.MinTime, 300*time.Millisecond)); g > 0 {
			emit(KernelResult{Name: "peak", DType: dt, Threads: 1, GOPS: g, Path: path, Measured: "instruction peak, one core"})
		}
	}
	r := rand.New(rand.NewPCG(42, 42))
	for _, c := range kernelCases() {
		run := c.setup(r)
		for _, th := range opts.Threads {
			sec := bestSeconds(func() { run(th) }, opts.MinTime)
			emit(KernelResult{Name: c.name, DType: c.dtype, Threads: th, GOPS: c.ops / sec / 1e9, Seconds: sec, Path: c.path()})
		}
	}
	return res, nil
}

// bestSeconds returns the shortest per-call time over batches of >= 10 ms.
func bestSeconds(fn func(), minTime time.Duration) float64 {
	fn() // warm up: pools, page faults
	best := 0.0
	for t0 := time.Now(); time.Since(t0) < minTime || best == 0; {
		b0 := time.Now()
		n := 0
		for n == 0 || time.Since(b0) < 10*time.Millisecond {
			fn()
			n++
		}
		if s := time.Since(b0).Seconds() / float64(n); best == 0 || s < best {
			best = s
		}
	}
	return best
}

func randI8(r *rand.Rand, n, lo, hi int) []int8 {
	b := make([]int8, n)
	for i := range b {
		b[i] = int8(lo + r.IntN(hi-lo+1))
	}
	return b
}

func randI32(r *rand.Rand, n int) []int32 {
	b := make([]int32, n)
	for i := range b {
		b[i] = r.Int32N(2001) - 1000
	}
	return b
}

func randF32(r *rand.Rand, n int) []float32 {
	b := make([]float32, n)
	for i := range b {
		b[i] = r.Float32()*2 - 1
	}
	return b
}

func randScales(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 0.0005 + 0.001*r.Float64()
	}
	return s
}

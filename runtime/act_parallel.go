package runtime

import "github.com/warboy-sim/warboy/kernels"

// A standalone float32 activation pass (actKernel: the GELU that torch.onnx
// writes as Erf arithmetic, not fused into a product) ran on the calling
// thread only. Unlike a copy it does real arithmetic per element (GELU's
// erf: about 0.3 ns a float on AVX-512), so at 2 threads it is split in
// blocks like the convolutions around it. Blocks are whole multiples of
// actBlock floats, a multiple of every vector width, so that each element
// takes the same path (vector kernel or the Go tail) as in one call over the
// whole tensor: the result is bit for bit the 1-thread one.
const (
	actBlock = 64
	// actParallelMin is the fewest elements per thread: below it the fork
	// and join (a few µs) would eat the saving.
	actParallelMin = 1 << 14
)

// actThreads is the number of threads for an activation pass over n floats.
func actThreads(threads, n int) int {
	if threads <= 1 {
		return 1
	}
	return min(threads, max(1, n/actParallelMin))
}

// actParallel writes y = a(x) (len(y) ≥ len(x)) over up to threads threads.
func actParallel(threads int, a kernels.Act, y, x []float32) {
	th := actThreads(threads, len(x))
	if th <= 1 {
		kernels.ActF32(a, y, x)
		return
	}
	blocks := (len(x) + actBlock - 1) / actBlock
	kernels.ParallelRange(blocks, 1, th, func(lo, hi int) {
		e0, e1 := lo*actBlock, min(len(x), hi*actBlock)
		kernels.ActF32(a, y[e0:e1], x[e0:e1])
	})
}

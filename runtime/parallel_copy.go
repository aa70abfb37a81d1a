package runtime

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// The data-movement operators (Transpose, Slice, Concat, Split, Tile) on the
// kernels' thread pool: a channel shuffle or the Concat of two branches moves
// a whole feature map, as much memory traffic as the 1x1 convolution next to
// it. Copies are memory-bound and their output is read next by a step split
// differently over the threads, so that the half written by the other core
// has to move back: on the 2-core test machine (thread CPU time per step,
// runtime/bench_scaling_test.go) splitting ShuffleNetV2's 22k-91k element
// shuffles made them slower (caller CPU 117-145% of the one-thread time).
// They are split only from copyParallelMin elements on.
const copyParallelMin = 1 << 18

// stridedCopyPar is stridedCopy split over threads along the outermost axis
// of the collapsed copy (a single contiguous run is split into ranges).
func stridedCopyPar(threads int, dst buffer, dstOff int, shape []int, src buffer, off int, strides []int) {
	n := graph.NumElements(shape)
	if threads <= 1 || n < copyParallelMin {
		stridedCopy(dst, dstOff, shape, src, off, strides)
		return
	}
	cs, cst := collapseStrided(shape, strides)
	if len(cs) == 0 {
		stridedCopy(dst, dstOff, shape, src, off, strides)
		return
	}
	st := cst[0]
	inner := n / cs[0]
	rest := cs[1:]
	grain := max(1, copyParallelMin/4/inner)
	kernels.ParallelRange(cs[0], grain, threads, func(lo, hi int) {
		sub := make([]int, 0, 4)
		sub = append(append(sub, hi-lo), rest...)
		stridedCopy(dst, dstOff+lo*inner, sub, src, off+lo*st[0], st)
	})
}

// concatCopy writes the concatenation of srcs along an axis: outer rows of
// rowOut output elements, of which input i contributes rows[i] consecutive
// ones. The output is split into element ranges, so that a Concat with one
// outer row (axis 1 of a batch-1 NCHW tensor) is split too.
func concatCopy(threads int, dst buffer, srcs []buffer, rows []int, outer, rowOut int) {
	total := outer * rowOut
	copyRange := func(lo, hi int) {
		for f := lo; f < hi; {
			o, r := f/rowOut, f%rowOut
			// Find the input that holds position r of the row.
			off := 0
			for i, row := range rows {
				if r < off+row {
					n := min(off+row-r, hi-f)
					dst.Copy(f, srcs[i], o*row+r-off, n)
					f += n
					break
				}
				off += row
			}
		}
	}
	if threads <= 1 || total < copyParallelMin {
		copyRange(0, total)
		return
	}
	kernels.ParallelRange(total, copyParallelMin/4, threads, copyRange)
}

// concatCopyF32 is concatCopy on float32 slices. The generic copy found the
// input of every piece by division and copied it through the buffer
// interface: YOLOv5's Detect concatenates pieces of 2, 2 and 81 floats along
// the last axis, 57,600 pieces for the 80x80 scale (2.3 ms of step CPU time
// at 1 thread, fifteenth session); here a range locates its first row once
// and walks the pieces in order.
func concatCopyF32(threads int, dst []float32, srcs [][]float32, rows []int, outer, rowOut int) {
	total := outer * rowOut
	if total == 0 {
		return
	}
	copyRange := func(lo, hi int) {
		o, r := lo/rowOut, lo%rowOut
		for f := lo; f < hi; o, r = o+1, 0 {
			off := 0
			for i, row := range rows {
				if r < off+row && f < hi {
					n := min(off+row-r, hi-f)
					copy(dst[f:f+n], srcs[i][o*row+r-off:])
					f += n
					r += n
				}
				off += row
			}
		}
	}
	if threads <= 1 || total < copyParallelMin {
		copyRange(0, total)
		return
	}
	kernels.ParallelRange(total, copyParallelMin/4, threads, copyRange)
}

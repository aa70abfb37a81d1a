package runtime

// The interpolating inner loop of Resize. A segmentation head upsamples its
// logits 8x at the end (LR-ASPP: [1, 21, 40, 40] -> [1, 21, 320, 320], 2.1 M
// outputs): with the taps' weights and row offsets looked up per element it was
// 20 ms on one thread, more than every convolution of the int8 network
// together. Here the taps of an output row are read once, the common 2-tap
// (linear) and 4-tap (cubic) rows run as straight-line sums over contiguous
// rows, and the rows are split over the threads. The arithmetic, and so every
// result bit, is the one of the per-element loop (float64 sums in tap order).

import (
	"github.com/warboy-sim/warboy/kernels"
)

// resampleAxis writes y[o, j, :] = sum_t w[j, t] * x[o, idx[j, t], :] for the
// outer index o and output position j of the resampled axis.
func resampleAxis[T floating](m *axisMap, x, y []T, outer, inner int, extrapolation float64, threads int) {
	rows := outer * m.out
	grain := max(1, parallelMinWork/(2*max(1, inner*m.taps)))
	parallelForGrain(threads, rows, grain, func(lo, hi int) {
		if inner == 1 && m.extra == nil && m.taps == 2 && m.w != nil {
			// The last axis of an NCHW tensor: one element per row.
			for r := lo; r < hi; {
				o, j := r/m.out, r%m.out
				src := x[o*m.in : (o+1)*m.in]
				for ; j < m.out && r < hi; j, r = j+1, r+1 {
					y[r] = T(0 + m.w[2*j]*float64(src[m.idx[2*j]]) + m.w[2*j+1]*float64(src[m.idx[2*j+1]]))
				}
			}
			return
		}
		for r := lo; r < hi; r++ {
			o, j := r/m.out, r%m.out
			src := x[o*m.in*inner : (o+1)*m.in*inner]
			dst := y[r*inner : (r+1)*inner]
			if m.extra != nil && m.extra[j] {
				for i := range dst {
					dst[i] = T(extrapolation)
				}
				continue
			}
			idx := m.idx[j*m.taps : (j+1)*m.taps]
			if m.w == nil {
				copy(dst, src[idx[0]*inner:(idx[0]+1)*inner])
				continue
			}
			w := m.w[j*m.taps : (j+1)*m.taps]
			row := func(t int) []T { return src[idx[t]*inner : idx[t]*inner+len(dst)] }
			switch m.taps {
			case 2:
				a, b, wa, wb := row(0), row(1), w[0], w[1]
				for i := range dst {
					dst[i] = T(0 + wa*float64(a[i]) + wb*float64(b[i]))
				}
			case 4:
				a, b, c, d := row(0), row(1), row(2), row(3)
				for i := range dst {
					dst[i] = T(0 + w[0]*float64(a[i]) + w[1]*float64(b[i]) + w[2]*float64(c[i]) + w[3]*float64(d[i]))
				}
			default:
				for i := range dst {
					var s float64
					for t := range w {
						s += w[t] * float64(src[idx[t]*inner+i])
					}
					dst[i] = T(s)
				}
			}
		}
	})
}

// parallelForGrain is parallelFor with the chunk size in units of n (rows of
// different lengths) rather than in elements.
func parallelForGrain(threads, n, grain int, f func(lo, hi int)) {
	if threads <= 1 || n < 2*grain {
		f(0, n)
		return
	}
	kernels.ParallelRange(n, grain, threads, f)
}

// widenInt8 and narrowInt8 are the int8 Resize's conversions (op_int8_resize.go),
// split over the threads: at the output size of an upsampling head they cost as
// much as the interpolation.
func widenInt8(codes []int8, threads int) []float32 {
	wide := make([]float32, len(codes))
	parallelFor(threads, len(codes), func(lo, hi int) {
		for i, c := range codes[lo:hi] {
			wide[lo+i] = float32(c)
		}
	})
	return wide
}

// narrowInt8 saturates and rounds half to even, like QuantizeLinear (NaN gives
// 0). math.Max and math.Min, with their NaN and signed-zero cases, cost more
// than the interpolation; on the clamped range, adding and subtracting 1.5·2^23
// in float32 rounds to the nearest integer, ties to even, exactly.
func narrowInt8(y []float32, threads int) []int8 {
	const magic = 1.5 * (1 << 23)
	q := make([]int8, len(y))
	parallelFor(threads, len(y), func(lo, hi int) {
		for i, v := range y[lo:hi] {
			switch {
			case v != v:
				v = 0
			case v < -128:
				v = -128
			case v > 127:
				v = 127
			}
			r := v + magic
			q[lo+i] = int8(r - magic)
		}
	})
	return q
}

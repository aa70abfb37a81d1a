package runtime

import "github.com/warboy-sim/warboy/kernels"

// A 2-D float32 AveragePool over NCHW planes on row sums. The generic
// avgPoolPlane walks every window tap by tap with an odometer over the axes
// and accumulates in float64 (0.44 ms of paddle_op10's 1.03 ms at 1 thread,
// one 32×32×32 pool with pads, ceil_mode and count_include_pad=0). Here, for
// each output row, the window's input rows are added into one row framed by
// zeros (the padding), the kernel taps are summed along it, and each sum is
// divided by its window's count. The count is separable, rows × columns (taps
// inside the input, or inside the padded input with count_include_pad), so it
// is computed once per shape; only border positions differ from kh·kw. The
// sums are float32, as ONNX Runtime's.

// avgPoolCounts is the divisor of every output position of a 2-D pool:
// rows[i]·cols[j].
type avgPoolCounts struct{ rows, cols []int }

// newAvgPoolCounts counts, per axis and output position, the taps the ONNX
// definition divides by.
func newAvgPoolCounts(p *poolPlan, includePad bool) avgPoolCounts {
	var c [2][]int
	for a := range c {
		c[a] = make([]int, p.out[a])
		for o := range c[a] {
			if includePad {
				c[a][o] = p.paddedTaps[a][o]
			} else {
				c[a][o] = max(0, p.tapHi[a][o]-p.tapLo[a][o])
			}
		}
	}
	return avgPoolCounts{rows: c[0], cols: c[1]}
}

// avgPool2DF32 average-pools one [H, W] plane x into y.
func avgPool2DF32(p *poolPlan, cnt avgPoolCounts, x, y []float32) {
	oh, ow := p.out[0], p.out[1]
	w := p.in[1]
	dh, dw, kw := p.d[0], p.d[1], p.k[1]
	ws := p.start[1][:ow]
	left := max(0, -ws[0])
	right := max(0, ws[ow-1]+(kw-1)*dw+1-w)
	row := make([]float32, left+w+right) // zeros in the borders stay zeros
	mid := row[left : left+w]
	for i := 0; i < oh; i++ {
		hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
		yr := y[i*ow : (i+1)*ow]
		if hl >= hh || cnt.rows[i] == 0 {
			clear(yr)
			continue
		}
		copy(mid, x[(hs+hl*dh)*w:(hs+hl*dh+1)*w])
		for a := hl + 1; a < hh; a++ {
			// the row adds in SIMD (eighteenth session: adaptive_odd's 12×12
			// pool on 60×84 spent 0.05 ms here adding one float at a time)
			kernels.AddF32(mid, x[(hs+a*dh)*w:(hs+a*dh+1)*w])
		}
		rc := cnt.rows[i]
		for j := range yr {
			base := ws[j] + left
			var s float32
			for b := 0; b < kw; b++ {
				s += row[base+b*dw]
			}
			if d := rc * cnt.cols[j]; d > 0 {
				yr[j] = s / float32(d)
			} else {
				yr[j] = 0
			}
		}
	}
}

package quantizer

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime"
)

// Channels-last tensors. The float executor holds most activations of a
// convolutional network channels-last (runtime.WithTapChannelsLast) and hands
// them over as pixel rows: Stride floats per pixel, the first C of them the
// channels. The statistics must be those of the tensor in the graph's [N, C,
// H, W] order, bit for bit. Count, zeros, min, max and the bins do not depend on
// the order of the values; the runs of equal values (reps, which ENTROPY treats
// as point masses) do: in NCHW order a value's neighbours are the pixels before
// and after it in its channel, and at the ends of a channel plane the last pixel
// of the previous channel or the first of the next (and of the next image).
// addRows counts the values and, in the same pass, the runs between pixels of a
// channel (addRowsFused); the runs across the ends of a piece and of the channel
// planes are counted once an image is complete (rowRuns.runs).

// rowRuns is the run state of a channels-last tensor streamed in rows: per
// channel of the current image, the first and the last value seen so far and
// whether each is counted in a run already. Non-finite values that are dropped
// (addRowsDropping) leave their neighbours adjacent, as dropping them from the
// NCHW tensor does, so "the pixel before" is the last value kept.
type rowRuns struct {
	l    runtime.ChannelsLast
	next int // the pixel expected next
	// seen counts the values kept in each channel of the current image (0, 1, or
	// 2 for two or more); first, last and firstIn, lastIn are the first and last
	// of them and whether each is counted (the same value when seen is 1).
	seen            []uint8
	first, last     []float32
	firstIn, lastIn []bool
	// end is the last value kept of the previous images and endIn whether it is
	// counted; hasEnd says there is one.
	end    float32
	endIn  bool
	hasEnd bool
}

func newRowRuns(l runtime.ChannelsLast) *rowRuns {
	return &rowRuns{l: l, seen: make([]uint8, l.C), first: make([]float32, l.C), last: make([]float32, l.C),
		firstIn: make([]bool, l.C), lastIn: make([]bool, l.C)}
}

// addRows adds pixels [first, first+len(d)/l.Stride) of a channels-last tensor
// of layout l; a tensor's pixels come in order, first 0 starting it. The
// result is that of add (addPiece) on the tensor in NCHW order, infinities
// dropped, and NaNs too when dropNaN is set (observe's rules); a NaN that is
// not dropped is an errNonFinite naming its NCHW element, before anything
// changed.
func (h *histogram) addRows(d []float32, first int, l runtime.ChannelsLast, threads int, dropNaN bool) error {
	if l.C <= 0 || l.Stride < l.C || len(d)%l.Stride != 0 || first < 0 || first+len(d)/l.Stride > l.Pixels() {
		return fmt.Errorf("channels-last rows: %d floats at pixel %d of layout %+v", len(d), first, l)
	}
	if len(d) == 0 {
		return nil
	}
	if l.H*l.W == 1 {
		// One pixel per image: NCHW order is the rows' order.
		flat := compactRows(d, l, nil)
		err := h.addPiece(flat, first*l.C, threads)
		if nf, ok := err.(errNonFinite); ok && (dropNaN || math.IsInf(float64(nf.value), 0)) {
			kept := dropInfinities(flat)
			if dropNaN {
				kept = dropNonFinite(flat)
			}
			err = h.addPiece(kept, first*l.C, threads)
		}
		return err
	}
	if first == 0 {
		h.rows = newRowRuns(l)
	} else if h.rows == nil || h.rows.l != l || h.rows.next != first {
		return fmt.Errorf("channels-last rows: pixel %d of layout %+v out of order", first, l)
	}
	finite, err := h.addRowValues(d, first, l, threads)
	if err != nil {
		return err
	}
	if !finite {
		return h.addRowsDropping(d, first, l, dropNaN)
	}
	h.rows.runs(h, d, first, len(d)/l.Stride)
	return nil
}

// compactRows copies the C channels of each row of d into buf (grown as needed).
func compactRows(d []float32, l runtime.ChannelsLast, buf []float32) []float32 {
	rows := len(d) / l.Stride
	if l.Stride == l.C {
		return d
	}
	buf = append(buf[:0], make([]float32, rows*l.C)...)
	for r := 0; r < rows; r++ {
		copy(buf[r*l.C:(r+1)*l.C], d[r*l.Stride:r*l.Stride+l.C])
	}
	return buf
}

// addRowValues counts the values of the rows, and the runs between pixels of a
// channel that are both in d (rowRuns.runs counts the others): in one pass on
// the current grid when it covers them, else after growing it to their min and
// max (as addPar). It reports false, having changed nothing, when a value is
// not finite.
func (h *histogram) addRowValues(d []float32, first int, l runtime.ChannelsLast, threads int) (bool, error) {
	if h.width != 0 && h.addRowsFused(d, first, l, threads) {
		return true, nil
	}
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	for r := 0; r < len(d)/l.Stride; r++ {
		if l.Stride == l.C {
			mn, mx = kernels.MinMaxF32(d)
			break
		}
		a, b := kernels.MinMaxF32(d[r*l.Stride : r*l.Stride+l.C])
		mn, mx = min(mn, a), max(mx, b)
	}
	bmin, bmax := float64(mn), float64(mx)
	if math.IsNaN(bmin) || math.IsInf(bmin, 0) || math.IsInf(bmax, 0) {
		return false, nil
	}
	n := int64(len(d) / l.Stride * l.C)
	if bmin == 0 && bmax == 0 {
		h.count += n
		h.zeros += n
		h.min, h.max = math.Min(h.min, 0), math.Max(h.max, 0)
		return true, nil
	}
	if bmin == 0 {
		bmin = 0 // a -0 extreme reads as 0 (scanValues)
	}
	if bmax == 0 {
		bmax = 0
	}
	if h.width == 0 {
		h.initGrid(bmin, bmax)
	} else {
		h.cover(bmin, bmax)
	}
	if !h.addRowsFused(d, first, l, threads) {
		return false, fmt.Errorf("channels-last rows: values outside the grid just grown to [%v, %v]", bmin, bmax)
	}
	return true, nil
}

// addRowsDropping is addRows for rows holding a non-finite value, one value
// at a time (they are rare: attention masks, a Log of zero): the kept values
// are counted like addTwoPass counts them, and each extends the run state of
// its channel (rowRuns.add) in NCHW order, the dropped ones skipped.
func (h *histogram) addRowsDropping(d []float32, first int, l runtime.ChannelsLast, dropNaN bool) error {
	rows, plane := len(d)/l.Stride, l.H*l.W
	kept := make([]float32, 0, rows*l.C)
	for j := 0; j < rows; j++ {
		for k, v := range d[j*l.Stride : j*l.Stride+l.C] {
			switch {
			case v != v && !dropNaN:
				g := first + j
				return errNonFinite{v, (g/plane*l.C+k)*plane + g%plane}
			case v == v && !math.IsInf(float64(v), 0):
				kept = append(kept, v)
			}
		}
	}
	h.addValues(kept)
	r := h.rows
	for j := 0; j < rows; j++ {
		for k, v := range d[j*l.Stride : j*l.Stride+l.C] {
			if v == v && !math.IsInf(float64(v), 0) {
				r.add(h, k, v)
			}
		}
		if (first+j)%plane == plane-1 {
			r.imageEnd(h)
		}
	}
	r.next = first + rows
	return nil
}

// addValues counts finite values as addTwoPass does, without runs.
func (h *histogram) addValues(d []float32) {
	if len(d) == 0 {
		return
	}
	sc := scanValues(d, 0, len(d))
	n := int64(len(d))
	h.count += n
	h.zeros += sc.zeros
	if sc.zeros == n {
		h.min, h.max = math.Min(h.min, 0), math.Max(h.max, 0)
		return
	}
	bmin, bmax := sc.min, sc.max
	if sc.zeros > 0 {
		bmin, bmax = math.Min(bmin, 0), math.Max(bmax, 0)
	}
	h.min, h.max = math.Min(h.min, bmin), math.Max(h.max, bmax)
	if h.width == 0 {
		h.initGrid(bmin, bmax)
	}
	h.cover(bmin, bmax)
	for _, v := range d {
		if v != 0 {
			h.bins[h.index(float64(v))-h.lo]++
		}
	}
}

// addRowsFused is addFused for rows: it counts values, zeros, min and max on the
// current grid and the runs inside d, or reports false having changed nothing.
func (h *histogram) addRowsFused(d []float32, first int, l runtime.ChannelsLast, threads int) bool {
	rows := len(d) / l.Stride
	nch := max(1, min(threads, rows*l.C/histChunk))
	none := make([]float32, l.C)
	for k := range none {
		none[k] = math.Float32frombits(noValue)
	}
	return h.addScanned(int64(rows*l.C), nch, func(c int, g *kernels.BinGrid) (valueScan, bool) {
		return scanBinRows(d, c*rows/nch, (c+1)*rows/nch, first, l, none, g)
	})
}

// scanBinRows is scanBin over rows [s, e) of d (pixels first+s ...): a value is
// in a run when it equals the same channel of the pixel before or after it in
// d and in its image (none stands for a pixel that is not).
func scanBinRows(d []float32, s, e, first int, l runtime.ChannelsLast, none []float32, g *kernels.BinGrid) (out valueScan, outOfGrid bool) {
	rows, plane, st, c := len(d)/l.Stride, l.H*l.W, l.Stride, l.C
	var acc kernels.BinAcc
	acc.Reset()
	for j := s; j < e; j++ {
		p := (first + j) % plane
		row := d[j*st : j*st+c]
		prev, next := none, none
		if p >= 1 && j >= 1 {
			prev = d[(j-1)*st : (j-1)*st+c]
		}
		if p < plane-1 && j+1 < rows {
			next = d[(j+1)*st : (j+1)*st+c]
		}
		if !kernels.BinF32(row, prev, next, g, &acc) {
			return out, true
		}
	}
	return scanOf(&acc, (e-s)*c), false
}

// eqRun reports whether a and b are equal and not zero (bits: -0 and +0 are
// zeros, and every value here is finite).
func eqRun(a, b float32) bool {
	x, y := math.Float32bits(a), math.Float32bits(b)
	return x == y && x<<1 != 0
}

// mark counts v as a value in a run.
func (h *histogram) mark(v float32) { h.reps[h.index(float64(v))-h.lo]++ }

// markLast counts channel k's last value as in a run, unless it is already.
func (r *rowRuns) markLast(h *histogram, k int) {
	if r.lastIn[k] {
		return
	}
	h.mark(r.last[k])
	r.lastIn[k] = true
	if r.seen[k] == 1 {
		r.firstIn[k] = true // the same value
	}
}

// add extends channel k of the current image by the value v (addRowsDropping).
func (r *rowRuns) add(h *histogram, k int, v float32) {
	in := false
	if r.seen[k] > 0 && eqRun(r.last[k], v) {
		r.markLast(h, k)
		h.mark(v)
		in = true
	}
	if r.seen[k] == 0 {
		r.first[k], r.firstIn[k] = v, in
	}
	r.last[k], r.lastIn[k] = v, in
	r.seen[k] = min(2, r.seen[k]+1)
}

// runs counts the runs of pixels [first, first+rows) of d, all finite, that
// addRowsFused could not see: between the last value kept of a channel before
// d and its first in d (in the same image), and across the ends of the
// channel planes of each image d completes. A value already in a run through
// another neighbour is not counted again.
func (r *rowRuns) runs(h *histogram, d []float32, first, rows int) {
	l := r.l
	c, st, plane := l.C, l.Stride, l.H*l.W
	px := func(j int) []float32 { return d[j*st : j*st+c] }
	for j0 := 0; j0 < rows; {
		p0 := (first + j0) % plane
		j1 := min(rows, j0+plane-p0) // the pixels of d in this image
		n := j1 - j0
		a := px(j0)
		var b, y, z []float32 // the second pixel, the last two
		if n >= 2 {
			b, y, z = px(j0+1), px(j1-2), px(j1-1)
		}
		for k := 0; k < c; k++ {
			v := a[k]
			// whether addRowsFused counted v (through the pixel after it)
			in := n >= 2 && eqRun(v, b[k])
			if r.seen[k] > 0 {
				if eqRun(r.last[k], v) {
					r.markLast(h, k)
					if !in {
						h.mark(v)
						in = true
					}
				}
			} else {
				r.first[k], r.firstIn[k] = v, in
			}
			if n >= 2 {
				r.last[k], r.lastIn[k] = z[k], eqRun(z[k], y[k])
			} else {
				r.last[k], r.lastIn[k] = v, in
			}
			r.seen[k] = uint8(min(2, int(r.seen[k])+n))
		}
		if p0+n == plane {
			r.imageEnd(h)
		}
		j0 = j1
	}
	r.next = first + rows
}

// imageEnd counts the runs across the ends of the image's channel planes (the
// last value kept of a channel, then the first of the next channel with one)
// and from the previous images' last value to this one's first, and starts
// the next image.
func (r *rowRuns) imageEnd(h *histogram) {
	prev, prevIn, has := r.end, r.endIn, r.hasEnd
	for k := range r.seen {
		if r.seen[k] == 0 {
			continue
		}
		if has && eqRun(prev, r.first[k]) {
			if !prevIn {
				h.mark(prev)
			}
			if !r.firstIn[k] {
				h.mark(r.first[k])
				r.firstIn[k] = true
				if r.seen[k] == 1 {
					r.lastIn[k] = true // the same value
				}
			}
		}
		prev, prevIn, has = r.last[k], r.lastIn[k], true
	}
	r.end, r.endIn, r.hasEnd = prev, prevIn, has
	clear(r.seen)
}

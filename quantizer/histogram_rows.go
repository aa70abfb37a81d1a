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

// rowRuns is the run state of a channels-last tensor streamed in rows.
type rowRuns struct {
	l    runtime.ChannelsLast
	next int // the pixel expected next
	// last2, last are the two pixels before next (the C channels), when in the
	// current image; row0, row1 the current image's first two.
	last2, last, row0, row1 []float32
	// end is the last value of the previous image (channel C-1, last pixel) and
	// endMarked whether it is in a run through the pixel before it; hasEnd
	// says there is one.
	end       float32
	endMarked bool
	hasEnd    bool
}

// addRows adds pixels [first, first+len(d)/l.Stride) of a channels-last tensor
// of layout l; a tensor's pixels come in order, first 0 starting it. The
// result is that of add (addPiece) on the tensor in NCHW order. On a
// non-finite value it returns errNonFinite having changed nothing if first is
// 0 (the caller may then convert the tensor and drop the value as observe
// does).
func (h *histogram) addRows(d []float32, first int, l runtime.ChannelsLast, threads int) error {
	if l.C <= 0 || l.Stride < l.C || len(d)%l.Stride != 0 || first < 0 || first+len(d)/l.Stride > l.Pixels() {
		return fmt.Errorf("channels-last rows: %d floats at pixel %d of layout %+v", len(d), first, l)
	}
	if len(d) == 0 {
		return nil
	}
	if l.H*l.W == 1 {
		// One pixel per image: NCHW order is the rows' order.
		return h.addPiece(compactRows(d, l, nil), first*l.C, threads)
	}
	if first == 0 {
		h.rows = &rowRuns{l: l}
	} else if h.rows == nil || h.rows.l != l || h.rows.next != first {
		return fmt.Errorf("channels-last rows: pixel %d of layout %+v out of order", first, l)
	}
	if err := h.addRowValues(d, first, l, threads); err != nil {
		return err
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
// max (as addPar).
func (h *histogram) addRowValues(d []float32, first int, l runtime.ChannelsLast, threads int) error {
	if h.width != 0 && h.addRowsFused(d, first, l, threads) {
		return nil
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
		for r := 0; r < len(d)/l.Stride; r++ {
			for k, v := range d[r*l.Stride : r*l.Stride+l.C] {
				if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
					return errNonFinite{v, r*l.Stride + k}
				}
			}
		}
	}
	n := int64(len(d) / l.Stride * l.C)
	if bmin == 0 && bmax == 0 {
		h.count += n
		h.zeros += n
		h.min, h.max = math.Min(h.min, 0), math.Max(h.max, 0)
		return nil
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
		return fmt.Errorf("channels-last rows: values outside the grid just grown to [%v, %v]", bmin, bmax)
	}
	return nil
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

// runs counts the runs of pixels [first, first+rows) of d that addRowsFused
// could not see: between the pixel before d and d's first (in the same image),
// and across the ends of the channel planes of each image d completes. A value
// already in a run through another neighbour is not counted again.
func (r *rowRuns) runs(h *histogram, d []float32, first, rows int) {
	l := r.l
	c, st, plane := l.C, l.Stride, l.H*l.W
	// pixel returns the channels of pixel g, in d or saved.
	pixel := func(g int) []float32 {
		if g >= first {
			return d[(g-first)*st : (g-first)*st+c]
		}
		if g == r.next-1 {
			return r.last
		}
		return r.last2
	}
	if p := first % plane; p >= 1 {
		a, b := r.last, pixel(first)
		for k := range b {
			if !eqRun(a[k], b[k]) {
				continue
			}
			if p == 1 || !eqRun(a[k], r.last2[k]) {
				h.mark(a[k])
			}
			if rows < 2 || p == plane-1 || !eqRun(b[k], pixel(first + 1)[k]) {
				h.mark(b[k])
			}
		}
	}
	for j := 0; j < rows; j++ {
		g := first + j
		switch p := g % plane; p {
		case 0:
			r.row0 = append(r.row0[:0], pixel(g)...)
		case 1:
			r.row1 = append(r.row1[:0], pixel(g)...)
		}
		if g%plane == plane-1 {
			r.imageEnd(h, pixel(g), pixel(g-1))
		}
	}
	// Keep the last two pixels for the next piece.
	g := first + rows
	if rows >= 2 {
		r.last2 = append(r.last2[:0], pixel(g-2)...)
	} else {
		r.last2 = append(r.last2[:0], r.last...)
	}
	r.last = append(r.last[:0], pixel(g-1)...)
	r.next = g
}

// imageEnd counts the runs across the ends of the image's channel planes
// (the last pixel of channel k, then the first of channel k+1) and from the
// previous image's last value to this one's first; last and before are the
// image's last two pixels.
func (r *rowRuns) imageEnd(h *histogram, last, before []float32) {
	c := r.l.C
	// Whether the first pixel's value is in a run through the second pixel,
	// the last's through the one before it (both counted already).
	first0 := func(k int) bool { return eqRun(r.row0[k], r.row1[k]) }
	lastIn := func(k int) bool { return eqRun(last[k], before[k]) }
	if r.hasEnd && eqRun(r.end, r.row0[0]) {
		if !r.endMarked {
			h.mark(r.end)
		}
		if !first0(0) {
			h.mark(r.row0[0])
		}
	}
	for k := 0; k+1 < c; k++ {
		if !eqRun(last[k], r.row0[k+1]) {
			continue
		}
		if !lastIn(k) {
			h.mark(last[k])
		}
		if !first0(k + 1) {
			h.mark(r.row0[k+1])
		}
	}
	r.end, r.endMarked, r.hasEnd = last[c-1], lastIn(c-1), true
}

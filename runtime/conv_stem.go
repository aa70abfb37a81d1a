package runtime

// The stems: convolutions of a few input channels (RGB) from an NCHW input,
// 3x3 or 7x7 at stride 2, into a channels-last chain. They were twice ONNX
// Runtime's time on every mobile network of the benchmark set (MobileNetV3's
// 3 → 16 3x3 stem: 245 against 136 µs; SqueezeNet's 3 → 64: 543 against
// 286), from three costs: the input laid out channels-last, zero-padded and
// split into stride phases before the GEMM (a scalar pass over 600 KB for a
// 224x224 image); a 6x16 tile per 16 output channels, whose six accumulators
// leave the FMA units waiting on their latency when the reduction is only 27
// steps; and for 64 channels the GEMM over padded rows with a banded copy.
//
// Here the interior output pixels read the NCHW input in place (the indexed
// tiles take any offset per reduction step: channel ci of tap (ki, kj) is
// ci·H·W + ki·W + kj from the pixel's corner), only the border pixels read
// zero-padded copies of their taps, and the weights keep the panels PackRowsB
// gives them (32, 48 or 64 columns on AVX-512: 12 to 24 accumulators per
// tile).

import (
	"github.com/warboy-sim/warboy/kernels"
)

// stemMaxC is the largest input channel count taken as a stem.
const stemMaxC = 4

// isStem reports whether the convolution runs as a stem: an NCHW input of at
// most stemMaxC channels, a kernel larger than 1x1, a reduction the indexed
// tiles take whole.
func (k *rowsConvKernel) isStem() bool {
	return !k.inNHWC && k.c <= stemMaxC && k.kh*k.kw > 1 && k.c*k.kh*k.kw <= narrowIdxMaxK
}

// stemPlan builds the direct plan of an NCHW input (see idxPlan): interior
// rows read x in place, border rows their patches of taps·c floats (tap
// after tap, c channels each). It returns false where the input does not fit
// 32-bit offsets or has no interior pixel.
func (k *idxConv) stemPlan(pl *groupedIdxPlan, p *convPlan, h, wd int, inside func(y, x int) bool) bool {
	oh, ow := p.out[0], p.out[1]
	plane := h * wd
	if k.c*plane > 1<<31-1 || len(k.blocks) != 1 {
		return false
	}
	// The 16- and 32-channel stems of stride 1 or 2 run the runs of twelve
	// interior pixels of each output row on the 12-row tiles
	// (kernels.SgemmStem): the 16-channel ones of stride 2 since the
	// twelfth session, the others since the fifteenth (YOLOv3-tiny's 3 → 16
	// 3x3/1, YOLOv5's 3 → 32 6x6/2, YOLOv4-tiny's 3 → 32 3x3/2).
	pb := k.blocks[0].pb
	runs12 := k.stem16 && pb.N() == pb.NR() && kernels.StemFast(pb.NR(), p.s[1])
	pl.runStride = p.s[1]
	var in idxRows
	for y := 0; y < oh; y++ {
		x12 := -1 // first pixel not in a run of this row
		for x := 0; x < ow; x++ {
			if !inside(y, x) {
				pl.border = append(pl.border, int32(y*ow+x))
				continue
			}
			a := (y*p.s[0]-p.pb[0])*wd + x*p.s[1] - p.pb[1]
			if runs12 && x12 < 0 {
				xb := x
				for xb < ow && inside(y, xb) {
					xb++
				}
				if nt := (xb - x) / stemRunTile; nt > 0 {
					pl.runs = append(pl.runs, stemRun{a0: a, c0: (y*ow + x) * pl.so, ntiles: nt})
				}
				x12 = x + (xb-x)/stemRunTile*stemRunTile
			}
			if runs12 && x < x12 {
				continue
			}
			in.aoff = append(in.aoff, int32(a))
			in.coff = append(in.coff, int32((y*ow+x)*pl.so))
		}
	}
	if len(in.aoff) == 0 && len(pl.runs) == 0 {
		pl.border = nil
		return false
	}
	taps := k.kh * k.kw
	offs := func(tap func(t int) int, chStride int) map[int][]int32 {
		o := make([]int32, taps*k.c)
		for t := 0; t < taps; t++ {
			for ci := 0; ci < k.c; ci++ {
				o[t*k.c+ci] = int32(tap(t) + ci*chStride)
			}
		}
		return map[int][]int32{k.c: o}
	}
	pl.direct, pl.nchw = true, true
	pl.patchLen = taps * k.c
	in.offs = offs(func(t int) int { return (t/k.kw)*p.d[0]*wd + (t%k.kw)*p.d[1] }, plane)
	pl.sets = append(pl.sets, in)
	if len(pl.border) > 0 {
		bd := idxRows{aoff: make([]int32, len(pl.border)), coff: make([]int32, len(pl.border))}
		for j, q := range pl.border {
			bd.aoff[j] = int32(j * pl.patchLen)
			bd.coff[j] = q * int32(pl.so)
		}
		// A patch is channel-major, as the NCHW input it is copied from:
		// channel ci's tap t at ci·taps + t (stemPatches).
		bd.offs = offs(func(t int) int { return t }, taps)
		pl.sets = append(pl.sets, bd)
	}
	return true
}

// stemRunTile is the output pixels of one kernels.SgemmStem tile.
const stemRunTile = 12

// stemRun is ntiles tiles of consecutive interior pixels of one output row:
// the first reads the NCHW input from a0, writes the output at c0.
type stemRun struct {
	a0, c0, ntiles int
}

// stemRuns computes the plan's runs of one image x into y (channels-last,
// pixel stride pl.so), the runs split over threads.
func (k *idxConv) stemRuns(pl *groupedIdxPlan, x, y []float32, threads int) {
	blk := &k.blocks[0]
	off := pl.sets[0].offs[k.c]
	run := func(r stemRun) {
		kernels.SgemmStem(blk.pb, x, r.a0, pl.runStride, off, blk.bias, y, r.c0, pl.so, r.ntiles, k.ep.clip, k.ep.lo, k.ep.hi, k.ep.post)
	}
	if threads <= 1 {
		for _, r := range pl.runs {
			run(r)
		}
		return
	}
	// The runs (rows of the output) in contiguous shares, the first to the
	// caller: a thread's rows are its rows of the next layers.
	kernels.ParallelChunks(len(pl.runs), 1, threads, func(next func() (int, int, bool)) {
		for i, _, ok := next(); ok; i, _, ok = next() {
			run(pl.runs[i])
		}
	})
}

// stemPatches is patches for an NCHW input: for each border pixel, the
// input under each tap (zeros outside the input) in the input's order,
// channel after channel, each channel's kh rows of kw taps (channel ci's tap
// t at ci·taps + t: the border set's step offsets, stemPlan). A row of taps
// is then a run of the input row it reads, copied at once (stride 1
// between taps) with its out-of-range ends zeroed: one float per channel
// and tap, read from three planes 200 KB apart, was a tenth of ResNet-50's
// 7x7 stem (663 border pixels of 147 floats; twentieth session).
func (k *idxConv) stemPatches(pl *groupedIdxPlan, p *convPlan, x, buf []float32, j0, j1 int) {
	ow, plane, taps := p.out[1], pl.h*pl.wd, k.kh*k.kw
	dx := p.d[1]
	for j := j0; j < j1; j++ {
		q := pl.border[j]
		y, xo := int(q)/ow, int(q)%ow
		dst := buf[j*pl.patchLen : (j+1)*pl.patchLen]
		ix0 := xo*p.s[1] - p.pb[1]
		lo, hi := rowTaps(ix0, dx, k.kw, pl.wd)
		for ki := 0; ki < k.kh; ki++ {
			iy := y*p.s[0] - p.pb[0] + ki*p.d[0]
			for ci := 0; ci < k.c; ci++ {
				d := dst[ci*taps+ki*k.kw : ci*taps+(ki+1)*k.kw]
				if iy < 0 || iy >= pl.h || lo >= hi {
					clear(d)
					continue
				}
				clear(d[:lo])
				clear(d[hi:])
				row := x[ci*plane+iy*pl.wd : (ci*plane)+(iy+1)*pl.wd]
				if dx == 1 {
					copy(d[lo:hi], row[ix0+lo:ix0+hi])
					continue
				}
				for kj := lo; kj < hi; kj++ {
					d[kj] = row[ix0+kj*dx]
				}
			}
		}
	}
}

// rowTaps returns the taps [lo, hi) of a row of kw taps d apart, the first
// at input column x0, that fall inside an input row of width wd (lo >= hi:
// none).
func rowTaps(x0, d, kw, wd int) (lo, hi int) {
	if x0 < 0 {
		lo = (-x0 + d - 1) / d
	}
	hi = kw
	if last := x0 + (kw-1)*d; last >= wd {
		hi = kw - ((last-wd)/d + 1)
	}
	return min(lo, kw), max(hi, 0)
}

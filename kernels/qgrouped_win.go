package kernels

import (
	"sync"
	"unsafe"
)

// Grouped int8 convolutions with few input channels per group and any output
// width per group (eighteenth session): groups of 5, 6 or 10 inputs and 7, 9
// or 10 outputs, where the GEMM path runs one GEMM per group (an im2col of
// 5-byte runs, a 16-column panel for 7 outputs, one parallel dispatch per
// group: ~7 GMAC/s) and the grouped kernel of qgrouped.go does not apply (it
// needs as many outputs as inputs per group, 4, 8 or 16 of them).
//
// The input row is laid out with each group's channels padded to a multiple
// of 4 (of 2 for the int16 AVX2 form). The 16 lanes of a vector are 16
// consecutive output channels, which may belong to several groups; for each
// tap the kernel loads the 64 bytes (16 dwords) of the block's window — the
// laid-out input from the first channel of its first group — and VPERMD gives
// each lane the dwords of its own group. So every lane computes one output
// channel and multiplies only its group's inputs (and the few padding
// channels, with zero weights). A block fits when its groups' padded inputs
// span at most 16 dwords (8 on AVX2).

// winWeights are the packed weights of such a convolution.
type winWeights struct {
	cg, ocg, groups int
	oc, taps        int
	inZP            int32

	// The u8 form (AVX-512 VNNI and pure Go): 16-lane blocks.
	nq, lp, cp int // input quads per group, channels per laid-out pixel, int32 per pixel of the output row
	// Block b computes output channels ob[b]... (at most 16, ob[b+1]-ob[b]
	// of them) and stores 16 lanes at ob[b]: the lanes past its channels
	// (zero weights) are overwritten by the next block, so the blocks of a
	// row run in order. win[b] is its first laid-out channel; idx is
	// [blocks][nq][16] (lane j of quad q: the window dword of j's group's
	// quad q).
	ob, win []int
	idx     []int32
	// w is [blocks][taps][nq][16 lanes][4 bytes].
	w []int8
	// bias is [blocks][16]: bias[o] − (inZP+128)·Σw[o] (the input is read as u8).
	bias []int32

	// The int16 form (AVX2): 8-lane blocks (the same scheme, 8 dwords of two
	// channels); w16 is nil above 8 input channels per group (then the AVX2
	// path keeps the GEMM).
	nh, lp16, cp8 int
	ob16, win16   []int
	idx16         []int32 // [blocks][nh][8]
	w16           []int16 // [blocks][taps][nh][8 lanes][2]
	bias16        []int32 // [blocks][8]: bias[o] − inZP·Σw[o]
}

// winFits reports whether a (normalised) grouped shape takes the window
// kernel: at most 24 input channels per group (six quads), at most 16
// outputs per group (wider groups fill the GEMM's 16-column panels), not
// depthwise, not a shape of the grouped kernel.
func winFits(s ConvShape) bool {
	if s.Groups <= 1 || s.depthwise() || groupedFits(s) {
		return false
	}
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	return cg <= 24 && ocg <= 16
}

// winBlocks cuts the oc output channels into blocks of at most lanes
// consecutive channels whose groups' steps (steps per group, one dword
// each) fit in a window of lanes dwords, and returns each block's first
// channel.
func winBlocks(oc, ocg, steps, lanes int) []int {
	var ob []int
	for o0 := 0; o0 < oc; {
		ob = append(ob, o0)
		o1 := o0 + 1
		for o1 < oc && o1-o0 < lanes && (o1/ocg-o0/ocg+1)*steps <= lanes {
			o1++
		}
		o0 = o1
	}
	return ob
}

// winPack returns one form's blocks (winBlocks), windows and VPERMD indices:
// lanes output channels a block, steps dwords of per input channels each
// per group.
func winPack(s ConvShape, ocg, steps, per, lanes int) (ob, win []int, idx []int32) {
	ob = winBlocks(s.OC, ocg, steps, lanes)
	win = make([]int, len(ob))
	idx = make([]int32, len(ob)*steps*lanes)
	for b, o0 := range ob {
		g0 := o0 / ocg
		win[b] = g0 * per * steps
		for j := 0; j < lanes && o0+j < s.OC && (b+1 == len(ob) || o0+j < ob[b+1]); j++ {
			for q := 0; q < steps; q++ {
				idx[(b*steps+q)*lanes+j] = int32(((o0+j)/ocg-g0)*steps + q)
			}
		}
	}
	return ob, win, idx
}

func packWin(s ConvShape, w []int8, bias []int32, inZP int32) *winWeights {
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	taps := s.KH * s.KW
	g := &winWeights{cg: cg, ocg: ocg, groups: s.Groups, oc: s.OC, taps: taps, inZP: inZP}
	sums := make([]int32, s.OC)
	for o := 0; o < s.OC; o++ {
		for i := 0; i < cg*taps; i++ {
			sums[o] += int32(w[o*cg*taps+i])
		}
	}
	biasOf := func(o int, zp int32) int32 {
		v := -zp * sums[o]
		if bias != nil {
			v += bias[o]
		}
		return v
	}
	// lanes of block b: channels ob[b] + j below the next block's first
	lanesOf := func(ob []int, b, lanes int) int {
		end := s.OC
		if b+1 < len(ob) {
			end = ob[b+1]
		}
		return min(lanes, end-ob[b])
	}
	g.nq = (cg + 3) / 4
	g.lp = s.Groups * 4 * g.nq
	g.ob, g.win, g.idx = winPack(s, ocg, g.nq, 4, 16)
	nblk := len(g.ob)
	g.cp = g.ob[nblk-1] + 16
	g.w = make([]int8, nblk*taps*g.nq*64)
	g.bias = make([]int32, nblk*16)
	for b, o0 := range g.ob {
		for j := 0; j < lanesOf(g.ob, b, 16); j++ {
			o := o0 + j
			g.bias[b*16+j] = biasOf(o, inZP+128)
			for ci := 0; ci < cg; ci++ {
				q, i := ci/4, ci%4
				for t := 0; t < taps; t++ {
					g.w[((b*taps+t)*g.nq+q)*64+j*4+i] = w[(o*cg+ci)*taps+t]
				}
			}
		}
	}
	g.nh = (cg + 1) / 2
	if g.nh > 4 {
		return g
	}
	g.lp16 = s.Groups * 2 * g.nh
	g.ob16, g.win16, g.idx16 = winPack(s, ocg, g.nh, 2, 8)
	nb8 := len(g.ob16)
	g.cp8 = g.ob16[nb8-1] + 8
	g.w16 = make([]int16, nb8*taps*g.nh*16)
	g.bias16 = make([]int32, nb8*8)
	for b, o0 := range g.ob16 {
		for j := 0; j < lanesOf(g.ob16, b, 8); j++ {
			o := o0 + j
			g.bias16[b*8+j] = biasOf(o, inZP)
			for ci := 0; ci < cg; ci++ {
				h, i := ci/2, ci%2
				for t := 0; t < taps; t++ {
					g.w16[((b*taps+t)*g.nh+h)*16+j*2+i] = int16(w[(o*cg+ci)*taps+t])
				}
			}
		}
	}
	return g
}

// usable reports whether QConv runs g on the current int8 path: the VNNI and
// the pure-Go forms always, the AVX2 form where its 8-dword windows fit.
func (g *winWeights) usable() bool {
	if g == nil {
		return false
	}
	return int8Path != isaAVX2 || !haveAsm || g.w16 != nil
}

// winConv runs the convolution on the current path.
func winConv(s ConvShape, in []int8, g *winWeights, out []int8, p *rqParams, threads int) {
	if int8Path == isaAVX2 && haveAsm {
		// int16 input, the zero point in the borders and padding channels
		winBands(s, in, g, out, p, threads, g.lp16, g.cp8, 16, getI16, &i16Pool,
			func(dst []int16, src []int8) { winLayRow16(dst, src, s.W, g, s.PadLeft) },
			func(base []int16, off []int64, pstride, ow int, rowbuf []int32) {
				for b := range g.win16 {
					winBlockRowWide(g, base, b, off, pstride, ow, rowbuf)
				}
			})
		return
	}
	winBands(s, in, g, out, p, threads, g.lp, g.cp, 64, getABuf, &abufPool,
		func(dst []int8, src []int8) { winLayRow(dst, src, s.W, g, s.PadLeft) },
		func(base []int8, off []int64, pstride, ow int, rowbuf []int32) {
			for b := range g.win {
				winBlockRow(g, base, b, off, pstride, ow, rowbuf)
			}
		})
}

// winBands splits the output rows over threads in bands; each thread lays out
// the input rows of its band (lp elements per pixel, slack more after the
// last row for the window loads), runs the blocks of each output row into a
// row of cp int32 per pixel and requantizes it. off and pstride reach the
// row kernel in bytes.
func winBands[T int8 | int16](s ConvShape, in []int8, g *winWeights, out []int8, p *rqParams, threads, lp, cp, slack int,
	get func(int) *[]T, pool *sync.Pool, lay func(dst []T, src []int8), row func(base []T, off []int64, pstride, ow int, rowbuf []int32)) {
	var zero T
	size := 1
	if _, wide := any(zero).(int16); wide {
		size = 2
	}
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	rowLen := wp * lp
	span := (s.KH-1)*s.DilH + 1
	band := max(1, (128*1024/(rowLen*size)-span)/s.StrideH+1)
	off := make([]int64, g.taps)
	for t := range off {
		kh, kw := t/s.KW, t%s.KW
		off[t] = int64((kh*s.DilH*wp+kw*s.DilW)*lp) * int64(size)
	}
	pstride := s.StrideW * lp * size
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := get(((chunk-1)*s.StrideH+span)*rowLen + slack)
		defer pool.Put(bp)
		buf := *bp
		clear(buf[len(buf)-slack:])
		rp := getBuf[int32](&i32Pool, ow*cp)
		defer i32Pool.Put(rp)
		rowbuf := (*rp)[:ow*cp]
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				var src []int8
				if iy := y - s.PadTop; iy >= 0 && iy < s.H {
					src = in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
				}
				lay(buf[(y-p0)*rowLen:(y-p0+1)*rowLen], src)
			}
			for y := y0; y < y1; y++ {
				row(buf[(y*s.StrideH-p0)*rowLen:], off, pstride, ow, rowbuf)
				r := n*oh + y
				p.tile(rowbuf, cp, ow, g.oc, out[r*ow*g.oc:(r+1)*ow*g.oc], g.oc, 0)
			}
		})
	})
}

// winLayRow lays the input row src (w pixels of groups·cg channels; nil for a
// row of the padding) out in dst as u8 (int8 ^ 0x80) pixels of lp channels,
// each group's cg channels at a multiple of 4, after padLeft padding pixels;
// padding pixels and channels hold the zero point (their weights are zero or
// the zero point is what the convolution pads with).
func winLayRow(dst, src []int8, w int, g *winWeights, padLeft int) {
	zx := int8(uint8(g.inZP) ^ 0x80)
	cg, c4 := g.cg, 4*g.nq
	if src == nil || cg == c4 {
		paddedRow(dst, src, w, g.cg*g.groups, g.lp, padLeft, zx, true)
		return
	}
	c := cg * g.groups
	mid := dst[padLeft*g.lp : (padLeft+w)*g.lp]
	// A group's bytes as one or two words: the first cg bytes from the
	// source flipped, the rest the zero point. Each word store may run into
	// the next group (written after it) or the next pixel; the last pixels,
	// whose words would pass the row's end, take the byte loop.
	z := uint64(uint8(zx)) * 0x0101010101010101
	words := (c4 + 7) / 8
	var masks [3]uint64 // c4 <= 24
	for k := range words {
		masks[k] = byteMask(min(max(cg-8*k, 0), 8))
	}
	last := (g.groups-1)*cg + 8*words // bytes read from a pixel's start
	x := 0
	for ; x < w && x*c+last <= len(src) && x*g.lp+(g.groups-1)*c4+8*words <= len(mid); x++ {
		sp := unsafe.Pointer(&src[x*c])
		dp := unsafe.Pointer(&mid[x*g.lp])
		for gi := 0; gi < g.groups; gi++ {
			for k, m := range masks[:words] {
				v := *(*uint64)(unsafe.Add(sp, gi*cg+8*k))
				*(*uint64)(unsafe.Add(dp, gi*c4+8*k)) = (v^0x8080808080808080)&m | z&^m
			}
		}
	}
	for ; x < w; x++ {
		d := mid[x*g.lp : (x+1)*g.lp]
		sp := src[x*c : (x+1)*c]
		for gi := 0; gi < g.groups; gi++ {
			dg := d[gi*c4 : (gi+1)*c4]
			for i, v := range sp[gi*cg : (gi+1)*cg] {
				dg[i] = v ^ -128
			}
			for i := cg; i < c4; i++ {
				dg[i] = zx
			}
		}
	}
	fill(dst[:padLeft*g.lp], zx)
	fill(dst[(padLeft+w)*g.lp:], zx)
}

// byteMask is a word whose first n bytes (n <= 8) are 0xff.
func byteMask(n int) uint64 {
	if n >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*n) - 1
}

// winLayRow16 is winLayRow for the int16 form: values widened, groups at a
// multiple of 2 channels, the zero point in the padding.
func winLayRow16(dst []int16, src []int8, w int, g *winWeights, padLeft int) {
	z := int16(g.inZP)
	if src == nil {
		fill16(dst, z)
		return
	}
	fill16(dst[:padLeft*g.lp16], z)
	fill16(dst[(padLeft+w)*g.lp16:], z)
	cg, c2 := g.cg, 2*g.nh
	c := cg * g.groups
	if cg == c2 {
		widen(dst[padLeft*g.lp16:(padLeft+w)*g.lp16], src[:w*c])
		return
	}
	for x := 0; x < w; x++ {
		d := dst[(padLeft+x)*g.lp16 : (padLeft+x+1)*g.lp16]
		sp := src[x*c : (x+1)*c]
		for gi := 0; gi < g.groups; gi++ {
			dg := d[gi*c2 : (gi+1)*c2]
			for i, v := range sp[gi*cg : (gi+1)*cg] {
				dg[i] = int16(v)
			}
			dg[c2-1] = z // cg is odd here: one padding channel
		}
	}
}

// winBlockRowGo is the pure-Go form of qgroupedWinVNNI: block b of one
// output row from the laid-out u8 row base (off and pstride in bytes), into
// out (cp int32 per pixel).
func winBlockRowGo(g *winWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	wb := g.w[b*g.taps*g.nq*64 : (b+1)*g.taps*g.nq*64]
	idx := g.idx[b*g.nq*16 : (b+1)*g.nq*16]
	for x := 0; x < ow; x++ {
		var acc [16]int32
		copy(acc[:], g.bias[b*16:b*16+16])
		for t, o := range off {
			src := base[g.win[b]+x*pstride+int(o):][:64]
			for q := 0; q < g.nq; q++ {
				wq := wb[(t*g.nq+q)*64:][:64]
				for j := 0; j < 16; j++ {
					d := src[4*idx[q*16+j]:][:4]
					w := wq[4*j:][:4]
					acc[j] += int32(uint8(d[0]))*int32(w[0]) + int32(uint8(d[1]))*int32(w[1]) +
						int32(uint8(d[2]))*int32(w[2]) + int32(uint8(d[3]))*int32(w[3])
				}
			}
		}
		copy(out[x*g.cp+g.ob[b]:], acc[:])
	}
}

package kernels

import "unsafe"

// Grouped int8 convolutions with 4, 8 or 16 channels per group and as many
// output as input channels per group (ResNeXt's 32×4d stages, RegNet's group
// widths 8 and 16). The GEMM path multiplies each group's K×cg block as a
// panel of 16 or 32 output columns, most of them zero for 4 or 8 channels, and
// runs one GEMM (one parallel dispatch, one im2col) per group. The kernel here
// keeps 16 consecutive output channels in the 16 lanes of a vector: each lane
// takes the four input bytes of its own group (VPERMD of the 16 input bytes of
// the block's 16 channels), so every lane of every VPDPBUSD does useful work
// and the input is read in place (a padded copy per band of rows, no im2col).

// groupedWeights are the packed weights of such a convolution.
type groupedWeights struct {
	cg, nq int // channels per group, cg/4
	oc, cp int // output channels, padded to a multiple of 16
	taps   int
	// w is [cp/16][taps][nq][16 lanes][4 bytes]: lane j of quad q holds the
	// weights of output channel 16b+j for input channels 4q..4q+3 of its group.
	w []int8
	// idx is [nq][16]: the input dword lane j of quad q reads (VPERMD).
	idx []int32
	// bias is bias[o] − (inZP+128)·Σw[o]: the input is read as u8 = int8^0x80,
	// and the padding holds the zero point.
	bias []int32
	inZP int32
	// The AVX2 form (int16 input, VPMADDWD): 8-channel blocks, cp8 channels.
	cp8 int
	// w16 is [cp8/8][taps][cg/2][8 lanes][2]: lane j of pair h holds the
	// weights of output channel 8b+j for input channels 2h, 2h+1 of its group.
	w16 []int16
	// idx16 is [2][8], the VPERMD indices for 4 channels per group.
	idx16 []int32
	// bias16 is bias[o] − inZP·Σw[o] (the padding holds the zero point).
	bias16 []int32
}

// groupedFits reports whether a (normalised, non-depthwise) shape takes the
// grouped kernel.
func groupedFits(s ConvShape) bool {
	if s.Groups <= 1 || s.depthwise() {
		return false
	}
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	return cg == ocg && (cg == 4 || cg == 8 || cg == 16)
}

func packGrouped(s ConvShape, w []int8, bias []int32, inZP int32) *groupedWeights {
	cg := s.C / s.Groups
	taps := s.KH * s.KW
	g := &groupedWeights{cg: cg, nq: cg / 4, oc: s.OC, cp: (s.OC + 15) &^ 15, taps: taps, inZP: inZP}
	nblk := g.cp / 16
	g.w = make([]int8, nblk*taps*g.nq*64)
	g.bias = make([]int32, g.cp)
	g.idx = make([]int32, g.nq*16)
	g.cp8 = (s.OC + 7) &^ 7
	g.w16 = make([]int16, g.cp8/8*taps*cg/2*16)
	g.bias16 = make([]int32, g.cp8)
	g.idx16 = make([]int32, 16)
	for q := 0; q < g.nq; q++ {
		for j := 0; j < 16; j++ {
			g.idx[q*16+j] = int32((j/cg)*g.nq + q)
		}
	}
	for o := 0; o < s.OC; o++ {
		b, j := o/16, o%16
		var sum int32
		for ci := 0; ci < cg; ci++ {
			q, i := ci/4, ci%4
			for t := 0; t < taps; t++ {
				v := w[(o*cg+ci)*taps+t]
				sum += int32(v)
				g.w[((b*taps+t)*g.nq+q)*64+j*4+i] = v
			}
		}
		if bias != nil {
			g.bias[o] = bias[o]
		}
		g.bias16[o] = g.bias[o] - inZP*sum
		g.bias[o] -= (inZP + 128) * sum
	}
	nh := cg / 2
	for o := 0; o < s.OC; o++ {
		b, j := o/8, o%8
		for ci := 0; ci < cg; ci++ {
			h, i := ci/2, ci%2
			for t := 0; t < taps; t++ {
				g.w16[((b*taps+t)*nh+h)*16+j*2+i] = int16(w[(o*cg+ci)*taps+t])
			}
		}
	}
	for h := 0; h < 2; h++ {
		for j := 0; j < 8; j++ {
			g.idx16[h*8+j] = int32((j/4)*2 + h)
		}
	}
	return g
}

// usable reports whether QConv runs g's kernels: on every path (AVX-512
// VNNI, AVX2 on int16, pure Go).
func (g *groupedWeights) usable() bool {
	return g != nil
}

// groupedConv runs the convolution: each thread takes bands of output rows,
// lays the input rows a band reads out as u8 (int8 ^ 0x80) with cp channels
// and the zero point in the borders, computes the int32 row block by block and
// requantizes it.
func groupedConv(s ConvShape, in []int8, g *groupedWeights, out []int8, p *rqParams, threads int) {
	if int8Path == isaAVX2 && haveAsm {
		groupedConvWide(s, in, g, out, p, threads)
		return
	}
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	rowLen := wp * g.cp
	span := (s.KH-1)*s.DilH + 1
	band := max(1, (128*1024/rowLen-span)/s.StrideH+1)
	off := make([]int64, g.taps)
	for t := range off {
		kh, kw := t/s.KW, t%s.KW
		off[t] = int64((kh*s.DilH*wp + kw*s.DilW) * g.cp)
	}
	zx := int8(uint8(g.inZP) ^ 0x80)
	pstride := s.StrideW * g.cp
	nblk := g.cp / 16
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := getABuf(((chunk-1)*s.StrideH + span) * rowLen)
		defer abufPool.Put(bp)
		buf := *bp
		rp := getBuf[int32](&i32Pool, ow*g.cp)
		defer i32Pool.Put(rp)
		rowbuf := (*rp)[:ow*g.cp]
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				groupedInputRow(buf[(y-p0)*rowLen:(y-p0+1)*rowLen], in, s, g.cp, n, y-s.PadTop, zx)
			}
			for y := y0; y < y1; y++ {
				base := buf[(y*s.StrideH-p0)*rowLen:]
				for b := 0; b < nblk; b++ {
					groupedBlockRow(g, base, b, off, pstride, ow, rowbuf)
				}
				r := n*oh + y
				p.tile(rowbuf, g.cp, ow, g.oc, out[r*ow*g.oc:(r+1)*ow*g.oc], g.oc, 0)
			}
		})
	})
}

// groupedInputRow fills dst (one padded row of cp-channel pixels) from input
// row iy of image n, XOR 0x80; padding pixels and channels hold zx.
func groupedInputRow(dst, in []int8, s ConvShape, cp, n, iy int, zx int8) {
	var src []int8
	if iy >= 0 && iy < s.H {
		src = in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
	}
	paddedRow(dst, src, s.W, s.C, cp, s.PadLeft, zx, true)
}

// paddedRow lays the input row src (w pixels of c channels; nil for a row of
// the padding) out in dst as pixels of cp channels after padLeft padding
// pixels; padding pixels and channels hold z. flip XORs the copied bytes with
// 0x80 (u8 for VPDPBUSD; z is then already flipped).
func paddedRow(dst, src []int8, w, c, cp, padLeft int, z int8, flip bool) {
	if src == nil {
		fill(dst, z)
		return
	}
	fill(dst[:padLeft*cp], z)
	fill(dst[(padLeft+w)*cp:], z)
	mid := dst[padLeft*cp : (padLeft+w)*cp]
	cpy := func(d, s []int8) {
		if flip {
			xorCopy80(d, s)
		} else {
			copy(d, s)
		}
	}
	if cp == c {
		cpy(mid, src)
		return
	}
	for x := 0; x < w; x++ {
		d := mid[x*cp : (x+1)*cp]
		cpy(d, src[x*c:(x+1)*c])
		fill(d[c:], z)
	}
}

// xorCopy80 sets dst[i] = src[i] ^ 0x80 for i < len(src), eight bytes at a time.
func xorCopy80(dst, src []int8) {
	n := len(src)
	_ = dst[n-1]
	i := 0
	for ; i+8 <= n; i += 8 {
		v := *(*uint64)(unsafe.Pointer(&src[i]))
		*(*uint64)(unsafe.Pointer(&dst[i])) = v ^ 0x8080808080808080
	}
	for ; i < n; i++ {
		dst[i] = src[i] ^ -128
	}
}

// groupedBlockRowGo is the pure-Go form of the row kernel (same layout and
// arithmetic as qgroupedVNNI_*): block b of the output row from the padded
// u8 row base, into out (cp int32 per pixel).
func groupedBlockRowGo(g *groupedWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	wb := g.w[b*g.taps*g.nq*64 : (b+1)*g.taps*g.nq*64]
	for x := 0; x < ow; x++ {
		var acc [16]int32
		copy(acc[:], g.bias[b*16:b*16+16])
		for t, o := range off {
			src := base[b*16+x*pstride+int(o):][:16]
			for q := 0; q < g.nq; q++ {
				wq := wb[(t*g.nq+q)*64:][:64]
				for j := 0; j < 16; j++ {
					d := src[4*g.idx[q*16+j]:][:4]
					w := wq[4*j:][:4]
					acc[j] += int32(uint8(d[0]))*int32(w[0]) + int32(uint8(d[1]))*int32(w[1]) +
						int32(uint8(d[2]))*int32(w[2]) + int32(uint8(d[3]))*int32(w[3])
				}
			}
		}
		copy(out[x*g.cp+b*16:], acc[:])
	}
}

// groupedConvWide is groupedConv on the AVX2 path: the padded rows are int16
// (the zero point in the borders, cp8 channels) for the VPMADDWD kernels.
func groupedConvWide(s ConvShape, in []int8, g *groupedWeights, out []int8, p *rqParams, threads int) {
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	cp := g.cp8
	rowLen := wp * cp
	span := (s.KH-1)*s.DilH + 1
	band := max(1, (64*1024/rowLen-span)/s.StrideH+1)
	off := make([]int64, g.taps)
	for t := range off {
		kh, kw := t/s.KW, t%s.KW
		off[t] = 2 * int64((kh*s.DilH*wp+kw*s.DilW)*cp)
	}
	z := int16(g.inZP)
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := getI16(((chunk-1)*s.StrideH + span) * rowLen)
		defer i16Pool.Put(bp)
		buf := *bp
		rp := getBuf[int32](&i32Pool, ow*cp)
		defer i32Pool.Put(rp)
		rowbuf := (*rp)[:ow*cp]
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				dst := buf[(y-p0)*rowLen : (y-p0+1)*rowLen]
				iy := y - s.PadTop
				if iy < 0 || iy >= s.H {
					fill16(dst, z)
					continue
				}
				fill16(dst[:s.PadLeft*cp], z)
				fill16(dst[(s.PadLeft+s.W)*cp:], z)
				src := in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
				mid := dst[s.PadLeft*cp : (s.PadLeft+s.W)*cp]
				if cp == s.C {
					widen(mid, src)
					continue
				}
				for x := 0; x < s.W; x++ {
					widen(mid[x*cp:x*cp+s.C], src[x*s.C:(x+1)*s.C])
					fill16(mid[x*cp+s.C:(x+1)*cp], z)
				}
			}
			for y := y0; y < y1; y++ {
				base := buf[(y*s.StrideH-p0)*rowLen:]
				for b := 0; b < cp/8; b++ {
					groupedBlockRowWide(g, base, b, off, 2*s.StrideW*cp, ow, rowbuf)
				}
				r := n*oh + y
				p.tile(rowbuf, cp, ow, g.oc, out[r*ow*g.oc:(r+1)*ow*g.oc], g.oc, 0)
			}
		})
	})
}

func fill16(b []int16, v int16) {
	for i := range b {
		b[i] = v
	}
}

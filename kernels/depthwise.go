package kernels

import "sync"

// dwWeights are depthwise weights: per tap, per output channel, plus the
// AVX2 packing (int16 tap pairs in 16-channel blocks).
type dwWeights struct {
	taps int     // KH*KW
	oc   int     // output channels
	mult int     // channel multiplier OC/C
	w    []int8  // [taps][oc]
	bias []int32 // bias[oc] (zero point not folded)
	inZP int32

	cp     int     // oc rounded up to 16
	kw     int     // KW
	npairs int     // KH·ceil(KW/2): taps paired within kernel rows
	w16    []int16 // [npairs][cp/16][lo,hi][16]: (w[kh][kw][c], w[kh][kw+1][c] or 0) for c in {0-3,8-11} / {4-7,12-15}
	biasP  []int32 // [cp/16][16] in {0-3,8-11,4-7,12-15} order, bias - inZP·Σ_t w[t][c]

	// VNNI packing: taps of a kernel row in groups of four (zero beyond KW).
	nq    int     // groups per kernel row, ceil(KW/4)
	wq    []int8  // [KH·nq][cp/16][16][4]
	biasQ []int32 // [cp] channel order, bias - (inZP+128)·Σ_t w[t][c] (activations XOR 0x80)
}

// dwOrder is the channel order of an accumulator pair within a 16-channel block.
var dwOrder = [16]int{0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15}

func packDepthwise(s ConvShape, w []int8, bias []int32, inZP int32) *dwWeights {
	taps := s.KH * s.KW
	d := &dwWeights{taps: taps, oc: s.OC, mult: s.OC / s.C, w: make([]int8, taps*s.OC), bias: make([]int32, s.OC), inZP: inZP}
	for oc := 0; oc < s.OC; oc++ {
		for t := 0; t < taps; t++ {
			d.w[t*s.OC+oc] = w[oc*taps+t]
		}
		if bias != nil {
			d.bias[oc] = bias[oc]
		}
	}
	d.cp = (s.OC + 15) &^ 15
	d.kw = s.KW
	half := (s.KW + 1) / 2
	d.npairs = s.KH * half
	nblk := d.cp / 16
	d.w16 = make([]int16, d.npairs*nblk*32)
	d.biasP = make([]int32, d.cp)
	wt := func(kh, kw, c int) int16 {
		if kw >= s.KW || c >= s.OC {
			return 0
		}
		return int16(d.w[(kh*s.KW+kw)*s.OC+c])
	}
	for b := 0; b < nblk; b++ {
		for i, o := range dwOrder {
			c := b*16 + o
			if c < s.OC {
				sum := int64(0)
				for t := 0; t < taps; t++ {
					sum += int64(d.w[t*s.OC+c])
				}
				d.biasP[b*16+i] = int32(int64(d.bias[c]) - int64(inZP)*sum)
			}
		}
		for p := 0; p < d.npairs; p++ {
			blk := d.w16[(p*nblk+b)*32:]
			for i, o := range dwOrder {
				c := b*16 + o
				// lo half (i < 8) and hi half (i >= 8) are 16 int16 each: pairs of taps
				h, j := i/8, i%8
				kh, kw := p/half, 2*(p%half)
				blk[h*16+2*j] = wt(kh, kw, c)
				blk[h*16+2*j+1] = wt(kh, kw+1, c)
			}
		}
	}
	d.nq = (s.KW + 3) / 4
	d.wq = make([]int8, s.KH*d.nq*d.cp*4)
	d.biasQ = make([]int32, d.cp)
	for c := 0; c < s.OC; c++ {
		sum := int64(0)
		for t := 0; t < taps; t++ {
			sum += int64(d.w[t*s.OC+c])
		}
		d.biasQ[c] = int32(int64(d.bias[c]) - (int64(inZP)+128)*sum)
		for kh := 0; kh < s.KH; kh++ {
			for kw := 0; kw < s.KW; kw++ {
				g := kh*d.nq + kw/4
				d.wq[(g*d.cp+c)*4+kw%4] = d.w[(kh*s.KW+kw)*s.OC+c]
			}
		}
	}
	return d
}

func depthwiseConv(s ConvShape, in []int8, d *dwWeights, out []int8, p *rqParams, threads int) {
	if depthwiseVNNI(s, in, d, out, p, threads) {
		return
	}
	if depthwisePath() != isaGo {
		depthwiseConvAsm(s, in, d, out, p, threads)
		return
	}
	oh, ow := s.OutH(), s.OutW()
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		acc := make([]int32, s.OC)
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			for x := 0; x < ow; x++ {
				copy(acc, d.bias)
				for kh := 0; kh < s.KH; kh++ {
					ih := y*s.StrideH - s.PadTop + kh*s.DilH
					if ih < 0 || ih >= s.H {
						continue
					}
					for kw := 0; kw < s.KW; kw++ {
						iw := x*s.StrideW - s.PadLeft + kw*s.DilW
						if iw < 0 || iw >= s.W {
							continue
						}
						src := in[((n*s.H+ih)*s.W+iw)*s.C:][:s.C]
						wt := d.w[(kh*s.KW+kw)*s.OC:][:s.OC]
						if d.mult == 1 {
							for c, v := range src {
								acc[c] += (int32(v) - d.inZP) * int32(wt[c])
							}
						} else {
							for oc := range acc {
								acc[oc] += (int32(src[oc/d.mult]) - d.inZP) * int32(wt[oc])
							}
						}
					}
				}
				p.row(acc, out[(r*ow+x)*s.OC:][:s.OC], 0)
			}
		}
	})
}

var (
	i32Pool = sync.Pool{New: func() any { return new([]int32) }}
	i16Pool = sync.Pool{New: func() any { return new([]int16) }}
)

func getI16(n int) *[]int16 { return getBuf[int16](&i16Pool, n) }

// depthwiseConvAsm runs the SIMD row kernel on a pair buffer built from the
// input: zero point in the borders, cp channels per pixel (repeated for a
// multiplier > 1, zero beyond OC), each pixel interleaved with its partner
// DilW pixels to the right as int16 pairs. Each thread builds the pair rows of
// a band of output rows (about 192 KiB, so they stay in L2) and then computes
// the band.
func depthwiseConvAsm(s ConvShape, in []int8, d *dwWeights, out []int8, p *rqParams, threads int) {
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	cp := d.cp
	pix := 2 * cp // int16 per pair-buffer pixel
	rowLen := wp * pix
	span := (s.KH-1)*s.DilH + 1 // padded rows read by one output row
	band := max(1, (192*1024/(rowLen*2)-span)/s.StrideH+1)
	z := int8(d.inZP)
	direct := d.mult == 1 && cp == s.C
	half := (d.kw + 1) / 2
	off := make([]int64, d.npairs)
	for i := range off {
		kh, kw := i/half, 2*(i%half)
		off[i] = int64((kh*s.DilH*wp + kw*s.DilW) * pix * 2)
	}
	var ep *dwEpi
	var scaleP []float32
	if p.mode == RequantFloat {
		// scale in the kernels' channel order, per 16-channel block
		scaleP = make([]float32, cp)
		for i := range scaleP {
			if c := i&^15 + dwOrder[i&15]; c < d.oc {
				scaleP[i] = p.scale[c]
			}
		}
		ep = &dwEpi{mode: 1, scale: &scaleP[0]}
		for i := 0; i < 8; i++ {
			ep.consts[i] = p.zp
			ep.consts[8+i] = int32(mathFloat32bits(float32(p.lo - p.zp)))
			ep.consts[16+i] = int32(mathFloat32bits(float32(p.hi - p.zp)))
		}
	}
	buildRow := func(dst []int16, tmp []int8, n, y int) {
		// tmp's left and right padding hold z from its allocation on
		iy := y - s.PadTop
		if iy < 0 || iy >= s.H {
			fill(tmp[s.PadLeft*cp:(s.PadLeft+s.W)*cp], z)
		} else {
			row := in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
			if direct {
				copy(tmp[s.PadLeft*cp:], row)
			} else {
				spreadChannels(tmp[s.PadLeft*cp:(s.PadLeft+s.W)*cp], row, s.W, s.C, cp, d.oc, d.mult)
			}
		}
		dwPairs(dst, tmp, wp, cp, s.DilW)
	}
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := getI16(((chunk-1)*s.StrideH + span) * rowLen)
		defer i16Pool.Put(bp)
		buf := *bp
		tmp := make([]int8, (wp+s.DilW)*cp)
		fill(tmp, z)
		rp := getBuf[int32](&i32Pool, ow*cp)
		defer i32Pool.Put(rp)
		rowbuf := *rp
		var e dwEpi
		var row8 []int8
		if ep != nil {
			e = *ep
			if cp != d.oc {
				row8 = make([]int8, ow*cp)
			}
		}
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				buildRow(buf[(y-p0)*rowLen:(y-p0+1)*rowLen], tmp, n, y)
			}
			for y := y0; y < y1; y++ {
				r := n*oh + y
				base := buf[(y*s.StrideH-p0)*rowLen:]
				dst := out[r*ow*d.oc : (r+1)*ow*d.oc]
				switch {
				case ep == nil:
					depthwiseRow(base, off, d, s.StrideW*pix*2, ow, rowbuf, nil)
					p.tile(rowbuf, cp, ow, d.oc, dst, d.oc, 0)
				case row8 == nil:
					e.out, e.ostride = &dst[0], int64(d.oc)
					depthwiseRow(base, off, d, s.StrideW*pix*2, ow, rowbuf, &e)
				default:
					e.out, e.ostride = &row8[0], int64(cp)
					depthwiseRow(base, off, d, s.StrideW*pix*2, ow, rowbuf, &e)
					for x := 0; x < ow; x++ {
						copy(dst[x*d.oc:(x+1)*d.oc], row8[x*cp:])
					}
				}
			}
		})
	})
}

package kernels

// The int8 stem convolution: a convolution whose input has 1-4 channels (the
// first layer of an image network: RGB or grey, 3×3 to 7×7, stride 1 or 2).
// The GEMM path needs 4 channels per pixel, so it copied the whole image into
// a 4-channel layout first (as long as the GEMM itself on a 224×224 RGB
// input) and multiplied a zero for every fourth byte. Here each output pixel
// reads, per kernel row, the KW·C contiguous bytes of its window straight
// from a zero-point-padded copy of the few input rows a band of output rows
// needs, as seg4 = ⌈KW·C/4⌉ dwords: the bytes past KW·C belong to the next
// pixel and meet zero weights. The rows of the output are split across
// threads; the int32 accumulators of a row are requantized by the same
// routine (rqParams.tile) as every other int8 convolution, so the output is
// bit-identical to the GEMM path's.

// stemWeights are the weights of a stem convolution packed by packStem.
type stemWeights struct {
	c, oc, kh, kw int
	seg4          int // dwords per kernel row: ⌈KW·C/4⌉
	nb            int // blocks of 16 output channels
	// w holds kh·seg4 steps of nb·64 bytes: in step (r, d), block b, lane j,
	// the weights of output channel 16b+j for the window bytes 4d..4d+3 of
	// kernel row r (window byte k = kw·C + c), zero past KW·C and OC.
	w []int8
	// bias is bias − inZP·Σw (signed input: Go and AVX2); biasX further
	// subtracts 128·Σw for the VNNI kernel, which XORs the input with 0x80.
	bias, biasX []int32
}

// stemFits reports whether a convolution (filter part) takes the stem kernel.
func stemFits(s ConvShape) bool {
	return s.Groups == 1 && s.C >= 1 && s.C <= 4
}

// packStem packs OIHW weights (values in [-127, 127]) and an optional bias.
func packStem(s ConvShape, w []int8, bias []int32, inZP int32) *stemWeights {
	sw := &stemWeights{c: s.C, oc: s.OC, kh: s.KH, kw: s.KW, seg4: (s.KW*s.C + 3) / 4, nb: (s.OC + 15) / 16}
	step := sw.nb * 64
	sw.w = make([]int8, s.KH*sw.seg4*step)
	sw.bias = make([]int32, sw.nb*16)
	sw.biasX = make([]int32, sw.nb*16)
	for oc := 0; oc < s.OC; oc++ {
		var sum int32
		for r := 0; r < s.KH; r++ {
			for kw := 0; kw < s.KW; kw++ {
				for c := 0; c < s.C; c++ {
					v := w[((oc*s.C+c)*s.KH+r)*s.KW+kw]
					k := kw*s.C + c
					sw.w[(r*sw.seg4+k/4)*step+(oc/16)*64+(oc%16)*4+k%4] = v
					sum += int32(v)
				}
			}
		}
		var b int32
		if bias != nil {
			b = bias[oc]
		}
		sw.bias[oc] = b - inZP*sum
		sw.biasX[oc] = sw.bias[oc] - 128*sum
	}
	return sw
}

// stemConv is QConv for weights packed by packStem (DilW == 1).
func stemConv(s ConvShape, in []int8, sw *stemWeights, zp int8, out []int8, p *rqParams, threads int) {
	oh, ow := s.OutH(), s.OutW()
	rowLen := (s.W + s.PadLeft + s.PadRight) * s.C
	span := (s.KH-1)*s.DilH + 1 // padded input rows read by one output row
	np := sw.nb * 16
	// bands of output rows whose input rows stay in L2; about 4 chunks per
	// thread, claimed one at a time
	band := max(1, (128*1024/rowLen-span)/s.StrideH+1)
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	fused, xor := stemFused(p), stemInputXOR()
	var scale []float32
	if fused {
		scale = make([]float32, np)
		copy(scale, p.scale[:s.OC])
	}
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		// the last window of a row reads up to 3 bytes past its row (zero
		// weights): slack after the last row
		bp := getABuf(((chunk-1)*s.StrideH+span)*rowLen + 64)
		defer abufPool.Put(bp)
		buf := *bp
		tp := getBuf[int32](&i32Pool, ow*np)
		defer i32Pool.Put(tp)
		acc := *tp
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			pr0, pr1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for pr := pr0; pr < pr1; pr++ {
				iy := pr - s.PadTop
				var src []int8
				if iy >= 0 && iy < s.H {
					src = in[(n*s.H+iy)*s.W*s.C : (n*s.H+iy+1)*s.W*s.C]
				}
				padRowStem(buf[(pr-pr0)*rowLen:(pr-pr0+1)*rowLen], src, s.PadLeft*s.C, zp, xor)
			}
			for y := y0; y < y1; y++ {
				r := n*oh + y
				base := buf[(y*s.StrideH-pr0)*rowLen:]
				if fused {
					stemRowQ(sw, base, s.StrideW*s.C, s.DilH*rowLen, ow, p, scale, out[r*ow*s.OC:])
					continue
				}
				stemRow(sw, base, s.StrideW*s.C, s.DilH*rowLen, ow, acc)
				p.tile(acc, np, ow, s.OC, out[r*ow*s.OC:], s.OC, 0)
			}
		})
	})
}

// padRowStem is padRow, XORing the bytes with 0x80 when xor is set.
func padRowStem(dst, src []int8, left int, z int8, xor bool) {
	if !xor {
		padRow(dst, src, left, z)
		return
	}
	z ^= -128
	if src == nil {
		fill(dst, z)
		return
	}
	fill(dst[:left], z)
	xorCopy(dst[left:left+len(src)], src)
	fill(dst[left+len(src):], z)
}

// stemRowGo computes one output row of int32 accumulators (row stride
// nb·16) from base, the window of its first pixel: the direct form of the
// assembly kernels, on the signed input.
func stemRowGo(sw *stemWeights, base []int8, pstride, rstride, ow int, out []int32) {
	np := sw.nb * 16
	step := sw.nb * 64
	for x := 0; x < ow; x++ {
		o := out[x*np : (x+1)*np]
		copy(o, sw.bias)
		for r := 0; r < sw.kh; r++ {
			win := base[x*pstride+r*rstride:]
			for d := 0; d < sw.seg4; d++ {
				a := win[4*d : 4*d+4]
				wt := sw.w[(r*sw.seg4+d)*step:][:step]
				for j := range o {
					q := wt[4*j : 4*j+4]
					o[j] += int32(a[0])*int32(q[0]) + int32(a[1])*int32(q[1]) + int32(a[2])*int32(q[2]) + int32(a[3])*int32(q[3])
				}
			}
		}
	}
}

// stemRowCheck panics unless base and out (nil: not checked) hold what a
// row of ow pixels reads and writes (the assembly kernels do not check).
func stemRowCheck(sw *stemWeights, base []int8, pstride, rstride, ow int, out []int32) {
	_ = base[(ow-1)*pstride+(sw.kh-1)*rstride+4*sw.seg4-1]
	if out != nil {
		_ = out[ow*sw.nb*16-1]
	}
}

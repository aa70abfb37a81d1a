//go:build amd64 && !purego && !noasm

package kernels

import "unsafe"

type dwVNNIFunc func(in *int8, off *int64, ngroups int, pstride int, ow int, w *int8, wstride int, bias *int32, out *int32, ostride int, ep *int64)

// dwVNNIKernels[nb-1] = {4 pixels per iteration, 1 pixel}
var dwVNNIKernels = [4][2]dwVNNIFunc{
	{depthwiseVNNI_1x4, depthwiseVNNI_1x1},
	{depthwiseVNNI_2x4, depthwiseVNNI_2x1},
	{depthwiseVNNI_3x4, depthwiseVNNI_3x1},
	{depthwiseVNNI_4x4, depthwiseVNNI_4x1},
}

// depthwiseVNNI runs the depthwise convolution with the AVX-512 VNNI row
// kernels when the int8 path is avx512vnni (it reports false otherwise). Each
// thread lays the input rows of a band of output rows out as a quad buffer
// (dwQuadsAVX2: per pixel and channel, the four bytes the four taps of a
// kernel-row group read, XOR 0x80), so that one VPDPBUSD adds four taps of 16
// channels; zero point in the borders, channels repeated for a multiplier.
func depthwiseVNNI(s ConvShape, in []int8, d *dwWeights, out []int8, p *rqParams, threads int) bool {
	if int8Path != isaVNNI {
		return false
	}
	oh, ow := s.OutH(), s.OutW()
	wp := s.W + s.PadLeft + s.PadRight
	cp := d.cp
	pix := 4 * cp // bytes per quad-buffer pixel
	rowLen := wp * pix
	span := (s.KH-1)*s.DilH + 1
	band := max(1, (192*1024/rowLen-span)/s.StrideH+1)
	z := int8(d.inZP)
	direct := d.mult == 1 && cp == s.C
	ngroups := s.KH * d.nq
	off := make([]int64, ngroups)
	for g := range off {
		kh, q := g/d.nq, g%d.nq
		off[g] = int64((kh*s.DilH*wp + 4*q*s.DilW) * pix)
	}
	var ep *dwEpi
	if p.mode == RequantFloat {
		scale := make([]float32, cp)
		copy(scale, p.scale[:d.oc])
		ep = &dwEpi{mode: 1, scale: &scale[0]}
		for i := 0; i < 8; i++ {
			ep.consts[i] = p.zp
			ep.consts[8+i] = int32(mathFloat32bits(float32(p.lo - p.zp)))
			ep.consts[16+i] = int32(mathFloat32bits(float32(p.hi - p.zp)))
		}
	}
	tmpLen := (wp + 3*s.DilW) * cp
	buildRow := func(dst, tmp []int8, n, y int) {
		// tmp's padding holds z from its allocation on
		iy := y - s.PadTop
		mid := tmp[s.PadLeft*cp : (s.PadLeft+s.W)*cp]
		switch {
		case iy < 0 || iy >= s.H:
			fill(mid, z)
		case direct:
			copy(mid, in[(n*s.H+iy)*s.W*s.C:(n*s.H+iy+1)*s.W*s.C])
		default:
			spreadChannels(mid, in[(n*s.H+iy)*s.W*s.C:(n*s.H+iy+1)*s.W*s.C], s.W, s.C, cp, d.oc, d.mult)
		}
		_ = tmp[(wp+3*s.DilW)*cp-1]
		_ = dst[wp*pix-1]
		dwQuadsAVX2(&dst[0], &tmp[0], wp, cp, s.DilW)
	}
	row := (&dwVNNIRow{d: d, p: p, ep: ep, off: off, out: out, ngroups: ngroups, pix: pix, ow: ow, cp: cp, sw: s.StrideW}).run
	chunk := min(band, max(1, (s.N*oh+4*threads-1)/(4*threads)))
	parallelChunks(s.N*oh, chunk, threads, func(next func() (int, int, bool)) {
		bp := getABuf(((chunk-1)*s.StrideH + span) * rowLen)
		defer abufPool.Put(bp)
		buf := *bp
		tmp := make([]int8, tmpLen)
		fill(tmp, z)
		rp := getBuf[int32](&i32Pool, ow*cp)
		defer i32Pool.Put(rp)
		rowbuf := *rp
		var row8 []int8
		if ep != nil && cp != d.oc {
			row8 = make([]int8, ow*cp)
		}
		eachBand(next, oh, chunk, func(n, y0, y1 int) {
			p0, p1 := y0*s.StrideH, (y1-1)*s.StrideH+span
			for y := p0; y < p1; y++ {
				buildRow(buf[(y-p0)*rowLen:(y-p0+1)*rowLen], tmp, n, y)
			}
			for y := y0; y < y1; y++ {
				row(buf[(y*s.StrideH-p0)*rowLen:], n*oh+y, rowbuf, row8)
			}
		})
	})
	return true
}

// dwVNNIRow runs the VNNI depthwise kernels over one output row of quad-buffer
// pixels and stores it (through the epilogue ep when set, else through p's
// requantization tile); the 2-D and the 3-D depthwise convolutions share it.
type dwVNNIRow struct {
	d                        *dwWeights
	p                        *rqParams
	ep                       *dwEpi
	off                      []int64
	out                      []int8
	ngroups, pix, ow, cp, sw int
}

func (q *dwVNNIRow) run(base []int8, r int, rowbuf []int32, row8 []int8) {
	d, p, ep, off, out := q.d, q.p, q.ep, q.off, q.out
	ngroups, pix, ow, cp := q.ngroups, q.pix, q.ow, q.cp
	nblk := cp / 16
	dst := out[r*ow*d.oc : (r+1)*ow*d.oc]
	pstride := q.sw * pix
	_ = base[(ow-1)*pstride+int(off[ngroups-1])+pix-1]
	var e dwEpi
	var o8 []int8
	if ep != nil {
		e = *ep
		o8, e.ostride = dst, int64(d.oc)
		if row8 != nil {
			o8, e.ostride = row8, int64(cp)
		}
	}
	for b := 0; b < nblk; {
		nb := min(4, nblk-b)
		k := dwVNNIKernels[nb-1]
		main := ow &^ 3
		for _, part := range [2]struct{ x0, n int }{{0, main}, {main, ow - main}} {
			if part.n == 0 {
				continue
			}
			fn := k[0]
			if part.x0 == main {
				fn = k[1]
			}
			if ep != nil {
				e.out = &o8[b*16+part.x0*int(e.ostride)]
				e.scale = (*float32)(unsafe.Add(unsafe.Pointer(ep.scale), b*64))
			}
			fn(&base[b*64+part.x0*pstride], &off[0], ngroups, pstride, part.n, &d.wq[b*64], cp*4, &d.biasQ[b*16], &rowbuf[b*16+part.x0*cp], cp*4, &e.mode)
		}
		b += nb
	}
	switch {
	case ep == nil:
		p.tile(rowbuf, cp, ow, d.oc, dst, d.oc, 0)
	case row8 != nil && !copyPixelsVec(dst, d.oc, row8, cp, d.oc, d.oc, ow):
		for x := 0; x < ow; x++ {
			copy(dst[x*d.oc:(x+1)*d.oc], row8[x*cp:])
		}
	}
}

//go:build amd64 && !purego && !noasm

package kernels

// depthwise3DVNNI is depthwiseVNNI (depthwise_vnni_amd64.go) over a volume:
// the planes and rows the windows read are laid out once per image as quad
// rows (dwQuadsAVX2: per pixel and channel the four bytes of four
// consecutive taps of a kernel row, XOR 0x80; the zero point in the
// padding), one after the other, so kernel row (kt, ki) of every output
// pixel is at one byte offset from the pixel's first, and an output row of
// the kd x kh x kw window is one call of the 2-D VNNI row kernels with
// kd·kh·ceil(kw/4) tap groups. The eighteenth session's form interleaved the
// kd planes of every output slice along the width (a copy of kd·C bytes per
// pixel and slice) and laid the interleaved rows out again as quads: two
// thirds of its time in a profile of x3d_dw.
func depthwise3DVNNI(s Conv3DShape, in []int8, d *dwWeights, out []int8, p *rqParams, threads int) bool {
	if int8Path != isaVNNI {
		return false
	}
	od, oh, ow := s.Out()
	if s.N*od*oh*ow == 0 {
		return true
	}
	wp := s.W + s.PadLeft + s.PadRight
	dn := (od-1)*s.StrideD + (s.KD-1)*s.DilD + 1
	hn := (oh-1)*s.StrideH + (s.KH-1)*s.DilH + 1
	cp := d.cp
	pix := 4 * cp
	rowLen := wp * pix
	z := int8(d.inZP)
	direct := d.mult == 1 && cp == s.C
	ngroups := s.KD * s.KH * d.nq
	off := make([]int64, ngroups)
	for g := range off {
		kt, ki, q := g/(s.KH*d.nq), g/d.nq%s.KH, g%d.nq
		off[g] = int64(((kt*s.DilD*hn+ki*s.DilH)*wp + 4*q*s.DilW) * pix)
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
	plane := s.H * s.W * s.C
	buildRow := func(dst, tmp []int8, img, pz, y int) {
		// tmp's padding holds z from its allocation on
		iz, iy := pz-s.PadFront, y-s.PadTop
		mid := tmp[s.PadLeft*cp : (s.PadLeft+s.W)*cp]
		src := in[img*s.D*plane:]
		switch {
		case iz < 0 || iz >= s.D || iy < 0 || iy >= s.H:
			fill(mid, z)
		case direct:
			copy(mid, src[iz*plane+iy*s.W*s.C:][:s.W*s.C])
		default:
			spreadChannels(mid, src[iz*plane+iy*s.W*s.C:][:s.W*s.C], s.W, s.C, cp, d.oc, d.mult)
		}
		_ = tmp[(wp+3*s.DilW)*cp-1]
		_ = dst[wp*pix-1]
		dwQuadsAVX2(&dst[0], &tmp[0], wp, cp, s.DilW)
	}
	row := (&dwVNNIRow{d: d, p: p, ep: ep, off: off, out: out, ngroups: ngroups, pix: pix, ow: ow, cp: cp, sw: s.StrideW}).run
	vp := getABuf(dn * hn * rowLen)
	defer abufPool.Put(vp)
	vol := *vp
	rows := od * oh
	chunk := max(1, rows/(8*threads))
	for img := 0; img < s.N; img++ {
		parallelFor(dn*hn, 1, threads, func(lo, hi int) {
			tmp := make([]int8, tmpLen)
			fill(tmp, z)
			for r := lo; r < hi; r++ {
				buildRow(vol[r*rowLen:(r+1)*rowLen], tmp, img, r/hn, r%hn)
			}
		})
		parallelChunks(rows, chunk, threads, func(next func() (int, int, bool)) {
			rp := getBuf[int32](&i32Pool, ow*cp)
			defer i32Pool.Put(rp)
			rowbuf := *rp
			var row8 []int8
			if ep != nil && cp != d.oc {
				row8 = make([]int8, ow*cp)
			}
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				for r := lo; r < hi; r++ {
					zz, oy := r/oh, r%oh
					row(vol[((zz*s.StrideD)*hn+oy*s.StrideH)*rowLen:], img*rows+r, rowbuf, row8)
				}
			}
		})
	}
	return true
}

package kernels

// maxPoolRowVec is the horizontal pass of qMaxPoolRows with the AVX-512
// kernel: dst (ow pixels of c channels) = the maximum over the KW taps of
// vm, the window rows' maximum (W pixels). The pixels whose taps all lie in
// the row (all of them but a border of one or two) take maxPixelsAVX512;
// the others take the maximum of their taps in the row (-128 when none is).
// It reports false, having done nothing, without AVX-512: the copy-and-max
// pass of qMaxPoolRows, one copy call per pixel and tap, then runs.
func maxPoolRowVec(s PoolShape, vm, dst []int8, ow, c int) bool {
	xlo := min(ow, (s.PadLeft+s.StrideW-1)/s.StrideW)
	xhi := xlo
	if last := s.W - 1 + s.PadLeft - (s.KW-1)*s.DilW; last >= 0 {
		xhi = min(ow, max(xlo, last/s.StrideW+1))
	}
	if xhi == xlo {
		if !maxPixelsVec(nil, nil, c, s.KW, s.DilW*c, s.StrideW*c, 0) {
			return false
		}
	} else if !maxPixelsVec(dst[xlo*c:], vm[(xlo*s.StrideW-s.PadLeft)*c:], c, s.KW, s.DilW*c, s.StrideW*c, xhi-xlo) {
		return false
	}
	for x := 0; x < ow; x++ {
		if x == xlo && xhi > xlo {
			x = xhi - 1
			continue
		}
		d := dst[x*c : (x+1)*c]
		first := true
		for kw := 0; kw < s.KW; kw++ {
			iw := x*s.StrideW - s.PadLeft + kw*s.DilW
			if iw < 0 || iw >= s.W {
				continue
			}
			if first {
				copy(d, vm[iw*c:(iw+1)*c])
				first = false
				continue
			}
			maxI8Go(d, vm[iw*c:(iw+1)*c])
		}
		if first {
			fill(d, -128)
		}
	}
	return true
}

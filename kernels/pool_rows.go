package kernels

// qMaxPoolRows is QMaxPool for maps of few channels (ShuffleNetV2's stem
// pool has 24): folding pixel by pixel there runs the vector maximum on less
// than one vector per call (the scalar tail every time). Instead each output
// row takes the maximum of its window's input rows over the whole row (one
// long vector pass per kernel row), gathers, for each kernel column, the
// pixels the output pixels read from that row (a copy per pixel), and takes
// the maximum of those rows (again whole rows). Positions in the padding
// hold -128, which never wins, and a window entirely in the padding gives
// -128: the same result as QMaxPool's.
func qMaxPoolRows(s PoolShape, in, out []int8, threads int) {
	oh, ow := s.OutH(), s.OutW()
	c := s.C
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		vm := make([]int8, s.W*c) // the window rows' maximum
		col := make([]int8, ow*c) // one kernel column's pixels
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			first := true
			for kh := 0; kh < s.KH; kh++ {
				ih := y*s.StrideH - s.PadTop + kh*s.DilH
				if ih < 0 || ih >= s.H {
					continue
				}
				row := in[(n*s.H+ih)*s.W*c : (n*s.H+ih+1)*s.W*c]
				if first {
					copy(vm, row)
					first = false
				} else {
					maxI8(vm, row)
				}
			}
			dst := out[r*ow*c : (r+1)*ow*c]
			if first { // the window rows lie in the padding
				fill(dst, -128)
				continue
			}
			if maxPoolRowVec(s, vm, dst, ow, c) {
				continue
			}
			for kw := 0; kw < s.KW; kw++ {
				acc := col
				if kw == 0 {
					acc = dst
				}
				for x := 0; x < ow; x++ {
					iw := x*s.StrideW - s.PadLeft + kw*s.DilW
					if iw < 0 || iw >= s.W {
						fill(acc[x*c:(x+1)*c], -128)
						continue
					}
					copy(acc[x*c:(x+1)*c], vm[iw*c:(iw+1)*c])
				}
				if kw > 0 {
					maxI8(dst, col)
				}
			}
		}
	})
}

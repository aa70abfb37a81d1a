package qat

// A strided convolution in the shifted layout (shiftLayout with sh or sw > 1):
// each channel's zero-padded image split into its sh×sw phase planes, plane (a, b)
// holding padded pixel (r*sh+a, c*sw+b) at (r, c). Every tap then reads one plane
// at a constant shift, so the forward pass and the weight gradient run as the
// stride-1 layers' do (kernels.SgemmShifted reading the columns in place; the
// weight gradient's taps packed straight from the planes), instead of an im2col
// copy of the column matrix, 2.25 times the input for a 3x3 stride-2 layer. The
// forward pass's sums are the im2col GEMM's (same micro-kernel, same reduction
// blocks over the same rows). Planes no tap reads (a 1x1 stride-2 layer reads one
// of four) are not filled.

// phaseSpan returns the plane indices [lo, hi) (at most n) whose padded index
// r*stride+phase-pad lies inside [0, size).
func phaseSpan(stride, phase, pad, size, n int) (lo, hi int) {
	if d := pad - phase; d > 0 {
		lo = (d + stride - 1) / stride
	}
	hi = min(n, (size+pad-phase+stride-1)/stride)
	return lo, max(lo, hi)
}

// fillPhases lays image x out in buf in the phase layout s, zeros everywhere no
// pixel goes (planes no tap reads included).
func (s *shiftGeom) fillPhases(g *convGeom, x, buf []float32) {
	clear(buf[:s.size])
	s.refillPhases(g, x, buf)
}

// refillPhases writes the pixels of image x where fillPhases puts them, leaving
// the rest of buf as it is.
func (s *shiftGeom) refillPhases(g *convGeom, x, buf []float32) {
	plane := s.pph * s.ppw
	for a := 0; a < s.sh; a++ {
		r0, r1 := phaseSpan(s.sh, a, g.pt, g.h, s.pph)
		for b := 0; b < s.sw; b++ {
			ph := a*s.sw + b
			c0, c1 := phaseSpan(s.sw, b, g.pl, g.w, s.ppw)
			if !s.used[ph] || r0 >= r1 || c0 >= c1 {
				continue
			}
			n := c1 - c0
			for ci := 0; ci < g.c; ci++ {
				xc := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
				d := buf[ci*s.pp+ph*plane:][:plane]
				for r := r0; r < r1; r++ {
					src := xc[(r*s.sh+a-g.pt)*g.w+c0*s.sw+b-g.pl:]
					dr := d[r*s.ppw+c0:][:n]
					switch s.sw {
					case 1:
						copy(dr, src)
					case 2:
						src = src[:2*n-1]
						for k := range dr {
							dr[k] = src[2*k]
						}
					default:
						for k := range dr {
							dr[k] = src[k*s.sw]
						}
					}
				}
			}
		}
	}
}

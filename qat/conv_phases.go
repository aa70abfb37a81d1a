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
		if s.sw == 2 && s.used[a*2] && s.used[a*2+1] && r0 < r1 {
			s.refillPairs(g, x, buf, a, r0, r1)
			continue
		}
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

// refillPairs is refillPhases for the two column phases of row phase a (rows
// [r0, r1)) of a layout with sw = 2, in one pass over each input row: pixel
// column xc goes to phase (xc+pl) mod 2, column (xc+pl)/2, so the even columns
// fill one plane and the odd ones the other, from column 0 and column 1 on
// (phaseSpan's first columns). Columns past a plane's width are not written.
func (s *shiftGeom) refillPairs(g *convGeom, x, buf []float32, a, r0, r1 int) {
	plane := s.pph * s.ppw
	be, bo := g.pl&1, (g.pl+1)&1 // the phases of the even and the odd columns
	ce0, ce1 := phaseSpan(2, be, g.pl, g.w, s.ppw)
	co0, co1 := phaseSpan(2, bo, g.pl, g.w, s.ppw)
	ne, no := ce1-ce0, co1-co0
	pairs := min(ne, no)
	for ci := 0; ci < g.c; ci++ {
		xc := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
		de := buf[ci*s.pp+(a*2+be)*plane:][:plane]
		do := buf[ci*s.pp+(a*2+bo)*plane:][:plane]
		for r := r0; r < r1; r++ {
			src := xc[(r*s.sh+a-g.pt)*g.w:][:g.w]
			e := de[r*s.ppw+ce0:][:max(ne, 0)]
			o := do[r*s.ppw+co0:][:max(no, 0)]
			k := 0
			if pairs > 0 {
				sp := src[:2*pairs]
				ep, op := e[:pairs], o[:pairs]
				for ; k < pairs; k++ {
					ep[k] = sp[2*k]
					op[k] = sp[2*k+1]
				}
			}
			for i := k; i < ne; i++ {
				e[i] = src[2*i]
			}
			for i := k; i < no; i++ {
				o[i] = src[2*i+1]
			}
		}
	}
}

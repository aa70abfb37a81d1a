package kernels

// Width-dilated int8 convolutions as undilated ones on the width phases
// (twentieth session). The implicit GEMM (convDirect) and the AMX rows path
// read KW·C contiguous bytes per kernel row, which holds only for DilW == 1;
// a convolution dilated in width (adaptive_odd's 3x3 of 16 channels with
// dilation 4, DeepLab-style context layers) went through the im2col source,
// C bytes per tap and pixel, which took 85 % of that layer's time.
//
// With stride 1 in width, output column x reads the padded input columns
// x + kw·d (d = DilW), all congruent to x modulo d. Output columns of phase
// b (x ≡ b mod d) therefore read only the padded columns of phase b, at the
// consecutive indices (x−b)/d + kw: an undilated convolution of the phase
// image. The d phases of every image are laid out as a batch of N·d images
// of ceil(OW/d)+KW−1 columns (the zero point where a column falls in the
// padding or past the input), convolved by QConv itself with DilW = 1 (the
// height padding, stride and dilation stay as they are), and the outputs
// are written back to their columns. The results are the same integer sums.

// dilatedWidthFits reports whether QConv runs s as width phases: not
// grouped (grouped and depthwise kernels take their dilation themselves),
// dilated in width, stride 1 in width, and at least 4 outputs per phase row
// (fewer and the phase rows are too short for the GEMM tiles).
func dilatedWidthFits(s ConvShape) bool {
	s = s.norm()
	return s.Groups == 1 && s.DilW > 1 && s.StrideW == 1 && (s.OutW()+s.DilW-1)/s.DilW >= 4
}

// dilatedWidthShape is the undilated convolution of the width phases of s:
// N·d images of ceil(OW/d)+KW−1 columns, padded in height as s.
func dilatedWidthShape(s ConvShape) ConvShape {
	s = s.norm()
	d := s.DilW
	ps := s
	ps.N = s.N * d
	ps.W = (s.OutW()+d-1)/d + s.KW - 1
	ps.PadLeft, ps.PadRight = 0, 0
	ps.DilW = 1
	return ps
}

// dilatedWidthConv computes QConv(s, ...) for a shape dilatedWidthFits takes.
func dilatedWidthConv(s ConvShape, in []int8, w *QConvWeights, out []int8, rq *Requant, threads int) {
	s = s.norm()
	d := s.DilW
	ps := dilatedWidthShape(s)
	oh, ow := s.OutH(), s.OutW()
	owb := ps.OutW()
	c, oc := s.C, s.OC
	z := int8(w.inZP)

	pb := getABuf(ps.N * ps.H * ps.W * c)
	defer abufPool.Put(pb)
	pin := *pb
	// phase image (n, b), row y, column j = input (n, y, b + d·j − PadLeft)
	parallelFor(ps.N*s.H, 8, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, y := r/s.H, r%s.H
			n, b := img/d, img%d
			src := in[(n*s.H+y)*s.W*c:]
			dst := pin[r*ps.W*c : (r+1)*ps.W*c]
			for j := 0; j < ps.W; j++ {
				px := dst[j*c : (j+1)*c]
				if x := b + d*j - s.PadLeft; x >= 0 && x < s.W {
					copy(px, src[x*c:(x+1)*c])
				} else {
					for i := range px {
						px[i] = z
					}
				}
			}
		}
	})

	ob := getABuf(ps.N * oh * owb * oc)
	defer abufPool.Put(ob)
	pout := *ob
	QConv(ps, pin, w, pout, rq, threads)

	// output (n, y, b + d·j) = phase output (n·d + b, y, j)
	parallelFor(s.N*oh, 8, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			dst := out[r*ow*oc : (r+1)*ow*oc]
			for b := 0; b < d; b++ {
				src := pout[((n*d+b)*oh+y)*owb*oc:]
				for j, x := 0, b; x < ow; j, x = j+1, x+d {
					copy(dst[x*oc:(x+1)*oc], src[j*oc:(j+1)*oc])
				}
			}
		}
	})
}

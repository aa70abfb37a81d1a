package kernels

import (
	"fmt"
	"sync"
)

// Conv3DShape describes a 3-D convolution on NDHWC int8 activations (video
// and volumetric networks). Zero strides, dilations and Groups mean 1.
type Conv3DShape struct {
	N, D, H, W, C             int
	OC                        int
	KD, KH, KW                int
	StrideD, StrideH, StrideW int
	// Pads: front (depth), top, left, then back, bottom, right.
	PadFront, PadTop, PadLeft, PadBack, PadBottom, PadRight int
	DilD, DilH, DilW                                        int
	Groups                                                  int
}

func (s Conv3DShape) norm() Conv3DShape {
	s.StrideD, s.StrideH, s.StrideW = max(s.StrideD, 1), max(s.StrideH, 1), max(s.StrideW, 1)
	s.DilD, s.DilH, s.DilW = max(s.DilD, 1), max(s.DilH, 1), max(s.DilW, 1)
	s.Groups = max(s.Groups, 1)
	return s
}

// Out returns the output depth, height and width (floor mode).
func (s Conv3DShape) Out() (od, oh, ow int) {
	s = s.norm()
	return outDim(s.D, s.PadFront, s.PadBack, s.KD, s.DilD, s.StrideD),
		outDim(s.H, s.PadTop, s.PadBottom, s.KH, s.DilH, s.StrideH),
		outDim(s.W, s.PadLeft, s.PadRight, s.KW, s.DilW, s.StrideW)
}

// Validate checks that the shape is consistent.
func (s Conv3DShape) Validate() error {
	if s.N <= 0 || s.D <= 0 || s.H <= 0 || s.W <= 0 || s.C <= 0 || s.OC <= 0 || s.KD <= 0 || s.KH <= 0 || s.KW <= 0 {
		return fmt.Errorf("kernels: bad 3-D conv shape %+v", s)
	}
	if min(s.StrideD, s.StrideH, s.StrideW, s.DilD, s.DilH, s.DilW, s.Groups) < 0 ||
		min(s.PadFront, s.PadTop, s.PadLeft, s.PadBack, s.PadBottom, s.PadRight) < 0 {
		return fmt.Errorf("kernels: negative stride/dilation/pad/groups in 3-D conv shape %+v", s)
	}
	n := s.norm()
	if n.C%n.Groups != 0 || n.OC%n.Groups != 0 {
		return fmt.Errorf("kernels: channels C=%d OC=%d not divisible by groups %d", n.C, n.OC, n.Groups)
	}
	if od, oh, ow := s.Out(); od <= 0 || oh <= 0 || ow <= 0 {
		return fmt.Errorf("kernels: 3-D conv kernel larger than padded input %+v", s)
	}
	return nil
}

// QConv3DWeights are 3-D convolution weights packed by PackQConv3D: the
// weights of the equivalent 2-D convolution over depth-stacked channels
// (see QConv3D), packed by PackQConv.
type QConv3DWeights struct {
	s     Conv3DShape
	inZP  int32
	conv2 *QConvWeights
}

// stacked2D is the 2-D convolution QConv3D runs: kd·C input channels (group
// by group: g, kt, ci), the height and width geometry of s.
func (s Conv3DShape) stacked2D(n, h, w int) ConvShape {
	return ConvShape{N: n, H: h, W: w, C: s.KD * s.C, OC: s.OC, KH: s.KH, KW: s.KW, StrideH: s.StrideH, StrideW: s.StrideW,
		PadTop: s.PadTop, PadLeft: s.PadLeft, PadBottom: s.PadBottom, PadRight: s.PadRight, DilH: s.DilH, DilW: s.DilW, Groups: s.Groups}
}

// PackQConv3D packs ONNX OIDHW weights w ([OC][C/Groups][KD][KH][KW], any
// int8 value, -128 included: see PackQConv) and an optional int32 bias (len OC) for QConv3D, folding the
// input zero point into the bias. Only the filter fields of s are bound.
func PackQConv3D(s Conv3DShape, w []int8, bias []int32, inZP int32) (*QConv3DWeights, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.norm()
	cg := s.C / s.Groups
	taps := s.KD * s.KH * s.KW
	kk := cg * taps
	if len(w) < s.OC*kk {
		return nil, fmt.Errorf("kernels.PackQConv3D: weights have %d values, want %d", len(w), s.OC*kk)
	}
	// OIDHW → O, (kt, ci), H, W: input channel kt·cg + ci of the group.
	hw := s.KH * s.KW
	w2 := make([]int8, s.OC*kk)
	for o := 0; o < s.OC; o++ {
		for ci := 0; ci < cg; ci++ {
			for kt := 0; kt < s.KD; kt++ {
				copy(w2[((o*s.KD+kt)*cg+ci)*hw:][:hw], w[((o*cg+ci)*s.KD+kt)*hw:][:hw])
			}
		}
	}
	f := s.stacked2D(1, (s.KH-1)*s.DilH+1, (s.KW-1)*s.DilW+1)
	f.PadTop, f.PadLeft, f.PadBottom, f.PadRight = 0, 0, 0, 0
	c2, err := PackQConv(f, w2, bias, inZP)
	if err != nil {
		return nil, fmt.Errorf("kernels.PackQConv3D: %w", err)
	}
	return &QConv3DWeights{s: s, inZP: inZP, conv2: c2}, nil
}

var stackPool = sync.Pool{New: func() any { return new([]int8) }}

// QConv3D computes an int8 NDHWC 3-D convolution: in is [N][D][H][W][C], out
// [N][OD][OH][OW][OC], out = requant(bias + Σ (in - inZP)·w) with padding
// equal to the input zero point. Output slice z of a kd x kh x kw convolution
// is the 2-D kh x kw convolution of the kd input planes it reads stacked as
// kd·C channels (the input zero point for a plane in the depth padding): so
// the slices of all images are one batch of the 2-D QConv, which runs its
// own paths (AMX rows, the implicit GEMM, the grouped and stem kernels) on
// it. A kernel of depth 1 without depth stride or padding (R(2+1)D's and
// MC3's (1,3,3) layers) is the 2-D convolution of the input itself, N·D
// images, with no copy. threads <= 0 means GOMAXPROCS.
func QConv3D(s Conv3DShape, in []int8, w *QConv3DWeights, out []int8, rq *Requant, threads int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	ws := w.s
	if s.C != ws.C || s.OC != ws.OC || s.KD != ws.KD || s.KH != ws.KH || s.KW != ws.KW || s.Groups != ws.Groups {
		panic("kernels.QConv3D: shape does not match the packed weights")
	}
	od, oh, ow := s.Out()
	if len(in) < s.N*s.D*s.H*s.W*s.C || len(out) < s.N*od*oh*ow*s.OC {
		panic(fmt.Sprintf("kernels.QConv3D: buffers too small for %+v", s))
	}
	threads = resolveThreads(threads)
	src := in[:s.N*s.D*s.H*s.W*s.C]
	if s.KD != 1 || s.StrideD != 1 || s.PadFront != 0 || s.PadBack != 0 {
		bp := stackPool.Get().(*[]int8)
		defer stackPool.Put(bp)
		size := s.N * od * s.H * s.W * s.KD * s.C
		if cap(*bp) < size {
			*bp = make([]int8, size)
		}
		src = (*bp)[:size]
		stackDepth(s, in, src, od, int8(w.inZP), threads)
	}
	QConv(s.stacked2D(s.N*od, s.H, s.W), src, w.conv2, out, rq, threads)
}

// stackDepth writes, for every output slice z of every image, the kd input
// planes its window reads as kd·C channels per pixel (group by group), the
// zero point for planes in the depth padding.
func stackDepth(s Conv3DShape, in, dst []int8, od int, zp int8, threads int) {
	plane := s.H * s.W
	c, kd := s.C, s.KD
	cg := c / s.Groups
	sc := kd * c
	parallelFor(s.N*od, 1, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, z := r/od, r%od
			d := dst[r*plane*sc : (r+1)*plane*sc]
			for kt := 0; kt < kd; kt++ {
				iz := z*s.StrideD - s.PadFront + kt*s.DilD
				if iz < 0 || iz >= s.D {
					for p := 0; p < plane; p++ {
						for g := 0; g < s.Groups; g++ {
							fill(d[p*sc+(g*kd+kt)*cg:][:cg], zp)
						}
					}
					continue
				}
				src := in[(n*s.D+iz)*plane*c : (n*s.D+iz+1)*plane*c]
				if s.Groups == 1 && c <= 4 {
					for p := 0; p < plane; p++ {
						dp, sp := d[p*sc+kt*c:p*sc+kt*c+c], src[p*c:p*c+c]
						for i := range dp {
							dp[i] = sp[i]
						}
					}
					continue
				}
				for p := 0; p < plane; p++ {
					for g := 0; g < s.Groups; g++ {
						copy(d[p*sc+(g*kd+kt)*cg:][:cg], src[p*c+g*cg:])
					}
				}
			}
		}
	})
}

// MaxI8 sets dst[i] = max(dst[i], src[i]) for i < len(dst) (src may be
// longer): the depth fold of a 3-D int8 max pool (AVX2 where available).
func MaxI8(dst, src []int8) {
	if len(src) < len(dst) {
		panic(fmt.Sprintf("kernels.MaxI8: src has %d elements, dst %d", len(src), len(dst)))
	}
	maxI8(dst, src[:len(dst)])
}

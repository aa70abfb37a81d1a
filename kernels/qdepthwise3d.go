package kernels

import "fmt"

// QDepthwise3D computes an int8 depthwise 3-D convolution (s.Groups == s.C,
// s.OC a multiple of s.C) on NDHWC activations: in is [N][D][H][W][C], out
// [N][OD][OH][OW][OC], out = requant(bias + Σ (in − inZP)·w), the padding
// equal to the input zero point. w are the weights packed by PackQConv for
// the 2-D depthwise convolution of KD·KH kernel rows of KW taps (ConvShape
// {C, OC, KH: KD·KH, KW: KW, Groups: C}: ONNX's [OC][1][KD][KH][KW] order is
// that 2-D one's). It reports false, writing nothing, where it has no path
// for the shape (the AVX-512 VNNI one only, depthwise3DVNNI; not for one
// channel, which PackQConv does not pack as depthwise): the caller then runs
// the convolution otherwise.
func QDepthwise3D(s Conv3DShape, in []int8, w *QConvWeights, out []int8, rq *Requant, threads int) bool {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	ws := w.s
	if s.Groups != s.C || s.C != ws.C || s.OC != ws.OC || ws.KH != s.KD*s.KH || ws.KW != s.KW || ws.Groups != s.C {
		panic(fmt.Sprintf("kernels.QDepthwise3D: shape %+v does not match the packed weights %+v", s, ws))
	}
	od, oh, ow := s.Out()
	if len(in) < s.N*s.D*s.H*s.W*s.C || len(out) < s.N*od*oh*ow*s.OC {
		panic(fmt.Sprintf("kernels.QDepthwise3D: buffers too small for %+v", s))
	}
	if int8Path != isaVNNI || w.dw == nil {
		return false
	}
	return depthwise3DVNNI(s, in, w.dw, out, rq.expand(s.OC), resolveThreads(threads))
}

package runtime

// 1x1 + depthwise fusion of the channels-last float32 chains: the other half
// of an inverted-residual block (fuse_dw_pw.go is the depthwise + projection
// half). The 1x1 expansion writes the block's widest tensor (MobileNetV2's
// first block: 112x112x96, 4.8 MB) only for the depthwise convolution to read
// it back. Fused, the expansion computes just the input rows the next band of
// depthwise output rows needs, into a slab that stays in L2 (the rows the
// previous band also read are kept, so each row is computed once per run of
// bands), and the depthwise convolution (and the projection, when that is
// fused too) runs on the slab as on a small image whose top and bottom
// padding place it in the full one. Every value is computed with the same
// arithmetic as by the steps apart.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// expandDWSlabBytes bounds the slab of expanded input rows of one band. At
// 160 KB the per-band overhead (many small GEMM calls, the halo rows) ate the
// gain on MobileNetV2; 384 KB saved about 5 % of its CPU time, 640 KB 6-8 %
// (1 thread, loaded machine, fusion on/off interleaved in one process).
const expandDWSlabBytes = 640 << 10

// expandDWKernel is a pointwise Conv whose output only a fused depthwise +
// projection step reads. Its inputs are the 1x1 step's (nPre of them), then
// the depthwise step's with the first (the expanded tensor) absent, then the
// projection's (after its absent first).
type expandDWKernel struct {
	pre  *rowsConvKernel
	nPre int
	next *dwPointwiseKernel
}

// fuseExpandDepthwise merges each pointwise channels-last step with the
// depthwise + projection step that alone reads its output (after
// fuseDepthwisePointwise). A depthwise step without a fused projection (its
// output also feeds a squeeze-excite pool) is not banded: there the fusion
// saved nothing at one thread (EfficientNet-B0: about 2 % more CPU time with
// it, within the noise of the loaded machine), while MobileNetV2, all of
// whose blocks have the projection fused, took 10 % less; such steps are
// fused only for the channel-block split of small maps above one thread
// (fuse_expand_dw_se.go).
func (s *Session) fuseExpandDepthwise() {
	if s.cfg.skipFusions&fuseExpandDW != 0 {
		return
	}
	producer := s.stepProducers()
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		next, ok := st.kernel.(*dwPointwiseKernel)
		if !ok || !next.dw.inNHWC || len(st.in) == 0 || st.in[0] < 0 {
			continue
		}
		mid := st.in[0]
		i, ok := producer[mid]
		if !ok || i >= j || removed[i] || s.keep[mid] || len(readers[mid]) != 1 || slices.Index(st.in[1:], mid) >= 0 {
			continue
		}
		pre, ok := s.steps[i].kernel.(*rowsConvKernel)
		if !ok || !pre.inNHWC || !pre.outNHWC || pre.kh != 1 || pre.kw != 1 || pre.residual || pre.m != next.dw.c || len(s.steps[i].out) != 1 {
			continue
		}
		in := append(append([]int(nil), s.steps[i].in...), st.in...)
		in[len(s.steps[i].in)] = -1
		s.steps[j] = step{node: st.node, kernel: &expandDWKernel{pre: pre, nPre: len(s.steps[i].in), next: next}, in: in, out: st.out}
		removed[i] = true
	}
	s.dropSteps(removed)
	// The depthwise steps left without a projection (squeeze-excite blocks).
	s.fuseExpandDepthwiseSE() // fuse_expand_dw_se.go
}

func (k *expandDWKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nPre+1 {
		return nil, fmt.Errorf("pointwise+depthwise Conv: got %d inputs", len(in))
	}
	dw, pw := k.next.dw, k.next.pw
	preIn, nextIn := in[:k.nPre], slices.Clone(in[k.nPre:])
	apart := func() ([]*graph.Tensor, error) {
		mid, err := k.pre.Run(ctx, preIn)
		if err != nil {
			return nil, err
		}
		nextIn[0] = mid[0]
		return k.next.Run(ctx, nextIn)
	}
	x0, n, h, w, sx0, ok, err := expansionInput(k.pre, preIn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return apart()
	}
	sp := pixelStride(k.pre.m)
	// The depthwise step's geometry, on a header of the expanded tensor.
	nextIn[0] = &graph.Tensor{DType: graph.Float32, Shape: []int{n, h, w, sp}}
	if len(nextIn) < k.next.nDW+1 {
		return nil, fmt.Errorf("pointwise+depthwise Conv: got %d inputs", len(in))
	}
	_, cs, dwOut, _, err := dw.geometry(nextIn[:k.next.nDW])
	if err != nil {
		return nil, err
	}
	oh, ow := dwOut[2], dwOut[3]
	khe := cs.DilH*(cs.KH-1) + 1
	// Bands of depthwise output rows whose input rows fit the slab.
	rowBytes := 4 * w * sp
	bh := max(1, (expandDWSlabBytes/rowBytes-khe)/cs.StrideH+1)
	bands := (oh + bh - 1) / bh
	threads := max(1, ctx.Threads)
	chanBlock := 0
	if threads > 1 && n*bands < 4*threads {
		// Too few bands to share: split by blocks of expanded channels
		// (fuse_expand_dw_chan.go) where there are enough, else each image
		// into up to four bands per thread, as many as keep the expansion
		// rows they recompute at the band edges (khe - stride per edge) a
		// small part of the input's rows; else the three steps run apart,
		// each split on its own.
		if chanBlock = k.expandChannelBlock(n, threads); chanBlock == 0 {
			for _, want := range []int{4 * threads, 2 * threads, threads} {
				per := (want + n - 1) / n
				bh = (oh + per - 1) / per
				bands = (oh + bh - 1) / bh
				if n*bands >= threads && (bands-1)*max(0, khe-cs.StrideH) <= h*15/100 {
					break
				}
			}
			if n*bands < threads || (bands-1)*max(0, khe-cs.StrideH) > h*15/100 {
				return apart()
			}
		}
	}
	if n*oh*ow == 0 {
		return apart()
	}
	// The projection's operands.
	sm := pixelStride(dw.m)
	pin := append([]*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, sm}}}, nextIn[k.next.nDW+1:]...)
	if len(pin) < pw.nConvIn || pin[1] != pw.conv.wConst || optInput(pin[:pw.nConvIn], 2) != pw.conv.bConst {
		return nil, fmt.Errorf("pointwise+depthwise Conv: projection inputs are not the planned ones")
	}
	g2, _, err := pw.conv.shapes(&graph.Tensor{DType: graph.Float32, Shape: []int{n, pw.c, oh, ow}}, pin[1], optInput(pin[:pw.nConvIn], 2), 1, false)
	if err != nil {
		return nil, err
	}
	if !pw.conv.plan([]int{oh, ow}, g2).pointwise {
		return apart()
	}
	so := pixelStride(pw.m)
	var res []float32
	if pw.residual {
		r := pin[pw.nConvIn]
		if r == nil || r.DType != graph.Float32 || !slices.Equal(r.Shape, []int{n, oh, ow, so}) {
			return nil, fmt.Errorf("pointwise+depthwise Conv: residual does not match the output [%d %d %d %d]", n, oh, ow, so)
		}
		res = r.F32()
	}
	y := ctx.AllocF32(n * oh * ow * so)
	xd := x0.F32()
	if chanBlock > 0 {
		k.runChannels(xd, sx0, cs, oh, ow, chanBlock, y, so, res, threads)
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	slabRows := (bh-1)*cs.StrideH + khe
	run := func(lo, hi int) {
		slab := getF32(slabRows * w * sp)
		defer putF32(slab)
		// Six rows of slack: the GEMM's last row tile reads them in place.
		band := getF32((bh*ow + 6) * sm)
		defer putF32(band)
		clear((*band)[bh*ow*sm:])
		sa, sb, simg := 0, 0, -1 // input rows [sa, sb) of image simg are in the slab
		for it := lo; it < hi; it++ {
			img, y0 := it/bands, it%bands*bh
			y1 := min(oh, y0+bh)
			top := y0*cs.StrideH - cs.PadTop // input row of the band's first tap
			a, b := max(0, top), min(h, (y1-1)*cs.StrideH-cs.PadTop+khe)
			b = max(a, b)
			if img == simg && a >= sa && a < sb {
				copy(*slab, (*slab)[(a-sa)*w*sp:(sb-sa)*w*sp])
				sa = a
			} else {
				sa, sb, simg = a, a, img
			}
			if b > sb {
				k.pre.gemm(xd[(img*h+sb)*w*sx0:], sx0, k.pre.ident, (b-sb)*w, (*slab)[(sb-sa)*w*sp:], sp, nil, false, 1)
				sb = b
			}
			// The slab is an image of rows [a, b) whose padding puts it in
			// the full one.
			sub := cs
			sub.N, sub.H = 1, b-a
			sub.PadTop = a - top
			sub.PadBottom = (y1-y0-1)*cs.StrideH + khe - sub.H - sub.PadTop
			d := kernels.NewDWRowsF32Padded(sub, dw.pw, (*slab)[:max(1, sub.H*w*sp)], sp, sm, dw.ep)
			d.Rows(0, 0, y1-y0, *band)
			d.Release()
			q0 := (img*oh + y0) * ow * so
			var rb []float32
			if res != nil {
				rb = res[q0:]
			}
			pw.gemm(*band, sm, pw.ident, (y1-y0)*ow, y[q0:], so, rb, false, 1)
		}
	}
	if threads == 1 {
		run(0, n*bands)
	} else {
		kernels.ParallelRange(n*bands, 1, threads, run)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
}

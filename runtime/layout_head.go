package runtime

// Detection heads (YOLOv5/v7 Detect, fifteenth session). torch.onnx writes
// each output scale as Conv → Reshape [N, A·K, H, W] → [N, A, K, H, W] →
// Transpose (0, 1, 3, 4, 2) → Sigmoid: the convolution's A anchors of K
// values each moved to the last axis. Run as exported, the layout pass ended
// the channels-last chain at the Conv (its NCHW store transposed the whole
// map), the Transpose transposed it back, and the Sigmoid made a third pass:
// on YOLOv5s at 640² the 80x80 scale's Conv took 5.4 ms of step CPU time
// (its GEMM 2.2), the Transpose 1.8 and the Sigmoid 0.9 (1 thread).
//
// fuseHeadSplits makes the Reshape, the Transpose and a following Sigmoid
// (when it is the Transpose's only reader) one headSplitKernel step. The
// layout pass lets it read the convolution's channels-last output, where
// the Transpose is a gather of contiguous runs: output row (a, pixel) is
// input pixel's channels [a·K, a·K+K). The Sigmoid runs on each block of
// output rows right after it is written, while it is in L1/L2.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// headSplitKernel maps a rank-4 [N, A·K, H, W] tensor to [N, A, H, W, K]
// (out[n, a, y, x, k] = in[n, a·K+k, y, x]) and applies act (ActNone or
// ActSigmoid) to it. The input is NCHW, or channels-last at the pixel stride
// of A·K when nhwc.
type headSplitKernel struct {
	a, k int
	act  kernels.Act
	nhwc bool
}

// headSplitBlock is the number of output rows of K floats written before
// the activation runs over them: 256 rows of 85 floats (87 KB) stay in L2.
const headSplitBlock = 256

func (h *headSplitKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("head split: no input")
	}
	c := h.a * h.k
	var (
		xd        []float32
		n, hh, ww int
		sx        int // pixel stride (nhwc) or 0
		plane     int
	)
	if h.nhwc {
		x, st, err := channelsLastInput(in[:1], c)
		if err != nil {
			return nil, fmt.Errorf("channels-last head split: %w", err)
		}
		xd, n, hh, ww, sx = x.F32(), x.Shape[0], x.Shape[1], x.Shape[2], st
	} else {
		x := in[0]
		if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[1] != c {
			return nil, fmt.Errorf("head split: input %s %v, want float32 [N, %d, H, W]", x.DType, x.Shape, c)
		}
		xd, n, hh, ww = x.F32(), x.Shape[0], x.Shape[2], x.Shape[3]
	}
	plane = hh * ww
	y := ctx.AllocF32(n * c * plane)
	for img := 0; img < n; img++ {
		if h.nhwc {
			h.splitNHWC(xd[img*plane*sx:], sx, y, img, plane, 0, plane, ctx.Threads)
			continue
		}
		h.splitNCHW(xd[img*c*plane:], y, img, plane, ctx.Threads)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h.a, hh, ww, h.k}, Data: y}}, nil
}

// splitNHWC writes pixels [p0, p1) of image img, channels-last at pixel
// stride sx in src (src[0] is pixel p0's first channel), to y ([N, A,
// plane, K]), applying the activation to each block of rows after writing it.
func (h *headSplitKernel) splitNHWC(src []float32, sx int, y []float32, img, plane, p0, p1, threads int) {
	blocks := (p1 - p0 + headSplitBlock - 1) / headSplitBlock
	nnParallel(memPassThreads(threads, (p1-p0)*h.a*h.k), h.a*blocks, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			a, b := it/blocks, it%blocks
			q0 := p0 + b*headSplitBlock
			q1 := min(p1, q0+headSplitBlock)
			dst := y[((img*h.a+a)*plane+q0)*h.k : ((img*h.a+a)*plane+q1)*h.k]
			s := src[(q0-p0)*sx+a*h.k:]
			for p := 0; p < q1-q0; p++ {
				copy(dst[p*h.k:(p+1)*h.k], s[p*sx:])
			}
			if h.act != kernels.ActNone {
				kernels.ActF32(h.act, dst, dst)
			}
		}
	})
}

// splitNCHW writes image img of the NCHW x (x[0] is its first element) to y.
func (h *headSplitKernel) splitNCHW(x, y []float32, img, plane, threads int) {
	blocks := (plane + headSplitBlock - 1) / headSplitBlock
	nnParallel(memPassThreads(threads, plane*h.a*h.k), h.a*blocks, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			a, b := it/blocks, it%blocks
			p0 := b * headSplitBlock
			p1 := min(plane, p0+headSplitBlock)
			dst := y[((img*h.a+a)*plane+p0)*h.k : ((img*h.a+a)*plane+p1)*h.k]
			// dst[p][k] = x[a·K+k][p]: a transposition of the K × (p1-p0) block.
			transposeBlockF32(x[a*h.k*plane+p0:], plane, dst, h.k, h.k, p1-p0)
			if h.act != kernels.ActNone {
				kernels.ActF32(h.act, dst, dst)
			}
		}
	})
}

// fuseHeadSplits replaces each Reshape [N, C, H, W] → [N, A, K, H, W]
// (static A and K, A·K = C) read only by a Transpose (0, 1, 3, 4, 2), and
// the Sigmoid that is the Transpose's only reader if there is one, by one
// headSplitKernel step (NCHW; the layout pass may make it read channels-
// last). Intermediates that are kept (graph outputs, taps) stop the fusion.
func (s *Session) fuseHeadSplits() {
	shape := s.float32Shapes()
	readers := s.stepReaders()
	sole := func(id int) (int, bool) {
		r := readers[id]
		if len(r) != 1 || s.keep[id] {
			return 0, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		if removed[i] || !isOp(st.node, "Reshape") || len(st.in) < 1 || len(st.out) != 1 || st.in[0] < 0 || st.out[0] < 0 {
			continue
		}
		xs, ms := shape(st.in[0]), shape(st.out[0])
		if len(xs) != 4 || len(ms) != 5 || !xs[1].Known() || !ms[1].Known() || !ms[2].Known() ||
			ms[1].Size < 1 || ms[2].Size < 1 || ms[1].Size*ms[2].Size != xs[1].Size ||
			!sameStaticDims(xs[:1], ms[:1]) || !sameStaticDims(xs[2:], ms[3:]) {
			continue
		}
		j, ok := sole(st.out[0])
		if !ok || j <= i || !isOp(s.steps[j].node, "Transpose") || len(s.steps[j].in) != 1 || len(s.steps[j].out) != 1 || s.steps[j].out[0] < 0 ||
			!slices.Equal(s.steps[j].node.AttrInts("perm", nil), []int64{0, 1, 3, 4, 2}) {
			continue
		}
		hk := &headSplitKernel{a: ms[1].Size, k: ms[2].Size}
		last, out := j, s.steps[j].out[0]
		if l, ok := sole(out); ok && l > j && isOp(s.steps[l].node, "Sigmoid") && len(s.steps[l].in) == 1 && len(s.steps[l].out) == 1 && s.steps[l].out[0] >= 0 {
			if ys := shape(s.steps[l].out[0]); len(ys) == 5 {
				hk.act, last, out = kernels.ActSigmoid, l, s.steps[l].out[0]
				removed[j] = true
			}
		}
		removed[i] = true
		s.steps[last] = step{node: s.steps[j].node, kernel: hk, in: []int{st.in[0]}, out: []int{out}}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// fuseConvHeadSplits gives each channels-last headSplitKernel whose input is
// a channels-last convolution's output, read by nothing else, to that
// convolution (rowsConvKernel.split): a 1x1 one then moves each band of its
// output from L2 to the head's layout (pointwiseSplit) instead of the whole
// map going to memory and back (YOLOv5s's 80x80 head: 6.5 MB each way).
func (s *Session) fuseConvHeadSplits() {
	readers := s.stepReaders()
	producers := s.stepProducers()
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		hk, ok := st.kernel.(*headSplitKernel)
		if !ok || !hk.nhwc || len(st.in) != 1 || st.in[0] < 0 || len(st.out) != 1 || s.keep[st.in[0]] || len(readers[st.in[0]]) != 1 {
			continue
		}
		ci, ok := producers[st.in[0]]
		if !ok || ci >= i || len(s.steps[ci].out) != 1 {
			continue
		}
		rk, ok := s.steps[ci].kernel.(*rowsConvKernel)
		if !ok || !rk.outNHWC || rk.residual || rk.view != nil || rk.split != nil || rk.m != hk.a*hk.k {
			continue
		}
		fused := *rk
		fused.split = hk
		s.steps[ci].kernel = &fused
		s.steps[ci].out = []int{st.out[0]}
		removed[i] = true
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// pointwiseSplit runs a 1x1 convolution of a channels-last input (pixel
// stride sx, n images of oh×ow pixels) with its head split, band of pixels
// by band: each band's channels-last rows (pixel stride so) are computed
// into a scratch buffer that stays in L2 and split from there.
func (k *rowsConvKernel) pointwiseSplit(ctx *ExecContext, xd []float32, sx, n, oh, ow, so int) []*graph.Tensor {
	h, plane := k.split, oh*ow
	y := ctx.AllocF32(n * k.m * plane)
	band := nchwBandPixels(plane, so) // conv_rows_nchw.go
	buf := getF32(band * so)
	defer putF32(buf)
	for img := 0; img < n; img++ {
		for p0 := 0; p0 < plane; p0 += band {
			rows := min(band, plane-p0)
			k.gemm(xd[(img*plane+p0)*sx:], sx, k.ident, rows, *buf, so, nil, false, ctx.Threads)
			h.splitNHWC(*buf, so, y, img, plane, p0, p0+rows, ctx.Threads)
		}
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h.a, oh, ow, h.k}, Data: y}}
}

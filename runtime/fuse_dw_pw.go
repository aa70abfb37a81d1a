package runtime

// Depthwise + pointwise fusion of the channels-last float32 chains. In an
// inverted-residual block (MobileNet v2/v3, EfficientNet, MnasNet, ...) the
// depthwise convolution's output has the block's expanded channel count and
// its only reader is the 1x1 projection: written to memory whole (4.8 MB for
// MobileNetV2's first 112x112 block, beyond L2) and read back. Here the pair
// is one step: the depthwise convolution computes a band of output rows into
// a buffer that stays in L2 (kernels.DWRowsF32) and the 1x1 convolution's GEMM
// (with its bias, residual and clamp) runs on the band at once, so the
// intermediate tensor never exists. Band by band, each output value is
// computed with the same arithmetic as by the two steps apart.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// dwPWBandBytes bounds one band of the depthwise output (the GEMM's A), so
// that it stays in L2 (1 MB on the Zen 4 this was measured on) with the
// depthwise input rows and the GEMM's weights. 96, 256 and 512 KB gave the
// same MobileNetV2 CPU time within the noise of a loaded machine; larger
// bands mean fewer, larger GEMM calls.
const dwPWBandBytes = 256 << 10

// dwPointwiseKernel is a channels-last depthwise Conv followed by the 1x1 Conv
// that is the sole reader of its output. Its inputs are the depthwise step's
// (nDW of them) then the 1x1 step's, whose first (the intermediate) is absent.
type dwPointwiseKernel struct {
	dw  *dwRowsKernel
	pw  *rowsConvKernel
	nDW int
}

// bandFusions names the fusions of a channels-last chain that run steps band
// by band; tests compare each with its steps apart (withoutFusions).
type bandFusions uint8

const (
	fuseDWPW     bandFusions = 1 << iota // depthwise + projection (this file)
	fuseExpandDW                         // expansion + depthwise + projection (fuse_expand_dw.go)
	fuseGatePW                           // squeeze-excite gate + projection (fuse_gate_pw.go)
	fuseConvHSig                         // convolution + HardSigmoid (fuse_conv_hsig.go)
	fuseCTClamp                          // ConvTranspose + Relu/Clip (fuse_convtranspose_clamp.go)
)

// withoutFusions leaves the given fusions out of a session's plan.
func withoutFusions(f bandFusions) Option { return func(c *config) { c.skipFusions |= f } }

// fuseDepthwisePointwise merges each channels-last depthwise step with the
// pointwise step that alone reads its output (run after planChannelsLast,
// before buffer lifetimes are planned). The fused step takes the pointwise
// step's place, where all of its inputs are ready.
func (s *Session) fuseDepthwisePointwise() {
	if s.cfg.skipFusions&fuseDWPW != 0 {
		return
	}
	s.fuseIntoSoleReader(func(i, j int) Kernel {
		dw, ok := s.steps[i].kernel.(*dwRowsKernel)
		if !ok || !dw.outNHWC {
			return nil
		}
		pw, ok := s.steps[j].kernel.(*rowsConvKernel)
		if !ok || !pw.inNHWC || !pw.outNHWC || pw.kh != 1 || pw.kw != 1 || pw.c != dw.m {
			return nil
		}
		return &dwPointwiseKernel{dw: dw, pw: pw, nDW: len(s.steps[i].in)}
	})
}

// fuseIntoSoleReader merges each step i of one output with the later step j
// that alone reads that output, once, as its first input, when fuse(i, j)
// returns their merged kernel (nil: not these two). The merged step takes
// j's place, where all of its inputs are ready; its inputs are i's, then j's
// with the first (the intermediate, never written) absent.
func (s *Session) fuseIntoSoleReader(fuse func(i, j int) Kernel) {
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		if len(st.out) != 1 || st.out[0] < 0 || s.keep[st.out[0]] {
			continue
		}
		mid := st.out[0]
		r := readers[mid]
		if len(r) != 1 || r[0] <= i {
			continue
		}
		j := r[0]
		jin := s.steps[j].in
		if len(jin) == 0 || jin[0] != mid || slices.Index(jin[1:], mid) >= 0 {
			continue
		}
		k := fuse(i, j)
		if k == nil {
			continue
		}
		in := append(append([]int(nil), st.in...), jin...)
		in[len(st.in)] = -1
		s.steps[j] = step{node: s.steps[j].node, kernel: k, in: in, out: s.steps[j].out}
		removed[i] = true
	}
	s.dropSteps(removed)
}

// stepReaders maps each slot to the steps that read it, in order.
func (s *Session) stepReaders() map[int][]int {
	readers := map[int][]int{}
	for i, st := range s.steps {
		for _, id := range st.in {
			if id >= 0 {
				readers[id] = append(readers[id], i)
			}
		}
	}
	return readers
}

// stepProducers maps each slot to the step that writes it.
func (s *Session) stepProducers() map[int]int {
	producer := map[int]int{}
	for i, st := range s.steps {
		for _, id := range st.out {
			if id >= 0 {
				producer[id] = i
			}
		}
	}
	return producer
}

// dropSteps removes the steps marked in removed.
func (s *Session) dropSteps(removed []bool) {
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

func (k *dwPointwiseKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nDW+k.pw.nConvIn {
		return nil, fmt.Errorf("depthwise+pointwise Conv: got %d inputs", len(in))
	}
	x, cs, dwOut, sx, err := k.dw.geometry(in[:k.nDW])
	if err != nil {
		return nil, err
	}
	n, oh, ow := cs.N, dwOut[2], dwOut[3]
	sm := pixelStride(k.dw.m)
	mid := &graph.Tensor{DType: graph.Float32, Shape: []int{n, oh, ow, sm}}
	pin := append([]*graph.Tensor{mid}, in[k.nDW+1:]...)
	w, b := pin[1], optInput(pin[:k.pw.nConvIn], 2)
	if w != k.pw.conv.wConst || b != k.pw.conv.bConst {
		return nil, fmt.Errorf("depthwise+pointwise Conv: inputs are not the planned ones")
	}
	geom, outShape, err := k.pw.conv.shapes(&graph.Tensor{DType: graph.Float32, Shape: []int{n, k.pw.c, oh, ow}}, w, b, 1, false)
	if err != nil {
		return nil, err
	}
	so := pixelStride(k.pw.m)
	rows := ow * sm
	bh := max(1, dwPWBandBytes/(4*rows))
	bands := (oh + bh - 1) / bh
	threads := max(1, ctx.Threads)
	if threads > 1 && n*bands < 4*threads {
		// Narrower bands cost nothing here (no rows are recomputed): four
		// per thread, as ParallelRange deals them.
		per := (4*threads + n - 1) / n
		bh = max(1, (oh+per-1)/per)
		bands = (oh + bh - 1) / bh
	}
	if n*oh*ow == 0 || !k.pw.conv.plan([]int{oh, ow}, geom).pointwise || threads > 1 && n*bands < 2*threads {
		// Apart: the 1x1 Conv is not pointwise after all, or there are too
		// few bands for the threads (each band runs on one).
		mid.Data = []float32{}
		var tmp *[]float32
		if n*oh*ow > 0 {
			tmp = getF32(n * oh * ow * sm)
			defer putF32(tmp)
			mid.Data = *tmp
			kernels.DepthwiseF32Padded(cs, k.dw.pw, x.F32(), sx, *tmp, sm, k.dw.ep, ctx.Threads)
		}
		return k.pw.Run(ctx, pin)
	}
	var res []float32
	if k.pw.residual {
		r := pin[k.pw.nConvIn]
		want := []int{n, oh, ow, so}
		if r == nil || r.DType != graph.Float32 || !slices.Equal(r.Shape, want) {
			return nil, fmt.Errorf("depthwise+pointwise Conv: residual does not match the output %v", outShape)
		}
		res = r.F32()
	}
	y := ctx.AllocF32(n * oh * ow * so)
	xd := x.F32()
	run := func(lo, hi int) {
		d := kernels.NewDWRowsF32Padded(cs, k.dw.pw, xd, sx, sm, k.dw.ep)
		defer d.Release()
		// Six rows of slack: the GEMM's last row tile reads them in place.
		buf := getF32((bh*ow + 6) * sm)
		defer putF32(buf)
		clear((*buf)[bh*ow*sm:])
		for it := lo; it < hi; it++ {
			img, y0 := it/bands, it%bands*bh
			y1 := min(oh, y0+bh)
			d.Rows(img, y0, y1, *buf)
			q0 := (img*oh + y0) * ow * so
			var rb []float32
			if res != nil {
				rb = res[q0:]
			}
			k.pw.gemm(*buf, sm, k.pw.ident, (y1-y0)*ow, y[q0:], so, rb, false, 1)
		}
	}
	if threads == 1 {
		run(0, n*bands)
	} else {
		kernels.ParallelRange(n*bands, 1, threads, run)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
}

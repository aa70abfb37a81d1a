package runtime

// Expansion + depthwise fusion of the squeeze-excite blocks (EfficientNet,
// MobileNetV3), on small maps above one thread. There the depthwise output
// has two readers, the global pool and the gate, so the projection is not
// fused (fuse_expand_dw.go) and the expansion and the depthwise convolution
// ran as two parallel calls, the depthwise one split in row chunks: on a 7x7
// map seven chunks of one row, 4:3 between two threads at best. Fused, a work
// item is a block of expanded channels of one image (expandDWBlocks): the
// expansion's columns of the block into a slab of its own, then the
// depthwise convolution of those channels into the output. One call instead
// of two, no expanded tensor written and read back, and more, equal items.
// At one thread, or on larger maps (where the earlier measurement found the
// fusion saved nothing at one thread), the two steps run apart as before.
// Every value is computed with the same arithmetic as by the steps apart.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// expandDWSEKernel is a channels-last pointwise Conv whose output only a
// channels-last depthwise Conv reads. Its inputs are the 1x1 step's (nPre of
// them), then the depthwise step's with the first (the expanded tensor)
// absent.
type expandDWSEKernel struct {
	pre  *rowsConvKernel
	nPre int
	dw   *dwRowsKernel
}

// fuseExpandDepthwiseSE merges each pointwise channels-last step with the
// depthwise step that alone reads its output and that no projection was
// fused into (run after fuseExpandDepthwise).
func (s *Session) fuseExpandDepthwiseSE() {
	if s.cfg.skipFusions&fuseExpandDW != 0 {
		return
	}
	s.fuseIntoSoleReader(func(i, j int) Kernel {
		pre, ok := s.steps[i].kernel.(*rowsConvKernel)
		if !ok || !pre.inNHWC || !pre.outNHWC || pre.kh != 1 || pre.kw != 1 || pre.residual {
			return nil
		}
		dw, ok := s.steps[j].kernel.(*dwRowsKernel)
		if !ok || !dw.inNHWC || !dw.outNHWC || dw.m != dw.c || pre.m != dw.c {
			return nil
		}
		return &expandDWSEKernel{pre: pre, nPre: len(s.steps[i].in), dw: dw}
	})
}

// expandSESmallMap is the largest output height, per thread, on which the
// fused step splits by channel blocks: up to two rows per row chunk of the
// depthwise convolution (14x14 and 7x7 maps at two threads).
const expandSESmallMap = 8

func (k *expandDWSEKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nPre+1 {
		return nil, fmt.Errorf("pointwise+depthwise Conv: got %d inputs", len(in))
	}
	preIn, dwIn := in[:k.nPre], slices.Clone(in[k.nPre:])
	apart := func() ([]*graph.Tensor, error) {
		mid, err := k.pre.Run(ctx, preIn)
		if err != nil {
			return nil, err
		}
		dwIn[0] = mid[0]
		return k.dw.Run(ctx, dwIn)
	}
	threads := max(1, ctx.Threads)
	if threads == 1 {
		return apart()
	}
	x0, n, h, w, sx0, ok, err := expansionInput(k.pre, preIn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return apart()
	}
	dwIn[0] = &graph.Tensor{DType: graph.Float32, Shape: []int{n, h, w, pixelStride(k.pre.m)}}
	_, cs, dwOut, _, err := k.dw.geometry(dwIn)
	if err != nil {
		return nil, err
	}
	oh, ow := dwOut[2], dwOut[3]
	bw := expandBlockWidth(k.pre, k.dw, n, threads)
	if bw == 0 || oh > expandSESmallMap*threads || n*oh*ow == 0 {
		return apart()
	}
	sm := pixelStride(k.dw.m)
	y := ctx.AllocF32(n * oh * ow * sm)
	expandDWBlocks(k.pre, k.dw, x0.F32(), sx0, cs, oh, ow, bw, y, threads)
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, sm}, Data: y}}, nil
}

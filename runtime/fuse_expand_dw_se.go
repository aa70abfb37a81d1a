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
// fusion saved nothing at one thread), the two steps are not fused.
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
	// pool is the block's global average pool of the depthwise output,
	// folded in (its output is the step's second): a block of channels
	// sums its pixels while they are in cache, which saves the pool's own
	// parallel call, 20-30 µs on these maps with a caller share of 77-90 %.
	pool *nhwcGlobalPoolKernel
}

// fuseExpandDepthwiseSE merges each pointwise channels-last step with the
// depthwise step that alone reads its output and that no projection was
// fused into (run after fuseExpandDepthwise), where two threads would split
// it by channel blocks: a small map (at most expandSESmallMap·2 output rows)
// of static shape. The plan does not depend on the thread count (the
// per-step tools compare 1 and 2 threads step by step); at one thread such a
// step runs its two halves apart. Larger maps are not fused: run apart
// inside one step, the expanded tensor is a buffer no slot holds, kept for
// the rest of the run instead of recycled while still in cache (1-thread CPU
// time of EfficientNet-B0's fused steps 5-7 % above the steps apart when
// every block was fused; measured before arena_sweep.go gave such buffers
// back after the step, so worth measuring again).
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
		k := &expandDWSEKernel{pre: pre, nPre: len(s.steps[i].in), dw: dw}
		if len(s.steps[j].out) != 1 || s.steps[j].out[0] < 0 {
			return nil
		}
		v := s.model.Graph.Values[s.nameOf(s.steps[j].out[0])]
		if v == nil || !v.HasShape || len(v.Shape) != 4 {
			return nil
		}
		shape, ok := v.Shape.Concrete()
		if !ok || shape[2] > 2*expandSESmallMap || expandBlockWidth(pre, dw, shape[0], 2) == 0 {
			return nil
		}
		return k
	})
	// Fold the squeeze-excite pool of each fused step's output into it.
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		k, ok := st.kernel.(*expandDWSEKernel)
		if !ok || len(st.out) != 1 || st.out[0] < 0 {
			continue
		}
		for _, p := range readers[st.out[0]] {
			pk, ok := s.steps[p].kernel.(*nhwcGlobalPoolKernel)
			if ok && p > j && !pk.isMax && pk.c == k.dw.m && len(s.steps[p].in) == 1 && len(s.steps[p].out) == 1 && s.steps[p].out[0] >= 0 {
				k.pool = pk
				s.steps[j].out = append(append([]int(nil), st.out...), s.steps[p].out[0])
				removed[p] = true
				break
			}
		}
	}
	s.dropSteps(removed)
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
		out, err := k.dw.Run(ctx, dwIn)
		if err != nil || k.pool == nil {
			return out, err
		}
		pooled, err := k.pool.Run(ctx, out[:1])
		if err != nil {
			return nil, err
		}
		return append(out, pooled...), nil
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
	var sums []float64
	if k.pool != nil {
		sums = make([]float64, n*k.dw.m)
	}
	expandDWBlocks(k.pre, k.dw, x0.F32(), sx0, cs, oh, ow, bw, y, sums, threads)
	out := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, sm}, Data: y}}
	if k.pool != nil {
		pooled := graph.NewTensor(graph.Float32, []int{n, k.dw.m, 1, 1})
		for i, v := range sums {
			pooled.F32()[i] = float32(v / float64(oh*ow))
		}
		out = append(out, pooled)
	}
	return out, nil
}

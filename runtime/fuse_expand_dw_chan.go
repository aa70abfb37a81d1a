package runtime

// The fused expansion + depthwise + projection step on small maps, above one
// thread. Its bands of output rows (fuse_expand_dw.go) are too few there to
// share: a 14x14 map fits one slab, and split in bands per thread each band
// recomputes the expansion rows its neighbour's taps also read (two of seven
// rows per edge with a 5x5 kernel), so the step ran apart, three parallel
// calls of a few tens of microseconds each, or in two bands that the caller
// usually ran both of. The expanded channels are independent for the
// depthwise convolution, so here a work item is a block of them for a whole
// image: the expansion's output columns of the block (kernels.RowsB.Panels),
// then the depthwise convolution of those channels while they are in cache,
// into the depthwise output; the projection, which reduces over all of them,
// follows as one split product. No expansion row is computed twice, and the
// items are many and equal. Every value is computed with the same arithmetic
// as by the steps apart.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// expansionInput returns the channels-last input of a fused step's 1x1
// expansion pre (its inputs preIn) with its batch, height, width and pixel
// stride; ok is false when the step must run apart: not the planned
// operands, or not a pointwise product after all.
func expansionInput(pre *rowsConvKernel, preIn []*graph.Tensor) (x0 *graph.Tensor, n, h, w, sx0 int, ok bool, err error) {
	if len(preIn) < 2 || preIn[0] == nil || preIn[0].DType != graph.Float32 || len(preIn[0].Shape) != 4 ||
		preIn[1] != pre.conv.wConst || optInput(preIn[:pre.nConvIn], 2) != pre.conv.bConst {
		return nil, 0, 0, 0, 0, false, nil
	}
	x0 = preIn[0]
	if n, h, w, sx0, err = convInputDims(x0, pre.c, true); err != nil {
		return nil, 0, 0, 0, 0, false, err
	}
	geom, _, err := pre.conv.shapes(&graph.Tensor{DType: graph.Float32, Shape: []int{n, pre.c, h, w}}, preIn[1], optInput(preIn[:pre.nConvIn], 2), 1, false)
	if err != nil {
		return nil, 0, 0, 0, 0, false, err
	}
	return x0, n, h, w, sx0, pre.conv.plan([]int{h, w}, geom).pointwise, nil
}

// expandChannelBlock returns the width of the expanded-channel blocks the
// step splits into at threads threads for n images, or 0 when there are too
// few (expandBlockWidth).
func (k *expandDWKernel) expandChannelBlock(n, threads int) int {
	return expandBlockWidth(k.pre, k.next.dw, n, threads)
}

// expandBlockWidth returns the width of the blocks of expanded channels
// that an expansion pre feeding the depthwise convolution dw splits into at
// threads threads for n images, or 0 when there are too few: whole weight
// panels of the expansion (pre.blockB), at least 32 channels (the depthwise
// row kernel's accumulators), at most 64 unless a panel is wider, and at
// least three blocks per thread. Blocks of 32- or 48-wide panels (AVX-512)
// are used where they leave three blocks per thread, else the block is cut
// from 16-wide panels (EfficientNet's 240 channels: five blocks of 48, or
// eight of 32 from 16-wide panels).
func expandBlockWidth(pre *rowsConvKernel, dw *dwRowsKernel, n, threads int) int {
	if threads <= 1 || dw.m != dw.c {
		return 0
	}
	c, nr := pre.m, pre.pb.PanelWidth()
	units := (c + 15) / 16
	bw := 16 * min(4, max(2, units/(4*threads)))
	if wide := (bw + nr - 1) / nr * nr; nr == 64 || n*((c+wide-1)/wide) >= 3*threads {
		bw = wide
	}
	if n*((c+bw-1)/bw) < 3*threads {
		return 0
	}
	return bw
}

// runChannels computes the step by blocks of bw expanded channels (see
// above): x0 is the expansion's input (pixel stride sx0), cs the depthwise
// convolution's shape, y (pixel stride so) receives the projection plus res.
func (k *expandDWKernel) runChannels(xd []float32, sx0 int, cs kernels.ConvShape, oh, ow, bw int, y []float32, so int, res []float32, threads int) {
	dw, pw := k.next.dw, k.next.pw
	n := cs.N
	sm := pixelStride(dw.m)
	// Six rows of slack: the projection's last row tile reads them in place.
	mid := getF32((n*oh*ow + 6) * sm)
	defer putF32(mid)
	clear((*mid)[n*oh*ow*sm:])
	expandDWBlocks(k.pre, dw, xd, sx0, cs, oh, ow, bw, *mid, nil, threads)
	pw.gemm(*mid, sm, pw.ident, n*oh*ow, y, so, res, false, threads)
}

// expandDWBlocks computes the expansion pre of xd (pixel stride sx0) and
// the depthwise convolution dw (shape cs) of its output into out (pixel
// stride pixelStride(dw.m)), a work item per block of bw expanded channels
// of one image. With sums (n·dw.m) it also adds each output channel's
// pixels to its sum, as the channels-last global pool does (AddPixelsF64
// over the channel's pixels in order, whatever the channel range).
func expandDWBlocks(pre *rowsConvKernel, dw *dwRowsKernel, xd []float32, sx0 int, cs kernels.ConvShape, oh, ow, bw int, out []float32, sums []float64, threads int) {
	n, h, w, c := cs.N, cs.H, cs.W, pre.m
	// The expansion's weights may be padded to its output's pixel stride
	// (zero columns): its product then covers the padding too, and so must a
	// block's, so that its last block activates whole vectors where the
	// product over all columns did.
	pb := pre.blockB(bw)
	nc := pb.N()
	sm := pixelStride(dw.m)
	per := (c + bw - 1) / bw
	kernels.ParallelRange(n*per, 1, threads, func(lo, hi int) {
		slab := getF32(h * w * bw)
		defer putF32(slab)
		var d kernels.DWRowsF32
		defer d.Release()
		for it := lo; it < hi; it++ {
			img, b := it/per, it%per
			c0, c1 := b*bw, min(c, (b+1)*bw)
			cbp := (c1 - c0 + 15) &^ 15 // >= the product's columns min(nc, c0+bw) - c0
			var bias []float32
			if pre.bias != nil {
				bias = pre.bias[c0:]
			}
			kernels.SgemmRowsAct(pb.Panels(c0, min(nc, c0+bw)), xd[img*h*w*sx0:], sx0, pre.ident, h*w, bias, *slab, cbp, nil, pre.clip, pre.lo, pre.hi, pre.post, 1)
			sub := cs
			sub.N, sub.C, sub.OC, sub.Groups = 1, c1-c0, c1-c0, c1-c0
			d.Reset(sub, dw.pw.Block(c0, c1), (*slab)[:h*w*cbp], cbp, sm, dw.ep)
			d.Rows(0, 0, oh, out[img*oh*ow*sm+c0:])
			if sums != nil {
				kernels.AddPixelsF64(sums[img*c+c0:img*c+c1], out[img*oh*ow*sm+c0:], oh*ow, sm)
			}
		}
	})
}

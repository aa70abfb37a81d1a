package kernels

// Channel-block split of DepthwiseF32 on small maps. Above one thread the
// rows of an image are split in about four chunks per thread, and every
// chunk lays out the input rows its taps read. On the 14x14 and 7x7 maps of
// MobileNet/EfficientNet that is one or two output rows per chunk: a 5x5
// kernel laid out five or six input rows for each (2-3x the row copies of one
// thread), and seven chunks of a 14-row map split 4:3 between two threads at
// best. The channels of a depthwise convolution are independent, so there
// each work item is instead a block of 32-64 channels of a whole image: no
// input row is laid out twice and the items are many and equal. Every output
// value is computed by the same row kernel lanes in the same order as by the
// row split: the results are identical.

import (
	"fmt"
	"sync"
)

// dwChannelBlock returns the width, in 16-channel units, of the channel
// blocks DepthwiseF32 splits s into at threads threads, or 0 when it splits
// the rows (chunk output rows per item, rowItems items). Channels are split
// when a chunk of rows lays out more than half again the input rows it owns
// or the rows make fewer than four items per thread, and there are at least
// three blocks per thread of at least 32 channels (narrower blocks leave the
// AVX-512 row kernel too few accumulators).
func dwChannelBlock(s ConvShape, pw *DWWeightsF32, sx, threads, chunk, rowItems int) int {
	if threads <= 1 || sx == 0 || pw.mult != 1 || pw.blocks == nil {
		return 0
	}
	units := (s.OC + 15) / 16
	bu := min(4, max(2, units/(4*threads)))
	items := s.N * ((units + bu - 1) / bu)
	if items < 3*threads {
		return 0
	}
	khe := (s.KH-1)*s.DilH + 1
	reread := 2 * max(0, khe-s.StrideH) // > chunk·stride: over half again the owned rows
	if reread > chunk*s.StrideH || rowItems < 4*threads && items > rowItems {
		return bu
	}
	return 0
}

// depthwiseF32Channels runs DepthwiseF32 as blocks of at most bu·16
// channels of one image each, spread evenly over the channels.
func depthwiseF32Channels(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, threads, bu int) {
	oh, ow := s.OutH(), s.OutW()
	units := (s.OC + 15) / 16
	per := (units + bu - 1) / bu // blocks per image
	parallelChunks(s.N*per, 1, threads, func(next func() (int, int, bool)) {
		for it, _, ok := next(); ok; it, _, ok = next() {
			img, b := it/per, it%per
			c0, c1 := min(s.OC, units*b/per*16), min(s.OC, units*(b+1)/per*16)
			sub := s
			sub.C, sub.OC, sub.Groups = c1-c0, c1-c0, c1-c0
			d := newDWRowsF32(sub, pw.block(c0, c1), x[c0:], sx, sy, ep)
			d.Rows(img, 0, oh, y[img*oh*ow*sy+c0:])
			d.Release()
		}
	})
}

// block returns the weights of channels [c0, c1) packed as a depthwise
// convolution of their own (c0 a multiple of 16, multiplier 1), made once
// and kept.
func (p *DWWeightsF32) block(c0, c1 int) *DWWeightsF32 {
	key := [2]int{c0, c1}
	if b, ok := p.blocks.Load(key); ok {
		return b.(*DWWeightsF32)
	}
	taps, cb := p.kh*p.kw, c1-c0
	cp := (cb + 15) &^ 15
	b := &DWWeightsF32{oc: cb, mult: 1, kh: p.kh, kw: p.kw, cp: cp, w: make([]float32, taps*cp), bias: make([]float32, cp), blocks: new(sync.Map)}
	for t := 0; t < taps; t++ {
		copy(b.w[t*cp:t*cp+cb], p.w[t*p.cp+c0:t*p.cp+c1])
	}
	copy(b.bias[:cb], p.bias[c0:c1])
	v, _ := p.blocks.LoadOrStore(key, b)
	return v.(*DWWeightsF32)
}

// Block returns the weights of output channels [c0, c1) as a depthwise
// convolution of their own (multiplier 1, c0 a multiple of 16), made once and
// kept: a caller that splits by channel blocks (the runtime's fused
// expansion + depthwise step) runs DWRowsF32 on each block with it.
func (p *DWWeightsF32) Block(c0, c1 int) *DWWeightsF32 {
	if p.mult != 1 || c0 < 0 || c0 >= c1 || c1 > p.oc || c0%16 != 0 {
		panic(fmt.Sprintf("kernels.DWWeightsF32.Block: channels [%d, %d) of %d (multiplier %d)", c0, c1, p.oc, p.mult))
	}
	return p.block(c0, c1)
}

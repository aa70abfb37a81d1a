package kernels

// Channel blocks of a float32 depthwise convolution. The runtime's fused
// expansion + depthwise + projection step splits small maps (14x14, 7x7) by
// blocks of the expanded channels above one thread: each work item expands
// its block's channels of a whole image into a slab of its own and runs the
// depthwise convolution of those channels on it (DWRowsF32 on Block's
// weights), so no expansion row is computed twice and the items are many and
// equal. DepthwiseF32 itself keeps splitting by rows (see there).

import (
	"fmt"
	"sync"
)

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

// copyPixels copies n pixels of w floats from src (pixel stride ss) to dst
// (pixel stride ds). A channel block's rows move pixel by pixel (its pixels
// are not contiguous in the full tensor); for the usual block widths the
// copy is a fixed-size move instead of a memmove call per pixel, which was
// a fifth of the channel-split depthwise convolution's time in a profile.
func copyPixels(dst []float32, ds int, src []float32, ss, n, w int) {
	if n <= 0 {
		return
	}
	_, _ = dst[(n-1)*ds+w-1], src[(n-1)*ss+w-1]
	switch w {
	case 16:
		for p := 0; p < n; p++ {
			*(*[16]float32)(dst[p*ds:]) = *(*[16]float32)(src[p*ss:])
		}
	case 32:
		for p := 0; p < n; p++ {
			*(*[32]float32)(dst[p*ds:]) = *(*[32]float32)(src[p*ss:])
		}
	case 48:
		for p := 0; p < n; p++ {
			*(*[48]float32)(dst[p*ds:]) = *(*[48]float32)(src[p*ss:])
		}
	case 64:
		for p := 0; p < n; p++ {
			*(*[64]float32)(dst[p*ds:]) = *(*[64]float32)(src[p*ss:])
		}
	default:
		for p := 0; p < n; p++ {
			copy(dst[p*ds:p*ds+w], src[p*ss:p*ss+w])
		}
	}
}

// Reset points d (zero or used) at another convolution as NewDWRowsF32
// would, keeping its buffers where they are large enough: a thread that runs
// channel block after channel block takes its buffers from the pool once
// (taken per block, they were often too small, the pool serving every size,
// and made afresh).
func (d *DWRowsF32) Reset(s ConvShape, pw *DWWeightsF32, x []float32, sx, sy int, ep F32Epilogue) {
	s = s.norm()
	checkDepthwiseF32(s, pw, x, sx, nil, sy)
	d.reset(s, pw, x, sx, sy, ep)
}

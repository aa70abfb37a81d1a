package runtime

// MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool over NCHW tensors with any
// number of spatial axes. Every (image, channel) plane is independent; planes are
// spread over the threads.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// poolPlan holds, per spatial axis and output position, the range of kernel taps that
// fall inside the input ([tapLo, tapHi)), the first input position, and for
// AveragePool with count_include_pad the number of taps inside the padded input.
type poolPlan struct {
	rank        int
	in, out     []int
	inSize      int
	outSize     int
	k, s, d     []int
	start       [][]int // per axis, per output: input position of tap 0
	tapLo       [][]int
	tapHi       [][]int
	paddedTaps  [][]int
	storageCols bool // storage_order 1: Indices count column-major
}

// nextTap advances tap, the window offsets of output position o, to the next tap in
// row-major order (an odometer over [tapLo, tapHi) per axis); false when the window
// is exhausted.
func (p *poolPlan) nextTap(tap, o []int) bool {
	for a := len(tap) - 1; a >= 0; a-- {
		tap[a]++
		if tap[a] < p.tapHi[a][o[a]] {
			return true
		}
		tap[a] = p.tapLo[a][o[a]]
	}
	return false
}

func newPoolPlan(in []int, g *graph.ConvGeom) *poolPlan {
	r := len(in)
	p := &poolPlan{rank: r, in: in, out: g.Out, k: g.Kernel, s: g.Strides, d: g.Dilations,
		inSize: graph.NumElements(in), outSize: graph.NumElements(g.Out)}
	for a := 0; a < r; a++ {
		n := g.Out[a]
		st, lo, hi, pt := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
		for o := 0; o < n; o++ {
			s0 := o*g.Strides[a] - g.Pads[a]
			st[o] = s0
			l, h, padded := g.Kernel[a], 0, 0
			for j := 0; j < g.Kernel[a]; j++ {
				pos := s0 + j*g.Dilations[a]
				if pos < in[a]+g.Pads[r+a] {
					padded++
				}
				if pos >= 0 && pos < in[a] {
					l, h = min(l, j), j+1
				}
			}
			if h == 0 {
				l = 0
			}
			lo[o], hi[o], pt[o] = l, h, padded
		}
		p.start = append(p.start, st)
		p.tapLo = append(p.tapLo, lo)
		p.tapHi = append(p.tapHi, hi)
		p.paddedTaps = append(p.paddedTaps, pt)
	}
	return p
}

type poolElem interface {
	~float32 | ~float64 | ~int8 | ~uint8
}

// maxPoolPlane pools one plane; idx (may be nil) receives the argmax position within
// the plane, row-major or column-major.
func maxPoolPlane[T poolElem](p *poolPlan, x, y []T, idx []int64, base int64) {
	r := p.rank
	if r == 2 && idx == nil {
		if xf, ok := any(x).([]float32); ok {
			maxPool2DF32(p, xf, any(y).([]float32))
			return
		}
		maxPool2D(p, x, y)
		return
	}
	if r == 2 {
		maxPool2DIdx(p, x, y, idx, base)
		return
	}
	if r == 3 {
		maxPool3D(p, x, y, idx, base)
		return
	}
	maxPoolPlaneND(p, x, y, idx, base)
}

// maxPool3D is maxPoolPlaneND for three spatial axes, Indices optional: the
// same taps in the same row-major order (the first maximum kept) without the
// odometer. A 3-D UNet's MaxPool3d(return_indices=True), exported as the
// pool with Indices and a second 1x1x1 MaxPool whose Indices give each
// plane's offset, ran 14-20 ns per input element in the generic loop, over
// half of unet3d_op13's int8 steps (eighteenth session).
func maxPool3D[T poolElem](p *poolPlan, x, y []T, idx []int64, base int64) {
	od, oh, ow := p.out[0], p.out[1], p.out[2]
	d, h, w := p.in[0], p.in[1], p.in[2]
	dd, dh, dw := p.d[0], p.d[1], p.d[2]
	low := poolLowest[T]()
	for z := 0; z < od; z++ {
		zs, zl, zh := p.start[0][z], p.tapLo[0][z], p.tapHi[0][z]
		for i := 0; i < oh; i++ {
			hs, hl, hh := p.start[1][i], p.tapLo[1][i], p.tapHi[1][i]
			for j := 0; j < ow; j++ {
				ws, wl, wh := p.start[2][j], p.tapLo[2][j], p.tapHi[2][j]
				best, bestPos := low, -1
				if zl < zh && hl < hh && wl < wh {
					for c := zl; c < zh; c++ {
						kk := zs + c*dd
						for a := hl; a < hh; a++ {
							ii := hs + a*dh
							row := x[(kk*h+ii)*w : (kk*h+ii+1)*w]
							for b := wl; b < wh; b++ {
								if v := row[ws+b*dw]; bestPos < 0 || v > best {
									best, bestPos = v, (kk*h+ii)*w+ws+b*dw
								}
							}
						}
					}
				}
				o := (z*oh+i)*ow + j
				if bestPos < 0 {
					best, bestPos = low, 0 // a window entirely in the padding (ceil_mode)
				}
				y[o] = best
				if idx != nil {
					if p.storageCols {
						// column-major: the first axis varies fastest
						q := bestPos
						kk, ii, jj := q/(h*w), q/w%h, q%w
						bestPos = kk + ii*d + jj*d*h
					}
					idx[o] = base + int64(bestPos)
				}
			}
		}
	}
}

// maxPool2DIdx is maxPoolPlaneND for two spatial axes with Indices (MaxPool
// feeding a MaxUnpool: SegNet's and paddle2onnx's decoders): the same taps in
// the same row-major order, the first one taken and a later one only when
// greater, without the odometer over any number of axes (the generic loop
// took 0.12 ms of a 0.36 ms Paddle export for an 8×32×32 map, 15 ns per
// output; seventeenth session).
func maxPool2DIdx[T poolElem](p *poolPlan, x, y []T, idx []int64, base int64) {
	oh, ow := p.out[0], p.out[1]
	h, w := p.in[0], p.in[1]
	dh, dw := p.d[0], p.d[1]
	low := poolLowest[T]()
	for i := 0; i < oh; i++ {
		hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
		for j := 0; j < ow; j++ {
			ws, wl, wh := p.start[1][j], p.tapLo[1][j], p.tapHi[1][j]
			best, bestPos := low, -1
			if hl < hh && wl < wh {
				for a := hl; a < hh; a++ {
					ii := hs + a*dh
					row := x[ii*w : (ii+1)*w]
					for b := wl; b < wh; b++ {
						jj := ws + b*dw
						if v := row[jj]; bestPos < 0 || v > best {
							best, bestPos = v, ii*w+jj
							if p.storageCols {
								bestPos = ii + jj*h
							}
						}
					}
				}
			}
			if bestPos < 0 {
				best, bestPos = low, 0 // a window entirely in the padding (ceil_mode)
			}
			y[i*ow+j] = best
			idx[i*ow+j] = base + int64(bestPos)
		}
	}
}

// maxPoolPlaneND pools one plane of any rank: an odometer over each output's
// window.
func maxPoolPlaneND[T poolElem](p *poolPlan, x, y []T, idx []int64, base int64) {
	r := p.rank
	colStride := make([]int, r)
	cs := 1
	for a := 0; a < r; a++ {
		colStride[a] = cs
		cs *= p.in[a]
	}
	o := make([]int, r)
	tap := make([]int, r)
	for oi := 0; oi < p.outSize; oi++ {
		empty := false
		for a := 0; a < r; a++ {
			tap[a] = p.tapLo[a][o[a]]
			if tap[a] >= p.tapHi[a][o[a]] {
				empty = true
			}
		}
		var best T
		bestPos := -1
		if !empty {
			for {
				pos, cpos := 0, 0
				for a := 0; a < r; a++ {
					ii := p.start[a][o[a]] + tap[a]*p.d[a]
					pos = pos*p.in[a] + ii
					cpos += ii * colStride[a]
				}
				if v := x[pos]; bestPos < 0 || v > best {
					best, bestPos = v, pos
					if p.storageCols {
						bestPos = cpos
					}
				}
				if !p.nextTap(tap, o) {
					break
				}
			}
		}
		if bestPos < 0 {
			// A window entirely in the padding (possible only with ceil_mode): ONNX
			// Runtime yields the lowest value.
			best = poolLowest[T]()
			bestPos = 0
		}
		y[oi] = best
		if idx != nil {
			idx[oi] = base + int64(bestPos)
		}
		for a := r - 1; a >= 0; a-- {
			o[a]++
			if o[a] < p.out[a] {
				break
			}
			o[a] = 0
		}
	}
}

func poolLowest[T poolElem]() T {
	var z T
	switch any(z).(type) {
	case float32:
		return T(float32(math.Inf(-1)))
	case float64:
		return T(math.Inf(-1))
	case int8:
		v := int8(math.MinInt8)
		return T(v)
	}
	return z // uint8: 0
}

// maxPool2D is the common case without Indices. It folds one window row at a time
// into the output row (acc = max(acc, row maxima)), which keeps the inner loop free of
// per-tap bounds bookkeeping; a window with no input tap (only possible with ceil_mode)
// keeps the lowest value.
func maxPool2D[T poolElem](p *poolPlan, x, y []T) {
	oh, ow := p.out[0], p.out[1]
	w := p.in[1]
	dh, dw := p.d[0], p.d[1]
	low := poolLowest[T]()
	ws, wl, wh := p.start[1][:ow], p.tapLo[1][:ow], p.tapHi[1][:ow]
	for i := 0; i < oh; i++ {
		hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
		yr := y[i*ow : (i+1)*ow]
		for j := range yr {
			yr[j] = low
		}
		for a := hl; a < hh; a++ {
			row := x[(hs+a*dh)*w : (hs+a*dh+1)*w]
			for j := range yr {
				best := yr[j]
				base := ws[j]
				for b := wl[j]; b < wh[j]; b++ {
					// Branch-free (MINSS/MAXSS, CMOV): pooled values are unpredictable.
					best = max(best, row[base+b*dw])
				}
				yr[j] = best
			}
		}
	}
}

// maxPool2DF32 is maxPool2D on vectors (kernels.MaxF32, NaN-propagating like
// Go's max). For each output row, the window's input rows are folded into a row
// framed by -Inf (the padding, and what an empty window yields), then the kernel
// taps are folded along it as shifted copies; output j is that row at its
// window's start.
func maxPool2DF32(p *poolPlan, x, y []float32) {
	oh, ow := p.out[0], p.out[1]
	w := p.in[1]
	dh, sw, dw, kw := p.d[0], p.s[1], p.d[1], p.k[1]
	ws := p.start[1][:ow]
	left := max(0, -ws[0])
	span := (ow-1)*sw + 1 // window starts, relative to the first
	right := max(0, ws[0]+span+(kw-1)*dw-w)
	rowBuf := make([]float32, left+w+right+span)
	row, u := rowBuf[:left+w+right], rowBuf[left+w+right:]
	low := float32(math.Inf(-1))
	for i := range row {
		row[i] = low
	}
	first := ws[0] + left // position of the first window in row
	for i := 0; i < oh; i++ {
		hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
		mid := row[left : left+w]
		if hl >= hh {
			for j := range mid {
				mid[j] = low
			}
		} else {
			copy(mid, x[(hs+hl*dh)*w:(hs+hl*dh+1)*w])
			for a := hl + 1; a < hh; a++ {
				kernels.MaxF32(mid, x[(hs+a*dh)*w:(hs+a*dh+1)*w])
			}
		}
		yr := y[i*ow : (i+1)*ow]
		if ow*8 <= span {
			// Windows far apart (a stride of 8 or more: adaptive pools to a
			// few outputs): the vector pass would fold every position of the
			// span for ow of them, so each window folds its own taps.
			for j := range yr {
				m := row[first+j*sw]
				for b := 1; b < kw; b++ {
					m = max(m, row[first+j*sw+b*dw])
				}
				yr[j] = m
			}
			continue
		}
		copy(u, row[first:first+span])
		for b := 1; b < kw; b++ {
			kernels.MaxF32(u, row[first+b*dw:first+b*dw+span])
		}
		for j := range yr {
			yr[j] = u[j*sw]
		}
	}
}

// avgPoolPlane averages one plane in float64.
func avgPoolPlane[T ~float32 | ~float64](p *poolPlan, x, y []T, includePad bool) {
	r := p.rank
	o := make([]int, r)
	tap := make([]int, r)
	for oi := 0; oi < p.outSize; oi++ {
		count, padded := 1, 1
		empty := false
		for a := 0; a < r; a++ {
			lo, hi := p.tapLo[a][o[a]], p.tapHi[a][o[a]]
			tap[a] = lo
			if lo >= hi {
				empty = true
			}
			count *= hi - lo
			padded *= p.paddedTaps[a][o[a]]
		}
		var sum float64
		if !empty {
			for {
				pos := 0
				for a := 0; a < r; a++ {
					pos = pos*p.in[a] + p.start[a][o[a]] + tap[a]*p.d[a]
				}
				sum += float64(x[pos])
				if !p.nextTap(tap, o) {
					break
				}
			}
		}
		div := count
		if includePad {
			div = padded
		}
		if div > 0 {
			y[oi] = T(sum / float64(div))
		} else {
			y[oi] = 0
		}
		for a := r - 1; a >= 0; a-- {
			o[a]++
			if o[a] < p.out[a] {
				break
			}
			o[a] = 0
		}
	}
}

type poolKernel struct {
	node       *graph.Node
	isMax      bool
	ceil       bool
	includePad bool
	colMajor   bool
	kernel     []int
}

func buildPool(isMax bool) Builder {
	return func(b *BuildContext) (Kernel, error) {
		n := b.Node
		ks := n.AttrInts("kernel_shape", nil)
		if ks == nil {
			return nil, b.Errorf("missing required attribute kernel_shape")
		}
		if _, err := graph.NodeAutoPad(n); err != nil {
			return nil, err
		}
		k := &poolKernel{node: n, isMax: isMax, ceil: n.AttrInt("ceil_mode", 0) != 0,
			includePad: n.AttrInt("count_include_pad", 0) != 0, colMajor: n.AttrInt("storage_order", 0) == 1}
		for _, v := range ks {
			if v < 1 || v > math.MaxInt32 {
				return nil, b.Errorf("kernel_shape %v: size %d is out of range", ks, v)
			}
			k.kernel = append(k.kernel, int(v))
		}
		return k, nil
	}
}

// poolFloatPlanes max- or average-pools every [N, C] plane of x into y in parallel;
// planeIdx gives the plane's slice of MaxPool's Indices output (nil when not wanted).
func poolFloatPlanes[T ~float32 | ~float64](k *poolKernel, p *poolPlan, th, planes int, x, y []T, planeIdx func(int) []int64) {
	is, os := p.inSize, p.outSize
	var cnt avgPoolCounts
	fast2D := false
	if !k.isMax && p.rank == 2 && p.outSize > 0 {
		_, fast2D = any(x).([]float32)
		if fast2D {
			cnt = newAvgPoolCounts(p, k.includePad)
		}
	}
	nnParallel(th, planes, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if fast2D {
				avgPool2DF32(p, cnt, any(x[i*is:(i+1)*is]).([]float32), any(y[i*os:(i+1)*os]).([]float32))
			} else if k.isMax {
				maxPoolPlane(p, x[i*is:(i+1)*is], y[i*os:(i+1)*os], planeIdx(i), int64(i*is))
			} else {
				avgPoolPlane(p, x[i*is:(i+1)*is], y[i*os:(i+1)*os], k.includePad)
			}
		}
	})
}

func (k *poolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType == graph.Float16 || x.DType == graph.BFloat16 {
		y, err := k.Run(ctx, []*graph.Tensor{widenHalf(x)})
		if err != nil {
			return nil, err
		}
		y[0] = narrowHalf(y[0], x.DType)
		return y, nil
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input X has shape %v, expected [N, C, D1, ...]", x.Shape)
	}
	if len(k.kernel) != len(x.Shape)-2 {
		return nil, fmt.Errorf("kernel_shape has %d axes, input %v has %d spatial axes", len(k.kernel), x.Shape, len(x.Shape)-2)
	}
	geom, err := graph.ResolveConvGeom(k.node, x.Shape[2:], k.kernel, k.ceil)
	if err != nil {
		return nil, err
	}
	outShape := append([]int{x.Shape[0], x.Shape[1]}, geom.Out...)
	p := newPoolPlan(x.Shape[2:], geom)
	p.storageCols = k.colMajor
	planes := x.Shape[0] * x.Shape[1]
	wantIdx := k.isMax && len(k.node.Outputs) > 1 && k.node.Outputs[1] != ""
	var idxT *graph.Tensor
	var idx []int64
	var out *graph.Tensor
	if wantIdx {
		// Outputs from the run's arena (every position is written): a 3-D
		// UNet's pools with Indices allocated 0.2 MB a run afresh, zeroed,
		// and the garbage collector ran beside the kernels.
		idx = ctx.AllocI64(graph.NumElements(outShape))
		idxT = &graph.Tensor{DType: graph.Int64, Shape: outShape, Data: idx}
		if x.DType == graph.Float32 {
			out = &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
		}
	}
	th := ctx.Threads
	if planes*p.outSize*max(p.kSizeHint(), 1) < parallelMinWork {
		th = 1
	}
	if out == nil {
		out = graph.NewTensor(x.DType, outShape)
	}
	is, os := p.inSize, p.outSize
	planeIdx := func(i int) []int64 {
		if idx == nil {
			return nil
		}
		return idx[i*os : (i+1)*os]
	}
	if wantIdx && identityPool(geom) {
		// A window of one tap at every position (torch.onnx's export of
		// max_pool(return_indices=True) adds such a pool to read each plane's
		// offset from its Indices): the output is the input and Indices count
		// the positions (column-major ones too: each plane's own transpose).
		switch xd := x.Data.(type) {
		case []float32:
			copy(out.F32(), xd)
		case []float64:
			copy(out.Data.([]float64), xd)
		case []int8:
			copy(out.I8(), xd)
		case []uint8:
			copy(out.U8(), xd)
		default:
			return nil, fmt.Errorf("unsupported input type %s", x.DType)
		}
		nnParallel(th, planes, func(lo, hi int) {
			pos := make([]int, p.rank)
			for i := lo; i < hi; i++ {
				ix := planeIdx(i)
				if !p.storageCols {
					for j := range ix {
						ix[j] = int64(i*is + j)
					}
					continue
				}
				clear(pos)
				for j := range ix {
					c, stride := 0, 1
					for a := 0; a < p.rank; a++ {
						c += pos[a] * stride
						stride *= p.in[a]
					}
					ix[j] = int64(i*is + c)
					for a := p.rank - 1; a >= 0; a-- {
						if pos[a]++; pos[a] < p.in[a] {
							break
						}
						pos[a] = 0
					}
				}
			}
		})
		return []*graph.Tensor{out, idxT}, nil
	}
	switch xd := x.Data.(type) {
	case []float32:
		poolFloatPlanes(k, p, th, planes, xd, out.F32(), planeIdx)
	case []float64:
		poolFloatPlanes(k, p, th, planes, xd, out.Data.([]float64), planeIdx)
	case []int8:
		if !k.isMax {
			return nil, fmt.Errorf("unsupported input type %s", x.DType)
		}
		yd := out.I8()
		nnParallel(th, planes, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				maxPoolPlane(p, xd[i*is:(i+1)*is], yd[i*os:(i+1)*os], planeIdx(i), int64(i*is))
			}
		})
	case []uint8:
		if !k.isMax {
			return nil, fmt.Errorf("unsupported input type %s", x.DType)
		}
		yd := out.U8()
		nnParallel(th, planes, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				maxPoolPlane(p, xd[i*is:(i+1)*is], yd[i*os:(i+1)*os], planeIdx(i), int64(i*is))
			}
		})
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	if wantIdx {
		return []*graph.Tensor{out, idxT}, nil
	}
	return []*graph.Tensor{out}, nil
}

// identityPool reports a pool of one tap, stride 1 and no padding on every
// axis.
func identityPool(g *graph.ConvGeom) bool {
	for a := range g.Kernel {
		if g.Kernel[a] != 1 || g.Strides[a] != 1 || g.Pads[a] != 0 || g.Pads[len(g.Kernel)+a] != 0 {
			return false
		}
	}
	return true
}

// kSizeHint is the number of taps per window, for the parallelism threshold.
func (p *poolPlan) kSizeHint() int { return graph.NumElements(p.k) }

type globalPoolKernel struct{ isMax bool }

func (k globalPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input X has shape %v, expected [N, C, ...]", x.Shape)
	}
	if x.DType == graph.Float16 || x.DType == graph.BFloat16 {
		y, err := k.Run(ctx, []*graph.Tensor{widenHalf(x)})
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{narrowHalf(y[0], x.DType)}, nil
	}
	outShape := []int{x.Shape[0], x.Shape[1]}
	for range x.Shape[2:] {
		outShape = append(outShape, 1)
	}
	planes := x.Shape[0] * x.Shape[1]
	size := graph.NumElements(x.Shape[2:])
	if size == 0 && k.isMax {
		return nil, fmt.Errorf("input X %v has empty spatial axes", x.Shape)
	}
	th := ctx.Threads
	if planes*size < parallelMinWork {
		th = 1
	}
	out := graph.NewTensor(x.DType, outShape)
	switch xd := x.Data.(type) {
	case []float32:
		globalPool(th, k.isMax, xd, out.F32(), planes, size)
	case []float64:
		globalPool(th, k.isMax, xd, out.Data.([]float64), planes, size)
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	return []*graph.Tensor{out}, nil
}

func globalPool[T ~float32 | ~float64](th int, isMax bool, x, y []T, planes, size int) {
	nnParallel(th, planes, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			plane := x[i*size : (i+1)*size]
			if isMax {
				best := plane[0]
				for _, v := range plane[1:] {
					best = max(best, v)
				}
				y[i] = best
				continue
			}
			var s float64
			for _, v := range plane {
				s += float64(v)
			}
			if size > 0 {
				y[i] = T(s / float64(size))
			}
		}
	})
}

func init() {
	Register(OpInfo{OpType: "MaxPool", Build: buildPool(true)})
	Register(OpInfo{OpType: "AveragePool", Build: buildPool(false)})
	Register(OpInfo{OpType: "GlobalMaxPool", Build: func(*BuildContext) (Kernel, error) { return globalPoolKernel{isMax: true}, nil }})
	Register(OpInfo{OpType: "GlobalAveragePool", Build: func(*BuildContext) (Kernel, error) { return globalPoolKernel{}, nil }})
}

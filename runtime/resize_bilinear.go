package runtime

// The separable two-axis Resize (tenth session): the upsampling of a UNet
// decoder or a segmentation head changes two adjacent axes (H and W) of
// [outer, H, W, inner] — NCHW (inner = 1), channels-last (inner = the pixel
// stride) or the int8 executor's channels-last codes — with nearest or
// linear interpolation. Each output row is made in one pass while its inputs
// are in cache: the vertical step blends the two input rows it reads into a
// scratch row (kernels.Blend2F32 over the whole row; nothing when a weight is
// 0 or the taps coincide), the horizontal step blends, for each output pixel,
// two pixels of that row (kernels.Blend2F32 over the inner block, or a scalar
// loop when inner = 1). The general per-axis path (op_resize.go) made a full
// float64 pass over the tensor per axis, and the channels-last chains had to
// leave their layout for it. The arithmetic is float32, as in ONNX Runtime's
// bilinear kernels; int8 codes are widened per input row (two rows kept),
// interpolated and rounded once, half to even (op_int8_resize.go gives the
// reason this is the QDQ result).
//
// The index and weight tables of a plan are built once per input shape and
// kept with the kernel: a session resizes the same shape every run.

import (
	"strconv"
	"sync"

	"github.com/warboy-sim/warboy/kernels"
)

// resize2D is the plan of a Resize of the adjacent axes a and a+1 of a
// tensor [outer, h, w, inner] to [outer, oh, ow, inner].
type resize2D struct {
	outer, inner int
	h, w, oh, ow int
	linear       bool      // two taps per axis, else nearest (one)
	hIdx         []int     // input row of each tap of output row j
	hW           []float32 // weights of the linear taps
	wIdx         []int     // input column of each tap of output column
	wOff         []int64   // wIdx · inner (kernels.Blend2F32 offsets)
	wW           []float32
	// eIdx and eW are wIdx and wW per value of an output row when a pixel
	// has fewer than 8 values (an RGB image, channels-last): the vector
	// blend takes none of them, and its per-pixel fallback cost more than
	// the arithmetic (fifteenth session); one flat loop gives the same sums.
	eIdx []int32
	eW   []float32
}

// smallInner is the pixel size below which a linear plan blends channels-last
// rows value by value (kernels.Blend2F32's vector path needs 8 or 16 values).
const smallInner = 8

// resizePlans caches a resizeKernel's axis maps and two-axis plans per
// shape; a kernel may run in concurrent sessions' runs.
type resizePlans struct {
	mu    sync.Mutex
	maps  map[axisMapKey]*axisMap
	plans map[string]*resize2D
	// plans3 are the three-axis plans (resize_3d.go), nil where none fits.
	plans3 map[string]*resize3D
}

type axisMapKey struct {
	in, out    int
	scale      float64
	roi0, roi1 float64
	roi        bool
}

// cachedAxisMap is axisMap, built once per (sizes, scale, roi).
func (k *resizeKernel) cachedAxisMap(in, out int, scale float64, roi []float64) *axisMap {
	key := axisMapKey{in: in, out: out, scale: scale}
	if roi != nil {
		key.roi, key.roi0, key.roi1 = true, roi[0], roi[1]
	}
	c := k.cache
	if c == nil {
		return k.axisMap(in, out, scale, roi)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.maps[key]; ok {
		return m
	}
	m := k.axisMap(in, out, scale, roi)
	if c.maps == nil {
		c.maps = map[axisMapKey]*axisMap{}
	}
	if len(c.maps) < 64 { // a dynamic-shape model may see many; keep a few
		c.maps[key] = m
	}
	return m
}

// plan2D returns the two-axis plan of resizing shape xs to outShape with
// these scales, or nil when the resize is not one: another axis changes, the
// mode is cubic, it crops (tf_crop_and_resize), or an axis is empty.
func (k *resizeKernel) plan2D(xs, outShape []int, scales []float64) *resize2D {
	if k.mode == "cubic" || k.ctm == "tf_crop_and_resize" || len(xs) < 2 {
		return nil
	}
	if k.cache == nil {
		return k.buildPlan2D(xs, outShape, scales)
	}
	return cachedPlan(&k.cache.mu, &k.cache.plans, planKey(xs, outShape, scales), func() *resize2D {
		return k.buildPlan2D(xs, outShape, scales)
	})
}

// cachedPlan returns the plan stored under key in *m, building and storing it
// (a nil plan too: the shape was found not to fit) when absent; at most 64
// plans are kept per kernel.
func cachedPlan[P any](mu *sync.Mutex, m *map[string]*P, key string, build func() *P) *P {
	mu.Lock()
	p, ok := (*m)[key]
	mu.Unlock()
	if ok {
		return p
	}
	p = build()
	mu.Lock()
	if *m == nil {
		*m = map[string]*P{}
	}
	if len(*m) < 64 {
		(*m)[key] = p
	}
	mu.Unlock()
	return p
}

func planKey(xs, outShape []int, scales []float64) string {
	b := make([]byte, 0, 24*len(xs))
	for a := range xs {
		b = strconv.AppendInt(b, int64(xs[a]), 10)
		b = append(b, '>')
		b = strconv.AppendInt(b, int64(outShape[a]), 10)
		b = append(b, '@')
		b = strconv.AppendFloat(b, scales[a], 'g', -1, 64)
		b = append(b, ',')
	}
	return string(b)
}

func (k *resizeKernel) buildPlan2D(xs, outShape []int, scales []float64) *resize2D {
	r := len(xs)
	a0 := -1
	var maps [2]*axisMap
	for a := 0; a < r; a++ {
		if xs[a] == 0 || outShape[a] == 0 {
			return nil
		}
		m := k.cachedAxisMap(xs[a], outShape[a], scales[a], nil)
		if m.identity() {
			continue
		}
		if m.taps > 2 {
			return nil // an antialiased downscaling's wide filter (resize_antialias.go)
		}
		switch {
		case a0 < 0 && a+1 < r:
			a0, maps[0] = a, m
		case a0 >= 0 && a == a0+1:
			maps[1] = m
		default:
			return nil
		}
	}
	if a0 < 0 || maps[1] == nil {
		return nil
	}
	hm, wm := maps[0], maps[1]
	p := &resize2D{outer: 1, inner: 1, h: xs[a0], w: xs[a0+1], oh: outShape[a0], ow: outShape[a0+1], linear: hm.taps == 2}
	for _, d := range xs[:a0] {
		p.outer *= d
	}
	for _, d := range xs[a0+2:] {
		p.inner *= d
	}
	p.hIdx, p.wIdx = hm.idx, wm.idx
	p.wOff = make([]int64, len(wm.idx))
	for i, c := range wm.idx {
		p.wOff[i] = int64(c * p.inner)
	}
	if p.linear {
		p.hW, p.wW = make([]float32, len(hm.w)), make([]float32, len(wm.w))
		for i, v := range hm.w {
			p.hW[i] = float32(v)
		}
		for i, v := range wm.w {
			p.wW[i] = float32(v)
		}
		if p.inner > 1 && p.inner < smallInner {
			in := p.inner
			p.eIdx, p.eW = make([]int32, 2*p.ow*in), make([]float32, 2*p.ow*in)
			for o := 0; o < p.ow; o++ {
				for c := 0; c < in; c++ {
					e := o*in + c
					p.eIdx[2*e], p.eIdx[2*e+1] = int32(p.wIdx[2*o]*in+c), int32(p.wIdx[2*o+1]*in+c)
					p.eW[2*e], p.eW[2*e+1] = p.wW[2*o], p.wW[2*o+1]
				}
			}
		}
	}
	return p
}

// vertical returns output row j's input row (of src, one outer index's
// h rows of rowIn values): an input row itself, or the blend of two in tmp.
func (p *resize2D) vertical(src []float32, j, rowIn int, tmp []float32) []float32 {
	if !p.linear {
		i := p.hIdx[j]
		return src[i*rowIn : (i+1)*rowIn]
	}
	i0, i1, a, b := p.hIdx[2*j], p.hIdx[2*j+1], p.hW[2*j], p.hW[2*j+1]
	switch {
	case b == 0 || i0 == i1:
		return src[i0*rowIn : (i0+1)*rowIn]
	case a == 0:
		return src[i1*rowIn : (i1+1)*rowIn]
	}
	off, w := [2]int64{int64(i0 * rowIn), int64(i1 * rowIn)}, [2]float32{a, b}
	kernels.Blend2F32(tmp, 0, src, off[:], w[:], 1, rowIn)
	return tmp
}

// horizontal writes the output row dst (ow pixels at stride so, the first
// oc values of each) from the input row src (w · inner values).
func (p *resize2D) horizontal(dst, src []float32, so, oc int) {
	in := p.inner
	switch {
	case !p.linear && in == 1:
		for o, i := range p.wIdx {
			dst[o*so] = src[i]
		}
	case !p.linear:
		for o, i := range p.wIdx {
			copy(dst[o*so:o*so+oc], src[i*in:])
		}
	case in == 1:
		idx, w := p.wIdx[:2*p.ow], p.wW[:2*p.ow]
		for o := 0; o < p.ow; o++ {
			dst[o*so] = w[2*o]*src[idx[2*o]] + w[2*o+1]*src[idx[2*o+1]]
		}
	case p.eIdx != nil && so == in && oc == in:
		// Blend2F32's scalar fallback, d = wa·a + wb·b, over the row.
		n := p.ow * in
		idx, w, d := p.eIdx[:2*n], p.eW[:2*n], dst[:n]
		for e := range d {
			d[e] = w[2*e]*src[idx[2*e]] + w[2*e+1]*src[idx[2*e+1]]
		}
	default:
		kernels.Blend2F32(dst, so, src, p.wOff, p.wW, p.ow, oc)
	}
}

// runF32 resizes x into y, both [outer, h|oh, w|ow, inner]; when nchwC > 0,
// x is channels-last (inner is the pixel stride of nchwC channels) and y is
// written NCHW, [outer, nchwC, oh, ow], each output row transposed from
// scratch.
func (p *resize2D) runF32(x, y []float32, nchwC, threads int) {
	p.runF32Out(x, y, p.inner, 0, p.inner, nchwC, threads)
}

// runF32Out is runF32 into output pixels at stride so whose first oc values
// (at offset off) are written: a channels-last output in a Concat's buffer
// (concat_view.go) has the Concat's stride and its own channel offset.
func (p *resize2D) runF32Out(x, y []float32, so, off, oc, nchwC, threads int) {
	if p.inner == 1 && nchwC == 0 && so == 1 {
		p.runNCHW(x, y, threads)
		return
	}
	rowIn, rowOut, rows := p.w*p.inner, p.ow*so, p.outer*p.oh
	nnParallel(memPassThreads(threads, rows*p.ow*oc), rows, func(lo, hi int) {
		var tmp, orow []float32
		if p.linear {
			tmp = make([]float32, rowIn)
		}
		if nchwC > 0 {
			orow = make([]float32, rowOut)
		}
		for r := lo; r < hi; r++ {
			o, j := r/p.oh, r%p.oh
			src := x[o*p.h*rowIn : (o+1)*p.h*rowIn]
			dst := orow
			if nchwC == 0 {
				dst = y[r*rowOut+off : (r+1)*rowOut]
			}
			p.horizontal(dst, p.vertical(src, j, rowIn, tmp), so, oc)
			if nchwC > 0 {
				for c := 0; c < nchwC; c++ {
					d := y[((o*nchwC+c)*p.oh+j)*p.ow:][:p.ow]
					for ox := range d {
						d[ox] = orow[ox*so+c]
					}
				}
			}
		}
	})
}

// runNCHW is runF32 for inner = 1 (NCHW, the resized axes last): the other
// order of the two passes. Each input row is resized horizontally once per
// thread while the output rows that read it are made (two kept), and an
// output row is the vertical blend of two such rows (kernels.Blend2F32 over
// the whole row): the scalar horizontal step runs on h·ow values instead of
// oh·ow (a segmentation head's 8x or 16x upsample), the vector step on all.
func (p *resize2D) runNCHW(x, y []float32, threads int) {
	rows := p.outer * p.oh
	nnParallel(memPassThreads(threads, rows*p.ow), rows, func(lo, hi int) {
		// wide: two horizontally resized input rows, tagged by their
		// global row index.
		wide := make([]float32, 2*p.ow)
		tags, last := [2]int{-1, -1}, 0
		get := func(g int) int {
			for s, t := range tags {
				if t == g {
					last = s
					return s
				}
			}
			s := 1 - last
			p.horizontal(wide[s*p.ow:(s+1)*p.ow], x[g*p.w:(g+1)*p.w], 1, 1)
			tags[s], last = g, s
			return s
		}
		for r := lo; r < hi; r++ {
			o, j := r/p.oh, r%p.oh
			dst := y[r*p.ow : (r+1)*p.ow]
			if !p.linear {
				s := get(o*p.h + p.hIdx[j])
				copy(dst, wide[s*p.ow:(s+1)*p.ow])
				continue
			}
			i0, i1, a, b := p.hIdx[2*j], p.hIdx[2*j+1], p.hW[2*j], p.hW[2*j+1]
			switch {
			case b == 0 || i0 == i1:
				s := get(o*p.h + i0)
				copy(dst, wide[s*p.ow:(s+1)*p.ow])
			case a == 0:
				s := get(o*p.h + i1)
				copy(dst, wide[s*p.ow:(s+1)*p.ow])
			default:
				s0 := get(o*p.h + i0)
				s1 := get(o*p.h + i1)
				off, w := [2]int64{int64(s0 * p.ow), int64(s1 * p.ow)}, [2]float32{a, b}
				kernels.Blend2F32(dst, 0, wide, off[:], w[:], 1, p.ow)
			}
		}
	})
}

// runI8 resizes int8 codes x into y (linear plans): each input row is
// widened to float32 once per thread while consecutive output rows use it,
// the output row is interpolated in float32 and rounded half to even with
// saturation (kernels.QuantizeF32 with scale 1).
func (p *resize2D) runI8(x, y []int8, threads int) {
	rowIn, rowOut, rows := p.w*p.inner, p.ow*p.inner, p.outer*p.oh
	nnParallel(memPassThreads(threads, rows*rowOut), rows, func(lo, hi int) {
		// wide: the last two input rows widened, in two slots of one buffer
		// (tags: their global row index).
		wide := make([]float32, 2*rowIn)
		tags, last := [2]int{-1, -1}, 0
		get := func(g int) int {
			for s, t := range tags {
				if t == g {
					last = s
					return s
				}
			}
			s := 1 - last
			// c·1 + 0 with one FMA: exactly float32(c)
			kernels.AffineMapI8(wide[s*rowIn:(s+1)*rowIn], x[g*rowIn:(g+1)*rowIn], 1, 0)
			tags[s], last = g, s
			return s
		}
		tmp, orow := make([]float32, rowIn), make([]float32, rowOut)
		for r := lo; r < hi; r++ {
			o, j := r/p.oh, r%p.oh
			i0, i1, a, b := p.hIdx[2*j], p.hIdx[2*j+1], p.hW[2*j], p.hW[2*j+1]
			var row []float32
			switch {
			case b == 0 || i0 == i1:
				s := get(o*p.h + i0)
				row = wide[s*rowIn : (s+1)*rowIn]
			case a == 0:
				s := get(o*p.h + i1)
				row = wide[s*rowIn : (s+1)*rowIn]
			default:
				s0 := get(o*p.h + i0)
				s1 := get(o*p.h + i1)
				off, w := [2]int64{int64(s0 * rowIn), int64(s1 * rowIn)}, [2]float32{a, b}
				kernels.Blend2F32(tmp, 0, wide, off[:], w[:], 1, rowIn)
				row = tmp
			}
			p.horizontal(orow, row, p.inner, p.inner)
			kernels.QuantizeF32(orow, 1, 0, y[r*rowOut:(r+1)*rowOut])
		}
	})
}

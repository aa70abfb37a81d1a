package runtime

// Conv and ConvTranspose in float32, for any number of spatial axes, through im2col (or
// col2im) and kernels.Sgemm. Layout is ONNX's NCHW (N, C, D1, ..., Dn) with OIHW
// weights, so each group's weights are already the row-major A operand of the GEMM and
// need no repacking; pointwise (1x1, stride 1, unpadded) convolutions multiply the
// input directly without an im2col copy.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// convPlan is the geometry of one convolution, resolved for concrete shapes.
type convPlan struct {
	rank            int
	in, out         []int // spatial sizes
	k, s, d, pb     []int // kernel, strides, dilations, leading pads
	inSize, outSize int   // products of in and out
	kSize           int   // product of k
	// lastLo and lastHi give, for each kernel offset on the last axis, the range of
	// output positions of that axis that read inside the input (im2col) or land inside
	// the output (col2im); everything else is padding.
	lastLo, lastHi []int
	pointwise      bool
}

func newConvPlan(in []int, g *graph.ConvGeom) *convPlan {
	r := len(in)
	p := &convPlan{rank: r, in: in, out: g.Out, k: g.Kernel, s: g.Strides, d: g.Dilations, pb: g.Pads[:r]}
	p.inSize, p.outSize, p.kSize = graph.NumElements(in), graph.NumElements(g.Out), graph.NumElements(g.Kernel)
	p.pointwise = true
	for i := 0; i < r; i++ {
		if g.Kernel[i] != 1 || g.Strides[i] != 1 || g.Pads[i] != 0 || g.Pads[r+i] != 0 {
			p.pointwise = false
		}
	}
	kl, sl, dl, pl := p.k[r-1], p.s[r-1], p.d[r-1], p.pb[r-1]
	il, ol := in[r-1], g.Out[r-1]
	p.lastLo, p.lastHi = make([]int, kl), make([]int, kl)
	for kj := 0; kj < kl; kj++ {
		// Input position of output o on the last axis: o*sl + x0.
		x0 := kj*dl - pl
		lo := 0
		if x0 < 0 {
			lo = (-x0 + sl - 1) / sl
		}
		hi := 0
		if il-1-x0 >= 0 {
			hi = (il-1-x0)/sl + 1
		}
		hi = min(hi, ol)
		lo = min(lo, hi)
		p.lastLo[kj], p.lastHi[kj] = lo, hi
	}
	return p
}

// im2col writes rows [rowLo, rowHi) of the column matrix of one group: row
// (c, k1..kn) holds, for every output position, the input element that kernel tap
// multiplies (0 in the padding). x holds the group's channels.
func (p *convPlan) im2col(x, col []float32, rowLo, rowHi int) {
	if p.rank == 2 {
		p.im2col2D(x, col, rowLo, rowHi)
		return
	}
	ol, il, sl := p.out[p.rank-1], p.in[p.rank-1], p.s[p.rank-1]
	w := p.newLineWalker()
	for row := rowLo; row < rowHi; row++ {
		ci := row / p.kSize
		xc := x[ci*p.inSize : (ci+1)*p.inSize]
		dst := col[row*p.outSize : (row+1)*p.outSize]
		w.walk(p, row, func(line, off, x0, lo, hi int, valid bool) {
			d := dst[line*ol : (line+1)*ol]
			if !valid || lo >= hi {
				clear(d)
				return
			}
			src := xc[off*il:]
			clear(d[:lo])
			if sl == 1 {
				copy(d[lo:hi], src[lo+x0:hi+x0])
			} else {
				xi := lo*sl + x0
				for o := lo; o < hi; o++ {
					d[o] = src[xi]
					xi += sl
				}
			}
			clear(d[hi:])
		})
	}
}

// lineWalker enumerates the lines (runs along the last spatial axis) of one row
// (c, k1..kn) of an N-d column matrix: the walk shared by im2col and its adjoint
// col2im.
type lineWalker struct{ kidx, oidx []int }

func (p *convPlan) newLineWalker() *lineWalker {
	return &lineWalker{kidx: make([]int, p.rank), oidx: make([]int, p.rank)}
}

// walk calls fn for every output line of row: off is the line's input line within
// the channel (valid false when it lies in the padding), x0 the input offset of
// output position 0 on the last axis, and [lo, hi) the output positions that read
// inside the input.
func (w *lineWalker) walk(p *convPlan, row int, fn func(line, off, x0, lo, hi int, valid bool)) {
	r := p.rank
	lines := p.outSize / max(p.out[r-1], 1)
	rem := row % p.kSize
	for a := r - 1; a >= 0; a-- {
		w.kidx[a] = rem % p.k[a]
		rem /= p.k[a]
	}
	kl := w.kidx[r-1]
	x0 := kl*p.d[r-1] - p.pb[r-1]
	lo, hi := p.lastLo[kl], p.lastHi[kl]
	clear(w.oidx)
	for line := 0; line < lines; line++ {
		off, valid := 0, true
		for a := 0; a < r-1; a++ {
			ii := w.oidx[a]*p.s[a] - p.pb[a] + w.kidx[a]*p.d[a]
			if ii < 0 || ii >= p.in[a] {
				valid = false
				break
			}
			off = off*p.in[a] + ii
		}
		for a := r - 2; a >= 0; a-- {
			w.oidx[a]++
			if w.oidx[a] < p.out[a] {
				break
			}
			w.oidx[a] = 0
		}
		fn(line, off, x0, lo, hi, valid)
	}
}

// im2col2D is im2col for the common 2-D case, with the per-line bookkeeping of the
// N-d version reduced to one row test: output lines are short (7 to 112 elements in
// typical CNNs), so the loop overhead matters as much as the copying.
func (p *convPlan) im2col2D(x, col []float32, rowLo, rowHi int) {
	ih, iw, oh, ow := p.in[0], p.in[1], p.out[0], p.out[1]
	kh, kw := p.k[0], p.k[1]
	sh, sw, dh, dw := p.s[0], p.s[1], p.d[0], p.d[1]
	ph, pw := p.pb[0], p.pb[1]
	plane := ih * iw
	for row := rowLo; row < rowHi; row++ {
		c, rem := row/(kh*kw), row%(kh*kw)
		ki, kj := rem/kw, rem%kw
		xc := x[c*plane : (c+1)*plane]
		dst := col[row*oh*ow : (row+1)*oh*ow]
		x0 := kj*dw - pw
		lo, hi := p.lastLo[kj], p.lastHi[kj]
		iy := ki*dh - ph
		for oy := 0; oy < oh; oy, iy = oy+1, iy+sh {
			d := dst[oy*ow : (oy+1)*ow]
			if iy < 0 || iy >= ih || lo >= hi {
				clear(d)
				continue
			}
			for i := 0; i < lo; i++ {
				d[i] = 0
			}
			src := xc[iy*iw : (iy+1)*iw]
			if sw == 1 {
				copy(d[lo:hi], src[lo+x0:hi+x0])
			} else {
				xi := lo*sw + x0
				dd := d[lo:hi]
				for o := range dd {
					dd[o] = src[xi]
					xi += sw
				}
			}
			for i := hi; i < ow; i++ {
				d[i] = 0
			}
		}
	}
}

// fillF32 sets every element of d to v. It seeds a short prefix and doubles it with
// copy, whose memmove is vectorized, instead of storing element by element.
func fillF32(d []float32, v float32) {
	n := min(len(d), 16)
	for i := 0; i < n; i++ {
		d[i] = v
	}
	for n < len(d) {
		n += copy(d[n:], d[:n])
	}
}

// convKernel is the float32 Conv.
type convKernel struct {
	node  *graph.Node
	group int
	// packed holds constant 2-D, ungrouped float32 weights (and bias) packed once
	// for kernels.SgemmPackedAFunc; wConst and bConst are the tensors it was built
	// from (Run uses it only when it is given those very tensors).
	packed         *kernels.PackedA
	wConst, bConst *graph.Tensor
	shapeMemo      convShapesMemo // conv_shapes_memo.go
}

func buildConv(b *BuildContext) (Kernel, error) {
	g := b.Node.AttrInt("group", 1)
	if g < 1 || g > 1<<30 {
		return nil, b.Errorf("group %d must be positive", g)
	}
	if _, err := graph.NodeAutoPad(b.Node); err != nil {
		return nil, err
	}
	k := &convKernel{node: b.Node, group: int(g)}
	w, bias := b.Const(1), b.Const(2)
	hasBias := len(b.Node.Inputs) > 2 && b.Node.Inputs[2] != ""
	if g == 1 && w != nil && w.DType == graph.Float32 && len(w.Shape) == 4 && (!hasBias || bias != nil) &&
		checkTensor("input W", w) == nil && graph.NumElements(w.Shape) > 0 {
		var bd []float32
		if bias != nil {
			if bias.DType != graph.Float32 || len(bias.Shape) != 1 || bias.Shape[0] != w.Shape[0] || checkTensor("input B", bias) != nil {
				return k, nil
			}
			bd = bias.F32()
		}
		kdim := graph.NumElements(w.Shape[1:])
		k.packed = kernels.PackSgemmA(false, w.Shape[0], kdim, w.F32(), kdim, bd)
		k.wConst, k.bConst = w, bias
	}
	return k, nil
}

// im2colPack writes rows [p0, p0+kc) and columns [j0, j0+nc) of the 2-D column
// matrix of one image straight into the panel layout of kernels.PackBFunc (16
// columns per panel, element (r, j) at dst[q*stride + (r-p0)*16 + l] with
// j-j0 = 16q+l, lanes past nc zero), so that the column matrix is never stored
// whole: each block is packed in cache and consumed at once.
func (p *convPlan) im2colPack(x, dst []float32, stride, p0, kc, j0, nc int) {
	const nr = 16
	if tail := nc % nr; tail != 0 {
		q := nc / nr
		for r := 0; r < kc; r++ {
			clear(dst[q*stride+r*nr+tail : q*stride+r*nr+nr])
		}
	}
	if p.pointwise {
		plane := p.outSize
		full := nc / nr
		for q := 0; q < full; q++ {
			kernels.PackPanelRows(dst[q*stride:], x[p0*plane+j0+q*nr:], plane, kc)
		}
		if full*nr < nc {
			for r := 0; r < kc; r++ {
				src := x[(p0+r)*plane+j0 : (p0+r)*plane+j0+nc]
				copy(dst[full*stride+r*nr:], src[full*nr:])
			}
		}
		return
	}
	ih, iw, ow := p.in[0], p.in[1], p.out[1]
	kh, kw := p.k[0], p.k[1]
	sh, sw, dh, dw := p.s[0], p.s[1], p.d[0], p.d[1]
	ph, pw := p.pb[0], p.pb[1]
	plane := ih * iw
	for r := 0; r < kc; r++ {
		row := p0 + r
		c, rem := row/(kh*kw), row%(kh*kw)
		ki, kj := rem/kw, rem%kw
		xc := x[c*plane : (c+1)*plane]
		drow := dst[r*nr:]
		x0 := kj*dw - pw
		lo, hi := p.lastLo[kj], p.lastHi[kj]
		iy0 := ki*dh - ph
		j, end := j0, j0+nc
		oy := j / ow
		ox := j - oy*ow
		for j < end {
			seg := min(ow-ox, end-j)
			iy := oy*sh + iy0
			valid := iy >= 0 && iy < ih && lo < hi
			var srow []float32
			if valid {
				srow = xc[iy*iw : (iy+1)*iw]
			}
			for seg > 0 {
				idx := j - j0
				lane := idx & (nr - 1)
				l := min(seg, nr-lane)
				d := drow[(idx/nr)*stride+lane:][:l]
				a, b := max(ox, lo), min(ox+l, hi)
				if !valid || b <= a {
					clear(d)
				} else {
					for i := 0; i < a-ox; i++ {
						d[i] = 0
					}
					dd := d[a-ox : b-ox]
					if sw == 1 {
						copy(dd, srow[a+x0:b+x0])
					} else {
						xi := a*sw + x0
						for i := range dd {
							dd[i] = srow[xi]
							xi += sw
						}
					}
					for i := b - ox; i < l; i++ {
						d[i] = 0
					}
				}
				j += l
				ox += l
				seg -= l
			}
			oy++
			ox = 0
		}
	}
}

// convShapes validates X, W and B of a Conv/ConvTranspose and resolves the geometry.
func convShapes(n *graph.Node, x, w, bias *graph.Tensor, group int, transpose bool) (*graph.ConvGeom, []int, error) {
	if len(x.Shape) < 3 {
		return nil, nil, fmt.Errorf("input X has shape %v, expected [N, C, D1, ...]", x.Shape)
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, nil, fmt.Errorf("weight W has shape %v, expected rank %d like X %v", w.Shape, len(x.Shape), x.Shape)
	}
	if w.DType != x.DType || bias != nil && bias.DType != x.DType {
		return nil, nil, fmt.Errorf("X, W and B must share one dtype (X %s, W %s)", x.DType, w.DType)
	}
	c := x.Shape[1]
	var m int
	if transpose {
		if w.Shape[0] != c || c%group != 0 {
			return nil, nil, fmt.Errorf("weight W %v does not match %d input channels in %d groups", w.Shape, c, group)
		}
		m = w.Shape[1] * group
	} else {
		if w.Shape[1]*group != c || w.Shape[0]%group != 0 {
			return nil, nil, fmt.Errorf("weight W %v does not match %d input channels in %d groups", w.Shape, c, group)
		}
		m = w.Shape[0]
	}
	if bias != nil && (len(bias.Shape) != 1 || bias.Shape[0] != m) {
		return nil, nil, fmt.Errorf("bias B has shape %v, expected [%d]", bias.Shape, m)
	}
	rank := len(x.Shape) - 2
	wv := &graph.Value{DType: w.DType, Shape: graph.ShapeOf(w.Shape...), HasShape: true}
	kernel, _, err := graph.ConvKernelShape(n, wv, rank)
	if err != nil {
		return nil, nil, err
	}
	var geom *graph.ConvGeom
	if transpose {
		geom, err = graph.ResolveConvTransposeGeom(n, x.Shape[2:], kernel)
	} else {
		geom, err = graph.ResolveConvGeom(n, x.Shape[2:], kernel, false)
	}
	if err != nil {
		return nil, nil, err
	}
	out := append([]int{x.Shape[0], m}, geom.Out...)
	if err := checkSize(out, "output shape"); err != nil {
		return nil, nil, err
	}
	return geom, out, nil
}

func (k *convKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	if out, ok, err := k.runPacked(ctx, in, nil); ok || err != nil {
		return out, err
	}
	x, w, bias := in[0], in[1], optInput(in, 2)
	geom, outShape, err := k.shapes(x, w, bias, k.group, false)
	if err != nil {
		return nil, err
	}
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	if out, ok := depthwise3DF32(ctx, x, w, bias, geom, outShape, k.group); ok {
		return []*graph.Tensor{out}, nil // conv_depthwise3d.go
	}
	out := graph.NewTensor(graph.Float32, outShape)
	p := k.plan(x.Shape[2:], geom)
	var bd []float32
	if bias != nil {
		bd = bias.F32()
	}
	convF32(ctx.Threads, p, x.F32(), x.Shape[0], x.Shape[1], w.F32(), outShape[1], bd, k.group, out.F32())
	return []*graph.Tensor{out}, nil
}

// convEpilogue is what a fused Conv (fuse.go) applies to its output tiles:
// y = clamp(y + residual) with a residual of the output's shape (nil for none).
type convEpilogue struct {
	residual *graph.Tensor
	clip     bool
	lo, hi   float32
}

// runPacked runs a float32 2-D Conv on its pre-packed weights, with the bias folded
// into the GEMM and im2col packing B block by block, applying ep (nil for none).
// ok is false, with no error, when that path does not apply (other weights than the
// packed ones, another rank or dtype, a residual that is not of the output's
// shape): the caller then runs the general path.
func (k *convKernel) runPacked(ctx *ExecContext, in []*graph.Tensor, ep *convEpilogue) (out []*graph.Tensor, ok bool, err error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, false, err
	}
	x, w, bias := in[0], in[1], optInput(in, 2)
	if k.packed == nil || w != k.wConst || bias != k.bConst || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, false, nil
	}
	geom, outShape, err := k.shapes(x, w, bias, k.group, false)
	if err != nil {
		return nil, false, err
	}
	n, c, m := x.Shape[0], x.Shape[1], outShape[1]
	// The Add is a residual of the output's shape or a per-sample bias
	// (conv_rows_bias.go): each image's is a row bias of its GEMM.
	var res, sbias []float32
	if ep != nil && ep.residual != nil {
		r := ep.residual
		switch {
		case r.DType != graph.Float32:
			return nil, false, nil
		case slices.Equal(r.Shape, outShape):
			res = r.F32()
		default:
			if sbias, err = sampleBiases(r, n, m, nil, m); err != nil {
				return nil, false, nil
			}
		}
	}
	p := k.plan(x.Shape[2:], geom)
	if sp := newShiftedPlan(p, c, k.packed.HasBias()); sp != nil {
		y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
		buf := getF32(sp.size)
		defer putF32(buf)
		xd, yd := x.F32(), y.F32()
		for img := 0; img < n; img++ {
			sp.fill(p, xd[img*c*p.inSize:(img+1)*c*p.inSize], *buf, ctx.Threads)
			var rs []float32
			if res != nil {
				rs = res[img*m*p.outSize : (img+1)*m*p.outSize]
			}
			var rb []float32
			if sbias != nil {
				rb = sbias[img*m : (img+1)*m]
			}
			sp.run(k.packed, *buf, yd[img*m*p.outSize:(img+1)*m*p.outSize], ep, rs, rb, ctx.Threads)
		}
		return []*graph.Tensor{y}, true, nil
	}
	var g *gatherPlan
	if !p.pointwise && p.outSize > 0 {
		g = newGatherPlan(p)
		if g == nil {
			return nil, false, nil
		}
	}
	// The GEMM writes every element of y: its buffer may be a recycled one.
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	xd, yd := x.F32(), y.F32()
	if p.outSize == 0 {
		return []*graph.Tensor{y}, true, nil
	}
	var padBuf *[]float32
	if g != nil {
		if g.padded {
			padBuf = getF32(c * g.plane)
			defer putF32(padBuf)
		}
	}
	for img := 0; img < n; img++ {
		xs := xd[img*c*p.inSize : (img+1)*c*p.inSize]
		ys := yd[img*m*p.outSize : (img+1)*m*p.outSize]
		pack := func(dst []float32, stride, p0, kc, j0, nc int) {
			p.im2colPack(xs, dst, stride, p0, kc, j0, nc)
		}
		if g != nil {
			src := xs
			if g.padded {
				src = *padBuf
				g.pad(p, xs, src, ctx.Threads)
			}
			pack = func(dst []float32, stride, p0, kc, j0, nc int) {
				g.pack(p, src, dst, stride, p0, kc, j0, nc)
			}
		}
		var kep *kernels.SgemmEpilogue
		if ep != nil {
			kep = &kernels.SgemmEpilogue{Clip: ep.clip, Min: ep.lo, Max: ep.hi}
			if res != nil {
				kep.Residual = res[img*m*p.outSize : (img+1)*m*p.outSize]
			}
			if sbias != nil {
				kep.RowBias = sbias[img*m : (img+1)*m]
			}
		}
		kernels.SgemmPackedAFunc(k.packed, p.outSize, pack, ys, p.outSize, false, kep, ctx.Threads)
	}
	return []*graph.Tensor{y}, true, nil
}

// gatherPlan is the im2col of a 2-D convolution as a gather: the input is first
// copied into a zero-padded buffer (unless it needs no padding), so that column j
// of row (c, ki, kj) of the column matrix is src[rowOff(c, ki, kj) + off[j]] with no
// bounds logic; each 16-column panel row is then 16 indexed loads. This is several
// times faster than copying the short runs of the rows of small feature maps.
type gatherPlan struct {
	padded    bool
	rs, plane int     // row stride and channel plane of src
	ph, pw    int     // leading pads inside the padded buffer
	pih, piw  int     // padded rows and columns
	off       []int32 // per output position, padded to a multiple of 16
	// contig marks the 16-column panels whose sources are 16 consecutive floats
	// (stride 1, within one output row): those are one 64-byte copy per row.
	contig []bool
}

// newGatherPlan returns nil when a channel plane is too large for int32 offsets.
func newGatherPlan(p *convPlan) *gatherPlan {
	ih, iw, oh, ow := p.in[0], p.in[1], p.out[0], p.out[1]
	g := &gatherPlan{ph: p.pb[0], pw: p.pb[1]}
	// The extent the kernel reaches, from the first padded row and column.
	g.pih = (oh-1)*p.s[0] + (p.k[0]-1)*p.d[0] + 1
	g.piw = (ow-1)*p.s[1] + (p.k[1]-1)*p.d[1] + 1
	g.padded = g.ph > 0 || g.pw > 0 || g.pih > ih || g.piw > iw
	if g.padded {
		g.rs, g.plane = g.piw, g.pih*g.piw
	} else {
		g.rs, g.plane = iw, ih*iw
	}
	if g.plane > math.MaxInt32 {
		return nil // offsets are int32: such planes take the general path
	}
	n := oh * ow
	g.off = make([]int32, (n+15)/16*16)
	for j := 0; j < n; j++ {
		oy, ox := j/ow, j%ow
		g.off[j] = int32(oy*p.s[0]*g.rs + ox*p.s[1])
	}
	g.contig = make([]bool, n/16)
	for q := range g.contig {
		g.contig[q] = g.off[q*16+15]-g.off[q*16] == 15 && p.s[1] == 1
	}
	return g
}

// pad copies one image's channels into the zero-padded buffer dst.
func (g *gatherPlan) pad(p *convPlan, x, dst []float32, threads int) {
	ih, iw := p.in[0], p.in[1]
	c := len(dst) / g.plane
	// Input rows [0, r1) and columns [0, w) land inside the padded extent (a pad
	// larger than the kernel's reach can leave none).
	r1 := max(0, min(ih, g.pih-g.ph))
	w := max(0, min(iw, g.piw-g.pw))
	top, left := min(g.ph, g.pih), min(g.pw, g.piw)
	parallelFor(threads, c, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			d := dst[ch*g.plane : (ch+1)*g.plane]
			xc := x[ch*ih*iw : (ch+1)*ih*iw]
			clear(d[:top*g.piw])
			for iy := 0; iy < r1; iy++ {
				row := d[(iy+g.ph)*g.piw : (iy+g.ph+1)*g.piw]
				clear(row[:left])
				copy(row[left:left+w], xc[iy*iw:iy*iw+w])
				clear(row[left+w:])
			}
			clear(d[(top+r1)*g.piw:])
		}
	})
}

// pack is a kernels.PackBFunc over the (padded) input src.
func (g *gatherPlan) pack(p *convPlan, src, dst []float32, stride, p0, kc, j0, nc int) {
	const nr = 16
	kh, kw := p.k[0], p.k[1]
	dh, dw := p.d[0], p.d[1]
	full := nc / nr
	tail := nc - full*nr
	for r := 0; r < kc; r++ {
		row := p0 + r
		ch, rem := row/(kh*kw), row%(kh*kw)
		ki, kj := rem/kw, rem%kw
		s := src[ch*g.plane+ki*dh*g.rs+kj*dw:]
		for q := 0; q < full; q++ {
			d := (*[nr]float32)(dst[q*stride+r*nr:])
			if g.contig[j0/nr+q] {
				*d = *(*[nr]float32)(s[g.off[j0+q*nr]:])
				continue
			}
			o := (*[nr]int32)(g.off[j0+q*nr:])
			for l := range d {
				d[l] = s[o[l]]
			}
		}
		if tail > 0 {
			o := g.off[j0+full*nr : j0+full*nr+tail]
			d := (*[nr]float32)(dst[full*stride+r*nr:])
			for l, v := range o {
				d[l] = s[v]
			}
			clear(d[tail:])
		}
	}
}

// convF32 computes a grouped N-d convolution: for every image and group, the group's
// weights [M/g, C/g * K] times its im2col matrix [C/g * K, out positions]. Many
// independent (image, group) products are spread over the threads, each with its own
// column buffer; a few large ones run in turn with a multi-threaded im2col and GEMM.
func convF32(threads int, p *convPlan, x []float32, n, c int, w []float32, m int, bias []float32, group int, y []float32) {
	cg, mg := c/group, m/group
	kdim := cg * p.kSize
	items := n * group
	if items == 0 || mg == 0 || p.outSize == 0 {
		return
	}
	run := func(item, th int, col []float32) {
		img, g := item/group, item%group
		xg := x[(img*c+g*cg)*p.inSize : (img*c+(g+1)*cg)*p.inSize]
		yg := y[(img*m+g*mg)*p.outSize : (img*m+(g+1)*mg)*p.outSize]
		wg := w[g*mg*kdim : (g+1)*mg*kdim]
		acc := bias != nil
		if acc {
			for j := 0; j < mg; j++ {
				fillF32(yg[j*p.outSize:(j+1)*p.outSize], bias[g*mg+j])
			}
		}
		if kdim == 0 {
			return
		}
		bm := xg
		if !p.pointwise {
			if th > 1 {
				nnParallel(th, kdim, func(lo, hi int) { p.im2col(xg, col, lo, hi) })
			} else {
				p.im2col(xg, col, 0, kdim)
			}
			bm = col
		}
		kernels.Sgemm(false, false, mg, p.outSize, kdim, wg, kdim, bm, p.outSize, yg, p.outSize, acc, th)
	}
	colLen := 0
	if !p.pointwise {
		colLen = kdim * p.outSize
	}
	if threads > 1 && items >= threads {
		nnParallel(threads, items, func(lo, hi int) {
			buf := getF32(colLen)
			defer putF32(buf)
			for it := lo; it < hi; it++ {
				run(it, 1, *buf)
			}
		})
		return
	}
	buf := getF32(colLen)
	defer putF32(buf)
	for it := 0; it < items; it++ {
		run(it, threads, *buf)
	}
}

// convTransposeKernel is the float32 ConvTranspose.
type convTransposeKernel struct {
	node  *graph.Node
	group int
}

func buildConvTranspose(b *BuildContext) (Kernel, error) {
	g := b.Node.AttrInt("group", 1)
	if g < 1 || g > 1<<30 {
		return nil, b.Errorf("group %d must be positive", g)
	}
	if _, err := graph.NodeAutoPad(b.Node); err != nil {
		return nil, err
	}
	return &convTransposeKernel{node: b.Node, group: int(g)}, nil
}

func (k *convTransposeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, w, bias := in[0], in[1], optInput(in, 2)
	geom, outShape, err := convShapes(k.node, x, w, bias, k.group, true)
	if err != nil {
		return nil, err
	}
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	out := graph.NewTensor(graph.Float32, outShape)
	// The col2im plan maps input positions (the "output" of the plan) onto the result
	// (its "input"): result position = i*stride - pad + k*dilation.
	p := newConvPlan(geom.Out, &graph.ConvGeom{Kernel: geom.Kernel, Strides: geom.Strides, Dilations: geom.Dilations,
		Pads: geom.Pads, Out: x.Shape[2:]})
	var bd []float32
	if bias != nil {
		bd = bias.F32()
	}
	convTransposeF32(ctx.Threads, p, x.F32(), x.Shape[0], x.Shape[1], w.F32(), outShape[1], bd, k.group, out.F32())
	return []*graph.Tensor{out}, nil
}

// col2im adds rows [rowLo, rowHi) of a column matrix (row (m, k1..kn), one column per
// input position) into the result channels y, the scatter that is the adjoint of
// im2col. Rows of different channels never touch the same outputs, so callers split
// work on channel boundaries.
func (p *convPlan) col2im(col, y []float32, rowLo, rowHi int) {
	ol, il, sl := p.out[p.rank-1], p.in[p.rank-1], p.s[p.rank-1]
	w := p.newLineWalker()
	for row := rowLo; row < rowHi; row++ {
		ci := row / p.kSize
		yc := y[ci*p.inSize : (ci+1)*p.inSize]
		src := col[row*p.outSize : (row+1)*p.outSize]
		w.walk(p, row, func(line, off, x0, lo, hi int, valid bool) {
			if !valid {
				return
			}
			s := src[line*ol : (line+1)*ol]
			dst := yc[off*il:]
			xi := lo*sl + x0
			for o := lo; o < hi; o++ {
				dst[xi] += s[o]
				xi += sl
			}
		})
	}
}

// convTransposeF32 computes, per image and group, the column matrix W_g^T * X_g
// ([M/g * K, input positions]) and scatters it into the output with col2im.
func convTransposeF32(threads int, p *convPlan, x []float32, n, c int, w []float32, m int, bias []float32, group int, y []float32) {
	cg, mg := c/group, m/group
	rows := mg * p.kSize
	items := n * group
	inPos := p.outSize // positions of the transposed convolution's input
	if items == 0 || mg == 0 {
		return
	}
	run := func(item, th int, col []float32) {
		img, g := item/group, item%group
		xg := x[(img*c+g*cg)*inPos : (img*c+(g+1)*cg)*inPos]
		yg := y[(img*m+g*mg)*p.inSize : (img*m+(g+1)*mg)*p.inSize]
		wg := w[g*cg*rows : (g+1)*cg*rows]
		if cg > 0 && inPos > 0 && rows > 0 {
			kernels.Sgemm(true, false, rows, inPos, cg, wg, rows, xg, inPos, col, inPos, false, th)
			if th > 1 {
				nnParallel(th, mg, func(lo, hi int) { p.col2im(col, yg, lo*p.kSize, hi*p.kSize) })
			} else {
				p.col2im(col, yg, 0, rows)
			}
		}
		if bias != nil {
			for j := 0; j < mg; j++ {
				v := bias[g*mg+j]
				row := yg[j*p.inSize : (j+1)*p.inSize]
				for i := range row {
					row[i] += v
				}
			}
		}
	}
	colLen := rows * inPos
	if threads > 1 && items >= threads {
		nnParallel(threads, items, func(lo, hi int) {
			buf := getF32(colLen)
			defer putF32(buf)
			for it := lo; it < hi; it++ {
				run(it, 1, *buf)
			}
		})
		return
	}
	buf := getF32(colLen)
	defer putF32(buf)
	for it := 0; it < items; it++ {
		run(it, threads, *buf)
	}
}

func init() {
	Register(OpInfo{OpType: "Conv", Build: buildConv})
	Register(OpInfo{OpType: "ConvTranspose", Build: buildConvTranspose})
}

package runtime

// Strided ConvTranspose as stride-1 convolutions, one per output phase
// (thirteenth session). A ConvTranspose of stride s adds input pixel i's
// products into outputs o = i·s − p + k·d; so output o, with q = o + p =
// Q·s + r, receives exactly the taps k whose k·d ≡ r (mod s), each from input
// Q − (k·d − r)/s. Every residue r (a phase: s·s of them in 2-D) is therefore
// an ordinary correlation of the input with that phase's taps, computed at
// the output pixels of the phase: the indexed row tiles of the grouped
// convolutions (kernels.SgemmRowsIdx, conv_grouped_idx.go) run it with one
// A offset per output pixel (into a zero-padded channels-last copy of the
// input) and one C offset (the pixel in the full output). Groups are merged
// into blocks of block-diagonal weights as for grouped Convs (groupMerge),
// a depthwise ConvTranspose included.
//
// The general kernel (op_conv.go) computed the GEMM of every tap for every
// input pixel and scattered the columns with col2im (NCHW, 2-4x ORT's time on
// the exports of out/bench-models-unseen6); the block kernel of
// layout_convtranspose.go stays for kernel == stride without padding (a
// UNet's 2x2 up-convolution: one GEMM, no phases needed).
//
// Each output is the bias plus one FMA per tap and input channel of its
// phase, in (tap, channel) order: the same terms as col2im's sum, in a
// different order (float tolerance, not bits).

import (
	"fmt"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// ctPhase is one residue (ry, rx) of the output positions plus the begin
// pads modulo the strides: its taps and their packed weights.
type ctPhase struct {
	ry, rx int
	ay, ax []int // per tap: the input row/column lag (k·d − r)/s
	blocks []groupBlock
}

// phaseConvTranspose is a 2-D float32 ConvTranspose with constant weights
// on the phase decomposition; it reads a channels-last (inNHWC, pixel
// stride pixelStride(c)) or NCHW input and writes channels-last (outNHWC,
// pixel stride pixelStride(m)) or NCHW.
type phaseConvTranspose struct {
	node            *graph.Node
	w, b            *graph.Tensor
	c, m, groups    int
	kh, kw          int
	sy, sx, dy, dx  int
	phases          []ctPhase
	lagY, lagX      int // the largest lag over all taps
	inNHWC, outNHWC bool
	plan            atomic.Pointer[ctPlan]
	clamp           ctClamp // a Relu or Clip after it (fuse_convtranspose_clamp.go)
}

// phaseConvTransposeWeights returns the constant weights and bias of a
// ConvTranspose step the phase kernel can run (2-D, float32, static input
// channels c, every stride at least 1), or nil.
func (s *Session) phaseConvTransposeWeights(st step, c int) (w, b *graph.Tensor, group int) {
	k, ok := st.kernel.(*convTransposeKernel)
	if !ok || len(st.in) < 2 || st.in[1] < 0 || len(st.out) != 1 || c <= 0 {
		return nil, nil, 0
	}
	w = s.consts[st.in[1]]
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != 4 || w.Shape[0] != c || c%k.group != 0 ||
		graph.NumElements(w.Shape) == 0 || checkTensor("input W", w) != nil {
		return nil, nil, 0
	}
	if len(st.in) > 2 && len(k.node.Inputs) > 2 && k.node.Inputs[2] != "" {
		if st.in[2] < 0 {
			return nil, nil, 0
		}
		b = s.consts[st.in[2]]
		if b == nil || b.DType != graph.Float32 || b.Len() != w.Shape[1]*k.group || checkTensor("input B", b) != nil {
			return nil, nil, 0
		}
	}
	if _, _, err := ctStrides(k.node); err != nil {
		return nil, nil, 0
	}
	if ks := k.node.AttrInts("kernel_shape", nil); ks != nil && (len(ks) != 2 || ks[0] != int64(w.Shape[2]) || ks[1] != int64(w.Shape[3])) {
		return nil, nil, 0
	}
	return w, b, k.group
}

// ctStrides returns the strides and dilations of a 2-D ConvTranspose node.
func ctStrides(n *graph.Node) (s, d [2]int, err error) {
	for i, a := range []string{"strides", "dilations"} {
		v := n.AttrInts(a, []int64{1, 1})
		if len(v) != 2 || v[0] < 1 || v[1] < 1 || v[0] > 1<<16 || v[1] > 1<<16 {
			return s, d, fmt.Errorf("%s: %s %v, want two positive values", n.Label(), a, v)
		}
		if i == 0 {
			s = [2]int{int(v[0]), int(v[1])}
		} else {
			d = [2]int{int(v[0]), int(v[1])}
		}
	}
	return s, d, nil
}

// phaseKernel returns the phase kernel of a ConvTranspose step of c input
// channels (see phaseConvTransposeWeights), or nil.
func (s *Session) phaseKernel(st step, c int, inNHWC, outNHWC bool) Kernel {
	w, b, group := s.phaseConvTransposeWeights(st, c)
	if w == nil {
		return nil
	}
	k, err := newPhaseConvTranspose(st.kernel.(*convTransposeKernel).node, w, b, group, inNHWC, outNHWC)
	if err != nil {
		return nil
	}
	return k
}

// newPhaseConvTranspose packs the weights of every phase.
func newPhaseConvTranspose(node *graph.Node, w, b *graph.Tensor, group int, inNHWC, outNHWC bool) (*phaseConvTranspose, error) {
	c, mg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	st, dl, err := ctStrides(node)
	if err != nil {
		return nil, err
	}
	k := &phaseConvTranspose{node: node, w: w, b: b, c: c, m: mg * group, groups: group, kh: kh, kw: kw,
		sy: st[0], sx: st[1], dy: dl[0], dx: dl[1], inNHWC: inNHWC, outNHWC: outNHWC}
	k.lagY, k.lagX = (kh-1)*k.dy/k.sy, (kw-1)*k.dx/k.sx
	cg := c / group
	f := groupMerge(mg, group)
	wd := w.F32()
	for ry := 0; ry < k.sy; ry++ {
		for rx := 0; rx < k.sx; rx++ {
			ph := ctPhase{ry: ry, rx: rx}
			var tys, txs []int
			for ky := 0; ky < kh; ky++ {
				if (ky*k.dy)%k.sy == ry {
					tys = append(tys, ky)
				}
			}
			for kx := 0; kx < kw; kx++ {
				if (kx*k.dx)%k.sx == rx {
					txs = append(txs, kx)
				}
			}
			taps := len(tys) * len(txs)
			for _, ky := range tys {
				for _, kx := range txs {
					ph.ay = append(ph.ay, (ky*k.dy-ry)/k.sy)
					ph.ax = append(ph.ax, (kx*k.dx-rx)/k.sx)
				}
			}
			for g0 := 0; g0 < group && taps > 0; g0 += f {
				nf := min(f, group-g0)
				o0, c0, cn, n := g0*mg, g0*cg, nf*cg, nf*mg
				np := (n + 15) / 16 * 16
				kdim := taps * cn
				// [(tap, ci)][o], zero across groups.
				wt := make([]float32, kdim*np)
				for o := 0; o < n; o++ {
					gi, oj := o/mg, o%mg
					for cj := 0; cj < cg; cj++ {
						ci := c0 + gi*cg + cj
						t := 0
						for _, ky := range tys {
							for _, kx := range txs {
								wt[(t*cn+gi*cg+cj)*np+o] = wd[((ci*mg+oj)*kh+ky)*kw+kx]
								t++
							}
						}
					}
				}
				blk := groupBlock{o0: o0, c0: c0, cn: cn, pb: kernels.PackRowsB16(kdim, np, wt, np), bias: make([]float32, np)}
				if b != nil {
					copy(blk.bias, b.F32()[o0:o0+n])
				}
				ph.blocks = append(ph.blocks, blk)
			}
			k.phases = append(k.phases, ph)
		}
	}
	return k, nil
}

// ctPlan is the plan of one input size: the zero-padded input's geometry
// and, per phase, its output pixels' A and C offsets and its tap offsets.
type ctPlan struct {
	h, w, oh, ow int
	pads         [2]int // begin pads
	ss           int    // pixel stride of the computed output
	top, left    int    // margins of the padded input
	hp, wp       int
	sets         []idxRows // per phase (offs nil for a phase without taps)
}

// floorDiv is ⌊a/b⌋ for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// ctPlanFor returns the plan of an h×w input with begin pads (py, px) and an
// oh×ow output computed at pixel stride ss.
func (k *phaseConvTranspose) ctPlanFor(h, w, oh, ow, py, px, ss int) *ctPlan {
	if pl := k.plan.Load(); pl != nil && pl.h == h && pl.w == w && pl.oh == oh && pl.ow == ow && pl.pads == [2]int{py, px} && pl.ss == ss {
		return pl
	}
	pl := &ctPlan{h: h, w: w, oh: oh, ow: ow, ss: ss, pads: [2]int{py, px}}
	// Input row Q − a for output oy = Q·s + r − p: Q runs over
	// [⌊p/s⌋, ⌊(oh−1+p)/s⌋], a over [0, lagY].
	qy0, qy1 := floorDiv(py, k.sy), floorDiv(oh-1+py, k.sy)
	qx0, qx1 := floorDiv(px, k.sx), floorDiv(ow-1+px, k.sx)
	pl.top = max(0, k.lagY-qy0)
	pl.left = max(0, k.lagX-qx0)
	pl.hp = pl.top + max(h, qy1+1)
	pl.wp = pl.left + max(w, qx1+1)
	if pl.hp*pl.wp*k.c+pl.hp*pl.wp > 1<<31-1 || oh*ow*ss > 1<<31-1 {
		return nil
	}
	for _, ph := range k.phases {
		var set idxRows
		for oy := 0; oy < oh; oy++ {
			if oy+py-floorDiv(oy+py, k.sy)*k.sy != ph.ry {
				continue
			}
			qy := floorDiv(oy+py, k.sy)
			for ox := 0; ox < ow; ox++ {
				if ox+px-floorDiv(ox+px, k.sx)*k.sx != ph.rx {
					continue
				}
				qx := floorDiv(ox+px, k.sx)
				// The A row is the pixel at lag (lagY, lagX) from (Q, Q'); the
				// taps' offsets add the rest (non-negative).
				set.aoff = append(set.aoff, int32(((qy-k.lagY+pl.top)*pl.wp+qx-k.lagX+pl.left)*k.c))
				set.coff = append(set.coff, int32((oy*ow+ox)*ss))
			}
		}
		if len(ph.blocks) > 0 {
			set.offs = map[int][]int32{}
			taps := len(ph.ay)
			for _, blk := range ph.blocks {
				if set.offs[blk.cn] != nil {
					continue
				}
				o := make([]int32, taps*blk.cn)
				for t := 0; t < taps; t++ {
					base := ((k.lagY-ph.ay[t])*pl.wp + k.lagX - ph.ax[t]) * k.c
					for ci := 0; ci < blk.cn; ci++ {
						o[t*blk.cn+ci] = int32(base + ci)
					}
				}
				set.offs[blk.cn] = o
			}
		}
		pl.sets = append(pl.sets, set)
	}
	k.plan.Store(pl)
	return pl
}

func (k *phaseConvTranspose) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("ConvTranspose (phases): %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in, 2)
	if w != k.w || b != k.b || x == nil || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, fmt.Errorf("ConvTranspose (phases): inputs are not the planned ones")
	}
	n, h, wd, sxIn, err := convInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, fmt.Errorf("ConvTranspose (phases): %w", err)
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, h, wd}}
	geom, outShape, err := convShapes(k.node, hdr, w, b, k.groups, true)
	if err != nil {
		return nil, err
	}
	if len(geom.Kernel) != 2 || geom.Kernel[0] != k.kh || geom.Kernel[1] != k.kw || geom.Strides[0] != k.sy || geom.Strides[1] != k.sx ||
		geom.Dilations[0] != k.dy || geom.Dilations[1] != k.dx {
		return nil, fmt.Errorf("ConvTranspose (phases): geometry %+v is not the planned one", geom)
	}
	oh, ow := outShape[2], outShape[3]
	so := pixelStride(k.m)
	if n*oh*ow == 0 {
		return emptyConvOutput(k.outNHWC, n, oh, ow, so, outShape), nil
	}
	// The tiles store whole 16-lane panels: straight into a channels-last
	// output whose stride is a multiple of 16, else into a scratch.
	ss := so
	direct := k.outNHWC && so%16 == 0
	if !direct {
		ss = (k.m + 15) / 16 * 16
	}
	pl := k.ctPlanFor(h, wd, oh, ow, geom.Pads[0], geom.Pads[1], ss)
	if pl == nil {
		return nil, fmt.Errorf("ConvTranspose (phases): too large for 32-bit offsets")
	}
	var y []float32
	osz := oh * ow * ss
	if direct {
		y = ctx.AllocF32(n * osz)
	} else {
		tmp := getF32(n * osz)
		defer putF32(tmp)
		y = *tmp
	}
	pad := getF32(pl.hp * pl.wp * k.c)
	defer putF32(pad)
	xd := x.F32()
	for img := 0; img < n; img++ {
		k.fillPadded(pl, xd, img, h, wd, sxIn, *pad)
		k.gemms(pl, *pad, y[img*osz:(img+1)*osz], ctx.Threads)
	}
	if direct {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	if k.outNHWC {
		out := ctx.AllocF32(n * oh * ow * so)
		for p := 0; p < n*oh*ow; p++ {
			copy(out[p*so:p*so+k.m], y[p*ss:])
		}
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: out}}, nil
	}
	out := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	nhwcToNCHWF32(y, ss, out.F32(), n, k.m, oh*ow, ctx.Threads)
	return []*graph.Tensor{out}, nil
}

// fillPadded writes image img of x (channels-last at pixel stride sx, or
// NCHW) into the zero-padded input buffer [hp][wp][c].
func (k *phaseConvTranspose) fillPadded(pl *ctPlan, x []float32, img, h, w, sx int, pad []float32) {
	c := k.c
	clear(pad)
	if k.inNHWC {
		xi := x[img*h*w*sx:]
		for iy := 0; iy < h; iy++ {
			row := pad[((iy+pl.top)*pl.wp+pl.left)*c:]
			for ix := 0; ix < w; ix++ {
				copy(row[ix*c:ix*c+c], xi[(iy*w+ix)*sx:])
			}
		}
		return
	}
	xi := x[img*c*h*w:]
	for ci := 0; ci < c; ci++ {
		plane := xi[ci*h*w:]
		for iy := 0; iy < h; iy++ {
			row := pad[((iy+pl.top)*pl.wp+pl.left)*c+ci:]
			for ix, v := range plane[iy*w : iy*w+w] {
				row[ix*c] = v
			}
		}
	}
}

// gemms computes every phase of one image into y (pixel stride pl.ss).
// Above one thread the items are (phase, block, range of rows).
func (k *phaseConvTranspose) gemms(pl *ctPlan, a, y []float32, threads int) {
	type item struct{ ph, blk, r0, r1 int }
	var items []item
	total := 0
	for pi := range k.phases {
		total += len(pl.sets[pi].aoff) * max(1, len(k.phases[pi].blocks))
	}
	// Rows per item: a share of the work that leaves a few items per thread.
	chunk := len(pl.sets[0].aoff) + 6
	if threads > 1 {
		chunk = max(48, (total/(4*threads)+5)/6*6)
	}
	for pi, ph := range k.phases {
		rows := len(pl.sets[pi].aoff)
		nb := max(1, len(ph.blocks))
		for bi := 0; bi < nb; bi++ {
			for r0 := 0; r0 < rows; r0 += chunk {
				items = append(items, item{pi, bi, r0, min(rows, r0+chunk)})
			}
		}
	}
	run := func(it item) {
		ph, set := &k.phases[it.ph], &pl.sets[it.ph]
		if len(ph.blocks) == 0 {
			// No tap lands on this phase: the bias alone.
			for _, o := range set.coff[it.r0:it.r1] {
				row := y[o : int(o)+pl.ss]
				clear(row)
				if k.b != nil {
					copy(row, k.b.F32())
				}
				k.clamp.apply(row)
			}
			return
		}
		blk := &ph.blocks[it.blk]
		kernels.SgemmRowsIdx(blk.pb, a[blk.c0:], set.aoff[it.r0:it.r1], set.offs[blk.cn], blk.bias, y[blk.o0:], set.coff[it.r0:it.r1], nil, k.clamp.on, k.clamp.lo, k.clamp.hi, kernels.ActNone)
	}
	if threads <= 1 || len(items) < 2 {
		for _, it := range items {
			run(it)
		}
		return
	}
	var next atomic.Int64
	nnParallel(threads, threads, func(int, int) {
		for i := int(next.Add(1)) - 1; i < len(items); i = int(next.Add(1)) - 1 {
			run(items[i])
		}
	})
}

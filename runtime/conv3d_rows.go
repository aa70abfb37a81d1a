package runtime

// 3-D convolutions (video and volumetric networks: C3D, MC3, R(2+1)D, 3-D
// U-Nets) on the channels-last GEMM of the 2-D chains (conv_rows.go). The
// NCDHW path (op_conv.go) builds an im2col of kd·kh·kw·C rows for every
// output voxel and runs a general Sgemm over it, with the bias, the Relu and
// the residual as separate passes: c3d_pool's two 3x3x3 layers cost 32 ms of
// its 47 (ONNX Runtime's whole run: 7.8 ms).
//
// Here the input is laid out once per image as its depth planes, each padded
// and split into stride phases exactly as a 2-D rows plan lays out one image
// (rowsPlan), one plane after the other. A kd x kh x kw convolution is then
// one SgemmRows per output depth slice: the reduction runs over the taps
// (kt, ki, kj, ci), and tap kt of slice od is the plane od·sd − pd + kt·dd,
// a constant offset from the slice's first plane, so the offsets of the 2-D
// plan extend to 3-D by a multiple of the plane size. Taps that fall in the
// depth padding are not computed at all: a slice whose window is clipped runs
// on the weights of its valid taps only (packed on first use), and the
// padding planes are never stored. The bias, a residual of the output's
// layout, the Relu/Clip clamp and an activation are applied as each tile is
// stored, as in 2-D. A kernel of 1 x 1 in height and width without padding
// or stride there (R(2+1)D's temporal (3, 1, 1) layers) reads a
// channels-last input in place.
//
// A channels-last 3-D tensor is [N, D, H, W, S] with the pixel stride S of
// pixelStride(C), i.e. an NHWC tensor of N·D images: the per-pixel kernels of
// the 2-D chains apply to it unchanged (layout_3d.go).

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// conv3dRowsKernel is a 3-D Conv (with the fused residual Add, clamp and
// activation of a fusedConvKernel, if any) whose input and/or output are
// channels-last.
type conv3dRowsKernel struct {
	conv     *convKernel
	nConvIn  int
	residual bool
	rowsEpilogue
	inNHWC, outNHWC bool
	c, m, group     int // input and output channels, groups
	cg, mg          int // per group
	kd, kh, kw      int
	// np is the number of columns the GEMM computes per group: mg, or for
	// one group m rounded up to the channels-last pixel stride (zero
	// weights and bias in the padding), as rowsConvKernel does.
	np   int
	wt   [][]float32 // per group: weights as [(kt, ki, kj, ci)][np]
	bias []float32   // m (np for one group) values, or nil

	mu sync.Mutex
	// subs[(g, kt0, kt1)] is a rows kernel on group g's weights of depth
	// taps kt0..kt1, packed on first use.
	subs map[[3]int]*rowsConvKernel
	plan atomic.Pointer[conv3dPlan]
}

// conv3dCapable reports whether a Conv runs on conv3dRowsKernel: 3-D,
// constant float32 weights (and bias), groups of at least two input
// channels (a depthwise 3-D Conv would run one GEMM column per channel).
func conv3dCapable(k *convKernel, w, b *graph.Tensor) bool {
	if k == nil || w == nil || w.DType != graph.Float32 || len(w.Shape) != 5 || graph.NumElements(w.Shape) == 0 {
		return false
	}
	if checkTensor("input W", w) != nil || k.group < 1 || w.Shape[0]%k.group != 0 {
		return false
	}
	if len(k.node.Inputs) > 2 && k.node.Inputs[2] != "" {
		if b == nil || b.DType != graph.Float32 || len(b.Shape) != 1 || b.Shape[0] != w.Shape[0] || checkTensor("input B", b) != nil {
			return false
		}
	}
	return k.group == 1 || w.Shape[1] >= 2
}

func newConv3DRowsKernel(ck *convKernel, fk *fusedConvKernel, w, b *graph.Tensor, nConvIn int, inNHWC, outNHWC bool) *conv3dRowsKernel {
	m, cg := w.Shape[0], w.Shape[1]
	g := ck.group
	k := &conv3dRowsKernel{conv: ck, nConvIn: nConvIn, inNHWC: inNHWC, outNHWC: outNHWC, c: cg * g, m: m, group: g, cg: cg, mg: m / g,
		kd: w.Shape[2], kh: w.Shape[3], kw: w.Shape[4], subs: map[[3]int]*rowsConvKernel{}}
	if fk != nil {
		k.nConvIn = fk.nConvIn
		k.residual = fk.add != nil
		k.clip, k.lo, k.hi = fk.act != nil, fk.lo, fk.hi
		k.post = fk.post
	}
	k.np = k.mg
	if so := pixelStride(m); g == 1 && outNHWC && so > m && so < m+16 {
		k.np = so
	}
	taps := k.kd * k.kh * k.kw
	wd := w.F32()
	for gi := 0; gi < g; gi++ {
		wt := make([]float32, taps*cg*k.np)
		for o := 0; o < k.mg; o++ {
			src := wd[(gi*k.mg+o)*cg*taps:]
			for ci := 0; ci < cg; ci++ {
				for t := 0; t < taps; t++ {
					wt[(t*cg+ci)*k.np+o] = src[ci*taps+t]
				}
			}
		}
		k.wt = append(k.wt, wt)
	}
	if b != nil {
		k.bias = append(make([]float32, 0, max(m, k.np)), b.F32()...)
		k.bias = append(k.bias, make([]float32, max(m, k.np)-m)...)
	}
	return k
}

// sub returns the rows kernel of group g on depth taps kt0..kt1.
func (k *conv3dRowsKernel) sub(g, kt0, kt1 int) *rowsConvKernel {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := [3]int{g, kt0, kt1}
	if r := k.subs[key]; r != nil {
		return r
	}
	per := k.kh * k.kw * k.cg
	kdim := (kt1 - kt0 + 1) * per
	r := &rowsConvKernel{conv: k.conv, nConvIn: k.nConvIn, residual: k.residual, rowsEpilogue: k.rowsEpilogue,
		inNHWC: true, outNHWC: true, c: k.cg, m: k.mg, kh: k.kh, kw: k.kw, narrow: &narrowIdx{}, p16: &panels16{}}
	r.pb = kernels.PackRowsB(kdim, k.np, k.wt[g][kt0*per*k.np:], k.np)
	if k.bias != nil {
		r.bias = k.bias[g*k.mg : g*k.mg+k.np]
	}
	r.identK = make([]int32, kdim)
	for i := range r.identK {
		r.identK[i] = int32(i)
	}
	r.ident = r.identK[:min(kdim, k.cg)]
	k.subs[key] = r
	return r
}

// conv3dPlan is the layout of one image for a given input size: every depth
// plane as a 2-D rows plan lays out one image (rp), planeSize floats apart.
type conv3dPlan struct {
	d, h, w    int // input
	od, oh, ow int
	sd, pd, dd int
	sx         int // the input's pixel stride (0 for NCDHW)
	p2         *convPlan
	rp         *rowsPlan
	planeSize  int
	direct     bool      // a channels-last input is read in place
	off        [][]int32 // per group: offsets of taps (kt, ki, kj, ci) from the plane of kt = 0
	size       int       // buffer floats (0 when direct)
	im2col     bool      // small maps: the taps gathered per output pixel
	kdimMax    int
}

func (k *conv3dRowsKernel) newPlan(d, h, w, sx int, geom *graph.ConvGeom) *conv3dPlan {
	g2 := &graph.ConvGeom{Out: geom.Out[1:], Kernel: geom.Kernel[1:], Strides: geom.Strides[1:], Dilations: geom.Dilations[1:],
		Pads: []int{geom.Pads[1], geom.Pads[2], geom.Pads[4], geom.Pads[5]}}
	p2 := newConvPlan([]int{h, w}, g2)
	rp := newRowsPlan(p2, k.c, k.kh, k.kw)
	if rp == nil {
		return nil
	}
	pl := &conv3dPlan{d: d, h: h, w: w, od: geom.Out[0], oh: geom.Out[1], ow: geom.Out[2], sd: geom.Strides[0], pd: geom.Pads[0], dd: geom.Dilations[0],
		sx: sx, p2: p2, rp: rp, planeSize: rp.planes}
	pl.direct = k.inNHWC && rp.nph == 1 && rp.pph == h && rp.ppw == w && rp.sb == sx && p2.pb[0] == 0 && p2.pb[1] == 0
	if !pl.direct {
		pl.size = d*rp.planes + (rp.size - rp.planes)
		if pl.size > 1<<31-1 {
			return nil
		}
	}
	if (k.kd-1)*pl.dd*pl.planeSize+rp.size > 1<<31-1 {
		return nil
	}
	per := k.kh * k.kw
	for gi := 0; gi < k.group; gi++ {
		off := make([]int32, k.kd*per*k.cg)
		for kt := 0; kt < k.kd; kt++ {
			for t := 0; t < per; t++ {
				base := int(rp.off[t*k.c]) + gi*k.cg + kt*pl.dd*pl.planeSize
				for ci := 0; ci < k.cg; ci++ {
					off[(kt*per+t)*k.cg+ci] = int32(base + ci)
				}
			}
		}
		pl.off = append(pl.off, off)
	}
	pl.kdimMax = k.kd * per * k.cg
	pl.im2col = k.group == 1 && rp.ppw != pl.ow && (rp.ppw-pl.ow)*100 > 15*rp.ppw && pl.oh*pl.ow*pl.kdimMax <= 1<<20
	return pl
}

// taps returns the depth taps [kt0, kt1] of output slice od that read the
// input (kt1 < kt0 when none does).
func (pl *conv3dPlan) taps(od, kd int) (kt0, kt1 int) {
	kt0, kt1 = kd, -1
	for kt := 0; kt < kd; kt++ {
		if id := od*pl.sd - pl.pd + kt*pl.dd; id >= 0 && id < pl.d {
			kt0, kt1 = min(kt0, kt), kt
		}
	}
	return kt0, kt1
}

// fill lays the depth planes of one image out in buf: x is NCDHW (c channels
// of d planes) or channels-last (pixels of stride sx).
func (pl *conv3dPlan) fill(x []float32, nhwc bool, c int, buf []float32, threads int) {
	rp, p := pl.rp, pl.p2
	ih, iw := p.in[0], p.in[1]
	top, left := p.pb[0], p.pb[1]
	pp := rp.pph * rp.ppw * rp.sb
	rowsPer := rp.nph * rp.pph
	phase := make([][2]int, rp.nph)
	for s := range phase {
		phase[s][0], phase[s][1] = rp.slotPhase(s)
	}
	chPlane := pl.d * ih * iw // NCDHW channel stride
	nnParallel(min(threads, max(1, pl.d*rp.planes/parallelMinWork)), pl.d*rowsPer, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			z, rr := r/rowsPer, r%rowsPer
			s, i := rr/rp.pph, rr%rp.pph
			a, b := phase[s][0], phase[s][1]
			row := buf[z*pl.planeSize+s*pp+i*rp.ppw*rp.sb : z*pl.planeSize+s*pp+(i+1)*rp.ppw*rp.sb]
			y, jlo, jhi, ok := rp.phaseRow(i, a, b, top, left, ih, iw)
			if !ok {
				clear(row)
				continue
			}
			clear(row[:jlo*rp.sb])
			clear(row[jhi*rp.sb:])
			switch {
			case nhwc && rp.sw == 1 && pl.sx == rp.sb:
				copy(row[jlo*rp.sb:jhi*rp.sb], x[((z*ih+y)*iw+jlo+b-left)*pl.sx:])
			case nhwc:
				for j := jlo; j < jhi; j++ {
					copy(row[j*rp.sb:j*rp.sb+c], x[((z*ih+y)*iw+j*rp.sw+b-left)*pl.sx:])
				}
			default:
				fillNCHWRow(row[jlo*rp.sb:jhi*rp.sb], x[z*ih*iw:], c, chPlane, y*iw+jlo*rp.sw+b-left, rp.sb, rp.sw)
			}
		}
	})
	clear(buf[pl.d*pl.planeSize : pl.size])
}

// conv3dInputDims returns the batch, depth, height, width and pixel stride
// (0 for NCDHW) of a 3-D Conv's input.
func conv3dInputDims(x *graph.Tensor, c int, nhwc bool) (n, d, h, w, sx int, err error) {
	if len(x.Shape) != 5 {
		return 0, 0, 0, 0, 0, fmt.Errorf("input X %v, want rank 5", x.Shape)
	}
	if !nhwc {
		if x.Shape[1] != c {
			return 0, 0, 0, 0, 0, fmt.Errorf("input X %v has %d channels, weights %d", x.Shape, x.Shape[1], c)
		}
		return x.Shape[0], x.Shape[2], x.Shape[3], x.Shape[4], 0, nil
	}
	if x.Shape[4] != pixelStride(c) {
		return 0, 0, 0, 0, 0, fmt.Errorf("channels-last input %v: stride %d, want %d for %d channels", x.Shape, x.Shape[4], pixelStride(c), c)
	}
	return x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[4], nil
}

func (k *conv3dRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nConvIn || k.residual && len(in) <= k.nConvIn {
		return nil, fmt.Errorf("channels-last 3-D Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if x == nil || x.DType != graph.Float32 || w == nil || len(w.Shape) != 5 {
		return nil, fmt.Errorf("channels-last 3-D Conv: inputs are not the planned ones")
	}
	n, d, h, wd, sx, err := conv3dInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, fmt.Errorf("channels-last 3-D Conv: %w", err)
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, d, h, wd}}
	geom, outShape, err := k.conv.shapes(hdr, w, b, k.group, false)
	if err != nil {
		return nil, err
	}
	od, oh, ow := outShape[2], outShape[3], outShape[4]
	so := pixelStride(k.m)
	if !k.outNHWC {
		so = max(k.m, k.np)
	}
	nhShape := []int{n, od, oh, ow, so}
	if n*od*oh*ow == 0 {
		if k.outNHWC {
			return []*graph.Tensor{{DType: graph.Float32, Shape: nhShape, Data: []float32{}}}, nil
		}
		return []*graph.Tensor{graph.NewTensor(graph.Float32, outShape)}, nil
	}
	var res []float32
	if k.residual {
		r := in[k.nConvIn]
		want := outShape
		if k.outNHWC {
			want = nhShape
		}
		if r == nil || r.DType != graph.Float32 || !slices.Equal(r.Shape, want) {
			return nil, fmt.Errorf("channels-last 3-D Conv: residual %v does not match the output %v", r, want)
		}
		res = r.F32()
	}
	pl := k.plan.Load()
	if pl == nil || pl.d != d || pl.h != h || pl.w != wd || pl.sx != sx || pl.od != od || pl.oh != oh || pl.ow != ow {
		if pl = k.newPlan(d, h, wd, sx, geom); pl == nil {
			return nil, fmt.Errorf("3-D convolution too large for 32-bit offsets")
		}
		k.plan.Store(pl)
	}
	ynh, release := channelsLastScratch(ctx, k.outNHWC, n*od*oh*ow*so)
	defer release()
	gemmRes := res
	if !k.outNHWC {
		gemmRes = nil
	}
	resLater := res != nil && gemmRes == nil
	xd := x.F32()
	isz := d * h * wd * k.c
	if k.inNHWC {
		isz = d * h * wd * sx
	}
	var buf *[]float32
	if !pl.direct {
		buf = getF32(pl.size)
		defer putF32(buf)
	}
	var colBuf, bandBuf *[]float32
	if pl.im2col {
		colBuf = getF32((oh*ow + 5) / 6 * 6 * pl.kdimMax)
		defer putF32(colBuf)
	}
	if k.group > 1 && pl.rp.ppw != ow {
		bandBuf = getF32(oh * pl.rp.ppw * so)
		defer putF32(bandBuf)
	}
	osz := oh * ow * so
	for img := 0; img < n; img++ {
		xi := xd[img*isz : (img+1)*isz]
		if !pl.direct {
			pl.fill(xi, k.inNHWC, k.c, *buf, ctx.Threads)
			xi = *buf
		}
		for z := 0; z < od; z++ {
			ys := ynh[(img*od+z)*osz : (img*od+z+1)*osz]
			var rs []float32
			if gemmRes != nil {
				rs = gemmRes[(img*od+z)*osz : (img*od+z+1)*osz]
			}
			kt0, kt1 := pl.taps(z, k.kd)
			if kt0 > kt1 {
				k.biasOnly(ys, rs, so, resLater)
				continue
			}
			base := (z*pl.sd - pl.pd + kt0*pl.dd) * pl.planeSize
			nk := (kt1 - kt0 + 1) * k.kh * k.kw * k.cg
			if k.group == 1 {
				k.slice1(ctx, pl, xi[base:], nk, kt0, kt1, ys, rs, so, resLater, colBuf)
				continue
			}
			k.sliceGrouped(ctx, pl, xi[base:], nk, kt0, kt1, ys, rs, so, resLater, bandBuf)
		}
	}
	if k.outNHWC {
		return []*graph.Tensor{{DType: graph.Float32, Shape: nhShape, Data: ynh}}, nil
	}
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	rk := &rowsConvKernel{m: k.m, rowsEpilogue: k.rowsEpilogue}
	for img := 0; img < n; img++ {
		rk.toNCHW(ynh[img*od*osz:], so, y.F32(), res, img, 0, od*oh*ow, od*oh*ow, ctx.Threads)
	}
	return []*graph.Tensor{y}, nil
}

// slice1 computes one output depth slice of an ungrouped convolution from
// the plane of its first valid tap (x).
func (k *conv3dRowsKernel) slice1(ctx *ExecContext, pl *conv3dPlan, x []float32, nk, kt0, kt1 int, ys, rs []float32, so int, resLater bool, colBuf *[]float32) {
	rk := k.sub(0, kt0, kt1)
	rp := pl.rp
	off := pl.off[0][:nk]
	oh, ow := pl.oh, pl.ow
	switch {
	case rp.ppw == ow:
		rk.gemm(x, rp.sb, off, oh*ow, ys, so, rs, resLater, ctx.Threads)
	case pl.im2col:
		col := (*colBuf)[:(oh*ow+5)/6*6*nk]
		r3 := *rp
		r3.off = off
		r3.gather(x, col, oh, ow, ctx.Threads)
		rk.gemm(col, nk, rk.identK, oh*ow, ys, so, rs, resLater, ctx.Threads)
	default:
		r3 := *rp
		r3.off = off
		rk.bandedGEMM(&r3, x, ys, rs, resLater || rs != nil, oh, ow, so, ctx.Threads)
	}
}

// sliceGrouped computes one output depth slice of a grouped convolution:
// one GEMM per group into its columns, rows of the padded width in bandBuf
// when they are wider than the output's, the residual added as the rows
// are stored.
func (k *conv3dRowsKernel) sliceGrouped(ctx *ExecContext, pl *conv3dPlan, x []float32, nk, kt0, kt1 int, ys, rs []float32, so int, resLater bool, bandBuf *[]float32) {
	rp := pl.rp
	oh, ow := pl.oh, pl.ow
	// Rows as wide as the output: each group's GEMM stores its columns of
	// the output with the residual and the epilogue; else padded rows in
	// bandBuf, the residual added as they are stored.
	direct := rp.ppw == ow
	dst, rg := ys, rs
	if !direct {
		dst, rg = (*bandBuf)[:oh*rp.ppw*so], nil
	}
	later := resLater || rs != nil && !direct
	for g := 0; g < k.group; g++ {
		rk := k.sub(g, kt0, kt1)
		post := rk.post
		if later {
			post = kernels.ActNone
		}
		var r []float32
		if rg != nil {
			r = rg[g*k.mg:]
		}
		kernels.SgemmRowsAct(rk.pb, x, rp.sb, pl.off[g][:nk], oh*rp.ppw, rk.bias, dst[g*k.mg:], so, r, rk.clip && !later, rk.lo, rk.hi, post, ctx.Threads)
	}
	if so > k.m {
		for p := 0; p < len(dst)/so; p++ {
			clear(dst[p*so+k.m : (p+1)*so])
		}
	}
	if !direct {
		k.storeBand(ys, dst, rs, 0, oh, ow, rp.ppw, so)
	}
}

// biasOnly writes an output depth slice whose window lies in the depth
// padding: the bias, the residual, the clamp and the activation.
func (k *conv3dRowsKernel) biasOnly(ys, rs []float32, so int, resLater bool) {
	for p := 0; p < len(ys)/so; p++ {
		px := ys[p*so : (p+1)*so]
		clear(px)
		if k.bias != nil {
			copy(px, k.bias[:min(len(k.bias), so)])
		}
		if resLater {
			continue
		}
		for j := range px[:k.m] {
			v := px[j]
			if rs != nil {
				v += rs[p*so+j]
			}
			px[j] = k.clamp(v)
		}
		kernels.ActF32(k.post, px[:k.m], px[:k.m])
	}
}

package runtime

// Convolution, fully connected and pooling operators of the int8 executor. Weights with
// zero point 0 (the TFLite spec's [-127, 127] or PyTorch's full int8 range with -128)
// are packed for the SIMD kernels of package kernels; weights with zero points
// (asymmetric or uint8 weights of QOperator models) take the zero-point GEMM
// (qgemm_zp.go) or a general integer path that is still int8 arithmetic, only slower.

import (
	"fmt"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- general integer GEMM ------------------------------------------------------------

// genWeights are weights for the general path: wd[c][k] = w[c][k] - wzp[c] as int16.
type genWeights struct {
	n, k int
	wd   []int16
	bias []int32 // may be nil
}

func newGenWeights(n, k int, at func(c, kk int) int8, wzp []int32, bias []int32) *genWeights {
	g := &genWeights{n: n, k: k, wd: make([]int16, n*k), bias: bias}
	for c := 0; c < n; c++ {
		z := wzp[0]
		if len(wzp) > 1 {
			z = wzp[c]
		}
		row := g.wd[c*k : (c+1)*k]
		for kk := range row {
			row[kk] = int16(int32(at(c, kk)) - z)
		}
	}
	return g
}

var i16Pool = sync.Pool{New: func() any { return new([]int16) }}

// rowAcc computes acc[c] = bias[c] + Σ_k arow[k]·wd[c][k] for the columns of g, where
// arow already has the activation zero point subtracted.
func (g *genWeights) rowAcc(arow []int16, acc []int32) {
	for c := 0; c < g.n; c++ {
		w := g.wd[c*g.k : (c+1)*g.k]
		var s int32
		if g.bias != nil {
			s = g.bias[c]
		}
		for kk, a := range arow[:g.k] {
			s += int32(a) * int32(w[kk])
		}
		acc[c] = s
	}
}

// gemm computes rows [0, m) of A (int8, stride lda, zero point aZP) times the weights,
// calling emit(row, acc) with the int32 accumulators of each row.
func (g *genWeights) gemm(m int, a []int8, lda int, aZP int32, threads int, emit func(row int, acc []int32)) {
	qtensor.ParallelChunks(m, threads, 1, func(lo, hi int) {
		bp := i16Pool.Get().(*[]int16)
		defer i16Pool.Put(bp)
		if cap(*bp) < g.k {
			*bp = make([]int16, g.k)
		}
		arow := (*bp)[:g.k]
		acc := make([]int32, g.n)
		for r := lo; r < hi; r++ {
			src := a[r*lda : r*lda+g.k]
			for i, v := range src {
				arow[i] = int16(int32(v) - aZP)
			}
			g.rowAcc(arow, acc)
			emit(r, acc)
		}
	})
}

// zeroWeightZP reports whether weights can take the packed fast path: zero points all
// zero. Any int8 value packs, -128 included (PyTorch's per-channel qint8 weights use
// the full range; kernels.PackQConv/PackQGemm are exact on it on every dispatch path).
func zeroWeightZP(wzp []int32) bool {
	for _, z := range wzp {
		if z != 0 {
			return false
		}
	}
	return true
}

func newRequantFromAttrs(n *graph.Node, count int) (*kernels.Requant, error) {
	mode, err := requantModeOf(n)
	if err != nil {
		return nil, err
	}
	sc := n.AttrFloats("scales", nil)
	if len(sc) != 1 && len(sc) != count {
		return nil, fmt.Errorf("%s: %d requantization scales for %d channels", n.Label(), len(sc), count)
	}
	yzp := n.AttrInt("y_zp", 0)
	if yzp < -128 || yzp > 127 {
		return nil, fmt.Errorf("%s: output zero point %d outside the int8 range", n.Label(), yzp)
	}
	lo, hi, err := clampAttrs(n)
	if err != nil {
		return nil, err
	}
	f := make([]float64, len(sc))
	for i, v := range sc {
		if !(v > 0) {
			return nil, fmt.Errorf("%s: requantization scale %g is not positive", n.Label(), v)
		}
		f[i] = float64(v)
	}
	return kernels.NewRequant(mode, f, int32(yzp), lo, hi), nil
}

func requantRow(rq *kernels.Requant, acc []int32, out []int8, c0 int) {
	for c, v := range acc {
		out[c] = rq.Apply(v, c0+c)
	}
}

func zpAttr(n *graph.Node, name string) ([]int32, error) {
	v := n.AttrInts(name, []int64{0})
	out := make([]int32, len(v))
	for i, z := range v {
		if z < -128 || z > 127 {
			return nil, fmt.Errorf("%s: %s %d outside the int8 range", n.Label(), name, z)
		}
		out[i] = int32(z)
	}
	if len(out) == 0 {
		out = []int32{0}
	}
	return out, nil
}

// ---- QGemm: int8 fully connected -------------------------------------------------------

type qgemmKernel struct {
	axis    int
	n, k    int
	aZP     int32
	packed  *kernels.QGemmWeights
	zpw     *zpGemm // weights with zero points or many -128s (qgemm_zp.go)
	general *genWeights
	rq      *kernels.Requant
	rows    *kernels.RequantRows // rq expanded for rows of n (QGemmRows)
	post    *int8BiasPost        // a bias Add folded in (fuse_int8_bias.go)
	// epi are the steps folded after it, in order (fuse_int8_gemm_post.go):
	// QLUTs and residual QBinarys; deq a Dequantize after them, which makes
	// the output float32.
	epi []gemmEpi
	deq *gemmDeq
}

func buildQGemm(b *BuildContext) (Kernel, error) {
	n := b.Node
	w := b.Const(1)
	if w == nil || len(w.Shape) != 2 {
		return nil, b.Errorf("weights must be a 2-D int8 constant [N,K]")
	}
	wd, ok := w.Data.([]int8)
	if !ok {
		return nil, b.Errorf("weights must be int8, got %s", w.DType)
	}
	k := &qgemmKernel{axis: int(n.AttrInt("axis", 1)), n: w.Shape[0], k: w.Shape[1]}
	azp, err := zpAttr(n, "a_zp")
	if err != nil {
		return nil, err
	}
	k.aZP = azp[0]
	wzp, err := zpAttr(n, "w_zp")
	if err != nil {
		return nil, err
	}
	if len(wzp) != 1 && len(wzp) != k.n {
		return nil, b.Errorf("%d weight zero points for %d columns", len(wzp), k.n)
	}
	var bias []int32
	if bt := b.Const(2); bt != nil {
		if bias = bt.I32(); bias == nil || len(bias) != k.n {
			return nil, b.Errorf("bias must be int32 with %d values", k.n)
		}
	} else if b.Input(2) != nil {
		return nil, b.Errorf("bias must be a constant")
	}
	if k.rq, err = newRequantFromAttrs(n, k.n); err != nil {
		return nil, err
	}
	if zeroWeightZP(wzp) {
		if k.packed, err = kernels.PackQGemm(k.n, k.k, wd, bias, k.aZP); err != nil {
			return nil, b.Errorf("%v", err)
		}
		k.rows = k.rq.ForRows(k.n)
		return k, nil
	}
	at := func(c, kk int) int8 { return wd[c*k.k+kk] }
	if k.zpw, err = newZPGemm(k.n, k.k, at, wzp, bias); err != nil {
		return nil, b.Errorf("%v", err)
	}
	if k.zpw == nil {
		k.general = newGenWeights(k.n, k.k, at, wzp, bias)
	}
	return k, nil
}

func (k *qgemmKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	a, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	if k.axis < 1 || k.axis > len(shape) {
		return nil, fmt.Errorf("axis %d out of range for input shape %v", k.axis, shape)
	}
	m := graph.NumElements(shape[:k.axis])
	if kk := graph.NumElements(shape[k.axis:]); kk != k.k {
		return nil, fmt.Errorf("input %v has %d features, weights expect %d", shape, kk, k.k)
	}
	out := ctx.AllocI8(m * k.n)
	if k.packed != nil {
		kernels.QGemmRows(m, a, k.k, k.packed, out, k.n, k.rows, ctx.Threads)
	} else if k.zpw != nil {
		k.zpw.gemmRequant(m, a, k.k, k.aZP, out, k.rq, ctx.Threads)
	} else {
		k.general.gemm(m, a, k.k, k.aZP, ctx.Threads, func(r int, acc []int32) {
			requantRow(k.rq, acc, out[r*k.n:(r+1)*k.n], 0)
		})
	}
	var buf [8]int
	oshape := buf[:0] // copied by FromInt8
	if k.post != nil {
		k.post.apply(out)
		for r := k.axis + 1; r < k.post.rank; r++ {
			oshape = append(oshape, 1) // the Add's output has the constant's rank at least
		}
	}
	oshape = append(append(oshape, shape[:k.axis]...), k.n)
	if len(k.epi) > 0 || k.deq != nil {
		return k.epilogue(ctx, in, oshape, out)
	}
	return []*graph.Tensor{graph.FromInt8(oshape, out)}, nil
}

// ---- QConv: int8 NHWC convolution --------------------------------------------------------

// convGeom is the filter part of a convolution: the attributes resolved at lowering
// time (explicit pads) and the weight shape.
type convGeom struct {
	oc, cg, kh, kw   int
	groups           int
	sh, sw, dh, dw   int
	pt, pl, pb, pr   int
	oneD             bool // 1-D convolution: NLC input, H = 1
	outPadH, outPadW int  // ConvTranspose output_padding
}

func convGeomFromNode(b *BuildContext, w *graph.Tensor, transpose bool) (*convGeom, error) {
	n := b.Node
	g := &convGeom{groups: int(n.AttrInt("group", 1))}
	switch len(w.Shape) {
	case 4:
		g.kh, g.kw = w.Shape[2], w.Shape[3]
	case 3:
		g.kh, g.kw, g.oneD = 1, w.Shape[2], true
	default:
		return nil, b.Errorf("weights must be 3-D or 4-D, got %v", w.Shape)
	}
	if g.groups < 1 {
		return nil, b.Errorf("group must be positive")
	}
	if transpose {
		g.cg, g.oc = w.Shape[0]/g.groups, w.Shape[1]*g.groups
		if w.Shape[0]%g.groups != 0 {
			return nil, b.Errorf("weight input channels %d not divisible by group %d", w.Shape[0], g.groups)
		}
	} else {
		g.oc, g.cg = w.Shape[0], w.Shape[1]
		if g.oc%g.groups != 0 {
			return nil, b.Errorf("output channels %d not divisible by group %d", g.oc, g.groups)
		}
	}
	two := func(name string, def int) (int, int, error) {
		v := n.AttrIntList(name)
		switch {
		case v == nil:
			return def, def, nil
		case g.oneD && len(v) == 1:
			return def, v[0], nil
		case !g.oneD && len(v) == 2:
			return v[0], v[1], nil
		}
		return 0, 0, b.Errorf("attribute %s %v does not match the kernel rank", name, v)
	}
	var err error
	if g.sh, g.sw, err = two("strides", 1); err != nil {
		return nil, err
	}
	if g.dh, g.dw, err = two("dilations", 1); err != nil {
		return nil, err
	}
	if g.outPadH, g.outPadW, err = two("output_padding", 0); err != nil {
		return nil, err
	}
	pads := n.AttrIntList("pads")
	switch {
	case pads == nil:
	case g.oneD && len(pads) == 2:
		g.pl, g.pr = pads[0], pads[1]
	case !g.oneD && len(pads) == 4:
		g.pt, g.pl, g.pb, g.pr = pads[0], pads[1], pads[2], pads[3]
	default:
		return nil, b.Errorf("pads %v do not match the kernel rank", pads)
	}
	if g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.pt < 0 || g.pl < 0 || g.pb < 0 || g.pr < 0 {
		return nil, b.Errorf("strides and dilations must be positive and pads non-negative")
	}
	return g, nil
}

// inputDims reads N, H, W, C of a channels-last input.
func (g *convGeom) inputDims(shape []int) (n, h, w, c int, err error) {
	switch {
	case g.oneD && len(shape) == 3:
		return shape[0], 1, shape[1], shape[2], nil
	case !g.oneD && len(shape) == 4:
		return shape[0], shape[1], shape[2], shape[3], nil
	}
	return 0, 0, 0, 0, fmt.Errorf("input shape %v does not match the convolution rank", shape)
}

func (g *convGeom) outShape(n, oh, ow int) []int {
	if g.oneD {
		return []int{n, ow, g.oc}
	}
	return []int{n, oh, ow, g.oc}
}

func (g *convGeom) shape(n, h, w, c int) kernels.ConvShape {
	return kernels.ConvShape{N: n, H: h, W: w, C: c, OC: g.oc, KH: g.kh, KW: g.kw,
		StrideH: g.sh, StrideW: g.sw, PadTop: g.pt, PadLeft: g.pl, PadBottom: g.pb, PadRight: g.pr,
		DilH: g.dh, DilW: g.dw, Groups: g.groups}
}

// convCore is a built convolution: packed weights for the fast path or general weights
// (one per group) for the integer fallback. It outputs int8 (rq != nil) or int32.
type convCore struct {
	geom    *convGeom
	packed  *kernels.QConvWeights
	general []*genWeights
	rq      *kernels.Requant
}

// newConvCore packs OIHW int8 weights. When xZP is nil the activation zero point is
// only known at run time, which forces the general path.
func newConvCore(geom *convGeom, w []int8, wzp []int32, bias []int32, xZP *int32, rq *kernels.Requant) (*convCore, error) {
	cc := &convCore{geom: geom, rq: rq}
	if len(wzp) != 1 && len(wzp) != geom.oc {
		return nil, fmt.Errorf("%d weight zero points for %d output channels", len(wzp), geom.oc)
	}
	if bias != nil && len(bias) != geom.oc {
		return nil, fmt.Errorf("bias has %d values for %d output channels", len(bias), geom.oc)
	}
	kk := geom.cg * geom.kh * geom.kw
	if len(w) != geom.oc*kk {
		return nil, fmt.Errorf("weights have %d values, want %d", len(w), geom.oc*kk)
	}
	if rq != nil && xZP != nil && zeroWeightZP(wzp) {
		s := geom.shape(1, geom.kh, geom.kw, geom.cg*geom.groups)
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = 0, 0, 0, 0
		s.DilH, s.DilW, s.StrideH, s.StrideW = 1, 1, 1, 1
		p, err := kernels.PackQConv(s, w, bias, *xZP)
		if err != nil {
			return nil, err
		}
		cc.packed = p
		return cc, nil
	}
	ocg := geom.oc / geom.groups
	for g := 0; g < geom.groups; g++ {
		var gb []int32
		if bias != nil {
			gb = bias[g*ocg : (g+1)*ocg]
		}
		gz := wzp
		if len(wzp) > 1 {
			gz = wzp[g*ocg : (g+1)*ocg]
		}
		// K order (kh, kw, c) matches NHWC patches.
		at := func(c, k int) int8 {
			tap, ci := k/geom.cg, k%geom.cg
			kh, kw := tap/geom.kw, tap%geom.kw
			return w[(((g*ocg+c)*geom.cg+ci)*geom.kh+kh)*geom.kw+kw]
		}
		cc.general = append(cc.general, newGenWeights(ocg, kk, at, gz, gb))
	}
	return cc, nil
}

// run convolves an NHWC int8 input. Exactly one of out8/out32 is returned.
func (cc *convCore) run(ctx *ExecContext, x []int8, shape []int, xZP int32) ([]int8, []int32, []int, error) {
	threads := ctx.Threads
	g := cc.geom
	n, h, w, c, err := g.inputDims(shape)
	if err != nil {
		return nil, nil, nil, err
	}
	if c != g.cg*g.groups {
		return nil, nil, nil, fmt.Errorf("input has %d channels, weights expect %d", c, g.cg*g.groups)
	}
	s := g.shape(max(n, 1), h, w, c)
	if err := s.Validate(); err != nil {
		return nil, nil, nil, err
	}
	oh, ow := s.OutH(), s.OutW()
	oshape := g.outShape(n, oh, ow)
	if n == 0 {
		// An empty batch (a detector's RoI head when no box is left): an
		// empty output, as the float executor gives.
		if cc.rq != nil {
			return []int8{}, nil, oshape, nil
		}
		return nil, []int32{}, oshape, nil
	}
	if cc.packed != nil {
		out := ctx.AllocI8(n * oh * ow * g.oc)
		kernels.QConv(s, x, cc.packed, out, cc.rq, threads)
		return out, nil, oshape, nil
	}
	var out8 []int8
	var out32 []int32
	if cc.rq != nil {
		out8 = make([]int8, n*oh*ow*g.oc)
	} else {
		out32 = make([]int32, n*oh*ow*g.oc)
	}
	ocg := g.oc / g.groups
	kk := g.cg * g.kh * g.kw
	qtensor.ParallelChunks(n*oh, threads, 1, func(lo, hi int) {
		patch := make([]int16, kk)
		acc := make([]int32, ocg)
		for r := lo; r < hi; r++ {
			b, y := r/oh, r%oh
			for xo := 0; xo < ow; xo++ {
				pix := (r*ow + xo) * g.oc
				for gi, gw := range cc.general {
					// gather the patch of group gi with the zero point removed (padding = 0)
					off := 0
					for ky := 0; ky < g.kh; ky++ {
						ih := y*g.sh - g.pt + ky*g.dh
						for kx := 0; kx < g.kw; kx++ {
							iw := xo*g.sw - g.pl + kx*g.dw
							p := patch[off : off+g.cg]
							off += g.cg
							if ih < 0 || ih >= h || iw < 0 || iw >= w {
								clear(p)
								continue
							}
							src := x[((b*h+ih)*w+iw)*c+gi*g.cg:][:g.cg]
							for i, v := range src {
								p[i] = int16(int32(v) - xZP)
							}
						}
					}
					gw.rowAcc(patch, acc)
					if out8 != nil {
						requantRow(cc.rq, acc, out8[pix+gi*ocg:pix+(gi+1)*ocg], gi*ocg)
					} else {
						copy(out32[pix+gi*ocg:], acc)
					}
				}
			}
		}
	})
	return out8, out32, oshape, nil
}

type qconvKernel struct {
	core *convCore
	xZP  int32
}

// qconvOperands reads the constant operands of a QConv / QConvTranspose: int8
// weights, the geometry, the input and weight zero points and the optional int32
// bias (one value per output channel).
func qconvOperands(b *BuildContext, transpose bool) (wd []int8, geom *convGeom, xzp, wzp, bias []int32, err error) {
	n := b.Node
	w := b.Const(1)
	if w == nil {
		return nil, nil, nil, nil, nil, b.Errorf("weights must be a constant")
	}
	wd, ok := w.Data.([]int8)
	if !ok {
		return nil, nil, nil, nil, nil, b.Errorf("weights must be int8, got %s", w.DType)
	}
	if geom, err = convGeomFromNode(b, w, transpose); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	if xzp, err = zpAttr(n, "x_zp"); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	if wzp, err = zpAttr(n, "w_zp"); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	if bt := b.Const(2); bt != nil {
		if bias = bt.I32(); bias == nil || len(bias) != geom.oc {
			return nil, nil, nil, nil, nil, b.Errorf("bias must be int32 with %d values, got %s %v", geom.oc, bt.DType, bt.Shape)
		}
	} else if b.Input(2) != nil {
		return nil, nil, nil, nil, nil, b.Errorf("bias must be a constant")
	}
	return wd, geom, xzp, wzp, bias, nil
}

func buildQConv(b *BuildContext) (Kernel, error) {
	if w := b.Const(1); w != nil && len(w.Shape) == 5 {
		return buildQConv3D(b) // op_int8_conv3d.go
	}
	wd, geom, xzp, wzp, bias, err := qconvOperands(b, false)
	if err != nil {
		return nil, err
	}
	rq, err := newRequantFromAttrs(b.Node, geom.oc)
	if err != nil {
		return nil, err
	}
	core, err := newConvCore(geom, wd, wzp, bias, &xzp[0], rq)
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	return &qconvKernel{core: core, xZP: xzp[0]}, nil
}

func (k *qconvKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	out, _, shape, err := k.core.run(ctx, x, in[0].Shape, k.xZP)
	if err != nil {
		return nil, err
	}
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

// ---- QConvTranspose ---------------------------------------------------------------------

type qconvTransposeKernel struct {
	geom *convGeom
	xZP  int32
	// wd[g][tap][oc][c] = w[g*cg+c][oc][tap] - wzp
	wd   []int16
	bias []int32
	rq   *kernels.Requant
	// tiled is set when stride equals kernel (op_int8_convtranspose_tiled.go),
	// else phases (op_int8_convtranspose_phase.go).
	tiled  *tiledQConvTranspose
	phases *phaseQConvTranspose
}

func buildQConvTranspose(b *BuildContext) (Kernel, error) {
	if w := b.Const(1); w != nil && len(w.Shape) == 5 {
		return buildQConvTranspose3D(b) // op_int8_convtranspose3d.go
	}
	wd, geom, xzp, wzp, bias, err := qconvOperands(b, true)
	if err != nil {
		return nil, err
	}
	if len(wzp) != 1 && len(wzp) != geom.oc {
		return nil, b.Errorf("%d weight zero points for %d output channels", len(wzp), geom.oc)
	}
	rq, err := newRequantFromAttrs(b.Node, geom.oc)
	if err != nil {
		return nil, err
	}
	k, err := newQConvTransposeKernel(geom, wd, wzp, bias, xzp[0], rq)
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	return k, nil
}

// newQConvTransposeKernel builds a 1-D or 2-D int8 ConvTranspose of weights
// wd [C, OC/group, kh, kw] (the 3-D one runs its depth phases on it).
func newQConvTransposeKernel(geom *convGeom, wd []int8, wzp, bias []int32, xzp int32, rq *kernels.Requant) (*qconvTransposeKernel, error) {
	k := &qconvTransposeKernel{geom: geom, xZP: xzp, bias: bias, rq: rq}
	var err error
	if k.tiled, err = newTiledQConvTranspose(geom, wd, wzp, bias, xzp, k.rq); err != nil {
		return nil, err
	}
	if k.tiled == nil {
		if k.phases, err = newPhaseQConvTranspose(geom, wd, wzp, bias, xzp, k.rq); err != nil {
			return nil, err
		}
	}
	taps := geom.kh * geom.kw
	ocg := geom.oc / geom.groups
	k.wd = make([]int16, geom.groups*taps*ocg*geom.cg)
	for g := 0; g < geom.groups; g++ {
		for c := 0; c < geom.cg; c++ {
			for o := 0; o < ocg; o++ {
				z := wzp[0]
				if len(wzp) > 1 {
					z = wzp[g*ocg+o]
				}
				for t := 0; t < taps; t++ {
					v := wd[((g*geom.cg+c)*ocg+o)*taps+t]
					k.wd[((g*taps+t)*ocg+o)*geom.cg+c] = int16(int32(v) - z)
				}
			}
		}
	}
	return k, nil
}

func (k *qconvTransposeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	out, shape, err := k.runInto(ctx, x, in[0].Shape, nil)
	if err != nil {
		return nil, err
	}
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

// transposeOutHW is the ConvTranspose output height and width of an h×w input.
func (g *convGeom) transposeOutHW(h, w int) (oh, ow int) {
	return (h-1)*g.sh - g.pt - g.pb + g.dh*(g.kh-1) + 1 + g.outPadH, (w-1)*g.sw - g.pl - g.pr + g.dw*(g.kw-1) + 1 + g.outPadW
}

// runInto computes the ConvTranspose of x (channels-last, shape) into out, or
// into a new buffer when out is nil, and returns it with its shape.
func (k *qconvTransposeKernel) runInto(ctx *ExecContext, x []int8, shape []int, out []int8) ([]int8, []int, error) {
	g := k.geom
	n, h, w, c, err := g.inputDims(shape)
	if err != nil {
		return nil, nil, err
	}
	if c != g.cg*g.groups {
		return nil, nil, fmt.Errorf("input has %d channels, weights expect %d", c, g.cg*g.groups)
	}
	oh, ow := g.transposeOutHW(h, w)
	if oh <= 0 || ow <= 0 {
		return nil, nil, fmt.Errorf("empty output %dx%d", oh, ow)
	}
	if out == nil {
		out = make([]int8, n*oh*ow*g.oc)
	}
	out = out[:n*oh*ow*g.oc]
	if k.tiled != nil && n > 0 {
		if err := k.tiled.run(ctx, g, x, shape, k.xZP, n, h, w, out); err != nil {
			return nil, nil, err
		}
		return out, g.outShape(n, oh, ow), nil
	}
	if k.phases != nil && n > 0 {
		if err := k.phases.run(ctx, g, x, shape, k.xZP, n, h, w, oh, ow, out); err != nil {
			return nil, nil, err
		}
		return out, g.outShape(n, oh, ow), nil
	}
	taps := g.kh * g.kw
	ocg := g.oc / g.groups
	qtensor.ParallelChunks(n*oh, ctx.Threads, 1, func(lo, hi int) {
		acc := make([]int32, g.oc)
		xs := make([]int16, g.cg)
		for r := lo; r < hi; r++ {
			b, y := r/oh, r%oh
			for xo := 0; xo < ow; xo++ {
				if k.bias != nil {
					copy(acc, k.bias)
				} else {
					clear(acc)
				}
				for ky := 0; ky < g.kh; ky++ {
					ty := y + g.pt - ky*g.dh
					if ty < 0 || ty%g.sh != 0 || ty/g.sh >= h {
						continue
					}
					ih := ty / g.sh
					for kx := 0; kx < g.kw; kx++ {
						tx := xo + g.pl - kx*g.dw
						if tx < 0 || tx%g.sw != 0 || tx/g.sw >= w {
							continue
						}
						iw := tx / g.sw
						tap := ky*g.kw + kx
						for gi := 0; gi < g.groups; gi++ {
							src := x[((b*h+ih)*w+iw)*c+gi*g.cg:][:g.cg]
							for i, v := range src {
								xs[i] = int16(int32(v) - k.xZP)
							}
							wt := k.wd[(gi*taps+tap)*ocg*g.cg:]
							for o := 0; o < ocg; o++ {
								wr := wt[o*g.cg : (o+1)*g.cg]
								var s int32
								for i, v := range xs {
									s += int32(v) * int32(wr[i])
								}
								acc[gi*ocg+o] += s
							}
						}
					}
				}
				requantRow(k.rq, acc, out[(r*ow+xo)*g.oc:(r*ow+xo+1)*g.oc], 0)
			}
		}
	})
	return out, g.outShape(n, oh, ow), nil
}

// ---- QPool ----------------------------------------------------------------------------------

type qpoolKernel struct {
	kind           string // max, avg, gmax, gavg
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	ceil           bool
	countPad       bool
	xScale, yScale float32
	xZP, yZP       int32
}

func buildQPool(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &qpoolKernel{kind: n.AttrString("kind", ""), ceil: n.AttrInt("ceil_mode", 0) != 0, countPad: n.AttrInt("count_include_pad", 0) != 0}
	var err error
	if k.xScale, k.xZP, err = attrQParams(n, "x_scale", "x_zp"); err != nil {
		return nil, err
	}
	if k.yScale, k.yZP, err = attrQParams(n, "y_scale", "y_zp"); err != nil {
		return nil, err
	}
	switch k.kind {
	case "gmax", "gavg":
		return k, nil
	case "max", "avg":
	default:
		return nil, b.Errorf("unknown pooling kind %q", k.kind)
	}
	ks := n.AttrIntList("kernel_shape")
	if len(ks) == 3 {
		return buildQPool3D(b, k, ks) // op_int8_conv3d.go
	}
	get2 := func(name string, def int) (int, int, error) {
		v := n.AttrIntList(name)
		switch {
		case v == nil:
			return def, def, nil
		case len(ks) == 1 && len(v) == 1:
			return def, v[0], nil
		case len(ks) == 2 && len(v) == 2:
			return v[0], v[1], nil
		}
		return 0, 0, b.Errorf("attribute %s %v does not match kernel_shape %v", name, v, ks)
	}
	switch len(ks) {
	case 1:
		k.kh, k.kw = 1, ks[0]
	case 2:
		k.kh, k.kw = ks[0], ks[1]
	default:
		return nil, b.Errorf("kernel_shape %v: only 1-D and 2-D pooling", ks)
	}
	if k.sh, k.sw, err = get2("strides", 1); err != nil {
		return nil, err
	}
	if k.dh, k.dw, err = get2("dilations", 1); err != nil {
		return nil, err
	}
	pads := n.AttrIntList("pads")
	switch {
	case pads == nil:
	case len(ks) == 1 && len(pads) == 2:
		k.pl, k.pr = pads[0], pads[1]
	case len(ks) == 2 && len(pads) == 4:
		k.pt, k.pl, k.pb, k.pr = pads[0], pads[1], pads[2], pads[3]
	default:
		return nil, b.Errorf("pads %v do not match kernel_shape %v", pads, ks)
	}
	return k, nil
}

func (k *qpoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	var n, h, w, c int
	switch len(shape) {
	case 3:
		n, h, w, c = shape[0], 1, shape[1], shape[2]
	case 4:
		n, h, w, c = shape[0], shape[1], shape[2], shape[3]
	case 5:
		// [N, D, H, W, C]: a global pool over the D·H rows of W pixels.
		if k.kind != "gmax" && k.kind != "gavg" {
			return nil, fmt.Errorf("pooling input %v: rank 5 is only pooled globally here", shape)
		}
		n, h, w, c = shape[0], shape[1]*shape[2], shape[3], shape[4]
	default:
		return nil, fmt.Errorf("pooling input must be 3-D, 4-D or 5-D channels-last, got %v", shape)
	}
	s := kernels.PoolShape{N: n, H: h, W: w, C: c, KH: k.kh, KW: k.kw, StrideH: k.sh, StrideW: k.sw,
		PadTop: k.pt, PadLeft: k.pl, PadBottom: k.pb, PadRight: k.pr, DilH: k.dh, DilW: k.dw, CountIncludePad: k.countPad}
	if k.kind == "gmax" || k.kind == "gavg" {
		s.KH, s.KW = h, w
		s.StrideH, s.StrideW, s.DilH, s.DilW = 1, 1, 1, 1
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = 0, 0, 0, 0
	} else if k.ceil {
		s.PadBottom += qtensor.CeilExtra(h, s.KH, s.StrideH, s.DilH, s.PadTop, s.PadBottom)
		s.PadRight += qtensor.CeilExtra(w, s.KW, s.StrideW, s.DilW, s.PadLeft, s.PadRight)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	oh, ow := s.OutH(), s.OutW()
	out := ctx.AllocI8(n * oh * ow * c)
	switch k.kind {
	case "max", "gmax":
		kernels.QMaxPool(s, x, out, ctx.Threads)
		if k.xScale != k.yScale || k.xZP != k.yZP {
			lut := kernels.BuildLUT(func(v float64) float64 { return v }, k.xScale, k.xZP, k.yScale, k.yZP)
			lut.Apply(out, out)
		}
	default:
		kernels.QAvgPool(s, x, k.xScale, k.xZP, out, k.yScale, k.yZP, ctx.Threads)
	}
	oshape := []int{n, oh, ow, c}
	switch len(shape) {
	case 3:
		oshape = []int{n, ow, c}
	case 5:
		oshape = []int{n, 1, 1, 1, c}
	}
	return []*graph.Tensor{graph.FromInt8(oshape, out)}, nil
}

func init() {
	Register(OpInfo{OpType: "QGemm", Domain: Int8Domain, Int8: true, Build: buildQGemm})
	Register(OpInfo{OpType: "QConv", Domain: Int8Domain, Int8: true, Build: buildQConv})
	Register(OpInfo{OpType: "QConvTranspose", Domain: Int8Domain, Int8: true, Build: buildQConvTranspose})
	Register(OpInfo{OpType: "QPool", Domain: Int8Domain, Int8: true, Build: buildQPool})
}

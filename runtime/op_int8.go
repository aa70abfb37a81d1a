package runtime

// Operators of the int8 executor (domain "warboy.int8"). The lowering pass (runtime/lower)
// rewrites quantized graphs into these; they are not meant to appear in models a user
// writes. Activations are int8 with a per-tensor scale and zero point carried as
// attributes, requantization factors are computed at lowering time and weights are
// packed when the session is built.

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/lower"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// Int8Domain is the operator domain of the int8 executor's fused operators.
const Int8Domain = lower.Domain

// i8Data returns the data of an int8 tensor, or an error naming what.
func i8Data(t *graph.Tensor, what string) ([]int8, error) {
	if err := checkTensor(what, t); err != nil {
		return nil, err
	}
	d, ok := t.Data.([]int8)
	if !ok {
		return nil, fmt.Errorf("%s: expected int8 data, got %s", what, t.DType)
	}
	return d, nil
}

// requantModeOf parses the "requant" attribute.
func requantModeOf(n *graph.Node) (kernels.RequantMode, error) {
	switch s := n.AttrString("requant", "float"); s {
	case "float", "":
		return kernels.RequantFloat, nil
	case "fixed", "fixedpoint", "fixed-point", "gemmlowp":
		return kernels.RequantFixedPoint, nil
	default:
		return 0, fmt.Errorf("%s: unknown requantization %q (want float or fixed)", n.Label(), s)
	}
}

// attrQParams reads a per-tensor (scale, zero point) attribute pair.
func attrQParams(n *graph.Node, scale, zp string) (float32, int32, error) {
	if !n.HasAttr(scale) {
		return 0, 0, fmt.Errorf("%s: missing attribute %q", n.Label(), scale)
	}
	s := n.AttrFloat(scale, 0)
	if !(s > 0) || math.IsInf(float64(s), 0) {
		return 0, 0, fmt.Errorf("%s: %s must be positive and finite, got %g", n.Label(), scale, s)
	}
	z := n.AttrInt(zp, 0)
	if z < -128 || z > 127 {
		return 0, 0, fmt.Errorf("%s: %s %d is outside the int8 range", n.Label(), zp, z)
	}
	return s, int32(z), nil
}

// clampAttrs reads the qmin/qmax clamp of a fused activation.
func clampAttrs(n *graph.Node) (int32, int32, error) {
	lo, hi := n.AttrInt("qmin", -128), n.AttrInt("qmax", 127)
	if lo < -128 || hi > 127 || lo > hi {
		return 0, 0, fmt.Errorf("%s: bad output clamp [%d, %d]", n.Label(), lo, hi)
	}
	return int32(lo), int32(hi), nil
}

// dequantTable tabulates (q - zp) * scale for the 256 int8 codes, indexed by the byte.
func dequantTable(scale float32, zp int32) *[256]float32 {
	var t [256]float32
	for q := -128; q < 128; q++ {
		t[uint8(int8(q))] = float32(int32(q)-zp) * scale
	}
	return &t
}

// ---- Quantize / Dequantize / DynamicQuantize / Relayout ---------------------------

func qRange(dt graph.DType) (int32, int32) {
	if dt == graph.Uint8 {
		return 0, 255
	}
	return -128, 127
}

type quantizeKernel struct {
	node *graph.Node
	perm []int
	// params are the per-tensor parameters read once from the constant
	// scale sc and zero point zp, used when a run passes those constants:
	// reading them at every run (ReadQDQParams: two conversions and three
	// small allocations) was a large part of a Quantize of a few dozen
	// values (an int8 GRU's state, eighteenth session).
	params *qtensor.QDQParams
	sc, zp *graph.Tensor
}

func buildQuantize(b *BuildContext) (Kernel, error) {
	k := &quantizeKernel{node: b.Node, perm: b.Node.AttrIntList("perm")}
	sc, zp := b.Const(1), b.Const(2)
	hasZP := len(b.Node.Inputs) > 2 && b.Node.Inputs[2] != ""
	if sc != nil && sc.Len() == 1 && (zp != nil || !hasZP) {
		if p, err := qtensor.ReadQDQParams(b.Node, nil, sc, zp, true); err == nil && p.Axis < 0 {
			k.params, k.sc, k.zp = p, sc, zp
		}
	}
	return k, nil
}

func (k *quantizeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	xf, ok := x.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("input must be float32, got %s", x.DType)
	}
	p := k.params
	if p == nil || in[1] != k.sc || optInput(in, 2) != k.zp {
		var err error
		if p, err = qtensor.ReadQDQParams(k.node, x, in[1], optInput(in, 2), true); err != nil {
			return nil, err
		}
	}
	if k.perm != nil {
		if err := qtensor.ValidPerm(k.perm, len(x.Shape)); err != nil {
			return nil, err
		}
	}
	n := len(xf)
	transpose := k.perm != nil && !qtensor.IsIdentityPerm(k.perm)
	if transpose && p.Axis < 0 {
		if out, ok := quantizeImageNHWC(ctx, x, k.perm, p.Scale[0], p.ZP[0], p.ZPType); ok {
			return []*graph.Tensor{out}, nil
		}
	}
	var q []int8
	if transpose {
		q = make([]int8, n) // scratch: the transposed copy is the output
	} else {
		q = ctx.AllocI8(n)
	}
	qmin, qmax := qRange(p.ZPType)
	if p.Axis < 0 {
		zp := p.ZP[0]
		if p.ZPType == graph.Uint8 {
			zp -= 128
		}
		qtensor.ParallelChunks(n, ctx.Threads, 1<<13, func(lo, hi int) {
			kernels.QuantizeF32(xf[lo:hi], p.Scale[0], zp, q[lo:hi])
		})
	} else {
		inner := 1
		for _, d := range x.Shape[p.Axis+1:] {
			inner *= d
		}
		c := x.Shape[p.Axis]
		for i, v := range xf {
			ch := (i / inner) % c
			qv := qtensor.QuantizeRound(v, p.Scale[ch], p.ZP[ch], qmin, qmax)
			if p.ZPType == graph.Uint8 {
				qv -= 128 // stored as int8 here, turned back into uint8 by the XOR below
			}
			q[i] = int8(qv)
		}
	}
	outShape := x.Shape
	var xor byte
	if p.ZPType == graph.Uint8 {
		xor = 0x80
	}
	data := qtensor.I8AsBytes(q)
	if transpose {
		dst := qtensor.I8AsBytes(ctx.AllocI8(n))
		qtensor.TransposeBytes(data, x.Shape, k.perm, dst, xor, ctx.Threads)
		data = dst
		outShape = qtensor.PermuteShape(x.Shape, k.perm)
	} else if xor != 0 {
		for i := range data {
			data[i] ^= xor
		}
	}
	return []*graph.Tensor{bytesTensor(p.ZPType, outShape, data)}, nil
}

// bytesTensor wraps bytes as an int8 or uint8 tensor.
func bytesTensor(dt graph.DType, shape []int, data []byte) *graph.Tensor {
	if dt == graph.Uint8 {
		return graph.FromUint8(shape, data)
	}
	return graph.FromInt8(shape, qtensor.BytesAsI8(data))
}

type dequantizeKernel struct {
	node  *graph.Node
	perm  []int
	shape []int64
	// tab is the last per-tensor table, indexed by the stored byte: the
	// parameters of a session's runs do not change, and building the table
	// (and, for uint8, its reindexed copy) on the heap every run was most of
	// what a Dequantize of a few thousand values cost besides its output.
	tab atomic.Pointer[dqTab]
}

type dqTab struct {
	scale float32
	zp    int32
	u8    bool
	t     [256]float32
}

// table returns the table of (scale, zp) for int8 or uint8 bytes: t[b] is the
// value of the stored byte b (a uint8 byte v holds the int8 code v^0x80 with
// the zero point moved by 128).
func (k *dequantizeKernel) table(scale float32, zp int32, u8 bool) *[256]float32 {
	if c := k.tab.Load(); c != nil && c.scale == scale && c.zp == zp && c.u8 == u8 {
		return &c.t
	}
	c := &dqTab{scale: scale, zp: zp, u8: u8}
	if u8 {
		t := dequantTable(scale, zp-128)
		for v := 0; v < 256; v++ {
			c.t[v] = t[byte(v)^0x80]
		}
	} else {
		c.t = *dequantTable(scale, zp)
	}
	k.tab.Store(c)
	return &c.t
}

func buildDequantize(b *BuildContext) (Kernel, error) {
	k := &dequantizeKernel{node: b.Node, perm: b.Node.AttrIntList("perm"), shape: b.Node.AttrInts("shape", nil)}
	return k, nil
}

func (k *dequantizeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	p, err := qtensor.ReadQDQParams(k.node, x, in[1], optInput(in, 2), false)
	if err != nil {
		return nil, err
	}
	if p.ZPType != x.DType && optInput(in, 2) != nil {
		return nil, fmt.Errorf("zero point type %s differs from input type %s", p.ZPType, x.DType)
	}
	shape := x.Shape
	perm := k.perm
	if perm != nil {
		if err := qtensor.ValidPerm(perm, len(shape)); err != nil {
			return nil, err
		}
		shape = qtensor.PermuteShape(shape, perm)
	}
	var out []float32
	switch {
	case p.Axis < 0 && (x.DType == graph.Int8 || x.DType == graph.Uint8):
		bytes, _ := qtensor.Int8Bytes(x)
		out = ctx.AllocF32(x.Len()) // every element is written
		if qtensor.IsIdentityPerm(perm) || qtensor.TrivialPerm(x.Shape, perm) {
			// The table's arithmetic on the vector kernels (twentieth
			// session: a lookup per element in Go took 1.1 ms of the int8
			// cdist's [256,200,56] difference).
			u8, zp, scale := x.DType == graph.Uint8, p.ZP[0], p.Scale[0]
			qtensor.ParallelChunks(len(bytes), ctx.Threads, 1<<15, func(lo, hi int) {
				kernels.DequantBytesF32(out[lo:hi], bytes[lo:hi], u8, zp, scale)
			})
			break
		}
		qtensor.TransposeTable(bytes, x.Shape, perm, out, k.table(p.Scale[0], p.ZP[0], x.DType == graph.Uint8), ctx.Threads)
	default:
		out = make([]float32, x.Len())
		if perm != nil && !qtensor.IsIdentityPerm(perm) {
			return nil, fmt.Errorf("layout change of a per-axis or int32 dequantization is not supported")
		}
		vals, err := x.AsInt64()
		if err != nil {
			return nil, err
		}
		p.DequantizeTo(vals, x.Shape, out)
	}
	if k.shape != nil {
		if shape, err = qtensor.ResolveShapeTemplate(shape, k.shape); err != nil {
			return nil, err
		}
	}
	return []*graph.Tensor{graph.FromFloat32(shape, out)}, nil
}

type dynQuantKernel struct{}

// dynamicQuantParams computes DynamicQuantizeLinear's uint8 scale and zero point as
// ONNX Runtime does.
func dynamicQuantParams(x []float32) (float32, int32) {
	lo, hi := float32(0), float32(0)
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	scale := float32(1)
	if hi != lo {
		scale = (hi - lo) / 255
	}
	zpf := 0 - lo/scale
	zpf = max(0, min(255, zpf))
	return scale, int32(math.RoundToEven(float64(zpf)))
}

func (dynQuantKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	xf, ok := in[0].Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("input must be float32, got %s", in[0].DType)
	}
	scale, zp := dynamicQuantParams(xf)
	q := make([]int8, len(xf))
	qtensor.ParallelChunks(len(xf), ctx.Threads, 1<<13, func(lo, hi int) {
		kernels.QuantizeF32(xf[lo:hi], scale, zp-128, q[lo:hi])
	})
	b := qtensor.I8AsBytes(q)
	for i := range b {
		b[i] ^= 0x80
	}
	return []*graph.Tensor{
		bytesTensor(graph.Uint8, in[0].Shape, b),
		graph.FromFloat32(nil, []float32{scale}),
		graph.FromUint8(nil, []uint8{uint8(zp)}),
	}, nil
}

type relayoutKernel struct {
	perm  []int
	shape []int64
	to    graph.DType
}

func buildRelayout(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &relayoutKernel{perm: n.AttrIntList("perm"), shape: n.AttrInts("shape", nil), to: graph.DType(n.AttrInt("to", 0))}
	if k.to != 0 && k.to != graph.Int8 && k.to != graph.Uint8 {
		return nil, b.Errorf("relayout to %s is not supported", k.to)
	}
	return k, nil
}

func (k *relayoutKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	src, ok := qtensor.Int8Bytes(x)
	if !ok {
		return nil, fmt.Errorf("input must be int8 or uint8, got %s", x.DType)
	}
	to := k.to
	if to == 0 {
		to = x.DType
	}
	var xor byte
	if to != x.DType {
		xor = 0x80
	}
	shape := x.Shape
	data := src
	if k.perm != nil && !qtensor.IsIdentityPerm(k.perm) {
		if err := qtensor.ValidPerm(k.perm, len(shape)); err != nil {
			return nil, err
		}
		if xor == 0 && qtensor.TrivialPerm(shape, k.perm) {
			// only size-1 dimensions move: same bytes, new shape
			shape = qtensor.PermuteShape(shape, k.perm)
			if k.shape != nil {
				var err error
				if shape, err = qtensor.ResolveShapeTemplate(shape, k.shape); err != nil {
					return nil, err
				}
			}
			return []*graph.Tensor{bytesTensor(to, shape, data)}, nil
		}
		if xor == 0 && x.DType == graph.Int8 && !channelsLastPerm(shape, k.perm) {
			// Window partitions and head splits ([64,49,3,3,32] → [3,64,3,49,32]):
			// the strided copy of the float32 executor, split over the threads
			// (TransposeBytes walks these on one thread).
			t, err := transposeArena(ctx, x, k.perm) // view_strided.go
			if err != nil {
				return nil, err
			}
			data, shape = qtensor.I8AsBytes(t.Data.([]int8)), t.Shape
		} else {
			data = qtensor.I8AsBytes(ctx.AllocI8(len(src)))
			qtensor.TransposeBytes(src, shape, k.perm, data, xor, ctx.Threads)
			shape = qtensor.PermuteShape(shape, k.perm)
		}
	} else if xor != 0 {
		data = qtensor.I8AsBytes(ctx.AllocI8(len(src)))
		qtensor.TransposeBytes(src, shape, nil, data, xor, ctx.Threads)
	}
	if k.shape != nil {
		var err error
		if shape, err = qtensor.ResolveShapeTemplate(shape, k.shape); err != nil {
			return nil, err
		}
	}
	// Unchanged data is shared: executor tensors are never written after creation.
	return []*graph.Tensor{bytesTensor(to, shape, data)}, nil
}

// channelsLastPerm reports the layout conversions that qtensor.TransposeBytes
// runs on blocked, parallel loops: the two rank-4 channels-last ones, and
// every swap of two groups of dimensions into matrices of at least 8 × 8
// (8×8 byte blocks, qtensor/transpose2d.go; fourteenth session).
func channelsLastPerm(shape, perm []int) bool {
	if _, rows, cols, ok := qtensor.BlockSwap(shape, perm); ok && rows >= 8 && cols >= 8 {
		return true
	}
	return len(shape) == 4 && (slices.Equal(perm, []int{0, 2, 3, 1}) || slices.Equal(perm, []int{0, 3, 1, 2}))
}

// ---- Lookup tables ------------------------------------------------------------------

type lutKernel struct {
	lut *kernels.LUT
}

func buildLUT(b *BuildContext) (Kernel, error) {
	t := b.Const(1)
	if t == nil {
		return nil, b.Errorf("the lookup table must be a constant")
	}
	d, ok := t.Data.([]int8)
	if !ok || len(d) != 256 {
		return nil, b.Errorf("the lookup table must hold 256 int8 values, got %s %v", t.DType, t.Shape)
	}
	var lut kernels.LUT
	copy(lut[:], d)
	return &lutKernel{lut: &lut}, nil
}

func (k *lutKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	out := ctx.AllocI8(len(x))
	qtensor.ParallelChunks(len(x), ctx.Threads, 1<<13, func(lo, hi int) {
		k.lut.Apply(x[lo:hi], out[lo:hi])
	})
	return []*graph.Tensor{graph.FromInt8(in[0].Shape, out)}, nil
}

// ---- Elementwise binary --------------------------------------------------------------

type qbinaryKernel struct {
	op   string
	fast *kernels.QBinary // Add, Sub, Mul
	// pairs[uint8(a)<<8|uint8(b)] is the result for every pair of codes: one lookup
	// per element instead of the float arithmetic (built with that arithmetic).
	pairs           *[65536]int8
	ta, tb          *[256]float32 // dequantization tables of the general path
	yScale          float32
	yZP, qmin, qmax int32
	aScale, bScale  float32
	aZP, bZP        int32
	chans           *chanConst // one constant operand with a value per channel (op_int8_qbinary_chan.go)
}

func buildQBinary(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &qbinaryKernel{op: n.AttrString("op", "")}
	var err error
	if k.aScale, k.aZP, err = attrQParams(n, "a_scale", "a_zp"); err != nil {
		return nil, err
	}
	if k.bScale, k.bZP, err = attrQParams(n, "b_scale", "b_zp"); err != nil {
		return nil, err
	}
	if k.yScale, k.yZP, err = attrQParams(n, "y_scale", "y_zp"); err != nil {
		return nil, err
	}
	if k.qmin, k.qmax, err = clampAttrs(n); err != nil {
		return nil, err
	}
	switch k.op {
	case "Add":
		k.fast = kernels.NewQAdd(k.aScale, k.aZP, k.bScale, k.bZP, k.yScale, k.yZP, k.qmin, k.qmax)
	case "Sub":
		k.fast = kernels.NewQAdd(k.aScale, k.aZP, -k.bScale, k.bZP, k.yScale, k.yZP, k.qmin, k.qmax)
	case "Mul":
		k.fast = kernels.NewQMul(k.aScale, k.aZP, k.bScale, k.bZP, k.yScale, k.yZP, k.qmin, k.qmax)
	case "Div", "Max", "Min", "Pow", "PRelu":
	default:
		return nil, b.Errorf("unsupported int8 binary operator %q", k.op)
	}
	k.ta = dequantTable(k.aScale, k.aZP)
	k.tb = dequantTable(k.bScale, k.bZP)
	k.pairs = k.pairTable()
	k.chans = newChanConst(k, b)
	return k, nil
}

// pairTable evaluates the operator on all 65536 pairs of codes.
func (k *qbinaryKernel) pairTable() *[65536]int8 {
	var t [65536]int8
	a := make([]int8, 65536)
	b := make([]int8, 65536)
	for i := range a {
		a[i], b[i] = int8(uint8(i>>8)), int8(uint8(i))
	}
	k.compute(a, b, t[:])
	return &t
}

// compute applies the operator's arithmetic elementwise (same-length slices).
func (k *qbinaryKernel) compute(a, b, out []int8) {
	if k.fast != nil {
		k.fast.Apply(a, b, out)
		return
	}
	for i := range out {
		v := k.scalarOp(k.ta[uint8(a[i])], k.tb[uint8(b[i])])
		out[i] = int8(qtensor.QuantizeRound(v, k.yScale, k.yZP, k.qmin, k.qmax))
	}
}

func (k *qbinaryKernel) scalarOp(x, y float32) float32 {
	switch k.op {
	case "Div":
		return x / y
	case "Max":
		return max(x, y)
	case "Min":
		return min(x, y)
	case "Pow":
		return float32(math.Pow(float64(x), float64(y)))
	case "PRelu":
		if x < 0 {
			return x * y
		}
		return x
	}
	return float32(math.NaN())
}

func (k *qbinaryKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	a, err := i8Data(in[0], "input A")
	if err != nil {
		return nil, err
	}
	b, err := i8Data(in[1], "input B")
	if err != nil {
		return nil, err
	}
	if k.chans != nil {
		if out, ok, err := k.chans.run(ctx, in); ok || err != nil {
			return out, err
		}
	}
	var sbuf [8]int
	shape, err := graph.BroadcastIntsTo(sbuf[:0], in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	n := graph.NumElements(shape)
	out := ctx.AllocI8(n)
	// One operand repeating along the leading dimensions (a squeeze-excite gate
	// [N,1,1,C] against channels-last [N,H,W,C], a bias row, ...) is applied block
	// by block instead of being expanded first.
	pa, pb := len(a), len(b)
	aBlocks := pa == n || pb == n && periodic(in[0].Shape, shape) && pa >= minPeriod
	bBlocks := pb == n || pa == n && periodic(in[1].Shape, shape) && pb >= minPeriod
	if (!aBlocks || !bBlocks) && k.runRows(ctx.Threads, a, in[0].Shape, b, in[1].Shape, out, shape) {
		return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
	}
	if len(a) != n && (pb != n || !periodic(in[0].Shape, shape) || pa < minPeriod) {
		a, pa = qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(a), in[0].Shape, shape)), n
	}
	if len(b) != n && (pa != n || !periodic(in[1].Shape, shape) || pb < minPeriod) {
		b, pb = qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(b), in[1].Shape, shape)), n
	}
	if pa == n && pb == n {
		if ctx.Threads <= 1 || n < 2<<13 { // what ParallelChunks runs inline, without its closure on the heap
			k.apply(a, b, out)
		} else {
			x, y := a, b
			qtensor.ParallelChunks(n, ctx.Threads, 1<<13, func(lo, hi int) { k.apply(x[lo:hi], y[lo:hi], out[lo:hi]) })
		}
		return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
	}
	period := min(pa, pb) // the length of the repeating operand (>= minPeriod)
	// A short period (the gate of a squeeze-excite block with 16 channels
	// on a 56×56 map) is repeated into a block of about minBlock values, so
	// that the vector kernels run on long blocks instead of one call per
	// pixel (the last block may be a shorter multiple of period).
	if period < minBlock {
		if pa < n {
			a = repeatI8(a, minBlock/period)
			pa = len(a)
		} else {
			b = repeatI8(b, minBlock/period)
			pb = len(b)
		}
		period = min(pa, pb)
	}
	blocks, grain := (n+period-1)/period, max(1, (1<<13)/period)
	if ctx.Threads <= 1 || blocks < 2*grain {
		k.applyBlocks(a, b, out, pa, pb, period, 0, blocks)
	} else {
		x, y := a, b
		qtensor.ParallelChunks(blocks, ctx.Threads, grain, func(lo, hi int) { k.applyBlocks(x, y, out, pa, pb, period, lo, hi) })
	}
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

// applyBlocks applies the operator to the blocks [lo, hi) of period values
// of out (the last one may be shorter); an operand shorter than out is one
// block repeated.
func (k *qbinaryKernel) applyBlocks(a, b, out []int8, pa, pb, period, lo, hi int) {
	n := len(out)
	for i := lo; i < hi; i++ {
		o := out[i*period : min((i+1)*period, n)]
		x, y := a[:len(o)], b[:len(o)]
		if pa == n {
			x = a[i*period:][:len(o)]
		}
		if pb == n {
			y = b[i*period:][:len(o)]
		}
		k.apply(x, y, o)
	}
}

// qbinarySub is the size of the sub-blocks of qbinaryKernel.runRows: an
// operand that is not contiguous across one (a row repeated, a value repeated
// along the row) is laid out in a stack buffer of this size first, so that
// the vector kernels run over thousands of elements per call.
const qbinarySub = 4096

// runRows computes a broadcast that neither operand repeats block-wise
// (PatchCore's cdist, [HW,1,C] - [1,M,C]; an outer product) over the blocks
// of its collapsed loop nest (broadcast_plan.go), instead of expanding the
// operands to the output's size first (twentieth session: the expansion of
// cdist's [256,1,56] operand to [256,200,56] cost more than the
// arithmetic). False when the plan is too deep.
func (k *qbinaryKernel) runRows(threads int, a []int8, as []int, b []int8, bs []int, out []int8, os []int) bool {
	p, ok := planBroadcast(as, bs, os)
	if !ok {
		return false
	}
	runPlan(threads, &p, a, b, out, func(o, x []int8, xs, xi int, y []int8, ys, yi, w, rows int) {
		var bx, by [qbinarySub]int8
		step := max(1, qbinarySub/w)
		for r0 := 0; r0 < rows; r0 += step {
			m := min(step, rows-r0)
			xb := layBlockI8(bx[:], x[r0*xs:], xs, xi, w, m)
			yb := layBlockI8(by[:], y[r0*ys:], ys, yi, w, m)
			k.apply(xb, yb, o[r0*w:(r0+m)*w])
		}
	})
	return true
}

// layBlockI8 returns the m rows of w values of an operand read with row
// stride xs and column stride xi as one contiguous run: x itself when it is
// one already, else a copy in buf (or a new slice when buf is too short).
func layBlockI8(buf, x []int8, xs, xi, w, m int) []int8 {
	if xi == 1 && (xs == w || m == 1) {
		return x[:m*w]
	}
	if len(buf) < m*w {
		buf = make([]int8, m*w)
	}
	buf = buf[:m*w]
	for r := 0; r < m; r++ {
		d := buf[r*w : (r+1)*w]
		if xi == 1 {
			copy(d, x[r*xs:r*xs+w])
			continue
		}
		v := x[r*xs]
		for i := range d {
			d[i] = v
		}
	}
	return buf
}

// minBlock is the block length below which a repeating operand is repeated
// into a longer block (qbinaryKernel.Run).
const minBlock = 1024

// repeatI8 returns reps copies of x back to back.
func repeatI8(x []int8, reps int) []int8 {
	out := make([]int8, len(x)*reps)
	for i := 0; i < reps; i++ {
		copy(out[i*len(x):], x)
	}
	return out
}

// minPeriod is the shortest repeating operand applied block by block; shorter
// ones (a scalar, a few channels) are expanded first.
const minPeriod = 16

// apply computes one block of the operator: the vector kernels of Add/Sub/Mul,
// the table of all code pairs for the others (both are the same arithmetic).
func (k *qbinaryKernel) apply(a, b, out []int8) {
	if k.fast != nil {
		k.fast.Apply(a, b, out)
		return
	}
	t := k.pairs
	b = b[:len(a)]
	out = out[:len(a)]
	for i, x := range a {
		out[i] = t[uint16(uint8(x))<<8|uint16(uint8(b[i]))]
	}
}

// periodic reports whether a tensor of shape from, broadcast to shape to, is its
// own data repeated: every dimension after its first non-1 one (ranks aligned)
// equals the target's.
func periodic(from, to []int) bool {
	off := len(to) - len(from)
	if off < 0 {
		return false
	}
	lead := true
	for i, d := range from {
		if lead && d == 1 {
			continue
		}
		lead = false
		if d != to[off+i] {
			return false
		}
	}
	return true
}

// expandBytes broadcasts src of shape from to shape to (numpy rules).
func expandBytes(src []byte, from, to []int) []byte {
	out := make([]byte, graph.NumElements(to))
	// Align ranks and use stride 0 on broadcast dimensions.
	r := len(to)
	full := make([]int, r)
	for i := range full {
		full[i] = 1
	}
	copy(full[r-len(from):], from)
	st := graph.Strides(full)
	for i := range full {
		if full[i] == 1 && to[i] != 1 {
			st[i] = 0
		}
	}
	if r == 0 {
		copy(out, src)
		return out
	}
	idx := make([]int, r)
	inner := to[r-1]
	s := 0
	for pos := 0; pos < len(out); pos += inner {
		d := out[pos : pos+inner]
		if st[r-1] == 0 {
			v := src[s]
			for i := range d {
				d[i] = v
			}
		} else {
			copy(d, src[s:s+inner])
		}
		for j := r - 2; j >= 0; j-- {
			idx[j]++
			s += st[j]
			if idx[j] < to[j] {
				break
			}
			s -= st[j] * to[j]
			idx[j] = 0
		}
	}
	return out
}

// ---- Softmax and LayerNormalization ------------------------------------------------

type qsoftmaxKernel struct {
	axis   int
	exp    [256]float32 // exp(-xScale * d) for d = qmax - q in [0, 255]
	yScale float32
	yZP    int32
}

func buildQSoftmax(b *BuildContext) (Kernel, error) {
	n := b.Node
	xs, _, err := attrQParams(n, "x_scale", "x_zp")
	if err != nil {
		return nil, err
	}
	k := &qsoftmaxKernel{axis: int(n.AttrInt("axis", -1))}
	if k.yScale, k.yZP, err = attrQParams(n, "y_scale", "y_zp"); err != nil {
		return nil, err
	}
	for d := range k.exp {
		k.exp[d] = float32(math.Exp(-float64(xs) * float64(d)))
	}
	return k, nil
}

func (k *qsoftmaxKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	if len(shape) == 0 {
		return nil, fmt.Errorf("softmax of a scalar")
	}
	ax, err := graph.NormalizeAxis(int64(k.axis), len(shape))
	if err != nil {
		return nil, err
	}
	row := graph.NumElements(shape[ax:])
	out := ctx.AllocI8(len(x))
	if row == 0 {
		return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
	}
	rows := len(x) / row
	qtensor.ParallelChunks(rows, ctx.Threads, max(1, 4096/row), func(lo, hi int) {
		buf := make([]float32, row)
		for r := lo; r < hi; r++ {
			kernels.QSoftmaxRowI8(out[r*row:(r+1)*row], x[r*row:(r+1)*row], &k.exp, buf, k.yScale, k.yZP)
		}
	})
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

type qlayerNormKernel struct {
	axis        int
	eps         float32
	xScale      float32
	gamma, beta []float32
	zeroBeta    []float32 // len(gamma) zeros when there is no bias
	yScale      float32
	yZP         int32
}

func buildQLayerNorm(b *BuildContext) (Kernel, error) {
	n := b.Node
	// The statistics and q − mean do not depend on the zero point.
	xs, _, err := attrQParams(n, "x_scale", "x_zp")
	if err != nil {
		return nil, err
	}
	k := &qlayerNormKernel{axis: int(n.AttrInt("axis", -1)), eps: n.AttrFloat("epsilon", 1e-5), xScale: xs}
	if k.yScale, k.yZP, err = attrQParams(n, "y_scale", "y_zp"); err != nil {
		return nil, err
	}
	g := b.Const(1)
	if g == nil || g.F32() == nil {
		return nil, b.Errorf("the scale must be a float32 constant")
	}
	k.gamma = g.F32()
	if bt := b.Const(2); bt != nil {
		if bt.F32() == nil {
			return nil, b.Errorf("the bias must be a float32 constant")
		}
		k.beta = bt.F32()
	} else if b.Input(2) != nil {
		return nil, b.Errorf("the bias must be a float32 constant")
	} else {
		k.zeroBeta = make([]float32, len(k.gamma))
	}
	return k, nil
}

func (k *qlayerNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	ax, err := graph.NormalizeAxis(int64(k.axis), len(shape))
	if err != nil {
		return nil, err
	}
	row := graph.NumElements(shape[ax:])
	if row == 0 || len(k.gamma) == 0 || row%len(k.gamma) != 0 || (k.beta != nil && row%len(k.beta) != 0) {
		return nil, fmt.Errorf("normalized size %d does not match scale (%d) / bias", row, len(k.gamma))
	}
	out := ctx.AllocI8(len(x))
	rows := len(x) / row
	gamma, beta := expandRow(k.gamma, row), expandRow(k.beta, row)
	if beta == nil {
		// A zero bias gives the same codes (only −0 becomes +0 before the
		// requantization) and keeps the row on the vector path.
		beta = expandRow(k.zeroBeta, row)
	}
	qtensor.ParallelChunks(rows, ctx.Threads, max(1, 4096/row), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.QLayerNormRowI8(out[r*row:(r+1)*row], x[r*row:(r+1)*row], gamma, beta, k.xScale, k.eps, k.yScale, k.yZP)
		}
	})
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

// qinstanceNormKernel is an InstanceNormalization of int8 codes: each
// (sample, channel) row normalised (kernels.QLayerNormRowI8, whose statistics
// do not depend on the zero point) with its channel's scale and B.
type qinstanceNormKernel struct {
	eps, xScale, yScale float32
	scale, bias         []float32
	yZP                 int32
}

func buildQInstanceNorm(b *BuildContext) (Kernel, error) {
	n := b.Node
	xs, _, err := attrQParams(n, "x_scale", "x_zp")
	if err != nil {
		return nil, err
	}
	k := &qinstanceNormKernel{eps: n.AttrFloat("epsilon", 1e-5), xScale: xs}
	if k.yScale, k.yZP, err = attrQParams(n, "y_scale", "y_zp"); err != nil {
		return nil, err
	}
	g, bt := b.Const(1), b.Const(2)
	if g == nil || g.F32() == nil || bt == nil || bt.F32() == nil || g.Len() != bt.Len() {
		return nil, b.Errorf("scale and B must be float32 constants of one length")
	}
	k.scale, k.bias = g.F32(), bt.F32()
	return k, nil
}

func (k *qinstanceNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	if len(shape) < 3 || shape[1] != len(k.scale) {
		return nil, fmt.Errorf("input %v: want [N, %d, ...]", shape, len(k.scale))
	}
	c, row := shape[1], graph.NumElements(shape[2:])
	out := ctx.AllocI8(len(x))
	if row == 0 {
		return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
	}
	rows := len(x) / row
	// One scale and bias per row: kernels.QInstanceNormRowI8 (tabulated
	// for long rows; the same arithmetic as the per-value LayerNorm row).
	qtensor.ParallelChunks(rows, ctx.Threads, max(1, 4096/row), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch := r % c
			kernels.QInstanceNormRowI8(out[r*row:(r+1)*row], x[r*row:(r+1)*row], k.scale[ch], k.bias[ch], k.xScale, k.eps, k.yScale, k.yZP)
		}
	})
	return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
}

// expandRow repeats p (whose length divides n) to n values; nil stays nil.
func expandRow(p []float32, n int) []float32 {
	if p == nil || len(p) == n {
		return p
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = p[i%len(p)]
	}
	return out
}

// ---- Matrix product of two int8 activations ----------------------------------------

type qmatmulKernel struct {
	aZP, bZP int32
	rq       *kernels.Requant
	// rows is rq expanded for the last row length seen (rowsFor).
	rows atomic.Pointer[kernels.RequantRows]
}

// rowsFor returns the requantization of rows of n accumulators, expanded
// once instead of on every product (kernels.RequantRows).
func (k *qmatmulKernel) rowsFor(n int) *kernels.RequantRows {
	if r := k.rows.Load(); r != nil && r.N() == n {
		return r
	}
	r := k.rq.ForRows(n)
	k.rows.Store(r)
	return r
}

func buildQMatMul(b *BuildContext) (Kernel, error) {
	n := b.Node
	mode, err := requantModeOf(n)
	if err != nil {
		return nil, err
	}
	sa, za, err := attrQParams(n, "a_scale", "a_zp")
	if err != nil {
		return nil, err
	}
	sb, zb, err := attrQParams(n, "b_scale", "b_zp")
	if err != nil {
		return nil, err
	}
	sy, zy, err := attrQParams(n, "y_scale", "y_zp")
	if err != nil {
		return nil, err
	}
	lo, hi, err := clampAttrs(n)
	if err != nil {
		return nil, err
	}
	rs := kernels.RequantScaleF32(sa, sb, sy)
	return &qmatmulKernel{aZP: za, bZP: zb, rq: kernels.NewRequant(mode, []float64{float64(rs)}, zy, lo, hi)}, nil
}

func (k *qmatmulKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	a, err := i8Data(in[0], "input A")
	if err != nil {
		return nil, err
	}
	b, err := i8Data(in[1], "input B")
	if err != nil {
		return nil, err
	}
	g, err := newQMatMulGeometry(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	// Each product is requantized as soon as it is done, from a per-worker
	// int32 tile of m×n: the int32 result of the whole batch (1.8 MB for
	// Swin-T's first attention) is never written or zeroed.
	out := ctx.AllocI8(g.nb * g.m * g.n)
	var rows *kernels.RequantRows
	if g.n > 0 {
		rows = k.rowsFor(g.n)
	}
	g.each(a, k.aZP, b, k.bZP, ctx.Threads, func(i int, acc []int32) {
		if g.n > 0 {
			rows.Rows(acc, out[i*g.m*g.n:(i+1)*g.m*g.n])
		}
	})
	return []*graph.Tensor{graph.FromInt8(g.shape, out)}, nil
}

// qmatmulGeometry is the numpy-style broadcast of a batched matrix product:
// nb products of m×k by k×n, product i reading A's matrix aBatch[i] and B's
// bBatch[i].
type qmatmulGeometry struct {
	m, k, n, nb    int
	aBatch, bBatch []int
	shape          []int // of the result
}

func newQMatMulGeometry(as, bs []int) (*qmatmulGeometry, error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("matmul of a scalar")
	}
	as1, bs1 := as, bs
	if len(as1) == 1 {
		as1 = []int{1, as[0]}
	}
	if len(bs1) == 1 {
		bs1 = []int{bs[0], 1}
	}
	m, k := as1[len(as1)-2], as1[len(as1)-1]
	k2, n := bs1[len(bs1)-2], bs1[len(bs1)-1]
	if k != k2 {
		return nil, fmt.Errorf("matmul: inner dimensions differ: %v × %v", as, bs)
	}
	batch, err := graph.BroadcastInts(as1[:len(as1)-2], bs1[:len(bs1)-2])
	if err != nil {
		return nil, err
	}
	g := &qmatmulGeometry{m: m, k: k, n: n, nb: graph.NumElements(batch),
		aBatch: broadcastIndex(as1[:len(as1)-2], batch),
		bBatch: broadcastIndex(bs1[:len(bs1)-2], batch)}
	g.shape = append(append([]int(nil), batch...), m, n)
	if len(as) == 1 {
		g.shape = append(append([]int(nil), batch...), n)
	}
	if len(bs) == 1 {
		g.shape = g.shape[:len(g.shape)-1]
	}
	return g, nil
}

// each computes the products Σ_k (a-aZP)(b-bZP) with int32 accumulation on up
// to threads threads and hands each one to f (product index, its m×n
// accumulators, valid only during the call; f runs on the worker that
// computed it). With at least as many products as threads (attention: batch
// × heads of small matrices) the products are shared out whole, each on one
// thread; fewer, larger products are split inside.
func (g *qmatmulGeometry) each(a []int8, aZP int32, b []int8, bZP int32, threads int, f func(i int, acc []int32)) {
	if g.nb == 0 {
		return
	}
	m, k, n := g.m, g.k, g.n
	threads = max(threads, 1)
	inner := 1
	if g.nb < threads {
		inner = threads
	}
	nnParallel(min(threads, g.nb), g.nb, func(lo, hi int) {
		acc := make([]int32, m*n)
		for i := lo; i < hi; i++ {
			ao, bo := g.aBatch[i]*m*k, g.bBatch[i]*k*n
			kernels.MatMulInt8Threads(m, n, k, a[ao:ao+m*k], aZP, b[bo:bo+k*n], bZP, acc, inner)
			f(i, acc)
		}
	})
}

// batchedMatMulInt8 computes numpy-style matmul of int8 tensors with zero points,
// with int32 accumulation: Σ_k (a-aZP)(b-bZP), on up to threads threads, into
// one int32 tensor (see qmatmulGeometry.each).
func batchedMatMulInt8(a []int8, as []int, aZP int32, b []int8, bs []int, bZP int32, threads int) ([]int32, []int, error) {
	g, err := newQMatMulGeometry(as, bs)
	if err != nil {
		return nil, nil, err
	}
	mn := g.m * g.n
	out := make([]int32, g.nb*mn)
	g.each(a, aZP, b, bZP, threads, func(i int, acc []int32) {
		copy(out[i*mn:(i+1)*mn], acc)
	})
	return out, g.shape, nil
}

// broadcastIndex maps each flat index of the broadcast shape to the flat index of a
// tensor of shape from (rank-aligned numpy broadcasting).
func broadcastIndex(from, to []int) []int {
	n := graph.NumElements(to)
	out := make([]int, n)
	r := len(to)
	full := make([]int, r)
	for i := range full {
		full[i] = 1
	}
	copy(full[r-len(from):], from)
	st := graph.Strides(full)
	for i := 0; i < n; i++ {
		rem, off := i, 0
		for d := r - 1; d >= 0; d-- {
			c := rem % to[d]
			rem /= to[d]
			if full[d] != 1 {
				off += c * st[d]
			}
		}
		out[i] = off
	}
	return out
}

// ---- Data movement on int8 tensors ----------------------------------------------------

func delegateBuilder(op string) Builder {
	return func(b *BuildContext) (Kernel, error) {
		info := Lookup("", op)
		if info == nil {
			return nil, fmt.Errorf("%s: %w operator %s (needed for int8 data movement)", b.Node.Label(), graph.ErrUnsupported, op)
		}
		return info.Build(b)
	}
}

func init() {
	Register(OpInfo{OpType: "Quantize", Domain: Int8Domain, Int8: true, Build: buildQuantize})
	Register(OpInfo{OpType: "Dequantize", Domain: Int8Domain, Int8: true, Build: buildDequantize})
	Register(OpInfo{OpType: "DynamicQuantize", Domain: Int8Domain, Int8: true,
		Build: func(*BuildContext) (Kernel, error) { return dynQuantKernel{}, nil }})
	Register(OpInfo{OpType: "Relayout", Domain: Int8Domain, Int8: true, Build: buildRelayout})
	Register(OpInfo{OpType: "QLUT", Domain: Int8Domain, Int8: true, Build: buildLUT})
	Register(OpInfo{OpType: "QBinary", Domain: Int8Domain, Int8: true, Build: buildQBinary})
	Register(OpInfo{OpType: "QSoftmax", Domain: Int8Domain, Int8: true, Build: buildQSoftmax})
	Register(OpInfo{OpType: "QLayerNorm", Domain: Int8Domain, Int8: true, Build: buildQLayerNorm})
	Register(OpInfo{OpType: "QInstanceNorm", Domain: Int8Domain, Int8: true, Build: buildQInstanceNorm})
	Register(OpInfo{OpType: "QMatMul", Domain: Int8Domain, Int8: true, Build: buildQMatMul})
	for _, op := range lower.DelegateOps {
		Register(OpInfo{OpType: op, Domain: Int8Domain, Int8: true, Build: delegateBuilder(op)})
	}
}

package runtime

// QOperator-format operators (ONNX QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger and the com.microsoft QLinearAdd / QLinearMul /
// QLinearGlobalAveragePool / QLinearSigmoid / QLinearLeakyRelu that ONNX Runtime's
// quantizer writes). They run on NCHW uint8 or int8 tensors with run-time or constant
// parameters; constant weights are packed once when the session is built. uint8 data
// is handled by flipping the top bit (XOR 0x80), which maps it to int8 with the zero
// point moved by 128. In int8 mode the lowering replaces these operators by the
// channels-last fused operators of the int8 domain when their parameters are
// constant; these kernels serve float32 mode, run-time parameters and the ONNX
// conformance tests.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// toS8 returns the data of a uint8/int8 tensor as int8 (uint8 XOR 0x80, i.e. v-128)
// and the shift (128 for uint8) that zero points must be lowered by.
func toS8(t *graph.Tensor, what string) ([]int8, int32, error) {
	if err := checkTensor(what, t); err != nil {
		return nil, 0, err
	}
	switch d := t.Data.(type) {
	case []int8:
		return d, 0, nil
	case []uint8:
		out := make([]int8, len(d))
		for i, v := range d {
			out[i] = int8(v ^ 0x80)
		}
		return out, 128, nil
	}
	return nil, 0, fmt.Errorf("%s must be uint8 or int8, got %s", what, t.DType)
}

// zeroPoints reads an optional zero point tensor (scalar or 1-D) as int32 values
// shifted into the int8 domain.
func zeroPoints(t *graph.Tensor, shift int32, what string) ([]int32, error) {
	if t == nil {
		return []int32{-shift}, nil
	}
	if err := checkTensor(what, t); err != nil {
		return nil, err
	}
	v, err := t.AsInt64()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	out := make([]int32, len(v))
	for i, z := range v {
		out[i] = int32(z) - shift
	}
	return out, nil
}

func scalesOf(t *graph.Tensor, what string) ([]float32, error) {
	if err := checkTensor(what, t); err != nil {
		return nil, err
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	out := make([]float32, len(f))
	for i, v := range f {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s %g is not positive and finite", what, v)
		}
		out[i] = float32(v)
	}
	return out, nil
}

// nchwToNHWC converts int8 NCHW (or NCL) data to channels-last.
func nchwToNHWC(x []int8, shape []int, threads int) []int8 {
	if len(shape) < 3 {
		return x
	}
	out := make([]int8, len(x))
	qtensor.TransposeBytes(qtensor.I8AsBytes(x), shape, qtensor.ChannelsLastPerm(len(shape)), qtensor.I8AsBytes(out), 0, threads)
	return out
}

// nhwcToNCHW converts channels-last int8 data of the NCHW shape back, XORing with xor.
func nhwcToNCHW(x []byte, nchw []int, xor byte, threads int) []byte {
	stored := qtensor.PermuteShape(nchw, qtensor.ChannelsLastPerm(len(nchw)))
	out := make([]byte, len(x))
	qtensor.TransposeBytes(x, stored, qtensor.InvertPerm(qtensor.ChannelsLastPerm(len(nchw))), out, xor, threads)
	return out
}

// ---- QLinearConv / ConvInteger -------------------------------------------------------

// qopConvKernel implements QLinearConv (int8/uint8 output) and ConvInteger (int32).
type qopConvKernel struct {
	node    *graph.Node
	integer bool // ConvInteger
	// prepared is set when weights and parameters are constant.
	prepared *convCore
	prepXZP  int32
	prepDT   graph.DType
	// prepared3D is the prepared form of a 3-D convolution (5-D weights).
	prepared3D *qopConv3D
}

// input indices of the two operators
func (k *qopConvKernel) idx() (x, xs, xz, w, ws, wz, ys, yz, b int) {
	if k.integer {
		return 0, -1, 2, 1, -1, 3, -1, -1, -1
	}
	return 0, 1, 2, 3, 4, 5, 6, 7, 8
}

func buildQOpConv(integer bool) Builder {
	return func(b *BuildContext) (Kernel, error) {
		k := &qopConvKernel{node: b.Node, integer: integer}
		if ap := b.Node.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" {
			return k, nil // pads depend on the input size: prepared per run
		}
		ix, ixs, ixz, iw, iws, iwz, iys, iyz, ib := k.idx()
		constant := func(i int) bool { return i < 0 || b.Input(i) == nil || b.Const(i) != nil }
		if !constant(ixs) || !constant(ixz) || !constant(iw) || !constant(iws) || !constant(iwz) || !constant(iys) || !constant(iyz) || !constant(ib) {
			return k, nil
		}
		in := make([]*graph.Tensor, 9)
		for _, i := range []int{ixs, ixz, iw, iws, iwz, iys, iyz, ib} {
			if i >= 0 {
				in[i] = b.Const(i)
			}
		}
		xdt := graph.Uint8
		if v := b.Input(ix); v != nil && v.DType != graph.Undefined {
			xdt = v.DType
		}
		if wt := in[iw]; wt != nil && len(wt.Shape) == 5 {
			c3, err := k.prepare3D(in, xdt, nil)
			if err != nil {
				return nil, b.Errorf("%v", err)
			}
			k.prepared3D = c3
			return k, nil
		}
		core, xzp, ydt, err := k.prepare(in, xdt, nil)
		if err != nil {
			return nil, b.Errorf("%v", err)
		}
		k.prepared, k.prepXZP, k.prepDT = core, xzp, ydt
		return k, nil
	}
}

// prepare builds the convolution from weights and parameters. xShape (may be nil)
// resolves auto_pad.
func (k *qopConvKernel) prepare(in []*graph.Tensor, xdt graph.DType, xShape []int) (*convCore, int32, graph.DType, error) {
	w, wt, err := k.weights(in)
	if err != nil {
		return nil, 0, 0, err
	}
	bc := &BuildContext{Node: k.node}
	geom, err := convGeomFromNode(bc, wt, false)
	if err != nil {
		return nil, 0, 0, err
	}
	if xShape != nil {
		if err := resolveAutoPad(k.node, geom, xShape); err != nil {
			return nil, 0, 0, err
		}
	}
	p, err := k.params(in, xdt, wt, geom.oc)
	if err != nil {
		return nil, 0, 0, err
	}
	xzp := p.xzp
	core, err := newConvCore(geom, w, p.wzp, p.bias, &xzp, p.rq)
	if err != nil {
		return nil, 0, 0, err
	}
	return core, xzp, p.ydt, nil
}

// weights returns the weight input as int8 data (uint8 shifted by 128) and the tensor.
func (k *qopConvKernel) weights(in []*graph.Tensor) ([]int8, *graph.Tensor, error) {
	_, _, _, iw, _, _, _, _, _ := k.idx()
	if iw >= len(in) || in[iw] == nil {
		return nil, nil, fmt.Errorf("weights are missing")
	}
	w, _, err := toS8(in[iw], "weights")
	return w, in[iw], err
}

// qopConvParams are the quantization parameters of a QLinearConv / ConvInteger with
// oc output channels: zero points lowered to int8 data, the int32 bias and the
// requantization to the output (nil for ConvInteger, whose output is int32).
type qopConvParams struct {
	xzp  int32
	wzp  []int32
	bias []int32
	rq   *kernels.Requant
	ydt  graph.DType
}

func (k *qopConvKernel) params(in []*graph.Tensor, xdt graph.DType, wt *graph.Tensor, oc int) (*qopConvParams, error) {
	_, ixs, ixz, _, iws, iwz, iys, iyz, ib := k.idx()
	get := func(i int) *graph.Tensor {
		if i < 0 || i >= len(in) {
			return nil
		}
		return in[i]
	}
	wshift := int32(0)
	if wt.DType == graph.Uint8 {
		wshift = 128
	}
	xshift := int32(0)
	if xdt == graph.Uint8 {
		xshift = 128
	}
	xzps, err := zeroPoints(get(ixz), xshift, "x_zero_point")
	if err != nil {
		return nil, err
	}
	if len(xzps) != 1 {
		return nil, fmt.Errorf("x_zero_point must be a scalar")
	}
	wzp, err := zeroPoints(get(iwz), wshift, "w_zero_point")
	if err != nil {
		return nil, err
	}
	p := &qopConvParams{xzp: xzps[0], wzp: wzp, ydt: graph.Int32}
	if !k.integer {
		xs, err := scalesOf(get(ixs), "x_scale")
		if err != nil {
			return nil, err
		}
		ws, err := scalesOf(get(iws), "w_scale")
		if err != nil {
			return nil, err
		}
		ys, err := scalesOf(get(iys), "y_scale")
		if err != nil {
			return nil, err
		}
		if len(xs) != 1 || len(ys) != 1 || (len(ws) != 1 && len(ws) != oc) {
			return nil, fmt.Errorf("scales must be per tensor (w_scale may be per output channel)")
		}
		p.ydt = xdt
		yshift := xshift
		if yz := get(iyz); yz != nil {
			p.ydt = yz.DType
			yshift = 0
			if p.ydt == graph.Uint8 {
				yshift = 128
			}
		}
		yzp, err := zeroPoints(get(iyz), yshift, "y_zero_point")
		if err != nil {
			return nil, err
		}
		sc := make([]float64, oc)
		for c := range sc {
			wsc := ws[0]
			if len(ws) > 1 {
				wsc = ws[c]
			}
			sc[c] = float64(kernels.RequantScaleF32(xs[0], wsc, ys[0]))
		}
		p.rq = kernels.NewRequant(kernels.RequantFloat, sc, yzp[0], -128, 127)
		if bt := get(ib); bt != nil {
			if p.bias = bt.I32(); p.bias == nil {
				return nil, fmt.Errorf("bias must be int32, got %s", bt.DType)
			}
		}
	}
	if len(wzp) > 1 && len(wzp) != oc {
		return nil, fmt.Errorf("%d weight zero points for %d output channels", len(wzp), oc)
	}
	return p, nil
}

// resolveAutoPad turns SAME_UPPER/SAME_LOWER/VALID into explicit pads for an NCHW input.
func resolveAutoPad(n *graph.Node, g *convGeom, xShape []int) error {
	ap := n.AttrString("auto_pad", "NOTSET")
	switch ap {
	case "NOTSET", "":
		return nil
	case "VALID":
		g.pt, g.pl, g.pb, g.pr = 0, 0, 0, 0
		return nil
	case "SAME_UPPER", "SAME_LOWER":
	default:
		return fmt.Errorf("unknown auto_pad %q", ap)
	}
	same := func(in, k, s, d int) (int, int) {
		o := (in + s - 1) / s
		total := max(0, (o-1)*s+d*(k-1)+1-in)
		if ap == "SAME_UPPER" {
			return total / 2, total - total/2
		}
		return total - total/2, total / 2
	}
	if g.oneD {
		g.pl, g.pr = same(xShape[2], g.kw, g.sw, g.dw)
		return nil
	}
	g.pt, g.pb = same(xShape[2], g.kh, g.sh, g.dh)
	g.pl, g.pr = same(xShape[3], g.kw, g.sw, g.dw)
	return nil
}

func (k *qopConvKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	ix := 0
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[ix]
	if len(x.Shape) == 5 {
		return k.run3D(ctx, in)
	}
	if len(x.Shape) != 3 && len(x.Shape) != 4 {
		return nil, fmt.Errorf("input must be 3-D, 4-D or 5-D, got %v", x.Shape)
	}
	core, xzp, ydt := k.prepared, k.prepXZP, k.prepDT
	if core == nil {
		var err error
		if core, xzp, ydt, err = k.prepare(in, x.DType, x.Shape); err != nil {
			return nil, err
		}
	}
	xs, _, err := toS8(x, "input")
	if err != nil {
		return nil, err
	}
	nhwc := nchwToNHWC(xs, x.Shape, ctx.Threads)
	cl := qtensor.PermuteShape(x.Shape, qtensor.ChannelsLastPerm(len(x.Shape)))
	out8, out32, oshape, err := core.run(ctx, nhwc, cl, xzp)
	if err != nil {
		return nil, err
	}
	nchw := qtensor.PermuteShape(oshape, qtensor.InvertPerm(qtensor.ChannelsLastPerm(len(oshape))))
	if out32 != nil {
		res := make([]int32, len(out32))
		qtensor.TransposeIter(oshape, qtensor.InvertPerm(qtensor.ChannelsLastPerm(len(oshape))), func(dst, src, n, stride int) {
			for i := 0; i < n; i++ {
				res[dst+i] = out32[src+i*stride]
			}
		})
		return []*graph.Tensor{graph.FromInt32(nchw, res)}, nil
	}
	var xor byte
	if ydt == graph.Uint8 {
		xor = 0x80
	}
	return []*graph.Tensor{bytesTensor(ydt, nchw, nhwcToNCHW(qtensor.I8AsBytes(out8), nchw, xor, ctx.Threads))}, nil
}

// ---- QLinearMatMul / MatMulInteger ------------------------------------------------------

// qopMatMulKernel implements QLinearMatMul and MatMulInteger (integer: int32 output).
type qopMatMulKernel struct {
	integer bool
	// constant B (2-D) prepared once
	prepB   *genWeights
	zpB     *zpGemm               // B with zero points or -128s (qgemm_zp.go)
	packedB *kernels.QGemmWeights // symmetric int8 B: a·B via the packed kernel
	colSum  []int32               // Σ_k B[k,c] for the run-time activation zero point
	bShape  []int
}

func buildQOpMatMul(integer bool) Builder {
	return func(b *BuildContext) (Kernel, error) {
		k := &qopMatMulKernel{integer: integer}
		ib, ibz := 3, 5
		if integer {
			ib, ibz = 1, 3
		}
		bt := b.Const(ib)
		if bt == nil || len(bt.Shape) != 2 || (b.Input(ibz) != nil && b.Const(ibz) == nil) {
			return k, nil
		}
		bd, shift, err := toS8(bt, "B")
		if err != nil {
			return nil, b.Errorf("%v", err)
		}
		bzp, err := zeroPoints(b.Const(ibz), shift, "b_zero_point")
		if err != nil {
			return nil, b.Errorf("%v", err)
		}
		kk, n := bt.Shape[0], bt.Shape[1]
		if len(bzp) != 1 && len(bzp) != n {
			return nil, b.Errorf("b_zero_point has %d values for %d columns", len(bzp), n)
		}
		k.bShape = bt.Shape
		if zeroWeightZP(bzp) {
			wt := make([]int8, n*kk)
			k.colSum = make([]int32, n)
			for c := 0; c < n; c++ {
				for i := 0; i < kk; i++ {
					v := bd[i*n+c]
					wt[c*kk+i] = v
					k.colSum[c] += int32(v)
				}
			}
			if k.packedB, err = kernels.PackQGemm(n, kk, wt, nil, 0); err != nil {
				return nil, b.Errorf("%v", err)
			}
			return k, nil
		}
		at := func(c, i int) int8 { return bd[i*n+c] }
		if k.zpB, err = newZPGemm(n, kk, at, bzp, nil); err != nil {
			return nil, b.Errorf("%v", err)
		}
		if k.zpB == nil {
			k.prepB = newGenWeights(n, kk, at, bzp, nil)
		}
		return k, nil
	}
}

func (k *qopMatMulKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	ia, iaz, ib, ibz := 0, 2, 3, 5
	if k.integer {
		ia, iaz, ib, ibz = 0, 2, 1, 3
	}
	if err := checkInputs(in, ib+1); err != nil {
		return nil, err
	}
	a, ashift, err := toS8(in[ia], "A")
	if err != nil {
		return nil, err
	}
	azp, err := zeroPoints(optInput(in, iaz), ashift, "a_zero_point")
	if err != nil {
		return nil, err
	}
	if len(azp) != 1 {
		return nil, fmt.Errorf("per-row a_zero_point is not supported")
	}
	ashape := in[ia].Shape
	var acc []int32
	var shape []int
	var ncols int
	if (k.packedB != nil || k.zpB != nil || k.prepB != nil) && len(ashape) >= 2 {
		kk, n := k.bShape[0], k.bShape[1]
		if ashape[len(ashape)-1] != kk {
			return nil, fmt.Errorf("A %v and B %v do not match", ashape, k.bShape)
		}
		m := len(a) / kk
		acc = make([]int32, m*n)
		if k.packedB != nil {
			kernels.QGemmInt32(m, a, kk, k.packedB, acc, n, ctx.Threads)
			z := azp[0]
			for r := 0; r < m; r++ {
				row := acc[r*n : (r+1)*n]
				for c := range row {
					row[c] -= z * k.colSum[c]
				}
			}
		} else if k.zpB != nil {
			k.zpB.gemm(m, a, kk, azp[0], acc, ctx.Threads)
		} else {
			k.prepB.gemm(m, a, kk, azp[0], ctx.Threads, func(r int, v []int32) { copy(acc[r*n:], v) })
		}
		shape = append(append([]int(nil), ashape[:len(ashape)-1]...), n)
		ncols = n
	} else {
		b, bshift, err := toS8(in[ib], "B")
		if err != nil {
			return nil, err
		}
		bzp, err := zeroPoints(optInput(in, ibz), bshift, "b_zero_point")
		if err != nil {
			return nil, err
		}
		bs := in[ib].Shape
		if len(bzp) != 1 {
			// per-column zero points: subtract them here, then multiply with zp 0
			n := bs[len(bs)-1]
			if len(bzp) != n {
				return nil, fmt.Errorf("b_zero_point has %d values for %d columns", len(bzp), n)
			}
			wide := make([]int16, len(b))
			for i, v := range b {
				wide[i] = int16(int32(v) - bzp[i%n])
			}
			acc, shape, err = batchedMatMulI16(a, ashape, azp[0], wide, bs)
		} else {
			acc, shape, err = batchedMatMulInt8(a, ashape, azp[0], b, bs, bzp[0], ctx.Threads)
		}
		if err != nil {
			return nil, err
		}
		ncols = 1
		if len(shape) > 0 {
			ncols = shape[len(shape)-1]
		}
	}
	if k.integer {
		return []*graph.Tensor{graph.FromInt32(shape, acc)}, nil
	}
	as, err := scalesOf(in[1], "a_scale")
	if err != nil {
		return nil, err
	}
	bsc, err := scalesOf(in[4], "b_scale")
	if err != nil {
		return nil, err
	}
	ys, err := scalesOf(in[6], "y_scale")
	if err != nil {
		return nil, err
	}
	if len(as) != 1 || len(ys) != 1 || (len(bsc) != 1 && len(bsc) != ncols) {
		return nil, fmt.Errorf("scales must be per tensor (b_scale may be per column)")
	}
	ydt := in[ia].DType
	if yz := optInput(in, 7); yz != nil {
		ydt = yz.DType
	}
	yshift := int32(0)
	if ydt == graph.Uint8 {
		yshift = 128
	}
	yzp, err := zeroPoints(optInput(in, 7), yshift, "y_zero_point")
	if err != nil {
		return nil, err
	}
	sc := make([]float64, len(bsc))
	for c, s := range bsc {
		sc[c] = float64(kernels.RequantScaleF32(as[0], s, ys[0]))
	}
	rq := kernels.NewRequant(kernels.RequantFloat, sc, yzp[0], -128, 127)
	out := make([]byte, len(acc))
	for i, v := range acc {
		c := 0
		if len(sc) > 1 {
			c = i % ncols
		}
		out[i] = byte(rq.Apply(v, c)) ^ byte(yshift)
	}
	return []*graph.Tensor{bytesTensor(ydt, shape, out)}, nil
}

// batchedMatMulI16 is batchedMatMulInt8 with B already widened (zero points removed).
func batchedMatMulI16(a []int8, as []int, aZP int32, b []int16, bs []int) ([]int32, []int, error) {
	if len(as) < 1 || len(bs) < 2 {
		return nil, nil, fmt.Errorf("matmul shapes %v × %v", as, bs)
	}
	as1 := as
	if len(as1) == 1 {
		as1 = []int{1, as[0]}
	}
	m, k := as1[len(as1)-2], as1[len(as1)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, nil, fmt.Errorf("matmul: inner dimensions differ: %v × %v", as, bs)
	}
	batch, err := graph.BroadcastInts(as1[:len(as1)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, nil, err
	}
	nb := graph.NumElements(batch)
	out := make([]int32, nb*m*n)
	ai := broadcastIndex(as1[:len(as1)-2], batch)
	bi := broadcastIndex(bs[:len(bs)-2], batch)
	for p := 0; p < nb; p++ {
		ao, bo := ai[p]*m*k, bi[p]*k*n
		for i := 0; i < m; i++ {
			row := out[(p*m+i)*n : (p*m+i+1)*n]
			for kk := 0; kk < k; kk++ {
				av := int32(a[ao+i*k+kk]) - aZP
				if av == 0 {
					continue
				}
				brow := b[bo+kk*n : bo+(kk+1)*n]
				for j, bv := range brow {
					row[j] += av * int32(bv)
				}
			}
		}
	}
	shape := append(append([]int(nil), batch...), m, n)
	if len(as) == 1 {
		shape = append(append([]int(nil), batch...), n)
	}
	return out, shape, nil
}

// ---- com.microsoft elementwise and pooling ---------------------------------------------

// qopParams reads (scale, zero point) of a uint8/int8 operand at inputs i, i+1.
func qopParams(in []*graph.Tensor, i int, dt graph.DType) (float32, int32, error) {
	s, err := scalesOf(optInput(in, i), "scale")
	if err != nil {
		return 0, 0, err
	}
	shift := int32(0)
	if dt == graph.Uint8 {
		shift = 128
	}
	z, err := zeroPoints(optInput(in, i+1), shift, "zero point")
	if err != nil {
		return 0, 0, err
	}
	if len(s) != 1 || len(z) != 1 {
		return 0, 0, fmt.Errorf("only per-tensor parameters are supported")
	}
	return s[0], z[0], nil
}

// qopOutParams reads the output scale (input i) and zero point (input i+1, optional)
// of a QLinear* operator; the output type is the zero point's, else the first input's.
func qopOutParams(in []*graph.Tensor, i int) (float32, int32, graph.DType, error) {
	ydt := in[0].DType
	if z := optInput(in, i+1); z != nil {
		ydt = z.DType
	}
	s, z, err := qopParams(in, i, ydt)
	return s, z, ydt, err
}

type qopBinaryKernel struct{ mul bool }

func (k qopBinaryKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 7); err != nil {
		return nil, err
	}
	a, _, err := toS8(in[0], "A")
	if err != nil {
		return nil, err
	}
	b, _, err := toS8(in[3], "B")
	if err != nil {
		return nil, err
	}
	sa, za, err := qopParams(in, 1, in[0].DType)
	if err != nil {
		return nil, err
	}
	sb, zb, err := qopParams(in, 4, in[3].DType)
	if err != nil {
		return nil, err
	}
	sy, zy, ydt, err := qopOutParams(in, 6)
	if err != nil {
		return nil, err
	}
	op := "Add"
	if k.mul {
		op = "Mul"
	}
	qb := &qbinaryKernel{op: op, aScale: sa, aZP: za, bScale: sb, bZP: zb, yScale: sy, yZP: zy, qmin: -128, qmax: 127}
	if k.mul {
		qb.fast = kernels.NewQMul(sa, za, sb, zb, sy, zy, -128, 127)
	} else {
		qb.fast = kernels.NewQAdd(sa, za, sb, zb, sy, zy, -128, 127)
	}
	res, err := qb.Run(ctx, []*graph.Tensor{graph.FromInt8(in[0].Shape, a), graph.FromInt8(in[3].Shape, b)})
	if err != nil {
		return nil, err
	}
	return []*graph.Tensor{fromS8(res[0], ydt)}, nil
}

// fromS8 converts an int8 result to the output type (uint8: XOR 0x80).
func fromS8(t *graph.Tensor, dt graph.DType) *graph.Tensor {
	if dt != graph.Uint8 {
		return t
	}
	d := t.I8()
	out := make([]uint8, len(d))
	for i, v := range d {
		out[i] = uint8(v) ^ 0x80
	}
	return graph.FromUint8(t.Shape, out)
}

type qopGAPKernel struct{ channelsLast bool }

func (k qopGAPKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 4); err != nil {
		return nil, err
	}
	x, _, err := toS8(in[0], "X")
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape
	if len(shape) < 3 {
		return nil, fmt.Errorf("input must have spatial dimensions, got %v", shape)
	}
	sx, zx, err := qopParams(in, 1, in[0].DType)
	if err != nil {
		return nil, err
	}
	sy, zy, ydt, err := qopOutParams(in, 3)
	if err != nil {
		return nil, err
	}
	var n, c, hw int
	cl := x
	if k.channelsLast {
		n, c = shape[0], shape[len(shape)-1]
	} else {
		n, c = shape[0], shape[1]
		cl = nchwToNHWC(x, shape, ctx.Threads)
	}
	hw = len(x) / max(1, n*c)
	out := make([]int8, n*c)
	kernels.QAvgPool(kernels.PoolShape{N: n, H: 1, W: hw, C: c, KH: 1, KW: hw}, cl, sx, zx, out, sy, zy, ctx.Threads)
	oshape := []int{n, c}
	for range shape[2:] {
		oshape = append(oshape, 1)
	}
	if k.channelsLast {
		oshape = []int{n}
		for range shape[1 : len(shape)-1] {
			oshape = append(oshape, 1)
		}
		oshape = append(oshape, c)
	}
	return []*graph.Tensor{fromS8(graph.FromInt8(oshape, out), ydt)}, nil
}

type qopUnaryKernel struct {
	f func(float64) float64
}

func (k qopUnaryKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 4); err != nil {
		return nil, err
	}
	x, _, err := toS8(in[0], "X")
	if err != nil {
		return nil, err
	}
	sx, zx, err := qopParams(in, 1, in[0].DType)
	if err != nil {
		return nil, err
	}
	sy, zy, ydt, err := qopOutParams(in, 3)
	if err != nil {
		return nil, err
	}
	var lut kernels.LUT
	for q := -128; q < 128; q++ {
		v := float32(k.f(float64(float32(int32(q)-zx) * sx)))
		lut[uint8(int8(q))] = int8(qtensor.QuantizeRound(v, sy, zy, -128, 127))
	}
	out := make([]int8, len(x))
	lut.Apply(x, out)
	return []*graph.Tensor{fromS8(graph.FromInt8(in[0].Shape, out), ydt)}, nil
}

func init() {
	ms := "com.microsoft"
	Register(OpInfo{OpType: "QLinearConv", Int8: true, Build: buildQOpConv(false)})
	Register(OpInfo{OpType: "ConvInteger", Int8: true, Build: buildQOpConv(true)})
	Register(OpInfo{OpType: "QLinearMatMul", Int8: true, Build: buildQOpMatMul(false)})
	Register(OpInfo{OpType: "MatMulInteger", Int8: true, Build: buildQOpMatMul(true)})
	Register(OpInfo{OpType: "QLinearAdd", Domain: ms, Int8: true,
		Build: func(*BuildContext) (Kernel, error) { return qopBinaryKernel{}, nil }})
	Register(OpInfo{OpType: "QLinearMul", Domain: ms, Int8: true,
		Build: func(*BuildContext) (Kernel, error) { return qopBinaryKernel{mul: true}, nil }})
	Register(OpInfo{OpType: "QLinearGlobalAveragePool", Domain: ms, Int8: true,
		Build: func(b *BuildContext) (Kernel, error) {
			return qopGAPKernel{channelsLast: b.Node.AttrInt("channels_last", 0) != 0}, nil
		}})
	Register(OpInfo{OpType: "QLinearSigmoid", Domain: ms, Int8: true,
		Build: func(*BuildContext) (Kernel, error) {
			return qopUnaryKernel{f: func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }}, nil
		}})
	Register(OpInfo{OpType: "QLinearLeakyRelu", Domain: ms, Int8: true,
		Build: func(b *BuildContext) (Kernel, error) {
			alpha := float64(b.Node.AttrFloat("alpha", 0.01))
			return qopUnaryKernel{f: func(v float64) float64 {
				if v < 0 {
					return alpha * v
				}
				return v
			}}, nil
		}})
}

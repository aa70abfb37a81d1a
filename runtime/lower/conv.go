package lower

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- convolution, Gemm, MatMul -----------------------------------------------------------------

// explicitPads resolves auto_pad into explicit begin/end pads for the spatial dims.
func explicitPads(n *graph.Node, spatial []graph.Dim, kernel, strides, dil []int) ([]int, error) {
	k := len(kernel)
	pads := n.AttrIntList("pads")
	if pads == nil {
		pads = make([]int, 2*k)
	}
	if len(pads) != 2*k {
		return nil, notLowered("pads %v do not match kernel rank %d", pads, k)
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
		return pads, nil
	case "VALID":
		return make([]int, 2*k), nil
	case "SAME_UPPER", "SAME_LOWER":
		out := make([]int, 2*k)
		for i := 0; i < k; i++ {
			if !spatial[i].Known() {
				return nil, notLowered("auto_pad %s needs a known input size", ap)
			}
			in := spatial[i].Size
			o := (in + strides[i] - 1) / strides[i]
			total := max(0, (o-1)*strides[i]+dil[i]*(kernel[i]-1)+1-in)
			if ap == "SAME_UPPER" {
				out[i], out[i+k] = total/2, total-total/2
			} else {
				out[i], out[i+k] = total-total/2, total/2
			}
		}
		return out, nil
	default:
		return nil, notLowered("unknown auto_pad %q", ap)
	}
}

func intsOr(n *graph.Node, name string, k, def int) []int {
	v := n.AttrIntList(name)
	if v == nil {
		v = make([]int, k)
		for i := range v {
			v[i] = def
		}
	}
	return v
}

func (l *lowerer) outShape(name string) (graph.Shape, error) {
	s, ok := l.shapeOf(name)
	if !ok {
		return nil, notLowered("the shape of %q is unknown", name)
	}
	return s, nil
}

func (l *lowerer) lowerConv(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	rank := len(x.shape)
	if rank != 3 && rank != 4 && rank != 5 {
		return notLowered("only 1-D, 2-D and 3-D convolutions run int8 (input rank %d)", rank)
	}
	w, err := l.constWeights(n.Input(1))
	if err != nil {
		return err
	}
	if len(w.shape) != rank {
		return notLowered("weights %v do not match the input rank", w.shape)
	}
	oc := w.shape[0]
	wsc, wzp, err := w.perChannel(0, oc)
	if err != nil {
		return err
	}
	if rank == 5 {
		// The 3-D kernel (kernels.QConv3D) packs weights with zero point 0 only
		// (any value, -128 included).
		if slices.ContainsFunc(wzp, func(z int32) bool { return z != 0 }) {
			return notLowered("3-D convolution weights with a zero point")
		}
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	k := rank - 2
	kernel := w.shape[2:]
	strides, dil := intsOr(n, "strides", k, 1), intsOr(n, "dilations", k, 1)
	pads, err := explicitPads(n, x.shape[2:], kernel, strides, dil)
	if err != nil {
		return err
	}
	ins, scales, outShape, store, err := l.convOperands(n, x, w, wsc, d)
	if err != nil {
		return err
	}
	l.emit(n, "QConv", ins, []string{store},
		graph.IntsAttr("strides", strides), graph.IntsAttr("dilations", dil), graph.IntsAttr("pads", pads), graph.IntAttr("group", n.AttrInt("group", 1)),
		graph.IntAttr("x_zp", int64(x.zp)), graph.IntsAttr("w_zp", int32sToInts(compactZP(wzp))), graph.FloatsAttr("scales", scales),
		graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", int64(d.qmin)), graph.IntAttr("qmax", int64(d.qmax)), graph.StringAttr("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, perm: qtensor.ChannelsLastPerm(rank), base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
}

// convOperands builds what Conv and ConvTranspose lower alike: the per-channel
// requantization scales, the int32 bias, the output shape, the operator's inputs
// (channels-last activation, int8 weights, bias) and the tensor it stores into.
func (l *lowerer) convOperands(n *graph.Node, x *qref, w *qweights, wsc []float32, d *qdest) (ins []string, scales []float32, outShape graph.Shape, store string, err error) {
	oc := len(wsc)
	acc := make([]float32, oc)
	scales = make([]float32, oc)
	for c := range acc {
		acc[c] = x.scale * wsc[c]
		scales[c] = kernels.RequantScaleF32(x.scale, wsc[c], d.scale)
	}
	bias, err := l.biasInt32(n.Input(2), oc, acc, 1)
	if err != nil {
		return nil, nil, nil, "", err
	}
	if outShape, err = l.outShape(d.final); err != nil {
		return nil, nil, nil, "", err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return nil, nil, nil, "", err
	}
	wi := l.addInit(n.Input(1)+"_int8", &graph.Tensor{DType: graph.Int8, Shape: w.shape, Data: w.data})
	ins = []string{xin, wi}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(2)+"_int32", graph.FromInt32([]int{oc}, bias)))
	}
	store, _ = l.destStore(d, false, "_nhwc")
	return ins, scales, outShape, store, nil
}

func int32sToInts(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func (l *lowerer) lowerConvTranspose(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	rank := len(x.shape)
	if rank != 3 && rank != 4 && rank != 5 {
		return notLowered("only 1-D, 2-D and 3-D transposed convolutions run int8")
	}
	ap := n.AttrString("auto_pad", "NOTSET")
	resolve := n.HasAttr("output_shape") || ap == "SAME_UPPER" || ap == "SAME_LOWER"
	if ap != "NOTSET" && ap != "" && ap != "VALID" && !resolve {
		return notLowered("auto_pad %s is not supported by the int8 kernel", ap)
	}
	w, err := l.constWeights(n.Input(1))
	if err != nil {
		return err
	}
	if len(w.shape) != rank {
		return notLowered("weights %v do not match the input rank", w.shape)
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	group := int(n.AttrInt("group", 1))
	oc := w.shape[1] * group
	var wsc []float32
	var wzp []int32
	if w.axis == 1 && group == 1 {
		if wsc, wzp, err = w.perChannel(1, oc); err != nil {
			return err
		}
	} else if w.axis < 0 {
		if wsc, wzp, err = w.perChannel(-1, oc); err != nil {
			return err
		}
	} else if w.axis == 1 {
		// Grouped: axis 1 indexes an output channel within its group
		// (W is [C, M/group, kH, kW]), so output channel g·M/group + j has
		// the scale and zero point of j, in every group.
		sc, zp, err := w.perChannel(1, w.shape[1])
		if err != nil {
			return err
		}
		for g := 0; g < group; g++ {
			wsc, wzp = append(wsc, sc...), append(wzp, zp...)
		}
	} else {
		return notLowered("weights quantized along axis %d", w.axis)
	}
	k := rank - 2
	pads := intsOr(n, "pads", 2*k, 0)
	if ap == "VALID" {
		pads = make([]int, 2*k)
	}
	outPad := intsOr(n, "output_padding", k, 0)
	if resolve {
		// output_shape or SAME padding (tf2onnx writes both): explicit pads
		// and output_padding from the static input size (thirteenth session).
		if pads, outPad, err = explicitTransposePads(n, x.shape, w.shape); err != nil {
			return err
		}
	}
	ins, scales, outShape, store, err := l.convOperands(n, x, w, wsc, d)
	if err != nil {
		return err
	}
	l.emit(n, "QConvTranspose", ins, []string{store},
		graph.IntsAttr("strides", intsOr(n, "strides", k, 1)), graph.IntsAttr("dilations", intsOr(n, "dilations", k, 1)), graph.IntsAttr("pads", pads),
		graph.IntsAttr("output_padding", outPad), graph.IntAttr("group", int64(group)),
		graph.IntAttr("x_zp", int64(x.zp)), graph.IntsAttr("w_zp", int32sToInts(compactZP(wzp))), graph.FloatsAttr("scales", scales),
		graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", int64(d.qmin)), graph.IntAttr("qmax", int64(d.qmax)), graph.StringAttr("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, perm: qtensor.ChannelsLastPerm(rank), base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
}

// explicitTransposePads resolves the pads of a ConvTranspose given by
// output_shape or auto_pad SAME_* on its static input x (N, C, spatial...)
// and weights w (C, M/group, kernel...): begin and end pads and the
// output_padding that give the same output, as the int8 kernel takes them.
func explicitTransposePads(n *graph.Node, x graph.Shape, w []int) (pads, outPad []int, err error) {
	k := len(w) - 2
	if len(x) != k+2 {
		return nil, nil, notLowered("input rank %d does not match the weights %v", len(x), w)
	}
	in := make([]int, k)
	for i := range in {
		d := x[2+i]
		if !d.Known() || d.Size <= 0 {
			return nil, nil, notLowered("output_shape or SAME padding needs a static input size")
		}
		in[i] = d.Size
	}
	geom, err := graph.ResolveConvTransposeGeom(n, in, w[2:])
	if err != nil {
		return nil, nil, notLowered("%v", err)
	}
	outPad = make([]int, k)
	for i := range outPad {
		full := (in[i]-1)*geom.Strides[i] + (w[2+i]-1)*geom.Dilations[i] + 1
		outPad[i] = geom.Out[i] - (full - geom.Pads[i] - geom.Pads[k+i])
		if outPad[i] < 0 || outPad[i] >= max(geom.Strides[i], geom.Dilations[i]) {
			return nil, nil, notLowered("output_shape %v needs an output_padding of %d on axis %d", geom.Out, outPad[i], i)
		}
	}
	return geom.Pads, outPad, nil
}

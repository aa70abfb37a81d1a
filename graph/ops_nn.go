package graph

import (
	"fmt"
	"math"
)

// This file holds the shape-inference schemas of the neural-network operators (Conv,
// ConvTranspose, pooling, normalisations, MatMul/Gemm, Softmax, Resize, Pad, Erf) and
// the exported geometry helpers that the runtime kernels share with them, so that the
// shapes inferred at load time and the shapes computed at run time cannot disagree.

// Auto-padding modes of Conv, ConvTranspose and the pooling operators.
const (
	AutoPadNotSet    = "NOTSET"
	AutoPadSameUpper = "SAME_UPPER"
	AutoPadSameLower = "SAME_LOWER"
	AutoPadValid     = "VALID"
)

// ConvGeom is the resolved spatial geometry of a Conv or pooling node for one input
// size. Unknown input sizes (-1) give unknown (-1) output sizes and pads.
type ConvGeom struct {
	Kernel    []int
	Strides   []int
	Dilations []int
	// Pads holds the begin pads of every spatial axis followed by the end pads.
	Pads []int
	Out  []int
}

// PadBegin returns the leading pad of spatial axis i.
func (g *ConvGeom) PadBegin(i int) int { return g.Pads[i] }

// PadEnd returns the trailing pad of spatial axis i.
func (g *ConvGeom) PadEnd(i int) int { return g.Pads[len(g.Kernel)+i] }

// nnSpatialInts reads an ints attribute that has one entry per spatial axis, with a
// default filled in and every entry checked to be at least min.
func nnSpatialInts(n *Node, name string, rank int, def, min int) ([]int, error) {
	v := n.AttrInts(name, nil)
	out := make([]int, rank)
	if v == nil {
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != rank {
		return nil, fmt.Errorf("%s: attribute %s has %d values, expected %d (one per spatial axis)", n.Label(), name, len(v), rank)
	}
	for i, x := range v {
		if x < int64(min) || x > math.MaxInt32 {
			return nil, fmt.Errorf("%s: attribute %s = %v: value %d is out of range", n.Label(), name, v, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// NodeAutoPad returns the node's auto_pad attribute, validated ("" counts as NOTSET, as
// some old exporters write it).
func NodeAutoPad(n *Node) (string, error) {
	ap := n.AttrString("auto_pad", AutoPadNotSet)
	switch ap {
	case "", AutoPadNotSet:
		return AutoPadNotSet, nil
	case AutoPadSameUpper, AutoPadSameLower, AutoPadValid:
		return ap, nil
	}
	return "", fmt.Errorf("%s: %w auto_pad %q", n.Label(), ErrUnsupported, ap)
}

// ResolveConvGeom computes the output sizes and effective pads of a Conv, MaxPool or
// AveragePool node whose spatial input sizes are in (-1 where unknown). kernel is the
// kernel shape (from kernel_shape or the weight tensor). ceil selects ceil_mode output
// rounding (pooling only).
func ResolveConvGeom(n *Node, in, kernel []int, ceil bool) (*ConvGeom, error) {
	rank := len(in)
	if len(kernel) != rank {
		return nil, fmt.Errorf("%s: kernel has %d spatial axes, input has %d", n.Label(), len(kernel), rank)
	}
	for i, k := range kernel {
		if k < 1 {
			return nil, fmt.Errorf("%s: kernel size %d on axis %d must be positive", n.Label(), k, i)
		}
	}
	g := &ConvGeom{Kernel: append([]int(nil), kernel...)}
	var err error
	if g.Strides, err = nnSpatialInts(n, "strides", rank, 1, 1); err != nil {
		return nil, err
	}
	if g.Dilations, err = nnSpatialInts(n, "dilations", rank, 1, 1); err != nil {
		return nil, err
	}
	ap, err := NodeAutoPad(n)
	if err != nil {
		return nil, err
	}
	g.Pads = make([]int, 2*rank)
	if ap == AutoPadNotSet {
		if g.Pads, err = nnSpatialInts(n, "pads", 2*rank, 0, 0); err != nil {
			return nil, err
		}
	}
	g.Out = make([]int, rank)
	for i := 0; i < rank; i++ {
		ek := (g.Kernel[i]-1)*g.Dilations[i] + 1
		s := g.Strides[i]
		if in[i] < 0 {
			g.Out[i] = -1
			if ap == AutoPadSameUpper || ap == AutoPadSameLower {
				g.Pads[i], g.Pads[rank+i] = -1, -1
			}
			continue
		}
		switch ap {
		case AutoPadSameUpper, AutoPadSameLower:
			out := (in[i] + s - 1) / s
			total := max(0, (out-1)*s+ek-in[i])
			small, big := total/2, total-total/2
			if ap == AutoPadSameUpper {
				g.Pads[i], g.Pads[rank+i] = small, big
			} else {
				g.Pads[i], g.Pads[rank+i] = big, small
			}
			g.Out[i] = out
			continue
		}
		span := in[i] + g.Pads[i] + g.Pads[rank+i] - ek
		if ceil && span < 0 && span > -s {
			// ceil((span)/s) + 1 = 1 (ONNX's and PyTorch's ceil_mode formula): one
			// window that starts on the input and runs past its end, as
			// GoogLeNet's last ceil_mode MaxPool on a 1x1 map (28x28 input).
			g.Out[i] = 1
			continue
		}
		if span < 0 {
			return nil, fmt.Errorf("%s: axis %d: input size %d with pads %d+%d is smaller than the dilated kernel %d",
				n.Label(), i, in[i], g.Pads[i], g.Pads[rank+i], ek)
		}
		out := span/s + 1
		if ceil && span%s != 0 {
			out++
			// The last window must start inside the input or its leading pad, as in
			// PyTorch and ONNX Runtime; otherwise it would cover only padding.
			if (out-1)*s >= in[i]+g.Pads[i] {
				out--
			}
		}
		g.Out[i] = out
	}
	return g, nil
}

// ResolveConvTransposeGeom computes the output sizes and the pads of a ConvTranspose
// node (in: spatial input sizes, -1 where unknown; kernel: spatial kernel sizes). The
// returned Pads are the amounts cropped from the full transposed-convolution result; a
// negative total (an output_shape larger than the full result) leaves Pads at zero and
// the extra positions hold only the bias.
func ResolveConvTransposeGeom(n *Node, in, kernel []int) (*ConvGeom, error) {
	rank := len(in)
	if len(kernel) != rank {
		return nil, fmt.Errorf("%s: kernel has %d spatial axes, input has %d", n.Label(), len(kernel), rank)
	}
	g := &ConvGeom{Kernel: append([]int(nil), kernel...)}
	var err error
	if g.Strides, err = nnSpatialInts(n, "strides", rank, 1, 1); err != nil {
		return nil, err
	}
	if g.Dilations, err = nnSpatialInts(n, "dilations", rank, 1, 1); err != nil {
		return nil, err
	}
	adj, err := nnSpatialInts(n, "output_padding", rank, 0, 0)
	if err != nil {
		return nil, err
	}
	for i := range adj {
		if adj[i] >= max(g.Strides[i], g.Dilations[i]) {
			return nil, fmt.Errorf("%s: output_padding %d on axis %d must be smaller than the stride or the dilation", n.Label(), adj[i], i)
		}
	}
	ap, err := NodeAutoPad(n)
	if err != nil {
		return nil, err
	}
	var outShape []int
	if os := n.AttrInts("output_shape", nil); os != nil {
		// output_shape may list only the spatial sizes or the whole output shape.
		if len(os) == rank+2 {
			os = os[2:]
		}
		if len(os) != rank {
			return nil, fmt.Errorf("%s: output_shape %v does not match %d spatial axes", n.Label(), os, rank)
		}
		outShape = make([]int, rank)
		for i, v := range os {
			if v < 1 || v > math.MaxInt32 {
				return nil, fmt.Errorf("%s: output_shape %v: size %d is out of range", n.Label(), os, v)
			}
			outShape[i] = int(v)
		}
	}
	if ap == AutoPadNotSet && outShape == nil {
		if g.Pads, err = nnSpatialInts(n, "pads", 2*rank, 0, 0); err != nil {
			return nil, err
		}
	} else {
		g.Pads = make([]int, 2*rank)
	}
	g.Out = make([]int, rank)
	for i := 0; i < rank; i++ {
		if g.Kernel[i] < 1 {
			return nil, fmt.Errorf("%s: kernel size %d on axis %d must be positive", n.Label(), g.Kernel[i], i)
		}
		if in[i] < 0 {
			g.Out[i] = -1
			if outShape != nil {
				g.Out[i] = outShape[i]
			}
			continue
		}
		full := (in[i]-1)*g.Strides[i] + adj[i] + (g.Kernel[i]-1)*g.Dilations[i] + 1
		var total int
		switch {
		case outShape != nil:
			total = max(0, full-outShape[i])
		case ap == AutoPadSameUpper || ap == AutoPadSameLower:
			total = max(0, full-in[i]*g.Strides[i])
		default:
			out := full - g.Pads[i] - g.Pads[rank+i]
			if out < 1 {
				return nil, fmt.Errorf("%s: axis %d: pads %d+%d leave no output", n.Label(), i, g.Pads[i], g.Pads[rank+i])
			}
			g.Out[i] = out
			continue
		}
		// ONNX: SAME_UPPER puts the odd pixel at the end, otherwise at the start.
		small, big := total/2, total-total/2
		if ap == AutoPadSameUpper {
			g.Pads[i], g.Pads[rank+i] = small, big
		} else {
			g.Pads[i], g.Pads[rank+i] = big, small
		}
		if outShape != nil {
			g.Out[i] = outShape[i]
		} else {
			g.Out[i] = full - total
		}
	}
	return g, nil
}

// nnValue makes an output value.
func nnValue(dt DType, s Shape) *Value {
	return &Value{DType: dt, Shape: s, HasShape: s != nil}
}

// nnUnknownRank makes an output of known rank whose dimensions are all unknown.
func nnUnknownRank(dt DType, rank int) *Value {
	s := make(Shape, rank)
	for i := range s {
		s[i] = Dim{Size: -1}
	}
	return &Value{DType: dt, Shape: s, HasShape: true}
}

// nnUnsupported formats an error that names the node and wraps ErrUnsupported.
func nnUnsupported(c *InferContext, format string, args ...any) error {
	return fmt.Errorf("%s: %w %s", c.Node.Label(), ErrUnsupported, fmt.Sprintf(format, args...))
}

// nnNeedInput returns input i or an error naming the node when it is absent.
func nnNeedInput(c *InferContext, i int, what string) (*Value, error) {
	v := c.Input(i)
	if v == nil {
		return nil, c.Errorf("missing input %d (%s)", i, what)
	}
	return v, nil
}

// nnNeedFloat returns input i, which must be present (what names it) and of a
// floating-point type (desc names it in that error).
func nnNeedFloat(c *InferContext, i int, what, desc string) (*Value, error) {
	v, err := nnNeedInput(c, i, what)
	if err != nil {
		return nil, err
	}
	if err := nnFloatType(c, v, desc); err != nil {
		return nil, err
	}
	return v, nil
}

// nnSameDType checks that optional input i, when present, has dtype dt.
func nnSameDType(c *InferContext, i int, dt DType, what string) error {
	v := c.Input(i)
	if v == nil || v.DType == Undefined || dt == Undefined || v.DType == dt {
		return nil
	}
	return c.Errorf("input %d (%s) is %s, expected %s like the data input (dtype mismatch)", i, what, v.DType, dt)
}

// nnFloatType checks that x has a floating-point (or still unknown) dtype.
func nnFloatType(c *InferContext, x *Value, what string) error {
	if x.DType != Undefined && !x.DType.IsFloat() {
		return c.Errorf("%s is %s, expected a floating-point type", what, x.DType)
	}
	return nil
}

// nnSpatialIn returns the spatial sizes of an [N, C, D1, ...] value (-1 unknown).
func nnSpatialIn(x *Value) []int {
	in := make([]int, len(x.Shape)-2)
	for i := range in {
		in[i] = x.Shape[i+2].Size
	}
	return in
}

// nnOutShape builds [N, C, out...] from the batch dim, channel dim and output sizes.
func nnOutShape(batch, ch Dim, out []int) Shape {
	s := Shape{batch, ch}
	for _, o := range out {
		s = append(s, Dim{Size: o})
	}
	return s
}

var convAttrs = []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}

// ConvKernelShape returns the kernel_shape attribute, or the spatial dims of the weight
// shape; ok is false when neither is known.
func ConvKernelShape(n *Node, w *Value, rank int) (k []int, ok bool, err error) {
	if ks := n.AttrInts("kernel_shape", nil); ks != nil {
		if len(ks) != rank {
			return nil, false, fmt.Errorf("%s: kernel_shape %v has %d axes, input has %d spatial axes", n.Label(), ks, len(ks), rank)
		}
		k = make([]int, rank)
		for i, v := range ks {
			if v < 1 || v > math.MaxInt32 {
				return nil, false, fmt.Errorf("%s: kernel_shape %v: size %d is out of range", n.Label(), ks, v)
			}
			k[i] = int(v)
		}
		if w != nil && w.HasShape && len(w.Shape) == rank+2 {
			for i := range k {
				if d := w.Shape[i+2]; d.Known() && d.Size != k[i] {
					return nil, false, fmt.Errorf("%s: kernel_shape %v does not match weight shape %s", n.Label(), ks, w.Shape)
				}
			}
		}
		return k, true, nil
	}
	if w == nil || !w.HasShape {
		return nil, false, nil
	}
	k = make([]int, rank)
	for i := range k {
		if !w.Shape[i+2].Known() {
			return nil, false, nil
		}
		k[i] = w.Shape[i+2].Size
	}
	return k, true, nil
}

func inferConv(c *InferContext, transpose bool) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	w, err := nnNeedInput(c, 1, "W")
	if err != nil {
		return nil, nil, err
	}
	if err := nnFloatType(c, x, "input X"); err != nil {
		return nil, nil, err
	}
	if err := nnSameDType(c, 1, x.DType, "W"); err != nil {
		return nil, nil, err
	}
	if err := nnSameDType(c, 2, x.DType, "B"); err != nil {
		return nil, nil, err
	}
	group := c.Node.AttrInt("group", 1)
	if group < 1 || group > math.MaxInt32 {
		return nil, nil, c.Errorf("group %d must be positive", group)
	}
	g := int(group)
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil)}, nil, nil
	}
	if len(x.Shape) < 3 {
		return nil, nil, c.Errorf("input X has shape %s, expected [N, C, D1, ...] with at least one spatial axis", x.Shape)
	}
	rank := len(x.Shape) - 2
	if w.HasShape && len(w.Shape) != rank+2 {
		return nil, nil, c.Errorf("weight W has shape %s, expected rank %d like X %s", w.Shape, rank+2, x.Shape)
	}
	outCh := Dim{Size: -1}
	if w.HasShape {
		cin := x.Shape[1]
		if transpose {
			if w.Shape[0].Known() && cin.Known() && w.Shape[0].Size != cin.Size {
				return nil, nil, c.Errorf("weight W %s expects %d input channels, X %s has %d", w.Shape, w.Shape[0].Size, x.Shape, cin.Size)
			}
			if w.Shape[1].Known() {
				outCh = Dim{Size: w.Shape[1].Size * g}
			}
		} else {
			if w.Shape[1].Known() && cin.Known() && w.Shape[1].Size*g != cin.Size {
				return nil, nil, c.Errorf("weight W %s with group %d expects %d input channels, X %s has %d",
					w.Shape, g, w.Shape[1].Size*g, x.Shape, cin.Size)
			}
			if w.Shape[0].Known() {
				if w.Shape[0].Size%g != 0 {
					return nil, nil, c.Errorf("%d output channels are not divisible by group %d", w.Shape[0].Size, g)
				}
				outCh = w.Shape[0]
			}
		}
		if transpose && cin.Known() && cin.Size%g != 0 {
			return nil, nil, c.Errorf("%d input channels are not divisible by group %d", cin.Size, g)
		}
	}
	if b := c.Input(2); b != nil && b.HasShape {
		if len(b.Shape) != 1 {
			return nil, nil, c.Errorf("bias B has shape %s, expected 1-D", b.Shape)
		}
		if outCh.Known() && b.Shape[0].Known() && b.Shape[0].Size != outCh.Size {
			return nil, nil, c.Errorf("bias B has %d elements, expected %d (output channels)", b.Shape[0].Size, outCh.Size)
		}
	}
	kernel, ok, err := ConvKernelShape(c.Node, w, rank)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return []*Value{nnUnknownRankWith(x.DType, rank+2, x.Shape[0], outCh)}, nil, nil
	}
	var geom *ConvGeom
	if transpose {
		geom, err = ResolveConvTransposeGeom(c.Node, nnSpatialIn(x), kernel)
	} else {
		geom, err = ResolveConvGeom(c.Node, nnSpatialIn(x), kernel, false)
	}
	if err != nil {
		return nil, nil, err
	}
	return []*Value{nnValue(x.DType, nnOutShape(x.Shape[0], outCh, geom.Out))}, nil, nil
}

// nnUnknownRankWith makes an [N, C, ?...] value.
func nnUnknownRankWith(dt DType, rank int, batch, ch Dim) *Value {
	v := nnUnknownRank(dt, rank)
	v.Shape[0], v.Shape[1] = batch, ch
	return v
}

var poolTypes = map[DType]bool{Float32: true, Float64: true, Float16: true, Int8: true, Uint8: true}

func inferPool(c *InferContext, isMax bool) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	if x.DType != Undefined {
		if isMax && !poolTypes[x.DType] || !isMax && !x.DType.IsFloat() {
			return nil, nil, c.Errorf("input X is %s, which this operator does not accept", x.DType)
		}
	}
	ks := c.Node.AttrInts("kernel_shape", nil)
	if ks == nil {
		return nil, nil, c.Errorf("missing required attribute kernel_shape")
	}
	if so := c.Node.AttrInt("storage_order", 0); so != 0 && so != 1 {
		return nil, nil, c.Errorf("storage_order %d must be 0 or 1", so)
	}
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil), nnValue(Int64, nil)}, nil, nil
	}
	if len(x.Shape) < 3 {
		return nil, nil, c.Errorf("input X has shape %s, expected [N, C, D1, ...]", x.Shape)
	}
	rank := len(x.Shape) - 2
	kernel, _, err := ConvKernelShape(c.Node, nil, rank)
	if err != nil {
		return nil, nil, err
	}
	geom, err := ResolveConvGeom(c.Node, nnSpatialIn(x), kernel, c.Node.AttrInt("ceil_mode", 0) != 0)
	if err != nil {
		return nil, nil, err
	}
	if ap, _ := NodeAutoPad(c.Node); ap == AutoPadNotSet {
		for i := 0; i < rank; i++ {
			// A pad as large as the kernel would make windows of pure padding (ONNX
			// Runtime rejects those too).
			if geom.PadBegin(i) >= geom.Kernel[i] || geom.PadEnd(i) >= geom.Kernel[i] {
				return nil, nil, c.Errorf("pads %v: a pad on axis %d is not smaller than the kernel %d", geom.Pads, i, geom.Kernel[i])
			}
		}
	}
	s := nnOutShape(x.Shape[0], x.Shape[1], geom.Out)
	return []*Value{nnValue(x.DType, s), nnValue(Int64, append(Shape(nil), s...))}, nil, nil
}

func inferGlobalPool(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil)}, nil, nil
	}
	if len(x.Shape) < 2 {
		return nil, nil, c.Errorf("input X has shape %s, expected [N, C, ...]", x.Shape)
	}
	s := Shape{x.Shape[0], x.Shape[1]}
	for range x.Shape[2:] {
		s = append(s, Dim{Size: 1})
	}
	return []*Value{nnValue(x.DType, s)}, nil, nil
}

// nnSameShape is the inference of operators whose first output has the shape and type
// of their first input.
func nnSameShape(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	return []*Value{nnValue(x.DType, append(Shape(nil), x.Shape...))}, nil, nil
}

func nnChannelParam(c *InferContext, i int, ch Dim, what string) error {
	v := c.Input(i)
	if v == nil || !v.HasShape {
		return nil
	}
	if len(v.Shape) != 1 {
		return c.Errorf("input %s has shape %s, expected [C]", what, v.Shape)
	}
	if ch.Known() && v.Shape[0].Known() && v.Shape[0].Size != ch.Size {
		return c.Errorf("input %s has %d elements, X has %d channels", what, v.Shape[0].Size, ch.Size)
	}
	return nil
}

// BatchNormAffine returns an inference BatchNormalization as y = scale·x + shift
// per channel, computed in float64 (scale = s / sqrt(var + eps), shift = b -
// mean·scale) for the callers that fold it into a neighbour's weights. ok is
// false when its scale, bias, mean and variance are not float32 constants of one
// length. Whether the node is in training mode is the caller's test
// (BatchNormTraining).
func BatchNormAffine(g *Graph, bn *Node) (scale, shift []float64, ok bool) {
	var p [4][]float64
	for i := range p {
		t := g.Initializers[bn.Input(i+1)]
		if t == nil || t.DType != Float32 || (i > 0 && t.Len() != len(p[0])) {
			return nil, nil, false
		}
		p[i], _ = t.AsFloat64()
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	scale, shift = make([]float64, len(p[0])), make([]float64, len(p[0]))
	for c := range scale {
		scale[c] = p[0][c] / math.Sqrt(p[3][c]+eps)
		shift[c] = p[1][c] - p[2][c]*scale[c]
	}
	return scale, shift, true
}

// BatchNormTraining reports whether a BatchNormalization node computes batch
// statistics (training mode) rather than using the running mean and variance.
func BatchNormTraining(n *Node, opset int64) bool {
	if opset >= 14 {
		return n.AttrInt("training_mode", 0) != 0
	}
	if opset < 7 && n.HasAttr("is_test") {
		return n.AttrInt("is_test", 0) == 0 && countOutputs(n) > 1
	}
	// Opsets 7-13 select training mode by asking for the extra outputs.
	return countOutputs(n) > 1
}

func countOutputs(n *Node) int {
	k := 0
	for _, o := range n.Outputs {
		if o != "" {
			k++
		}
	}
	return k
}

func inferBatchNorm(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedFloat(c, 0, "X", "input X")
	if err != nil {
		return nil, nil, err
	}
	for i, what := range []string{"scale", "B", "mean", "var"} {
		if _, err := nnNeedInput(c, i+1, what); err != nil {
			return nil, nil, err
		}
	}
	if c.Opset < 15 {
		for i, what := range []string{"scale", "B", "mean", "var"} {
			if err := nnSameDType(c, i+1, x.DType, what); err != nil {
				return nil, nil, err
			}
		}
	}
	spatial := c.Opset >= 9 || c.Node.AttrInt("spatial", 1) != 0
	ch := Dim{Size: -1}
	if x.HasShape {
		if len(x.Shape) < 2 {
			return nil, nil, c.Errorf("input X has shape %s, expected [N, C, ...]", x.Shape)
		}
		ch = x.Shape[1]
	}
	if spatial {
		for i, what := range []string{"scale", "B", "mean", "var"} {
			if err := nnChannelParam(c, i+1, ch, what); err != nil {
				return nil, nil, err
			}
		}
	}
	outs := []*Value{nnValue(x.DType, append(Shape(nil), x.Shape...))}
	stat := nnValue(x.DType, nil)
	if spatial {
		stat = nnValue(x.DType, Shape{ch})
	} else if x.HasShape {
		stat = nnValue(x.DType, append(Shape(nil), x.Shape[1:]...))
	}
	if m := c.Input(3); m != nil {
		stat.DType = m.DType
	}
	for i := 1; i < len(c.Node.Outputs); i++ {
		cp := *stat
		cp.Shape = append(Shape(nil), stat.Shape...)
		outs = append(outs, &cp)
	}
	return outs, nil, nil
}

func inferInstanceNorm(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedFloat(c, 0, "input", "input")
	if err != nil {
		return nil, nil, err
	}
	ch := Dim{Size: -1}
	if x.HasShape {
		if len(x.Shape) < 3 {
			return nil, nil, c.Errorf("input has shape %s, expected [N, C, D1, ...]", x.Shape)
		}
		ch = x.Shape[1]
	}
	for i, what := range []string{"scale", "B"} {
		if _, err := nnNeedInput(c, i+1, what); err != nil {
			return nil, nil, err
		}
		if err := nnSameDType(c, i+1, x.DType, what); err != nil {
			return nil, nil, err
		}
		if err := nnChannelParam(c, i+1, ch, what); err != nil {
			return nil, nil, err
		}
	}
	return nnSameShape(c)
}

func inferLRN(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedFloat(c, 0, "X", "input X")
	if err != nil {
		return nil, nil, err
	}
	if !c.Node.HasAttr("size") {
		return nil, nil, c.Errorf("missing required attribute size")
	}
	if s := c.Node.AttrInt("size", 0); s < 1 {
		return nil, nil, c.Errorf("size %d must be positive", s)
	}
	if x.HasShape && len(x.Shape) < 2 {
		return nil, nil, c.Errorf("input X has shape %s, expected [N, C, ...]", x.Shape)
	}
	return nnSameShape(c)
}

func inferLayerNorm(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedFloat(c, 0, "X", "input X")
	if err != nil {
		return nil, nil, err
	}
	if _, err := nnNeedInput(c, 1, "Scale"); err != nil {
		return nil, nil, err
	}
	if err := nnSameDType(c, 1, x.DType, "Scale"); err != nil {
		return nil, nil, err
	}
	if err := nnSameDType(c, 2, x.DType, "B"); err != nil {
		return nil, nil, err
	}
	st := c.Node.AttrInt("stash_type", 1)
	if st != 1 {
		return nil, nil, nnUnsupported(c, "stash_type %d (only 1, float32, is implemented)", st)
	}
	statType := Float32
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil), nnValue(statType, nil), nnValue(statType, nil)}, nil, nil
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	norm := x.Shape[axis:]
	for i, what := range []string{"Scale", "B"} {
		v := c.Input(i + 1)
		if v == nil || !v.HasShape {
			continue
		}
		if _, err := BroadcastShapes(norm, v.Shape); err != nil || len(v.Shape) > len(norm) {
			return nil, nil, c.Errorf("input %s of shape %s does not broadcast to the normalized shape %s", what, v.Shape, norm)
		}
	}
	stat := append(Shape(nil), x.Shape[:axis]...)
	for range norm {
		stat = append(stat, Dim{Size: 1})
	}
	return []*Value{
		nnValue(x.DType, append(Shape(nil), x.Shape...)),
		nnValue(statType, stat),
		nnValue(statType, append(Shape(nil), stat...)),
	}, nil, nil
}

func inferSoftmax(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedFloat(c, 0, "input", "input")
	if err != nil {
		return nil, nil, err
	}
	if x.HasShape {
		def := int64(-1)
		if c.Opset < 13 {
			def = 1
		}
		r := len(x.Shape)
		if r == 0 {
			return nil, nil, c.Errorf("input is a scalar, expected at least rank 1")
		}
		if _, err := NormalizeAxis(c.Node.AttrInt("axis", def), r); err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
	}
	return nnSameShape(c)
}

func inferErf(c *InferContext) ([]*Value, []*Tensor, error) {
	if _, err := nnNeedFloat(c, 0, "input", "input"); err != nil {
		return nil, nil, err
	}
	return nnSameShape(c)
}

// MatMulShape computes numpy matmul's result shape (with 1-D promotion and batch
// broadcasting) from two possibly symbolic shapes.
func MatMulShape(a, b Shape) (Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("matmul operands must have rank >= 1, got %s and %s", a, b)
	}
	aa, bb := a, b
	if len(a) == 1 {
		aa = Shape{{Size: 1}, a[0]}
	}
	if len(b) == 1 {
		bb = Shape{b[0], {Size: 1}}
	}
	ka, kb := aa[len(aa)-1], bb[len(bb)-2]
	if ka.Known() && kb.Known() && ka.Size != kb.Size {
		return nil, fmt.Errorf("inner dimensions differ: %s x %s", a, b)
	}
	batch, err := BroadcastShapes(aa[:len(aa)-2], bb[:len(bb)-2])
	if err != nil {
		return nil, err
	}
	out := append(Shape(nil), batch...)
	if len(a) > 1 {
		out = append(out, aa[len(aa)-2])
	}
	if len(b) > 1 {
		out = append(out, bb[len(bb)-1])
	}
	return out, nil
}

// matmulOperands returns MatMul's and Gemm's A and B: present, numeric, same dtype.
func matmulOperands(c *InferContext) (a, b *Value, err error) {
	if a, err = nnNeedInput(c, 0, "A"); err != nil {
		return nil, nil, err
	}
	if b, err = nnNeedInput(c, 1, "B"); err != nil {
		return nil, nil, err
	}
	if a.DType == String || a.DType == Bool {
		return nil, nil, c.Errorf("input A is %s, expected a numeric type", a.DType)
	}
	if err := nnSameDType(c, 1, a.DType, "B"); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

func inferMatMul(c *InferContext) ([]*Value, []*Tensor, error) {
	a, b, err := matmulOperands(c)
	if err != nil {
		return nil, nil, err
	}
	if !a.HasShape || !b.HasShape {
		return []*Value{nnValue(a.DType, nil)}, nil, nil
	}
	s, err := MatMulShape(a.Shape, b.Shape)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	return []*Value{nnValue(a.DType, s)}, nil, nil
}

func inferGemm(c *InferContext) ([]*Value, []*Tensor, error) {
	a, b, err := matmulOperands(c)
	if err != nil {
		return nil, nil, err
	}
	if err := nnSameDType(c, 2, a.DType, "C"); err != nil {
		return nil, nil, err
	}
	if c.Opset < 11 && c.Input(2) == nil {
		return nil, nil, c.Errorf("missing input C (optional only from opset 11)")
	}
	if !a.HasShape || !b.HasShape {
		return []*Value{nnUnknownRank(a.DType, 2)}, nil, nil
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, nil, c.Errorf("inputs have shapes %s and %s, expected 2-D matrices", a.Shape, b.Shape)
	}
	m, ka := a.Shape[0], a.Shape[1]
	if c.Node.AttrInt("transA", 0) != 0 {
		m, ka = ka, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if c.Node.AttrInt("transB", 0) != 0 {
		kb, n = n, kb
	}
	if ka.Known() && kb.Known() && ka.Size != kb.Size {
		return nil, nil, c.Errorf("inner dimensions differ: A %s, B %s (transA=%d, transB=%d)",
			a.Shape, b.Shape, c.Node.AttrInt("transA", 0), c.Node.AttrInt("transB", 0))
	}
	out := Shape{m, n}
	if cv := c.Input(2); cv != nil && cv.HasShape {
		if len(cv.Shape) > 2 {
			return nil, nil, c.Errorf("input C has shape %s, expected rank <= 2", cv.Shape)
		}
		for i, d := range cv.Shape {
			o := out[2-len(cv.Shape)+i]
			if d.Known() && d.Size != 1 && o.Known() && o.Size != d.Size {
				return nil, nil, c.Errorf("input C of shape %s does not broadcast to %s", cv.Shape, out)
			}
		}
	}
	return []*Value{nnValue(a.DType, out)}, nil, nil
}

// PadMode values of the Pad operator.
const (
	PadConstant = "constant"
	PadReflect  = "reflect"
	PadEdge     = "edge"
)

// ExpandPadAxes turns Pad-18's pads over the given axes (2·len(axes) values,
// [begin..., end...] in the order of axes; negative axes count from the end)
// into pads over all rank axes, zero on the others. A repeated axis is an error.
func ExpandPadAxes(pads, axes []int64, rank int) ([]int64, error) {
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("pads has %d values for %d axes %v", len(pads), len(axes), axes)
	}
	full := make([]int64, 2*rank)
	seen := make([]bool, rank)
	for i, a := range axes {
		ax, err := NormalizeAxis(a, rank)
		if err != nil {
			return nil, fmt.Errorf("axes %v: %v", axes, err)
		}
		if seen[ax] {
			return nil, fmt.Errorf("axes %v name axis %d twice", axes, ax)
		}
		seen[ax] = true
		full[ax], full[rank+ax] = pads[i], pads[len(axes)+i]
	}
	return full, nil
}

// NodePads returns a Pad node's pads from its attribute (opset < 11) or from the
// constant pads input, over all axes (Pad-18's axes input expanded, which needs
// the data's rank); ok is false when the pads, the axes or that rank are not
// known.
func NodePads(c *InferContext) (pads []int64, ok bool, err error) {
	if c.Opset < 11 {
		p := c.Node.AttrInts("pads", nil)
		if p == nil {
			return nil, false, c.Errorf("missing required attribute pads")
		}
		return p, true, nil
	}
	if c.Input(1) == nil {
		return nil, false, c.Errorf("missing input 1 (pads)")
	}
	t := c.Const(1)
	if t == nil {
		return nil, false, nil
	}
	p, err := t.AsInt64()
	if err != nil {
		return nil, false, c.Errorf("pads: %v", err)
	}
	if c.Node.Input(3) == "" {
		return p, true, nil
	}
	if c.Opset < 18 {
		return nil, false, c.Errorf("has an axes input at opset %d (Pad has it since opset 18)", c.Opset)
	}
	at, x := c.Const(3), c.Input(0)
	if at == nil || x == nil || !x.HasShape {
		return nil, false, nil
	}
	axes, err := at.AsInt64()
	if err != nil {
		return nil, false, c.Errorf("axes: %v", err)
	}
	if p, err = ExpandPadAxes(p, axes, len(x.Shape)); err != nil {
		return nil, false, c.Errorf("%v", err)
	}
	return p, true, nil
}

func inferPad(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "data")
	if err != nil {
		return nil, nil, err
	}
	switch m := c.Node.AttrString("mode", PadConstant); m {
	case PadConstant, PadReflect, PadEdge:
	default:
		return nil, nil, nnUnsupported(c, "mode %q", m)
	}
	if c.Opset >= 11 {
		if p := c.Input(1); p != nil && p.DType != Undefined && p.DType != Int64 {
			return nil, nil, c.Errorf("pads input is %s, expected int64", p.DType)
		}
		if a := c.Input(3); a != nil && a.DType != Undefined && a.DType != Int64 && a.DType != Int32 {
			return nil, nil, c.Errorf("axes input is %s, expected int32 or int64", a.DType)
		}
		if err := nnSameDType(c, 2, x.DType, "constant_value"); err != nil {
			return nil, nil, err
		}
	}
	pads, ok, err := NodePads(c)
	if err != nil {
		return nil, nil, err
	}
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil)}, nil, nil
	}
	r := len(x.Shape)
	if !ok {
		return []*Value{nnUnknownRank(x.DType, r)}, nil, nil
	}
	if len(pads) != 2*r {
		return nil, nil, c.Errorf("pads has %d values, expected %d for rank %d", len(pads), 2*r, r)
	}
	out := make(Shape, r)
	for i, d := range x.Shape {
		if !d.Known() {
			out[i] = Dim{Size: -1}
			continue
		}
		s := int64(d.Size) + pads[i] + pads[r+i]
		if s < 0 || s > math.MaxInt32 {
			return nil, nil, c.Errorf("pads %v give axis %d the size %d", pads, i, s)
		}
		out[i] = Dim{Size: int(s)}
	}
	return []*Value{nnValue(x.DType, out)}, nil, nil
}

// ResizeOutputShape computes a Resize/Upsample output shape from the input shape and
// either sizes (when non-nil) or scales, following ONNX: output = floor(input * scale),
// the product rounded to float32 first.
func ResizeOutputShape(in []int, scales []float32, sizes []int64) ([]int, error) {
	out := make([]int, len(in))
	if sizes != nil {
		if len(sizes) != len(in) {
			return nil, fmt.Errorf("sizes %v has %d values, input has rank %d", sizes, len(sizes), len(in))
		}
		for i, s := range sizes {
			if s < 0 || s > math.MaxInt32 {
				return nil, fmt.Errorf("sizes %v: size %d is out of range", sizes, s)
			}
			out[i] = int(s)
		}
		return out, nil
	}
	if len(scales) != len(in) {
		return nil, fmt.Errorf("scales %v has %d values, input has rank %d", scales, len(scales), len(in))
	}
	for i, s := range scales {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("scales %v: scale %v must be positive", scales, s)
		}
		if in[i] < 0 {
			out[i] = -1
			continue
		}
		// The product in float32, as ONNX Runtime computes it (and PyTorch's
		// float64 gets the same size): in float64, 100 * float32(0.64) is
		// 63.9999986 and floors to 63 where both give 64.
		v := math.Floor(float64(float32(in[i]) * s))
		if v > math.MaxInt32 {
			return nil, fmt.Errorf("scales %v give axis %d the size %.0f", scales, i, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

func nnFloats(t *Tensor) ([]float32, error) {
	f, err := t.AsFloat64()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, nil
}

func inferResize(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := nnNeedInput(c, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	n := c.Node
	mode := n.AttrString("mode", "nearest")
	switch mode {
	case "nearest", "linear", "bilinear", "cubic":
	default:
		return nil, nil, nnUnsupported(c, "mode %q", mode)
	}
	if n.OpType == "Upsample" && mode == "cubic" {
		return nil, nil, nnUnsupported(c, "mode %q for Upsample", mode)
	}
	if c.Opset >= 11 && n.OpType == "Resize" {
		switch ct := n.AttrString("coordinate_transformation_mode", "half_pixel"); ct {
		case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize":
		default:
			return nil, nil, nnUnsupported(c, "coordinate_transformation_mode %q", ct)
		}
		switch nm := n.AttrString("nearest_mode", "round_prefer_floor"); nm {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
		default:
			return nil, nil, nnUnsupported(c, "nearest_mode %q", nm)
		}
	}
	var scales []float32
	var sizes []int64
	known := false
	switch {
	case n.OpType == "Upsample" && c.Opset < 9:
		scales = n.AttrFloats("scales", nil)
		if scales == nil {
			return nil, nil, c.Errorf("missing required attribute scales")
		}
		known = true
	case n.OpType == "Upsample" || c.Opset < 11:
		if c.Input(1) == nil {
			return nil, nil, c.Errorf("missing input 1 (scales)")
		}
		if t := c.Const(1); t != nil {
			if scales, err = nnFloats(t); err != nil {
				return nil, nil, c.Errorf("scales: %v", err)
			}
			known = true
		}
	default:
		// An input may be present in the node but empty (a zero-length tensor), which
		// counts as absent.
		present := func(i int) bool {
			v, t := c.Input(i), c.Const(i)
			if v == nil || t != nil && t.Len() == 0 {
				return false
			}
			return !(v.HasShape && len(v.Shape) == 1 && v.Shape[0].Size == 0)
		}
		hasScales, hasSizes := present(2), present(3)
		switch {
		case hasScales && hasSizes && c.Const(2) != nil && c.Const(3) != nil:
			return nil, nil, c.Errorf("both scales and sizes are given; exactly one is allowed")
		case hasSizes:
			if zt := c.Const(3); zt != nil {
				if sizes, err = zt.AsInt64(); err != nil {
					return nil, nil, c.Errorf("sizes: %v", err)
				}
				known = true
			}
		case hasScales:
			if st := c.Const(2); st != nil {
				if scales, err = nnFloats(st); err != nil {
					return nil, nil, c.Errorf("scales: %v", err)
				}
				known = true
			}
		default:
			return nil, nil, c.Errorf("neither scales nor sizes is given")
		}
	}
	if n.OpType == "Upsample" {
		for _, s := range scales {
			if s < 1 {
				return nil, nil, c.Errorf("scales %v: Upsample scales must be at least 1", scales)
			}
		}
	}
	if n.AttrInt("antialias", 0) != 0 && mode == "nearest" {
		// ONNX Runtime refuses it too: the filter widening is defined for linear and cubic.
		return nil, nil, nnUnsupported(c, "antialias with mode nearest")
	}
	if !x.HasShape {
		return []*Value{nnValue(x.DType, nil)}, nil, nil
	}
	if axes, policy := n.AttrInts("axes", nil), n.AttrString("keep_aspect_ratio_policy", "stretch"); known && (axes != nil || policy != "stretch") {
		return inferResizeAxes(c, x, scales, sizes, axes, policy)
	}
	// With scales, tf_crop_and_resize sizes the output by the region of interest too.
	cropScales := sizes == nil && n.AttrString("coordinate_transformation_mode", "") == "tf_crop_and_resize"
	if !known || cropScales {
		return []*Value{nnUnknownRank(x.DType, len(x.Shape))}, nil, nil
	}
	in := make([]int, len(x.Shape))
	for i, d := range x.Shape {
		in[i] = d.Size
	}
	out, err := ResizeOutputShape(in, scales, sizes)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	s := ShapeOf(out...)
	for i := range s {
		if sizes == nil && !x.Shape[i].Known() && scales[i] == 1 {
			s[i] = x.Shape[i] // keeps a symbolic batch name
		}
	}
	return []*Value{nnValue(x.DType, s)}, nil, nil
}

// inferResizeAxes is the output of a Resize-18 with axes or a kept aspect ratio
// (resize_axes.go): the axes it does not resize keep their dimensions, symbolic
// ones included; a resized axis of an unknown input size is unknown.
func inferResizeAxes(c *InferContext, x *Value, scales []float32, sizes []int64, axes []int64, policy string) ([]*Value, []*Tensor, error) {
	in := make([]int, len(x.Shape))
	for i, d := range x.Shape {
		in[i] = -1
		if d.Known() {
			in[i] = d.Size
		}
	}
	var f []float64
	for _, v := range scales {
		f = append(f, float64(v))
	}
	fs, fz, err := ResizeAxesFull(in, f, sizes, axes, policy)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	s := make(Shape, len(in))
	for a := range s {
		switch {
		case fz != nil && fz[a] >= 0:
			s[a] = Dim{Size: int(fz[a])}
		case fz == nil && fs[a] == 1 || fz != nil && in[a] < 0 && int64(in[a]) == fz[a] && !resizeListed(axes, a, len(in)):
			s[a] = x.Shape[a] // an axis not resized keeps its dimension (and a symbolic name)
		case fz == nil && in[a] >= 0:
			out, err := ResizeOutputShape([]int{in[a]}, []float32{float32(fs[a])}, nil)
			if err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			s[a] = Dim{Size: out[0]}
		default:
			s[a] = Dim{Size: -1}
		}
	}
	return []*Value{nnValue(x.DType, s)}, nil, nil
}

// resizeListed reports whether axis a of a rank-r input is among axes (nil: all).
func resizeListed(axes []int64, a, r int) bool {
	if axes == nil {
		return true
	}
	for _, b := range axes {
		if nb, err := NormalizeAxis(b, r); err == nil && nb == a {
			return true
		}
	}
	return false
}

func init() {
	RegisterOp(OpSchema{OpType: "Conv", SinceOpset: 1, Attrs: convAttrs,
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) { return inferConv(c, false) }})
	RegisterOp(OpSchema{OpType: "ConvTranspose", SinceOpset: 1,
		Attrs: append(append([]string(nil), convAttrs...), "output_padding", "output_shape"),
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) { return inferConv(c, true) }})
	RegisterOp(OpSchema{OpType: "MaxPool", SinceOpset: 1,
		Attrs: []string{"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"},
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) { return inferPool(c, true) }})
	RegisterOp(OpSchema{OpType: "AveragePool", SinceOpset: 1,
		Attrs: []string{"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"},
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) { return inferPool(c, false) }})
	RegisterOp(OpSchema{OpType: "GlobalAveragePool", SinceOpset: 1, Attrs: []string{}, Infer: inferGlobalPool})
	RegisterOp(OpSchema{OpType: "GlobalMaxPool", SinceOpset: 1, Attrs: []string{}, Infer: inferGlobalPool})
	RegisterOp(OpSchema{OpType: "BatchNormalization", SinceOpset: 6,
		Attrs: []string{"epsilon", "momentum", "spatial", "is_test", "training_mode"}, Infer: inferBatchNorm})
	RegisterOp(OpSchema{OpType: "InstanceNormalization", SinceOpset: 6, Attrs: []string{"epsilon"}, Infer: inferInstanceNorm})
	RegisterOp(OpSchema{OpType: "LRN", SinceOpset: 1, Attrs: []string{"alpha", "beta", "bias", "size"}, Infer: inferLRN})
	// Since 1, not 17: ONNX Runtime registers it in the default domain from opset 1
	// and its optimizer writes it into opset-13 files (unseen11 ort_ext_bert_op13).
	RegisterOp(OpSchema{OpType: "LayerNormalization", SinceOpset: 1, Attrs: []string{"axis", "epsilon", "stash_type"}, Infer: inferLayerNorm})
	RegisterOp(OpSchema{OpType: "Softmax", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferSoftmax})
	RegisterOp(OpSchema{OpType: "LogSoftmax", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferSoftmax})
	RegisterOp(OpSchema{OpType: "Erf", SinceOpset: 9, Attrs: []string{}, Infer: inferErf})
	RegisterOp(OpSchema{OpType: "MatMul", SinceOpset: 1, Attrs: []string{}, Infer: inferMatMul})
	RegisterOp(OpSchema{OpType: "Gemm", SinceOpset: 1, Attrs: []string{"alpha", "beta", "transA", "transB", "broadcast"}, Infer: inferGemm})
	RegisterOp(OpSchema{OpType: "Pad", SinceOpset: 2, Attrs: []string{"mode", "pads", "value"}, Infer: inferPad})
	RegisterOp(OpSchema{OpType: "Resize", SinceOpset: 10,
		Attrs: []string{"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside", "extrapolation_value", "mode", "nearest_mode",
			"antialias", "axes", "keep_aspect_ratio_policy"},
		Infer: inferResize})
	RegisterOp(OpSchema{OpType: "Upsample", SinceOpset: 7, Attrs: []string{"mode", "scales"}, Infer: inferResize})
}

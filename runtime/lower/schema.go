package lower

// The int8 operator dialect (domain warboy.int8): its name, the operators the pass
// emits and their shape schemas. The lowered graph goes through Model.InferShapes like
// any other, so every operator the lowering emits needs a schema here; the executor
// (package runtime) registers a kernel for each.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// Domain is the operator domain of the int8 executor's fused operators.
const Domain = "warboy.int8"

// DelegateOps are data-movement operators executed on int8 data by the generic
// (dtype-agnostic) kernels of the default domain; the int8 domain only changes their
// placement to int8. ReduceMax and ReduceMin pick one of their inputs' values
// (dequantization is increasing), so they are data movement too (fourteenth
// session: TextCNN's max over time ran in float32 between a Dequantize and a
// Quantize).
var DelegateOps = []string{
	"Concat", "Slice", "Pad", "Split", "Gather", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
	"Resize", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
	"ReduceMax", "ReduceMin",
}

func unknownDim() graph.Dim { return graph.Dim{Size: -1} }

func permuteDims(s graph.Shape, perm []int) graph.Shape {
	out := make(graph.Shape, len(perm))
	for i, p := range perm {
		out[i] = s[p]
	}
	return out
}

// templateDims applies a reshape template to possibly symbolic dims.
func templateDims(in graph.Shape, tmpl []int64) graph.Shape {
	out := make(graph.Shape, len(tmpl))
	known, total := 1, 1
	allKnown := true
	for _, d := range in {
		if !d.Known() {
			allKnown = false
			break
		}
		total *= d.Size
	}
	infer := -1
	for i, v := range tmpl {
		switch {
		case v == 0 && i < len(in):
			out[i] = in[i]
		case v == -1:
			infer = i
			continue
		default:
			out[i] = graph.Dim{Size: int(v)}
		}
		if out[i].Known() {
			known *= out[i].Size
		} else {
			allKnown = false
		}
	}
	if infer >= 0 {
		out[infer] = unknownDim()
		if allKnown && known > 0 {
			out[infer] = graph.Dim{Size: total / known}
		}
	}
	return out
}

func inferQuantize(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	s, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	dt := graph.Uint8
	if zp := c.Input(2); zp != nil {
		dt = zp.DType
	} else if c.Node.HasAttr("output_dtype") {
		dt = graph.DType(c.Node.AttrInt("output_dtype", int64(graph.Uint8)))
	}
	if s != nil {
		if p := c.Node.AttrIntList("perm"); p != nil {
			if err := qtensor.ValidPerm(p, len(s)); err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			s = permuteDims(s, p)
		}
	}
	return graph.OneOutput(dt, s, s != nil)
}

func inferRelayoutLike(dt graph.DType) graph.InferFunc {
	return func(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
		s, err := c.InputShape(0)
		if err != nil {
			return nil, nil, err
		}
		out := dt
		if out == graph.Undefined {
			out = c.Input(0).DType
			if to := c.Node.AttrInt("to", 0); to != 0 {
				out = graph.DType(to)
			}
		}
		if s != nil {
			if p := c.Node.AttrIntList("perm"); p != nil {
				if err := qtensor.ValidPerm(p, len(s)); err != nil {
					return nil, nil, c.Errorf("%v", err)
				}
				s = permuteDims(s, p)
			}
		}
		if t := c.Node.AttrInts("shape", nil); t != nil {
			if s != nil {
				s = templateDims(s, t)
			} else {
				s = templateDims(nil, t)
			}
		}
		return graph.OneOutput(out, s, s != nil)
	}
}

func inferDynQuant(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	s, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	return []*graph.Value{
		{DType: graph.Uint8, Shape: s, HasShape: s != nil},
		{DType: graph.Float32, Shape: graph.Shape{}, HasShape: true},
		{DType: graph.Uint8, Shape: graph.Shape{}, HasShape: true},
	}, nil, nil
}

func inferQBinary(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	a, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.InputShape(1)
	if err != nil {
		return nil, nil, err
	}
	if a == nil || b == nil {
		return graph.OneOutput(graph.Int8, nil, false)
	}
	s, err := graph.BroadcastShapes(a, b)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	return graph.OneOutput(graph.Int8, s, true)
}

func inferQMatMul(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	a, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.InputShape(1)
	if err != nil {
		return nil, nil, err
	}
	if a == nil || b == nil || len(a) < 2 || len(b) < 2 {
		return graph.OneOutput(graph.Int8, nil, false)
	}
	batch, err := graph.BroadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	s := append(append(graph.Shape{}, batch...), a[len(a)-2], b[len(b)-1])
	return graph.OneOutput(graph.Int8, s, true)
}

func inferQGemm(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	a, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	w := c.Input(1)
	if w == nil || !w.HasShape || len(w.Shape) != 2 {
		return nil, nil, c.Errorf("weights must be 2-D")
	}
	if a == nil {
		return graph.OneOutput(graph.Int8, nil, false)
	}
	axis := int(c.Node.AttrInt("axis", 1))
	if axis < 1 || axis > len(a) {
		return nil, nil, c.Errorf("axis %d out of range for %s", axis, a)
	}
	s := append(append(graph.Shape{}, a[:axis]...), w.Shape[0])
	return graph.OneOutput(graph.Int8, s, true)
}

func convOutDim(in graph.Dim, k, s, d, p0, p1 int) graph.Dim {
	if !in.Known() {
		return unknownDim()
	}
	return graph.Dim{Size: (in.Size+p0+p1-d*(k-1)-1)/s + 1}
}

func convTOutDim(in graph.Dim, k, s, d, p0, p1, op int) graph.Dim {
	if !in.Known() {
		return unknownDim()
	}
	return graph.Dim{Size: (in.Size-1)*s - p0 - p1 + d*(k-1) + 1 + op}
}

func inferQConvLike(transpose bool) graph.InferFunc {
	return func(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
		x, err := c.InputShape(0)
		if err != nil {
			return nil, nil, err
		}
		w := c.Input(1)
		if w == nil || !w.HasShape {
			return nil, nil, c.Errorf("weights need a known shape")
		}
		if x == nil {
			return graph.OneOutput(graph.Int8, nil, false)
		}
		ws := w.Shape
		n := c.Node
		g := int(n.AttrInt("group", 1))
		if len(ws) != len(x) || (len(x) != 3 && len(x) != 4 && len(x) != 5) {
			return nil, nil, c.Errorf("input %s and weights %s ranks do not match (3-D, 4-D or 5-D channels-last)", x, ws)
		}
		oc := ws[0].Size
		if transpose {
			oc = ws[1].Size * g
		}
		spatial := len(x) - 2
		get := func(name string, def int) []int { return intsOr(n, name, spatial, def) }
		st, dl, op := get("strides", 1), get("dilations", 1), get("output_padding", 0)
		pads := n.AttrIntList("pads")
		if pads == nil {
			pads = make([]int, 2*spatial)
		}
		if len(st) != spatial || len(dl) != spatial || len(pads) != 2*spatial || len(op) != spatial {
			return nil, nil, c.Errorf("strides/dilations/pads do not match the input rank")
		}
		out := graph.Shape{x[0]}
		for i := 0; i < spatial; i++ {
			k := ws[2+i].Size
			if transpose {
				out = append(out, convTOutDim(x[1+i], k, st[i], dl[i], pads[i], pads[i+spatial], op[i]))
			} else {
				out = append(out, convOutDim(x[1+i], k, st[i], dl[i], pads[i], pads[i+spatial]))
			}
		}
		out = append(out, graph.Dim{Size: oc})
		return graph.OneOutput(graph.Int8, out, true)
	}
}

func inferQPool(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	x, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	if x == nil {
		return graph.OneOutput(graph.Int8, nil, false)
	}
	if len(x) != 3 && len(x) != 4 && len(x) != 5 {
		return nil, nil, c.Errorf("pooling input must be 3-D, 4-D or 5-D channels-last, got %s", x)
	}
	n := c.Node
	spatial := len(x) - 2
	kind := n.AttrString("kind", "")
	out := graph.Shape{x[0]}
	if kind == "gmax" || kind == "gavg" {
		for i := 0; i < spatial; i++ {
			out = append(out, graph.Dim{Size: 1})
		}
		return graph.OneOutput(graph.Int8, append(out, x[len(x)-1]), true)
	}
	ks := n.AttrIntList("kernel_shape")
	if len(ks) != spatial {
		return nil, nil, c.Errorf("kernel_shape %v does not match input %s", ks, x)
	}
	get := func(name string, def int) []int { return intsOr(n, name, spatial, def) }
	st, dl := get("strides", 1), get("dilations", 1)
	pads := n.AttrIntList("pads")
	if pads == nil {
		pads = make([]int, 2*spatial)
	}
	ceil := n.AttrInt("ceil_mode", 0) != 0
	for i := 0; i < spatial; i++ {
		d := x[1+i]
		if !d.Known() {
			out = append(out, unknownDim())
			continue
		}
		pe := pads[i+spatial]
		if ceil {
			pe += qtensor.CeilExtra(d.Size, ks[i], st[i], dl[i], pads[i], pads[i+spatial])
		}
		out = append(out, convOutDim(d, ks[i], st[i], dl[i], pads[i], pe))
	}
	return graph.OneOutput(graph.Int8, append(out, x[len(x)-1]), true)
}

func delegateInfer(op string) graph.InferFunc {
	return func(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
		s := graph.LookupOp("", op)
		if s == nil || s.Infer == nil {
			return nil, nil, fmt.Errorf("%s: %w operator %s (no shape inference)", c.Node.Label(), graph.ErrUnsupported, op)
		}
		return s.Infer(c)
	}
}

func init() {
	reg := func(op string, f graph.InferFunc) {
		graph.RegisterOp(graph.OpSchema{OpType: op, Domain: Domain, SinceOpset: 1, Infer: f})
	}
	reg("Quantize", inferQuantize)
	reg("Dequantize", inferRelayoutLike(graph.Float32))
	reg("DynamicQuantize", inferDynQuant)
	reg("Relayout", inferRelayoutLike(graph.Undefined))
	reg("ChannelShuffle", inferChannelShuffle)
	reg("QLUT", graph.InferPassThrough(graph.Int8))
	reg("QChanLUT", graph.InferPassThrough(graph.Int8))
	reg("QBinary", inferQBinary)
	reg("QSoftmax", graph.InferPassThrough(graph.Int8))
	reg("QLayerNorm", graph.InferPassThrough(graph.Int8))
	reg("QInstanceNorm", graph.InferPassThrough(graph.Int8))
	reg("QMatMul", inferQMatMul)
	reg("QGemm", inferQGemm)
	reg("QRNN", inferQRNN)
	reg("QConv", inferQConvLike(false))
	reg("QConvTranspose", inferQConvLike(true))
	reg("QPool", inferQPool)
	for _, op := range DelegateOps {
		reg(op, delegateInfer(op))
	}
}

package npu

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// Limits from Warboy's supported-operator list (warboy.md 1.5).
const (
	maxConvGroup    = 128
	maxConvDilation = 12
	maxSoftmaxBatch = 2
	maxLpNormBatch  = 2
)

// unaryNPU are the elementwise operators the NPU runs (with the SDK >= 0.7 additions).
var unaryNPU = map[string]bool{
	"Relu": true, "Clip": true, "LeakyRelu": true, "Sigmoid": true, "Softplus": true, "Exp": true,
	"Sqrt": true, "Elu": true, "Erf": true, "Gelu": true, "Log": true, "Tanh": true, "PRelu": true,
}

// binaryNPU are the binary elementwise operators the NPU runs.
var binaryNPU = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Pow": true}

// epilogueUnary are the activations a MAC operator applies in its requantisation
// epilogue at no extra pass (lookup tables for the non-linear ones).
var epilogueUnary = map[string]bool{
	"Relu": true, "Clip": true, "LeakyRelu": true, "PRelu": true, "Sigmoid": true, "Tanh": true,
	"Softplus": true, "Elu": true, "Gelu": true, "Erf": true, "Exp": true,
}

// classify sets a step's kind and, for MAC operators, its geometry; it returns a
// reason when the step cannot run on the NPU.
func classify(l *lop, a *analysis) string {
	n := l.node
	for _, t := range l.out {
		if t.shape == nil {
			if r, ok := a.unknown[n]; ok {
				return "output shape unknown: " + r
			}
			return fmt.Sprintf("shape of %q is unknown", t.name)
		}
	}
	for _, t := range l.in {
		if t.shape == nil {
			return fmt.Sprintf("shape of input %q is unknown", t.name)
		}
	}
	if len(l.out) == 0 {
		return "operator has no outputs"
	}
	out := l.out[0].shape
	switch l.region {
	case regionTable:
		l.kind, l.extra = kEltwise, 1
		return ""
	case regionNorm:
		l.kind = kNorm
		return ""
	}
	switch l.opType {
	case "Conv":
		return classifyConv(l, a)
	case "ConvTranspose":
		l.kind = kConvTranspose
		return classifyConv(l, a)
	case "Gemm", "MatMul":
		return classifyGemm(l, a)
	case "AveragePool", "GlobalAveragePool":
		return classifyPool(l, a, true)
	case "MaxPool", "GlobalMaxPool":
		l.kind = kMaxPool
		if len(l.out) > 1 && len(n.Outputs) > 1 && n.Outputs[1] != "" {
			return "MaxPool with an indices output"
		}
		return classifyPool(l, a, false)
	case "BatchNormalization":
		l.kind = kEltwise
		// Accepted only when fusion folds it into the preceding convolution.
		if len(l.in) == 0 || l.in[0].prod == nil || !l.in[0].prod.kind.isMAC() || len(l.in[0].users) != 1 {
			return "BatchNormalization runs on the NPU only right after a Conv"
		}
		return ""
	case "Pad":
		l.kind = kPad
		if mode := n.AttrString("mode", "constant"); mode != "constant" {
			return fmt.Sprintf("Pad mode %q (only constant padding runs on the NPU)", mode)
		}
		pads := padsOf(n, a)
		if pads == nil {
			return "Pad with pads that are not constant"
		}
		r := len(pads) / 2
		if r >= 4 && (pads[0] != 0 || pads[r] != 0) {
			return "Pad on the batch axis"
		}
		return ""
	case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
		// A reshape that keeps the (C, H, W) layout is free; one that moves data
		// between lanes and channels (flattening a feature map) is a transpose.
		l.kind = kView
		in1, in2, in3, in4 := layoutDims(l.in[0].shape)
		o1, o2, o3, o4 := layoutDims(out)
		if in2 != o2 || in3 != o3 || in4 != o4 || in1 != o1 {
			l.kind = kTranspose
		}
		return ""
	case "Concat", "Slice", "Split":
		l.kind = kCopy
		return classifyAxis(l)
	case "Expand", "Tile":
		l.kind = kCopy
		if l.opType == "Tile" {
			return "Tile is not supported by Warboy's NPU"
		}
		return ""
	case "Transpose", "DepthToSpace", "SpaceToDepth":
		l.kind = kTranspose
		return ""
	case "Softmax", "LogSoftmax":
		l.kind = kSoftmax
		if l.opType == "LogSoftmax" {
			return "LogSoftmax is not supported by Warboy's NPU"
		}
		if len(out) > 0 && out[0] > maxSoftmaxBatch {
			return fmt.Sprintf("Softmax with batch %d (the NPU runs it for batch <= %d)", out[0], maxSoftmaxBatch)
		}
		return ""
	case "LpNormalization":
		l.kind = kNorm
		if n.AttrInt("p", 2) != 2 {
			return fmt.Sprintf("LpNormalization with p=%d (the NPU runs p=2)", n.AttrInt("p", 2))
		}
		if len(out) > 0 && out[0] > maxLpNormBatch {
			return fmt.Sprintf("LpNormalization with batch %d (the NPU runs it for batch <= %d)", out[0], maxLpNormBatch)
		}
		l.extra = 3
		return ""
	case "ReduceL2", "ReduceSum", "Mean":
		l.kind = kNorm
		l.extra = 1
		return ""
	case "Resize", "Upsample":
		l.kind = kResize
		mode := n.AttrString("mode", "nearest")
		switch mode {
		case "nearest":
			l.extra = 1
		case "linear", "bilinear":
			l.extra = 4
		default:
			return fmt.Sprintf("Resize mode %q (the NPU runs nearest and linear)", mode)
		}
		return ""
	}
	// Any unary elementwise function of an int8 tensor is a table lookup on the
	// vector engine, whether or not its ONNX name is in the SDK's list (docs/npu.md,
	// "Table lookups"); a division by a constant is a multiplication.
	divByConst := l.opType == "Div" && len(n.Inputs) == 2 && !a.consts[n.Input(0)] && a.consts[n.Input(1)]
	if unaryNPU[l.opType] || binaryNPU[l.opType] || graph.UnaryElementwise(l.opType) || divByConst {
		l.kind = kEltwise
		l.extra = 1
		return ""
	}
	l.kind = kHostOp
	return fmt.Sprintf("operator %s is not supported by Warboy's NPU", l.opType)
}

func padsOf(n *graph.Node, a *analysis) []int64 {
	if a.opset < 11 || n.HasAttr("pads") {
		return n.AttrInts("pads", nil)
	}
	p := n.Input(1)
	if p == "" || n.Input(3) != "" {
		return nil // Pad-18 pads over an axes input (optimize makes them full-rank)
	}
	// Initializers, Constant nodes (torch.onnx writes pads as one) and folded shape
	// arithmetic alike.
	if t := a.constVals[p]; t != nil {
		v, err := t.AsInt64()
		if err == nil {
			return v
		}
	}
	return nil
}

func classifyConv(l *lop, a *analysis) string {
	n := l.node
	if l.kind != kConvTranspose {
		l.kind = kConv
	}
	x := l.in[0].shape
	y := l.out[0].shape
	if len(x) != 4 {
		// The SDK's documents list "Conv" with limits on group and
		// dilation only, and show 2-D layouts (warboy.md 1.4, 1.5); none
		// says whether the compiler runs a 1-D or 3-D convolution (as a
		// height-1 2-D one, say) or sends it to the CPU. Without evidence
		// the simulator keeps it on the host (docs/npu.md, "1-D and 3-D
		// convolutions").
		return fmt.Sprintf("%d-D convolution (the SDK documents no %d-D convolution on the NPU; its layouts are 2-D)", len(x)-2, len(x)-2)
	}
	wi := 1
	if n.OpType == "QLinearConv" {
		wi = 3
	}
	ws, ok := concreteOf(a.values[n.Input(wi)])
	if !ok || len(ws) != 4 {
		return "convolution weights of unknown shape"
	}
	for _, d := range n.AttrInts("dilations", nil) {
		if d > maxConvDilation {
			return fmt.Sprintf("dilation %d (the NPU supports dilation <= %d)", d, maxConvDilation)
		}
	}
	group := int(n.AttrInt("group", 1))
	g := &macGeom{n: x[0], cin: x[1], cout: y[1], group: group, ho: y[2], wo: y[3], kh: ws[2], kw: ws[3]}
	st := n.AttrInts("strides", nil)
	g.sh, g.sw = 1, 1
	if len(st) == 2 {
		g.sh, g.sw = int(st[0]), int(st[1])
	}
	if l.kind == kConvTranspose {
		g.transposed = true
		if group != 1 {
			return fmt.Sprintf("grouped ConvTranspose (group %d)", group)
		}
		l.geom = g
		l.macs = int64(x[0]) * int64(x[1]) * int64(x[2]) * int64(x[3]) * int64(ws[1]) * int64(ws[2]) * int64(ws[3])
		return ""
	}
	if group > 1 && group == x[1] {
		g.depthwise = true
		l.kind = kDepthwise
	} else if group > maxConvGroup {
		return fmt.Sprintf("group %d (the NPU supports group <= %d, or depthwise)", group, maxConvGroup)
	}
	l.geom = g
	l.macs = int64(y[0]) * int64(y[1]) * int64(y[2]) * int64(y[3]) * int64(ws[1]) * int64(ws[2]) * int64(ws[3])
	// Padding is materialised in SRAM by a LowLevelPad before the convolution.
	geom, err := graph.ResolveConvGeom(n, x[2:], ws[2:], false)
	if err != nil {
		return err.Error()
	}
	l.pads = [4]int{geom.PadBegin(0), geom.PadBegin(1), geom.PadEnd(0), geom.PadEnd(1)}
	return ""
}

func classifyPool(l *lop, a *analysis, avg bool) string {
	n := l.node
	x := l.in[0].shape
	y := l.out[0].shape
	if len(x) != 4 {
		return fmt.Sprintf("%d-D pooling (the NPU runs 2-D)", len(x)-2)
	}
	kh, kw := x[2], x[3]
	sh, sw := 1, 1
	var pads [4]int
	if n.OpType == "AveragePool" || n.OpType == "MaxPool" {
		ks := n.AttrInts("kernel_shape", nil)
		if len(ks) != 2 {
			return "pooling without a 2-D kernel_shape"
		}
		kh, kw = int(ks[0]), int(ks[1])
		geom, err := graph.ResolveConvGeom(n, x[2:], []int{kh, kw}, n.AttrInt("ceil_mode", 0) != 0)
		if err != nil {
			return err.Error()
		}
		sh, sw = geom.Strides[0], geom.Strides[1]
		pads = [4]int{geom.PadBegin(0), geom.PadBegin(1), geom.PadEnd(0), geom.PadEnd(1)}
	}
	if avg {
		// Average pooling runs on the MAC array as a depthwise convolution with a
		// constant kernel (the profiler counts it as LowLevelDepthwiseConv2d).
		l.kind = kDepthwise
		l.geom = &macGeom{n: x[0], cin: x[1], cout: x[1], group: x[1], ho: y[2], wo: y[3], kh: kh, kw: kw, sh: sh, sw: sw, depthwise: true}
		l.macs = int64(graph.NumElements(y)) * int64(kh*kw)
		l.pads = pads
		return ""
	}
	l.extra = kh * kw
	return ""
}

func classifyGemm(l *lop, a *analysis) string {
	n := l.node
	l.kind = kGemm
	y := l.out[0].shape
	if len(y) == 0 {
		return "matrix product with a scalar result"
	}
	// The reduction length comes from the first operand (activation or constant).
	var k int
	ai := 0
	if s, ok := concreteOf(a.values[n.Input(ai)]); ok && len(s) > 0 {
		k = s[len(s)-1]
		if n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0 {
			k = s[0]
		}
		if len(s) == 1 {
			k = s[0]
		}
	}
	if k == 0 {
		return "matrix product with an unknown reduction length"
	}
	cout := y[len(y)-1]
	m := 1
	if len(y) >= 2 {
		m = y[len(y)-2]
	}
	images := 1
	for _, d := range y[:max(0, len(y)-2)] {
		images *= d
	}
	// Rows of A are mapped onto the MAC lanes, output features onto the MAC height.
	l.geom = &macGeom{n: images, cin: k, cout: cout, group: 1, ho: 1, wo: m, kh: 1, kw: 1, sh: 1, sw: 1}
	l.macs = int64(images) * int64(m) * int64(cout) * int64(k)
	return ""
}

// classifyAxis applies the Concat / Slice / Split axis rule: the NPU handles the
// channel and height axes (the outer axes of its layout), not width or batch.
func classifyAxis(l *lop) string {
	n := l.node
	rank := len(l.out[0].shape)
	ok := func(ax int) bool {
		if rank < 3 {
			return false
		}
		return ax == rank-2 || ax == rank-3
	}
	switch l.opType {
	case "Concat", "Split":
		ax, err := graph.NormalizeAxis(n.AttrInt("axis", 0), max(rank, 1))
		if err != nil {
			return err.Error()
		}
		if !ok(ax) {
			return fmt.Sprintf("%s on axis %d of a rank-%d tensor (the NPU handles the C and H axes)", l.opType, ax, rank)
		}
	case "Slice":
		in := l.in[0].shape
		out := l.out[0].shape
		for i := range in {
			if i < len(out) && in[i] != out[i] && !ok(i) {
				return fmt.Sprintf("Slice along axis %d of a rank-%d tensor (the NPU handles the C and H axes)", i, rank)
			}
		}
	}
	return ""
}

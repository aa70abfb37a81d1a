package graph

import "math"

// The expansions of graph/expand.go, one function per operator.

const msDomain = "com.microsoft"

func init() {
	registerExpansion("", "SoftmaxCrossEntropyLoss", expandSoftmaxCrossEntropy)
	registerExpansion("", "NegativeLogLikelihoodLoss", expandNLLLoss)
	registerExpansion("", "MeanVarianceNormalization", expandMVN)
	registerExpansion("", "LpNormalization", expandLpNormalization)
	registerExpansion("", "LpPool", expandLpPool)
	registerExpansion("", "GlobalLpPool", expandGlobalLpPool)
	registerExpansion("", "ReverseSequence", expandReverseSequence)
	registerExpansion("", "Optional", expandOptional)
	registerExpansion("", "OptionalGetElement", expandOptionalGet)
	registerExpansion("", "OptionalHasElement", expandOptionalHas)
	registerExpansion(msDomain, "FusedConv", expandFusedConv)
	registerExpansion(msDomain, "FusedGemm", expandFusedGemm)
	registerExpansion(msDomain, "FusedMatMul", expandFusedMatMul)
	registerExpansion(msDomain, "Gelu", expandMSGelu)
	registerExpansion(msDomain, "BiasGelu", expandBiasGelu)
	registerExpansion(msDomain, "FastGelu", expandFastGelu)
	registerExpansion(msDomain, "QuickGelu", expandQuickGelu)
	registerExpansion(msDomain, "SkipLayerNormalization", expandSkipLayerNorm)
	registerExpansion(msDomain, "QLinearConcat", expandQLinearConcat)
	registerExpansion(msDomain, "QLinearAveragePool", expandQLinearAveragePool)
	registerExpansion(msDomain, "QGemm", expandQGemm)
	registerExpansion(msDomain, "QLinearSoftmax", expandQLinearSoftmax)
}

// ------------------------------------------------------------------ losses

// logSoftmax1 is log_softmax over axis 1 of any rank: the LogSoftmax operator
// from opset 13 (per-axis); before, LogSoftmax flattens to 2-D, so it is written
// out (x - max) - log(sum(exp(x - max))).
func (e *expander) logSoftmax1(x, out string) string {
	if e.opset >= 13 {
		return e.std("LogSoftmax", out, []string{x}, IntAttr("axis", 1))
	}
	s := e.std("Sub", "", []string{x, e.reduce("ReduceMax", x, []int64{1}, true)})
	lse := e.std("Log", "", []string{e.reduce("ReduceSum", e.std("Exp", "", []string{s}), []int64{1}, true)})
	return e.std("Sub", out, []string{s, lse})
}

func expandSoftmaxCrossEntropy(e *expander, n *Node) error {
	logp := e.logSoftmax1(in(n, 0), n.Output(1))
	return e.nll(n, logp, e.dtypeOf(in(n, 0)))
}

func expandNLLLoss(e *expander, n *Node) error {
	return e.nll(n, in(n, 0), e.dtypeOf(in(n, 0)))
}

// nll writes NegativeLogLikelihoodLoss(logp, target = input 1, weight = input 2)
// with n's reduction and ignore_index into n's output 0, as the ONNX function
// defines it: loss[i] = -logp[i, t[i]] * w[t[i]] (0 where t[i] is ignored);
// "mean" divides the sum by the sum of the weights taken.
func (e *expander) nll(n *Node, logp string, dt DType) error {
	target, weight := in(n, 1), in(n, 2)
	red := n.AttrString("reduction", "mean")
	if red != "mean" && red != "sum" && red != "none" {
		return refuse("reduction %q", red)
	}
	t := target
	var mask string
	if n.HasAttr("ignore_index") {
		ii := n.AttrInt("ignore_index", 0)
		tdt := e.dtypeOf(target)
		var iiT, zero *Tensor
		if tdt == Int32 {
			iiT, zero = FromInt32(nil, []int32{int32(ii)}), FromInt32(nil, []int32{0})
		} else {
			iiT, zero = FromInt64(nil, []int64{ii}), FromInt64(nil, []int64{0})
		}
		mask = e.std("Not", "", []string{e.std("Equal", "", []string{target, e.constant("ignore", iiT)})})
		t = e.std("Where", "", []string{mask, target, e.constant("zero", zero)})
	}
	picked := e.squeeze(e.std("GatherElements", "", []string{logp, e.unsqueeze(t, 1)}, IntAttr("axis", 1)), "", 1)
	var w string
	if weight != "" {
		w = e.std("Gather", "", []string{weight, t})
	}
	if mask != "" {
		m := e.std("Cast", "", []string{mask}, IntAttr("to", int64(dt)))
		if w == "" {
			w = m
		} else {
			w = e.std("Mul", "", []string{w, m})
		}
	}
	loss := e.std("Neg", "", []string{picked})
	if w != "" {
		loss = e.std("Mul", "", []string{loss, w})
	}
	out := n.Output(0)
	switch {
	case red == "none":
		e.std("Identity", out, []string{loss})
	case red == "sum":
		e.std("ReduceSum", out, []string{loss}, IntAttr("keepdims", 0))
	case w == "":
		e.std("ReduceMean", out, []string{loss}, IntAttr("keepdims", 0))
	default:
		sum := e.std("ReduceSum", "", []string{loss}, IntAttr("keepdims", 0))
		e.std("Div", out, []string{sum, e.std("ReduceSum", "", []string{w}, IntAttr("keepdims", 0))})
	}
	return nil
}

// ------------------------------------------------------------------ normalisations and pools

func expandMVN(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	axes := n.AttrInts("axes", []int64{0, 2, 3})
	d := e.std("Sub", "", []string{x, e.reduce("ReduceMean", x, axes, true)})
	v := e.reduce("ReduceMean", e.std("Mul", "", []string{d, d}), axes, true)
	// The ONNX function: (X - E[X]) / (sqrt(Var[X]) + 1e-9).
	den := e.std("Add", "", []string{e.std("Sqrt", "", []string{v}), e.scalar(1e-9, dt)})
	e.std("Div", n.Output(0), []string{d, den})
	return nil
}

func expandLpNormalization(e *expander, n *Node) error {
	x := in(n, 0)
	axis := n.AttrInt("axis", -1)
	var norm string
	switch p := n.AttrInt("p", 2); p {
	case 1:
		norm = e.reduce("ReduceL1", x, []int64{axis}, true)
	case 2:
		norm = e.reduce("ReduceL2", x, []int64{axis}, true)
	default:
		return refuse("p=%d (LpNormalization takes 1 or 2)", p)
	}
	e.std("Div", n.Output(0), []string{x, norm})
	return nil
}

// powAbs is |x|^p (x*x for 2) and its inverse root.
func (e *expander) powAbs(x string, p int64, dt DType) string {
	switch p {
	case 1:
		return e.std("Abs", "", []string{x})
	case 2:
		return e.std("Mul", "", []string{x, x})
	}
	return e.std("Pow", "", []string{e.std("Abs", "", []string{x}), e.scalar(float64(p), dt)})
}

func (e *expander) root(x, out string, p int64, dt DType) string {
	switch p {
	case 1:
		return e.std("Identity", out, []string{x})
	case 2:
		return e.std("Sqrt", out, []string{x})
	}
	return e.std("Pow", out, []string{x, e.scalar(1/float64(p), dt)})
}

// expandLpPool: the window sums of |x|^p are an AveragePool counting the zero
// padding, times the window size.
func expandLpPool(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	p := n.AttrInt("p", 2)
	if p < 1 {
		return refuse("p=%d", p)
	}
	for _, d := range n.AttrInts("dilations", nil) {
		if d != 1 {
			return refuse("dilations %v", n.AttrInts("dilations", nil))
		}
	}
	if n.AttrInt("ceil_mode", 0) != 0 {
		return refuse("ceil_mode=1")
	}
	k := n.AttrInts("kernel_shape", nil)
	if len(k) == 0 {
		return refuse("no kernel_shape")
	}
	win := int64(1)
	for _, v := range k {
		win *= v
	}
	attrs := []*Attr{Int64sAttr("kernel_shape", k), IntAttr("count_include_pad", 1)}
	for _, name := range []string{"strides", "pads"} {
		if n.HasAttr(name) {
			attrs = append(attrs, Int64sAttr(name, n.AttrInts(name, nil)))
		}
	}
	if n.HasAttr("auto_pad") {
		attrs = append(attrs, StringAttr("auto_pad", n.AttrString("auto_pad", "NOTSET")))
	}
	avg := e.std("AveragePool", "", []string{e.powAbs(x, p, dt)}, attrs...)
	e.root(e.std("Mul", "", []string{avg, e.scalar(float64(win), dt)}), n.Output(0), p, dt)
	return nil
}

// expandGlobalLpPool: GlobalAveragePool of |x|^p times the number of spatial
// elements (from Shape at run time: any rank, symbolic sizes).
func expandGlobalLpPool(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	p := n.AttrInt("p", 2)
	if p < 1 {
		return refuse("p=%d", p)
	}
	avg := e.std("GlobalAveragePool", "", []string{e.powAbs(x, p, dt)})
	count := e.std("ReduceProd", "", []string{e.sliceFrom(e.std("Shape", "", []string{x}), 2)}, IntAttr("keepdims", 1))
	countF := e.std("Cast", "", []string{count}, IntAttr("to", int64(dt)))
	e.root(e.std("Mul", "", []string{avg, countF}), n.Output(0), p, dt)
	return nil
}

// expandReverseSequence gathers along the time axis with the index
// t < len[b] ? len[b]-1-t : t, built on the [time, batch] (or [batch, time])
// grid and broadcast over the trailing axes.
func expandReverseSequence(e *expander, n *Node) error {
	if e.opset < 11 {
		return refuse("ReverseSequence at opset %d (expanded with Range and GatherElements, opset 11)", e.opset)
	}
	x, lens := in(n, 0), in(n, 1)
	ta, ba := n.AttrInt("time_axis", 0), n.AttrInt("batch_axis", 1)
	if !(ta == 0 && ba == 1) && !(ta == 1 && ba == 0) {
		return refuse("time_axis %d, batch_axis %d (ONNX allows 0 and 1)", ta, ba)
	}
	sh := e.std("Shape", "", []string{x})
	scalarI64 := func(v int64) string { return e.constant("s", FromInt64(nil, []int64{v})) }
	tn := e.std("Gather", "", []string{sh, scalarI64(ta)}, IntAttr("axis", 0))
	steps := e.std("Range", "", []string{scalarI64(0), tn, scalarI64(1)})
	l := e.std("Cast", "", []string{lens}, IntAttr("to", int64(Int64)))
	var tcol, lrow string
	if ta == 0 {
		tcol, lrow = e.unsqueeze(steps, 1), e.unsqueeze(l, 0)
	} else {
		tcol, lrow = e.unsqueeze(steps, 0), e.unsqueeze(l, 1)
	}
	rev := e.std("Sub", "", []string{e.std("Sub", "", []string{lrow, scalarI64(1)}), tcol})
	idx2 := e.std("Where", "", []string{e.std("Less", "", []string{tcol, lrow}), rev, tcol})
	// [d0, d1] + a 1 per trailing axis of x: the trailing sizes times 0 plus 1.
	ones := e.std("Add", "", []string{e.std("Mul", "", []string{e.sliceFrom(sh, 2), scalarI64(0)}), scalarI64(1)})
	shape := e.std("Concat", "", []string{e.std("Shape", "", []string{idx2}), ones}, IntAttr("axis", 0))
	idx := e.std("Expand", "", []string{e.std("Reshape", "", []string{idx2, shape}), sh})
	e.std("GatherElements", n.Output(0), []string{x, idx}, IntAttr("axis", ta))
	return nil
}

// ------------------------------------------------------------------ optionals

// An optional-typed graph input is read as the tensor it holds (graph.go), so
// the Optional operators over it are the identity and "has an element": a
// torch.jit.script Optional[Tensor] argument, given.
func expandOptional(e *expander, n *Node) error {
	if in(n, 0) == "" {
		return refuse("an empty Optional (only optionals holding a tensor are supported)")
	}
	e.std("Identity", n.Output(0), []string{in(n, 0)})
	return nil
}

func expandOptionalGet(e *expander, n *Node) error {
	if in(n, 0) == "" {
		return refuse("OptionalGetElement of nothing")
	}
	e.std("Identity", n.Output(0), []string{in(n, 0)})
	return nil
}

func expandOptionalHas(e *expander, n *Node) error {
	x := in(n, 0)
	has := x != ""
	if has && e.g.Input(x) == nil {
		// Only a graph input's presence is known here; an optional made inside
		// the graph (an If or Loop output) is not.
		return refuse("OptionalHasElement of %q, which is not a graph input", x)
	}
	t := NewTensor(Bool, nil)
	t.Data.([]bool)[0] = has
	e.g.Initializers[n.Output(0)] = t
	e.g.Values[n.Output(0)] = &Value{Name: n.Output(0), DType: Bool, Shape: Shape{}, HasShape: true}
	return nil
}

// ------------------------------------------------------------------ ONNX Runtime's fused operators

// activation writes ONNX Runtime's fused activation kind on x into out.
func (e *expander) activation(x, out, kind string, params []float32, dt DType) error {
	param := func(i int, def float32) float32 {
		if i < len(params) {
			return params[i]
		}
		return def
	}
	switch kind {
	case "":
		e.std("Identity", out, []string{x})
	case "Relu", "Sigmoid", "Tanh":
		e.std(kind, out, []string{x})
	case "LeakyRelu":
		e.std("LeakyRelu", out, []string{x}, FloatAttr("alpha", param(0, 0.01)))
	case "HardSigmoid":
		e.std("HardSigmoid", out, []string{x}, FloatAttr("alpha", param(0, 0.2)), FloatAttr("beta", param(1, 0.5)))
	case "Clip":
		e.clip(x, out, param(0, -math.MaxFloat32), param(1, math.MaxFloat32), dt)
	default:
		return refuse("activation %q", kind)
	}
	return nil
}

func copyAttrs(n *Node, skip ...string) []*Attr {
	var out []*Attr
	for k, a := range n.Attrs {
		drop := false
		for _, s := range skip {
			drop = drop || k == s
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}

func expandFusedConv(e *expander, n *Node) error {
	dt := e.dtypeOf(in(n, 1))
	ins := []string{in(n, 0), in(n, 1)}
	if in(n, 2) != "" {
		ins = append(ins, in(n, 2))
	}
	y := e.std("Conv", "", ins, copyAttrs(n, "activation", "activation_params")...)
	if z := in(n, 3); z != "" {
		y = e.std("Add", "", []string{y, z})
	}
	return e.activation(y, n.Output(0), n.AttrString("activation", ""), n.AttrFloats("activation_params", nil), dt)
}

func expandFusedGemm(e *expander, n *Node) error {
	dt := e.dtypeOf(in(n, 1))
	kind := n.AttrString("activation", "")
	var params []float32
	switch kind {
	case "LeakyRelu":
		params = []float32{n.AttrFloat("activation_alpha", 0.01)}
	case "HardSigmoid":
		params = []float32{n.AttrFloat("activation_alpha", 0.2), n.AttrFloat("activation_beta", 0.5)}
	}
	ins := []string{in(n, 0), in(n, 1)}
	if in(n, 2) != "" {
		ins = append(ins, in(n, 2))
	}
	y := e.std("Gemm", "", ins, copyAttrs(n, "activation", "activation_alpha", "activation_beta", "activation_gamma")...)
	return e.activation(y, n.Output(0), kind, params, dt)
}

// lastTwoT transposes the last two axes of x: a Transpose when x's rank is
// declared, else Einsum "...ij->...ji" (any rank).
func (e *expander) lastTwoT(x string) string {
	if v := e.g.Values[x]; v != nil && v.HasShape && len(v.Shape) >= 2 {
		r := len(v.Shape)
		perm := make([]int64, r)
		for i := range perm {
			perm[i] = int64(i)
		}
		perm[r-2], perm[r-1] = perm[r-1], perm[r-2]
		return e.std("Transpose", "", []string{x}, Int64sAttr("perm", perm))
	}
	if t := e.g.Initializers[x]; t != nil && len(t.Shape) >= 2 {
		r := len(t.Shape)
		perm := make([]int64, r)
		for i := range perm {
			perm[i] = int64(i)
		}
		perm[r-2], perm[r-1] = perm[r-1], perm[r-2]
		return e.std("Transpose", "", []string{x}, Int64sAttr("perm", perm))
	}
	return e.std("Einsum", "", []string{x}, StringAttr("equation", "...ij->...ji"))
}

func expandFusedMatMul(e *expander, n *Node) error {
	if n.AttrInt("transBatchA", 0) != 0 || n.AttrInt("transBatchB", 0) != 0 {
		return refuse("transBatchA/transBatchB")
	}
	a, b := in(n, 0), in(n, 1)
	if n.AttrInt("transA", 0) != 0 {
		a = e.lastTwoT(a)
	}
	if n.AttrInt("transB", 0) != 0 {
		b = e.lastTwoT(b)
	}
	alpha := n.AttrFloat("alpha", 1)
	if alpha == 1 {
		e.std("MatMul", n.Output(0), []string{a, b})
		return nil
	}
	y := e.std("MatMul", "", []string{a, b})
	e.std("Mul", n.Output(0), []string{y, e.scalar(float64(alpha), e.dtypeOf(in(n, 1)))})
	return nil
}

// erfGelu writes x * 0.5 * (1 + erf(x / sqrt(2))) as torch.onnx spells GELU.
func (e *expander) erfGelu(x, out string, dt DType) {
	erf := e.std("Erf", "", []string{e.std("Div", "", []string{x, e.scalar(math.Sqrt2, dt)})})
	y := e.std("Mul", "", []string{x, e.std("Add", "", []string{erf, e.scalar(1, dt)})})
	e.std("Mul", out, []string{y, e.scalar(0.5, dt)})
}

func expandMSGelu(e *expander, n *Node) error {
	e.erfGelu(in(n, 0), n.Output(0), e.dtypeOf(in(n, 0)))
	return nil
}

func expandBiasGelu(e *expander, n *Node) error {
	dt := e.dtypeOf(in(n, 1))
	e.erfGelu(e.std("Add", "", []string{in(n, 0), in(n, 1)}), n.Output(0), dt)
	return nil
}

// expandFastGelu: the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
func expandFastGelu(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	if b := in(n, 1); b != "" {
		x = e.std("Add", "", []string{x, b})
	}
	x3 := e.std("Mul", "", []string{e.std("Mul", "", []string{x, x}), x})
	inner := e.std("Add", "", []string{x, e.std("Mul", "", []string{x3, e.scalar(0.044715, dt)})})
	t := e.std("Tanh", "", []string{e.std("Mul", "", []string{inner, e.scalar(math.Sqrt(2/math.Pi), dt)})})
	half := e.std("Mul", "", []string{x, e.scalar(0.5, dt)})
	e.std("Mul", n.Output(0), []string{half, e.std("Add", "", []string{t, e.scalar(1, dt)})})
	return nil
}

func expandQuickGelu(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	s := e.std("Sigmoid", "", []string{e.std("Mul", "", []string{x, e.scalar(float64(n.AttrFloat("alpha", 1.702)), dt)})})
	e.std("Mul", n.Output(0), []string{x, s})
	return nil
}

func expandSkipLayerNorm(e *expander, n *Node) error {
	if n.Output(1) != "" || n.Output(2) != "" {
		return refuse("the mean and inv_std_var outputs")
	}
	sum := e.std("Add", "", []string{in(n, 0), in(n, 1)})
	if b := in(n, 4); b != "" {
		sum = e.std("Add", "", []string{sum, b})
	}
	if o := n.Output(3); o != "" {
		sum = e.std("Identity", o, []string{sum})
	}
	ins := []string{sum, in(n, 2)}
	if b := in(n, 3); b != "" {
		ins = append(ins, b)
	}
	e.std("LayerNormalization", n.Output(0), ins, IntAttr("axis", -1), FloatAttr("epsilon", n.AttrFloat("epsilon", 1e-12)))
	return nil
}

// ------------------------------------------------------------------ ONNX Runtime's QOperator contrib operators

// The QOperator operators without a kernel of their own are the float operator
// between DequantizeLinear and QuantizeLinear, which is their definition (ONNX
// Runtime computes them in fixed point: the results agree up to rounding); the
// int8 lowering turns such pairs back into int8 operators.

func (e *expander) dq(x, scale, zp string) string {
	ins := []string{x, scale}
	if zp != "" {
		ins = append(ins, zp)
	}
	return e.std("DequantizeLinear", "", ins)
}

func (e *expander) q(x, out, scale, zp string) {
	ins := []string{x, scale}
	if zp != "" {
		ins = append(ins, zp)
	}
	e.std("QuantizeLinear", out, ins)
}

func expandQLinearConcat(e *expander, n *Node) error {
	if (len(n.Inputs)-2)%3 != 0 || len(n.Inputs) < 5 {
		return refuse("%d inputs (Y_scale, Y_zero_point, then (X, scale, zero_point) per input)", len(n.Inputs))
	}
	var xs []string
	for i := 2; i+2 < len(n.Inputs); i += 3 {
		xs = append(xs, e.dq(n.Inputs[i], n.Inputs[i+1], n.Inputs[i+2]))
	}
	y := e.std("Concat", "", xs, IntAttr("axis", n.AttrInt("axis", 0)))
	e.q(y, n.Output(0), in(n, 0), in(n, 1))
	return nil
}

func expandQLinearAveragePool(e *expander, n *Node) error {
	if n.AttrInt("channels_last", 0) != 0 {
		return refuse("channels_last=1")
	}
	x := e.dq(in(n, 0), in(n, 1), in(n, 2))
	y := e.std("AveragePool", "", []string{x}, copyAttrs(n, "channels_last")...)
	e.q(y, n.Output(0), in(n, 3), in(n, 4))
	return nil
}

func expandQGemm(e *expander, n *Node) error {
	if e.opset < 13 {
		return refuse("QGemm at opset %d (its per-channel scales need DequantizeLinear-13)", e.opset)
	}
	transB := n.AttrInt("transB", 0)
	a := e.dq(in(n, 0), in(n, 1), in(n, 2))
	// B's per-column scales run along N: axis 1 of [K, N], axis 0 of [N, K].
	bins := []string{in(n, 3), in(n, 4)}
	if in(n, 5) != "" {
		bins = append(bins, in(n, 5))
	}
	b := e.std("DequantizeLinear", "", bins, IntAttr("axis", 1-transB))
	ins := []string{a, b}
	if c := in(n, 6); c != "" {
		// The int32 bias at scale a_scale * b_scale, zero point 0.
		ins = append(ins, e.std("DequantizeLinear", "", []string{c, e.std("Mul", "", []string{in(n, 1), in(n, 4)})}, IntAttr("axis", 0)))
	}
	attrs := []*Attr{FloatAttr("alpha", n.AttrFloat("alpha", 1)), IntAttr("transA", n.AttrInt("transA", 0)), IntAttr("transB", transB)}
	if in(n, 7) == "" {
		e.std("Gemm", n.Output(0), ins, attrs...) // no y_scale: a float output
		return nil
	}
	e.q(e.std("Gemm", "", ins, attrs...), n.Output(0), in(n, 7), in(n, 8))
	return nil
}

func expandQLinearSoftmax(e *expander, n *Node) error {
	axis := n.AttrInt("axis", -1)
	semantics := n.AttrInt("opset", e.opset)
	// Softmax before opset 13 flattens to 2-D at axis; from 13 it is per-axis.
	// The two agree on the last axis, and when both are the same opset family.
	if axis != -1 && (semantics >= 13) != (e.opset >= 13) {
		return refuse("axis %d with opset-%d semantics in an opset-%d model", axis, semantics, e.opset)
	}
	x := e.dq(in(n, 0), in(n, 1), in(n, 2))
	y := e.std("Softmax", "", []string{x}, IntAttr("axis", axis))
	e.q(y, n.Output(0), in(n, 3), in(n, 4))
	return nil
}

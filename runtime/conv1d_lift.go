package runtime

// 1-D convolution networks (keyword spotting, TCNs, wav2vec-style feature
// encoders, 1-D ResNets) run on [N, C, L] tensors, and every fast path of both
// executors is 2-D: the channels-last chains and their fused epilogues, the
// depthwise/grouped kernels, the int8 conv kernels. A 1-D Conv is the 2-D Conv
// of height 1, so at session creation the whole region of operators around the
// 1-D Convs (BatchNorm, activations, pooling, Add, Concat, Pad, Slice, the
// quantization operators, ...) is rewritten to [N, C, 1, L] tensors: attributes
// get a height entry (kernel [k] -> [1, k], pads [b, e] -> [0, b, 0, e]),
// channel and length axes move to 1 and 3, constants that broadcast against a
// lifted tensor get the height axis, and weights [O, I, K] become [O, I, 1, K].
// The data order is unchanged (height 1), so a Reshape enters the region and a
// Reshape leaves it without moving data. Tensors read outside the region, graph
// outputs and taps keep their names and shapes through such an exit; the
// lifted twin is named NAME_h1.
//
// It runs after the graph-level optimisation (optimize.go), before the int8
// lowering, so both executors see the lifted graph.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// liftSuffix names the height-1 twin of a tensor.
const liftSuffix = "_h1"

// liftUnary are the operators applied element by element to one [N, C, L]
// tensor (other inputs, if any, are scalars or per-channel vectors that
// liftNode checks).
var liftUnary = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"Tanh": true, "Erf": true, "Elu": true, "Selu": true, "Celu": true, "Softplus": true,
	"Softsign": true, "Abs": true, "Neg": true, "Exp": true, "Log": true, "Sqrt": true,
	"Reciprocal": true, "Gelu": true, "Mish": true, "Clip": true, "Floor": true, "Ceil": true,
	"Round": true, "Sin": true, "Cos": true, "ThresholdedRelu": true, "Shrink": true,
	"Sign": true, "Identity": true,
	"BatchNormalization": true, "InstanceNormalization": true, "LRN": true,
	"QuantizeLinear": true, "DequantizeLinear": true,
}

// liftBinary are the broadcasting elementwise operators.
var liftBinary = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true,
	"Min": true, "Sum": true, "Mean": true, "PRelu": true,
}

// liftReduce are the reductions whose axes are remapped.
var liftReduce = map[string]bool{
	"ReduceMean": true, "ReduceMax": true, "ReduceMin": true, "ReduceSum": true,
	"ReduceProd": true, "ReduceL1": true, "ReduceL2": true, "ReduceSumSquare": true,
	"ReduceLogSum": true, "ReduceLogSumExp": true,
}

// liftInput says how a lifted node reads one input.
type liftInput int

const (
	liftKeep  liftInput = iota // read as is (a scalar, a vector along L or channels, a shape)
	liftData                   // a [N, C, L] tensor: read lifted (an entry Reshape if needed)
	liftFlex                   // a Reshape/Flatten input: the lifted twin if there is one, else as is
	liftConst                  // a constant broadcast against [N, C, L] or a Conv weight [O, I, K]: gets the height axis
)

// liftPlan is what lifting one node means.
type liftPlan struct {
	ins  []liftInput
	outs []bool // output i becomes lifted
	// edit rewrites the node's attributes and constant inputs once its inputs
	// and outputs are renamed (nil: nothing to change).
	edit func(l *lifter, n *graph.Node) error
	conv bool // a Conv: a region is lifted only if it has one
}

// lifter holds the state of one lifting pass.
type lifter struct {
	g     *graph.Graph
	opset int64
	keep  map[string]bool
	prod  map[string]*graph.Node
	cons  map[string][]*graph.Node
	used  map[string]bool
	added []*graph.Node
	// liftedNames are the lifted twins read by Reshape/Flatten (liftFlex).
	liftedNames map[string]bool
}

// liftConv1D rewrites the 1-D convolution regions of m to height-1 2-D form.
// It returns the number of nodes lifted.
func liftConv1D(m *graph.Model, keep map[string]bool) (int, error) {
	g := m.Graph
	if !hasConv1D(g) {
		return 0, nil
	}
	l := &lifter{g: g, opset: m.Opset(), keep: keep, prod: g.Producers(), cons: g.Consumers(), used: map[string]bool{}}
	for k := range g.Values {
		l.used[k] = true
	}
	for k := range g.Initializers {
		l.used[k] = true
	}
	for _, n := range g.Nodes {
		l.used[n.Name] = true
		for _, o := range n.Outputs {
			l.used[o] = true
		}
	}
	plans := map[*graph.Node]*liftPlan{}
	for _, n := range g.Nodes {
		if p := l.plan(n); p != nil {
			plans[n] = p
		}
	}
	region := l.regions(plans)
	if len(region) == 0 {
		return 0, nil
	}
	if err := l.rewrite(plans, region); err != nil {
		return 0, err
	}
	if _, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()}); err != nil {
		return 0, fmt.Errorf("runtime: 1-D convolutions lifted to 2-D: %w", err)
	}
	return len(region), nil
}

// hasConv1D reports whether g has a Conv on a rank-3 input.
func hasConv1D(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if isDefaultOp(n, "Conv") && len(n.Inputs) >= 2 && rank3(g, n.Inputs[0]) {
			return true
		}
	}
	return false
}

func isDefaultOp(n *graph.Node, op string) bool {
	return n.OpType == op && (n.Domain == "" || n.Domain == "ai.onnx")
}

// rank3 reports whether name is a computed tensor of static rank 3.
func rank3(g *graph.Graph, name string) bool {
	if name == "" || g.Initializers[name] != nil {
		return false
	}
	v := g.Values[name]
	return v != nil && v.HasShape && len(v.Shape) == 3 && liftableType(v.DType)
}

func liftableType(t graph.DType) bool {
	switch t {
	case graph.Float32, graph.Float16, graph.Float64, graph.Int8, graph.Uint8:
		return true
	}
	return false
}

// valueRank is the static rank of name, or -1.
func valueRank(g *graph.Graph, name string) int {
	if t := g.Initializers[name]; t != nil {
		return len(t.Shape)
	}
	if v := g.Values[name]; v != nil && v.HasShape {
		return len(v.Shape)
	}
	return -1
}

// liftAxis maps an axis of a rank-3 tensor to its lifted rank-4 tensor.
func liftAxis(a int64) (int64, bool) {
	if a < 0 {
		a += 3
	}
	switch {
	case a < 0 || a > 2:
		return 0, false
	case a == 2:
		return 3, true
	}
	return a, true
}

// liftSpatial gives a 1-D pooling/convolution attribute its height entry.
func liftSpatial(n *graph.Node, name string, fill int64, pads bool) bool {
	if !n.HasAttr(name) {
		return true
	}
	v := n.AttrInts(name, nil)
	switch {
	case pads && len(v) == 2:
		n.SetAttrInts(name, []int64{fill, v[0], fill, v[1]})
	case !pads && len(v) == 1:
		n.SetAttrInts(name, []int64{fill, v[0]})
	default:
		return false
	}
	return true
}

// plan says whether n can run lifted and how, assuming its [N, C, L] inputs are.
func (l *lifter) plan(n *graph.Node) *liftPlan {
	g := l.g
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil
	}
	in0 := n.Input(0)
	outs := func(k int) []bool {
		o := make([]bool, len(n.Outputs))
		for i := 0; i < k && i < len(o); i++ {
			o[i] = true
		}
		return o
	}
	usedOut := func(i int) bool {
		return i < len(n.Outputs) && n.Outputs[i] != "" && (len(l.cons[n.Outputs[i]]) > 0 || g.IsGraphOutput(n.Outputs[i]))
	}
	for i := range n.Outputs {
		if n.Outputs[i] != "" && !rank3(g, n.Outputs[i]) && !slices.Contains([]string{"Reshape", "Flatten", "GlobalAveragePool", "GlobalMaxPool"}, n.OpType) && !liftReduce[n.OpType] {
			return nil
		}
	}
	switch {
	case isDefaultOp(n, "Conv"):
		if !rank3(g, in0) || !l.constant(n.Input(1), 3) || len(n.Outputs) != 1 {
			return nil
		}
		ins := []liftInput{liftData, liftConst}
		if len(n.Inputs) > 2 {
			ins = append(ins, liftKeep)
		}
		return &liftPlan{ins: ins, outs: outs(1), conv: true, edit: liftConvAttrs}
	case isDefaultOp(n, "MaxPool") || isDefaultOp(n, "AveragePool") || isDefaultOp(n, "LpPool"):
		if !rank3(g, in0) || usedOut(1) {
			return nil
		}
		return &liftPlan{ins: []liftInput{liftData}, outs: outs(1), edit: liftConvAttrs}
	case isDefaultOp(n, "GlobalAveragePool") || isDefaultOp(n, "GlobalMaxPool"):
		if !rank3(g, in0) {
			return nil
		}
		return &liftPlan{ins: []liftInput{liftData}, outs: outs(1)}
	case liftUnary[n.OpType]:
		if !rank3(g, in0) {
			return nil
		}
		if isDefaultOp(n, "BatchNormalization") && (usedOut(1) || usedOut(2) || usedOut(3) || usedOut(4)) {
			return nil
		}
		ins := make([]liftInput, len(n.Inputs))
		ins[0] = liftData
		for i := 1; i < len(n.Inputs); i++ {
			if n.Inputs[i] != "" && valueRank(g, n.Inputs[i]) > 1 {
				return nil
			}
		}
		if isDefaultOp(n, "QuantizeLinear") && l.prod[in0] == nil {
			// The Quantize of a graph input stays: the region is entered on its
			// int8 codes (a Reshape the int8 lowering runs as a view), and the
			// input is quantized in one pass as written.
			return nil
		}
		p := &liftPlan{ins: ins, outs: outs(1)}
		if isDefaultOp(n, "QuantizeLinear") || isDefaultOp(n, "DequantizeLinear") {
			if n.HasAttr("block_size") && n.AttrInt("block_size", 0) != 0 {
				return nil
			}
			if _, ok := liftAxis(n.AttrInt("axis", 1)); !ok {
				return nil
			}
			p.edit = liftAxisAttr("axis", 1)
		}
		return p
	case liftBinary[n.OpType]:
		if len(n.Outputs) != 1 || !rank3(g, n.Outputs[0]) {
			return nil
		}
		ins := make([]liftInput, len(n.Inputs))
		data := false
		for i, x := range n.Inputs {
			switch r := valueRank(g, x); {
			case x == "" || (r >= 0 && r <= 1):
				ins[i] = liftKeep
			case l.constant(x, 2) || l.constant(x, 3):
				ins[i] = liftConst
			case rank3(g, x):
				ins[i], data = liftData, true
			default:
				return nil
			}
		}
		if !data {
			return nil
		}
		return &liftPlan{ins: ins, outs: outs(1)}
	case isDefaultOp(n, "Softmax") || isDefaultOp(n, "LogSoftmax") || isDefaultOp(n, "Hardmax"):
		if !rank3(g, in0) {
			return nil
		}
		def := int64(1)
		if l.opset >= 13 {
			def = -1
		}
		if _, ok := liftAxis(n.AttrInt("axis", def)); !ok {
			return nil
		}
		return &liftPlan{ins: []liftInput{liftData}, outs: outs(1), edit: liftAxisAttr("axis", def)}
	case isDefaultOp(n, "Concat"):
		if _, ok := liftAxis(n.AttrInt("axis", 0)); !ok {
			return nil
		}
		ins := make([]liftInput, len(n.Inputs))
		for i, x := range n.Inputs {
			switch {
			case l.constant(x, 3):
				ins[i] = liftConst
			case rank3(g, x):
				ins[i] = liftData
			default:
				return nil
			}
		}
		return &liftPlan{ins: ins, outs: outs(1), edit: liftAxisAttr("axis", 0)}
	case isDefaultOp(n, "Split"):
		if !rank3(g, in0) {
			return nil
		}
		if _, ok := liftAxis(n.AttrInt("axis", 0)); !ok {
			return nil
		}
		ins := make([]liftInput, len(n.Inputs))
		ins[0] = liftData
		return &liftPlan{ins: ins, outs: outs(len(n.Outputs)), edit: liftAxisAttr("axis", 0)}
	case isDefaultOp(n, "Slice"):
		return l.planSlice(n)
	case isDefaultOp(n, "Pad"):
		return l.planPad(n)
	case liftReduce[n.OpType]:
		return l.planReduce(n)
	case isDefaultOp(n, "Reshape"):
		return l.planReshape(n)
	case isDefaultOp(n, "Flatten"):
		if len(n.Outputs) != 1 {
			return nil
		}
		return &liftPlan{ins: []liftInput{liftFlex}, outs: []bool{false}, edit: liftFlattenAxis}
	}
	return nil
}

// constant reports whether w is an initializer of the given rank, or the
// output of a DequantizeLinear of one (a QDQ graph's int8 weights and
// constants).
func (l *lifter) constant(w string, rank int) bool {
	if t := l.g.Initializers[w]; t != nil {
		return len(t.Shape) == rank
	}
	p := l.prod[w]
	if p == nil || !isDefaultOp(p, "DequantizeLinear") || len(p.Outputs) != 1 {
		return false
	}
	t := l.g.Initializers[p.Input(0)]
	if t == nil || len(t.Shape) != rank || (p.HasAttr("block_size") && p.AttrInt("block_size", 0) != 0) {
		return false
	}
	_, ok := constAxis(p.AttrInt("axis", 1), rank)
	return ok
}

// constAxis maps an axis of a rank-r constant to the lifted constant (rank 4).
func constAxis(a int64, r int) (int64, bool) {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, false
	}
	return liftAxis(a + int64(3-r))
}

func liftConvAttrs(l *lifter, n *graph.Node) error {
	ok := liftSpatial(n, "kernel_shape", 1, false) && liftSpatial(n, "strides", 1, false) &&
		liftSpatial(n, "dilations", 1, false) && liftSpatial(n, "pads", 0, true)
	if !ok {
		return fmt.Errorf("%s: 1-D attributes of unexpected length", n.Label())
	}
	return nil
}

// liftAxisAttr remaps an axis attribute (def when absent).
func liftAxisAttr(name string, def int64) func(*lifter, *graph.Node) error {
	return func(_ *lifter, n *graph.Node) error {
		a, ok := liftAxis(n.AttrInt(name, def))
		if !ok {
			return fmt.Errorf("%s: axis out of range", n.Label())
		}
		n.SetAttrInt(name, a)
		return nil
	}
}

// liftFlattenAxis: Flatten of [N, C, 1, L] from axis a' is Flatten of
// [N, C, L] from a when a' is a with 3 mapped to 4 (the height is 1).
func liftFlattenAxis(l *lifter, n *graph.Node) error {
	if !l.isLifted(n.Inputs[0]) {
		return nil
	}
	a := n.AttrInt("axis", 1)
	if a < 0 {
		a += 3
	}
	if a < 0 || a > 3 {
		return fmt.Errorf("%s: axis out of range", n.Label())
	}
	if a == 3 {
		a = 4
	}
	n.SetAttrInt("axis", a)
	return nil
}

// planSlice lifts a Slice whose axes are constant.
func (l *lifter) planSlice(n *graph.Node) *liftPlan {
	g := l.g
	if !rank3(g, n.Input(0)) || len(n.Outputs) != 1 {
		return nil
	}
	if l.opset < 10 {
		axes := n.AttrInts("axes", nil)
		for _, a := range axes {
			if _, ok := liftAxis(a); !ok {
				return nil
			}
		}
		return &liftPlan{ins: []liftInput{liftData}, outs: []bool{true}, edit: func(_ *lifter, n *graph.Node) error {
			axes := n.AttrInts("axes", nil)
			if axes == nil {
				for i := range n.AttrInts("starts", nil) {
					axes = append(axes, int64(i))
				}
			}
			na := make([]int64, len(axes))
			for i, a := range axes {
				na[i], _ = liftAxis(a)
			}
			n.SetAttrInts("axes", na)
			return nil
		}}
	}
	starts := g.Initializers[n.Input(1)]
	var axes []int64
	if ax := n.Input(3); ax != "" {
		t := g.Initializers[ax]
		if t == nil {
			return nil
		}
		v, err := t.AsInt64()
		if err != nil {
			return nil
		}
		axes = v
	} else {
		if starts == nil || len(starts.Shape) != 1 {
			return nil
		}
		for i := 0; i < starts.Shape[0]; i++ {
			axes = append(axes, int64(i))
		}
	}
	na := make([]int64, len(axes))
	for i, a := range axes {
		var ok bool
		if na[i], ok = liftAxis(a); !ok {
			return nil
		}
	}
	ins := make([]liftInput, len(n.Inputs))
	ins[0] = liftData
	return &liftPlan{ins: ins, outs: []bool{true}, edit: func(l *lifter, n *graph.Node) error {
		for len(n.Inputs) < 4 {
			n.Inputs = append(n.Inputs, "")
		}
		n.Inputs[3] = l.initializer(n.Name+"_axes"+liftSuffix, graph.FromInt64([]int{len(na)}, na))
		return nil
	}}
}

// planPad lifts a Pad whose pads are constant (attribute before opset 11).
func (l *lifter) planPad(n *graph.Node) *liftPlan {
	g := l.g
	if !rank3(g, n.Input(0)) || len(n.Outputs) != 1 || n.Input(3) != "" {
		return nil
	}
	lift := func(p []int64) []int64 {
		return []int64{p[0], p[1], 0, p[2], p[3], p[4], 0, p[5]}
	}
	if l.opset < 11 {
		if len(n.AttrInts("pads", nil)) != 6 {
			return nil
		}
		return &liftPlan{ins: []liftInput{liftData}, outs: []bool{true}, edit: func(_ *lifter, n *graph.Node) error {
			n.SetAttrInts("pads", lift(n.AttrInts("pads", nil)))
			return nil
		}}
	}
	t := g.Initializers[n.Input(1)]
	if t == nil {
		return nil
	}
	p, err := t.AsInt64()
	if err != nil || len(p) != 6 {
		return nil
	}
	ins := make([]liftInput, len(n.Inputs))
	ins[0] = liftData
	return &liftPlan{ins: ins, outs: []bool{true}, edit: func(l *lifter, n *graph.Node) error {
		n.Inputs[1] = l.initializer(n.Name+"_pads"+liftSuffix, graph.FromInt64([]int{8}, lift(p)))
		return nil
	}}
}

// planReduce lifts a reduction: axes map to the lifted axes; with keepdims 0
// the height axis is reduced too, so the output is the unlifted one.
func (l *lifter) planReduce(n *graph.Node) *liftPlan {
	g := l.g
	if !rank3(g, n.Input(0)) || len(n.Outputs) != 1 {
		return nil
	}
	fromInput := len(n.Inputs) >= 2 && n.Inputs[1] != ""
	var axes []int64
	if fromInput {
		t := g.Initializers[n.Inputs[1]]
		if t == nil {
			return nil
		}
		v, err := t.AsInt64()
		if err != nil {
			return nil
		}
		axes = v
	} else {
		axes = n.AttrInts("axes", nil)
	}
	if len(axes) == 0 {
		if fromInput || n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return nil
		}
		axes = []int64{0, 1, 2}
	}
	keepdims := n.AttrInt("keepdims", 1) != 0
	var na []int64
	for _, a := range axes {
		b, ok := liftAxis(a)
		if !ok {
			return nil
		}
		na = append(na, b)
	}
	if !keepdims {
		na = append(na, 2)
	}
	slices.Sort(na)
	ins := make([]liftInput, len(n.Inputs))
	ins[0] = liftData
	spatialMean := isDefaultOp(n, "ReduceMean") && slices.Equal(na, []int64{2, 3}) || slices.Equal(na, []int64{3}) && isDefaultOp(n, "ReduceMean")
	centred := false
	for _, r := range l.cons[n.Outputs[0]] {
		if isDefaultOp(r, "Sub") && len(r.Inputs) == 2 && r.Inputs[0] == n.Inputs[0] {
			centred = true
		}
	}
	return &liftPlan{ins: ins, outs: []bool{keepdims}, edit: func(l *lifter, n *graph.Node) error {
		if spatialMean && !centred {
			// A mean over the length is a global average pooling, which runs on the
			// channels-last pooling kernels (and gets an int8 operator).
			l.globalPool(n, keepdims)
			return nil
		}
		if fromInput {
			n.Inputs[1] = l.initializer(n.Name+"_axes"+liftSuffix, graph.FromInt64([]int{len(na)}, na))
		} else {
			n.SetAttrInts("axes", na)
		}
		return nil
	}}
}

// globalPool rewrites a lifted mean over the length as GlobalAveragePool
// (and a Flatten when keepdims is 0).
func (l *lifter) globalPool(n *graph.Node, keepdims bool) {
	n.OpType, n.Inputs, n.Attrs = "GlobalAveragePool", n.Inputs[:1], map[string]*graph.Attr{}
	if keepdims {
		return
	}
	y := n.Outputs[0]
	pooled := l.name(y + "_pooled")
	n.Outputs[0] = pooled
	name := n.Name
	if name == "" {
		name = y
	}
	flat := &graph.Node{Name: l.name(name + "_flatten"), OpType: "Flatten", Inputs: []string{pooled}, Outputs: []string{y}, Attrs: map[string]*graph.Attr{}}
	flat.SetAttrInt("axis", 1)
	l.added = append(l.added, flat)
	// In a QDQ graph the mean is quantized: DequantizeLinear -> mean ->
	// QuantizeLinear. Quantizing the pooled [N, C, 1, 1] and flattening the
	// int8 codes keeps DequantizeLinear -> GlobalAveragePool -> QuantizeLinear,
	// which the int8 lowering runs as one int8 pooling.
	r := l.cons[y]
	if len(r) != 1 || l.keep[y] || l.g.IsGraphOutput(y) || !isDefaultOp(r[0], "QuantizeLinear") || r[0].Input(0) != y ||
		len(r[0].Outputs) != 1 || valueRank(l.g, r[0].Input(1)) > 0 || l.keep[r[0].Outputs[0]] {
		return
	}
	q := r[0]
	qp := l.name(q.Outputs[0] + "_pooled")
	flat.Inputs[0], flat.Outputs[0] = qp, q.Outputs[0]
	q.Inputs[0], q.Outputs[0] = pooled, qp
}

// planReshape: a Reshape reads either form (the data order is the same); its
// output is lifted when it is [N, C, L]. A 0 in the shape copies an input
// dimension, the same in both forms only for the first two.
func (l *lifter) planReshape(n *graph.Node) *liftPlan {
	g := l.g
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.AttrInt("allowzero", 0) != 0 {
		return nil
	}
	t := g.Initializers[n.Inputs[1]]
	if t == nil {
		return nil
	}
	shape, err := t.AsInt64()
	if err != nil {
		return nil
	}
	for i, d := range shape {
		if d == 0 && (i >= 2 || valueRank(g, n.Inputs[0]) < 2) {
			return nil
		}
	}
	if !rank3(g, n.Outputs[0]) || len(shape) != 3 {
		return &liftPlan{ins: []liftInput{liftFlex, liftKeep}, outs: []bool{false}}
	}
	return &liftPlan{ins: []liftInput{liftFlex, liftKeep}, outs: []bool{true}, edit: func(l *lifter, n *graph.Node) error {
		n.Inputs[1] = l.initializer(n.Name+"_shape"+liftSuffix, graph.FromInt64([]int{4}, []int64{shape[0], shape[1], 1, shape[2]}))
		return nil
	}}
}

// regions returns the nodes to lift: the connected groups of liftable nodes
// (joined by the [N, C, L] tensors between them) that hold a Conv.
func (l *lifter) regions(plans map[*graph.Node]*liftPlan) map[*graph.Node]bool {
	parent := map[*graph.Node]*graph.Node{}
	var find func(n *graph.Node) *graph.Node
	find = func(n *graph.Node) *graph.Node {
		for parent[n] != n {
			parent[n] = parent[parent[n]]
			n = parent[n]
		}
		return n
	}
	for n := range plans {
		parent[n] = n
	}
	for n, p := range plans {
		for i, x := range n.Inputs {
			if i >= len(p.ins) || (p.ins[i] != liftData && p.ins[i] != liftFlex) {
				continue
			}
			q := l.prod[x]
			if q == nil || plans[q] == nil || !plans[q].outs[slices.Index(q.Outputs, x)] {
				continue
			}
			a, b := find(n), find(q)
			if a != b {
				parent[a] = b
			}
		}
	}
	hasConv := map[*graph.Node]bool{}
	for n, p := range plans {
		if p.conv {
			hasConv[find(n)] = true
		}
	}
	region := map[*graph.Node]bool{}
	for n := range plans {
		if hasConv[find(n)] {
			region[n] = true
		}
	}
	return region
}

// name returns an unused name based on base.
func (l *lifter) name(base string) string {
	name := base
	for i := 1; l.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	l.used[name] = true
	return name
}

// initializer adds t under a fresh name based on base.
func (l *lifter) initializer(base string, t *graph.Tensor) string {
	name := l.name(base)
	l.g.Initializers[name] = t
	return name
}

// isLifted reports whether name is a lifted twin read by a Reshape or Flatten.
func (l *lifter) isLifted(name string) bool { return l.liftedNames[name] }

// liftConst gives a constant broadcast against [N, C, L] the height axis.
func liftConstTensor(t *graph.Tensor) *graph.Tensor {
	shape := append([]int(nil), t.Shape...)
	for len(shape) < 3 {
		shape = append([]int{1}, shape...)
	}
	c := *t
	c.Shape = []int{shape[0], shape[1], 1, shape[2]}
	return &c
}

// reshapeNode returns a Reshape of x to shape (an int64 initializer) named y.
func (l *lifter) reshapeNode(x, y string, shape []int64) *graph.Node {
	s := l.initializer(y+"_shape", graph.FromInt64([]int{len(shape)}, shape))
	return &graph.Node{Name: l.name(y + "_reshape"), OpType: "Reshape", Inputs: []string{x, s}, Outputs: []string{y}, Attrs: map[string]*graph.Attr{}}
}

// rewrite renames and edits the region's nodes and adds the entries and exits.
func (l *lifter) rewrite(plans map[*graph.Node]*liftPlan, region map[*graph.Node]bool) error {
	g := l.g
	lifted := map[string]string{} // name -> lifted twin, for the region's lifted outputs
	for _, n := range g.Nodes {
		if !region[n] {
			continue
		}
		for i, o := range n.Outputs {
			if o != "" && plans[n].outs[i] {
				lifted[o] = l.name(o + liftSuffix)
			}
		}
	}
	l.liftedNames = map[string]bool{}
	// Exits: a lifted tensor read outside the region (or not as lifted data),
	// a graph output or a tap keeps its name through a Reshape.
	for o, lo := range lifted {
		exit := l.keep[o] || g.IsGraphOutput(o)
		for _, r := range l.cons[o] {
			if !region[r] {
				exit = true
				continue
			}
			p := plans[r]
			for i, x := range r.Inputs {
				if x == o && (i >= len(p.ins) || (p.ins[i] != liftData && p.ins[i] != liftFlex)) {
					exit = true
				}
			}
			if slices.Contains(r.ImplicitInputs(), o) {
				exit = true
			}
		}
		if exit {
			l.added = append(l.added, l.reshapeNode(lo, o, []int64{0, 0, -1}))
		}
	}
	entries := map[string]string{}
	weights := map[string]string{}
	var dead []*graph.Node
	for _, n := range g.Nodes {
		if !region[n] {
			continue
		}
		p := plans[n]
		for i, x := range n.Inputs {
			if x == "" || i >= len(p.ins) {
				continue
			}
			switch p.ins[i] {
			case liftData:
				if lo, ok := lifted[x]; ok {
					n.Inputs[i] = lo
					continue
				}
				if e, ok := entries[x]; ok {
					n.Inputs[i] = e
					continue
				}
				e := l.name(x + liftSuffix)
				l.added = append(l.added, l.reshapeNode(x, e, []int64{0, 0, 1, -1}))
				entries[x] = e
				n.Inputs[i] = e
			case liftFlex:
				if lo, ok := lifted[x]; ok {
					n.Inputs[i] = lo
					l.liftedNames[lo] = true
				}
			case liftConst:
				if w, ok := weights[x]; ok {
					n.Inputs[i] = w
					continue
				}
				if t := g.Initializers[x]; t != nil {
					weights[x] = l.initializer(x+liftSuffix, liftConstTensor(t))
					n.Inputs[i] = weights[x]
					continue
				}
				dq := l.prod[x]
				c := dq.Clone()
				c.Name = l.name(dq.Name + liftSuffix)
				c.Inputs[0] = l.initializer(dq.Inputs[0]+liftSuffix, liftConstTensor(g.Initializers[dq.Inputs[0]]))
				c.Outputs[0] = l.name(x + liftSuffix)
				if dq.HasAttr("axis") {
					a, _ := constAxis(dq.AttrInt("axis", 1), len(g.Initializers[dq.Inputs[0]].Shape))
					c.SetAttrInt("axis", a)
				}
				l.added = append(l.added, c)
				weights[x] = c.Outputs[0]
				n.Inputs[i] = c.Outputs[0]
				if l.onlyRead(x, region, plans) {
					dead = append(dead, dq)
				}
			}
		}
		for i, o := range n.Outputs {
			if lo, ok := lifted[o]; ok && o != "" && p.outs[i] {
				n.Outputs[i] = lo
			}
		}
		if p.edit != nil {
			if err := p.edit(l, n); err != nil {
				return fmt.Errorf("runtime: lifting 1-D convolutions: %w", err)
			}
		}
	}
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		if !slices.Contains(dead, n) {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = append(nodes, l.added...)
	return nil
}

// onlyRead reports whether every reader of the constant w is a lifted node
// reading it as a lifted constant (so its DequantizeLinear can go).
func (l *lifter) onlyRead(w string, region map[*graph.Node]bool, plans map[*graph.Node]*liftPlan) bool {
	if l.keep[w] || l.g.IsGraphOutput(w) {
		return false
	}
	for _, r := range l.cons[w] {
		if !region[r] || slices.Contains(r.ImplicitInputs(), w) {
			return false
		}
		for i, x := range r.Inputs {
			if x == w && (i >= len(plans[r].ins) || plans[r].ins[i] != liftConst) {
				return false
			}
		}
	}
	return true
}

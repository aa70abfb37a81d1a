package qat

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// op is one differentiable operator of the training program. forward reads and
// writes Net.vals; backward accumulates into the gradients of its inputs and
// parameters (a tensor read twice receives both contributions).
type op interface {
	label() string
	forward(n *Net) error
	backward(n *Net)
}

// Config configures New.
type Config struct {
	// Exclude lists nodes kept in float32 (as quantizer.QuantOptions.Exclude).
	Exclude []string
	// Threads for the kernels (0 = GOMAXPROCS).
	Threads int
	// FloatOnly trains without fake quantization (a float fine-tuning baseline).
	FloatOnly bool
	// RenormFolded trains every Conv that has a bias and no BatchNormalization of its
	// own (torch.onnx folded it at export), and does not read a 1x1 map, with a
	// BatchNormalization put back after it, its statistics, scale and shift taken
	// from the first training batch so that the layer computes what the folded one
	// did (renorm.go).
	RenormFolded bool
	// SampleShape gives the sizes of the input's dimensions after the batch when
	// the model declares some of them symbolic (a torch.onnx export with dynamic
	// height and width): the program is static, so it trains at these sizes (the
	// training data's). Export writes the trained weights into the model as
	// declared, symbolic dimensions kept, when they carry over (see Export). It
	// must fit the declared dimensions; nil for a model whose sample shape is known.
	SampleShape []int
	// SampleShapes is SampleShape by input name, for a model with several inputs
	// (input_ids, attention_mask, token_type_ids of a BERT export, each [batch, seq]).
	SampleShapes map[string][]int
	// WholeInputs: a sample is every input whole, its first axis included (a graph
	// network's node list and edges, a point cloud, a time-major sequence [time,
	// batch, C], a request of several rows): nothing is stacked, the net runs one
	// sample at a time (Fit takes micro-batches of 1), and SampleShape(s) give the
	// full shapes.
	WholeInputs bool
	// unfused builds the program without its fusions (net.go, fuse_add.go:
	// the reference the fusion tests compare with).
	unfused bool
}

// Net is a model prepared for quantization-aware training.
type Net struct {
	plan *quantizer.TrainingPlan
	// declared is the plan of the model as declared when plan was built with its
	// symbolic dimensions bound to Config.SampleShape (nil otherwise): Export
	// writes into it. declaredErr: why there is none although the model was bound.
	declared    *quantizer.TrainingPlan
	declaredErr error
	// boundExport: why the last Export wrote the model at the sample shape.
	boundExport error
	cfg         Config
	vals        []*tensor
	ops         []op
	params      []*Param
	byName      map[string]*Param
	ranges      map[string]*actRange
	convBNs     []*convBNOp
	isConst     map[int]bool
	// gradWritten marks the tensors whose gradient one op writes whole (the
	// only reader, a fake quantization or Relu/Clip: writeGrad): Backward does
	// not clear them first.
	gradWritten map[int]bool
	// gradFree: by output slot, the fake quantizations whose output needs no
	// gradient (markGradFree)
	gradFree map[int]*fqOp
	input    int
	// output is the first graph output's slot (the classification loss reads it);
	// outputs are every graph output's, in graph order (the output-matching loss,
	// outputloss.go), isOut marks them: the fusions and the gradient bookkeeping
	// leave an output's tensor and gradient whole.
	output  int
	outputs []int
	isOut   map[int]bool
	// calibrated: the ranges SetRanges was given (Ranges falls back to them for
	// activations the training program leaves out).
	calibrated quantizer.Ranges
	// head: the output is a Softmax's or LogSoftmax's (probhead.go); nil for logits.
	head *probHead
	// inputs are the graph's inputs (inputs.go); input is the slot of the first
	// float32 one (-1 when every input is integer: token ids), inShape its shape
	// per sample.
	inputs  []netInput
	inShape []int
	// fixedBatch: the samples every Forward pass runs, when the model declares a
	// batch above one on every input (FixedBatch); 0 otherwise.
	fixedBatch int

	threads   int
	training  bool
	emaRanges bool
	// deferRanges: the step's batch runs in parts; the ranges gather the
	// parts' min/max and move once at the end (microbatch.go).
	deferRanges bool
	// sameWeights: the forward pass runs a later part of the step's batch,
	// after no update: the fake-quantized weights of the first part stand.
	sameWeights bool
	emaConst    float32
	frozenBN    bool

	// learnRanges: the backward pass accumulates the activation ranges' gradients.
	learnRanges bool
	// bnMomentum, when > 0, replaces the BatchNorm running statistics' momentum of 0.1
	// (the re-estimation pass's cumulative mean).
	bnMomentum float64
	// inputGrad makes Backward compute the gradient of the input (tests).
	inputGrad bool
	// computed holds the values of the shape arithmetic (ops_shapeprog.go), named in
	// computedNames when the net is built.
	computed      map[string]*graph.Tensor
	computedNames map[string]bool
	// noGrad: the parameters no gradient reaches (nograd.go), nil when every
	// parameter has a path to the outputs.
	noGrad *NoGradient
	// lossOuts are the slots the outputs loss matches: the graph outputs, or
	// when some have a length set by the values, the others and what those
	// are selected from (ragged.go; lossWhy says so).
	lossOuts []int
	lossWhy  string
}

// builder state: the slot consumers read for each tensor name, and the fake
// quantization op that produced it (for bias scales).
type builder struct {
	n      *Net
	g      *graph.Graph
	cur    map[string]int
	fqOf   map[int]*fqOp
	acts   map[string]quantizer.TrainingActivation
	wAxis  map[string]int
	bias   map[string]bool
	consts map[string]bool
	orig   *graph.Model
	// reads counts the readers of each slot (every input a builder asked for,
	// every fake quantization inserted by define).
	reads map[int]int
	// known counts the reads by the ops markWrittenGrads knows (how they treat
	// their input's gradient); firstReader is the first of them in program
	// order.
	known       map[int]int
	firstReader map[int]op
	// infinite names the tensors that may hold infinities by construction
	// (infinity.go): their fake quantization's moving range skips them.
	infinite map[string]bool
	// gridInfinite names the results of a division (a reciprocal, a logarithm)
	// of an activation, infinite where the int8 grid rounds that activation to
	// 0 (infinity.go); their own fake quantization saturates the infinity, so
	// unlike infinite the mark does not pass to their readers.
	gridInfinite map[string]bool
	// curNode is the index in g.Nodes of the node being built; paramNodes
	// lists, for each parameter, the nodes that read it, and shapeNodes the
	// nodes built as shape arithmetic (nograd.go).
	curNode    int
	paramNodes map[*Param][]int
	shapeNodes map[int]bool
	// trained names the values a trainable parameter feeds (a gradient must
	// reach back through whatever computes from them); touches counts the
	// parameter reads, shared with the builders of control-flow bodies
	// (data.go).
	trained map[string]bool
	touches *int
}

// New prepares m for training: the quantize-ready graph, fake quantization where
// Quantize will quantize, trainable copies of the weights. Ranges must be set
// (SetRanges) before training.
func New(m *graph.Model, cfg Config) (*Net, error) {
	if !cfg.WholeInputs {
		if err := CheckBatchLeading(m.Graph); err != nil {
			return nil, err
		}
	}
	var bound *graph.Model
	var err error
	switch {
	case cfg.SampleShapes != nil && cfg.SampleShape != nil:
		return nil, errors.New("qat: Config.SampleShape and SampleShapes both given")
	case cfg.SampleShapes != nil:
		bound, err = bindSampleShapes(m, cfg.SampleShapes, cfg.WholeInputs)
	default:
		bound, err = bindSampleShape(m, cfg.SampleShape, cfg.WholeInputs)
	}
	if err != nil {
		return nil, err
	}
	plan, err := quantizer.PlanTraining(bound, cfg.Exclude)
	if err != nil {
		return nil, err
	}
	var declared *quantizer.TrainingPlan
	var declaredErr error
	if bound != m {
		// The model trains at the bound size whatever this says; without a plan of
		// the model as declared, Export writes it at that size and says why.
		if declared, err = quantizer.PlanTraining(m, cfg.Exclude); err != nil {
			declared, declaredErr = nil, fmt.Errorf("the model as declared has no quantization plan: %w", err)
		}
	}
	g := plan.Model.Graph
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("qat: the model has no output")
	}
	n := &Net{plan: plan, declared: declared, declaredErr: declaredErr, cfg: cfg, byName: map[string]*Param{}, isConst: map[int]bool{}, ranges: map[string]*actRange{},
		threads: cfg.Threads, emaRanges: true, emaConst: 0.01,
		computed: map[string]*graph.Tensor{}, computedNames: map[string]bool{}}
	if sb := quantizer.StaticBatch(m); sb > 1 && !cfg.WholeInputs {
		n.fixedBatch = sb
	}
	b := &builder{n: n, g: g, cur: map[string]int{}, fqOf: map[int]*fqOp{}, acts: map[string]quantizer.TrainingActivation{},
		wAxis: map[string]int{}, bias: map[string]bool{}, consts: map[string]bool{}, orig: m, reads: map[int]int{}, infinite: map[string]bool{}, gridInfinite: map[string]bool{},
		paramNodes: map[*Param][]int{}, shapeNodes: map[int]bool{}, trained: map[string]bool{}, touches: new(int)}
	if !cfg.FloatOnly {
		for _, a := range plan.Activations {
			b.acts[a.Name] = a
		}
		for _, w := range plan.Weights {
			b.wAxis[w.Name] = w.Axis
		}
		for _, bi := range plan.Biases {
			b.bias[bi.Name] = true
		}
		for _, c := range plan.Consts {
			b.consts[c] = true
		}
	}
	if err := b.setupInputs(); err != nil {
		return nil, err
	}
	outs := TrainedOutputs(g)
	if len(outs) == 0 {
		return nil, fmt.Errorf("qat: the model has no float32 output to train")
	}
	needed := neededNodes(g, outs)
	bns := b.findConvBN()
	for i, node := range g.Nodes {
		if !needed[i] {
			continue
		}
		b.curNode = i
		if err := b.node(node, bns[node.Outputs[0]]); err != nil {
			return nil, err
		}
	}
	n.isOut = map[int]bool{}
	for _, o := range outs {
		s, ok := b.cur[o.Name]
		if !ok {
			return nil, fmt.Errorf("qat: output %q is not computed", o.Name)
		}
		n.outputs = append(n.outputs, s)
		n.isOut[s] = true
	}
	n.output = n.outputs[0]
	n.lossOuts = n.outputs
	starts := make([]string, len(outs))
	for i, o := range outs {
		starts[i] = o.Name
	}
	targets, raggedOuts, why := b.lossTargets(outs, needed)
	if why != "" {
		if len(targets) == 0 {
			return nil, fmt.Errorf("qat: %s: nothing of fixed shape to match", why)
		}
		n.lossOuts, n.lossWhy, starts = nil, why, targets
		for _, name := range targets {
			s := b.cur[name]
			n.lossOuts = append(n.lossOuts, s)
			n.isOut[s] = true // kept whole: the loss reads it and seeds its gradient
		}
	}
	if err := b.checkGradientPaths(starts, raggedOuts); err != nil {
		return nil, err
	}
	b.markWrittenGrads()
	if !cfg.unfused {
		b.markGradFree()
		b.fuseReluFakeQuant()
		b.fuseSTEIntoConv()
		b.fuseFakeQuantIntoAdd()
		b.fuseFakeQuantIntoConv()
		b.fuseMinMaxIntoConv()
	}
	sort.Slice(n.params, func(i, j int) bool { return n.params[i].Name < n.params[j].Name })
	n.head = n.findProbHead()
	return n, nil
}

// TrainedOutputs are the graph outputs training computes: the floating-point ones
// that a node computes. An integer output (the ArgMax label a classifier exported with
// its probabilities also returns, a count, a mask) is computed from them, has no
// gradient and needs no training, and an output that is a constant (anchors) or a
// graph input passed through is what it is; the written model keeps them.
func TrainedOutputs(g *graph.Graph) []*graph.Value {
	inputs := map[string]bool{}
	for _, in := range g.Inputs {
		inputs[in.Name] = true
	}
	var out []*graph.Value
	for _, o := range g.Outputs {
		if g.Initializers[o.Name] != nil || inputs[o.Name] {
			continue
		}
		if o.DType.IsFloat() || o.DType == graph.Undefined {
			// float16, float64: the Cast Optimize puts at the boundary
			out = append(out, o)
		}
	}
	return out
}

// neededNodes marks the nodes the outputs depend on (in g.Nodes' topological
// order); the others are left out of the training program.
func neededNodes(g *graph.Graph, outs []*graph.Value) map[int]bool {
	want := map[string]bool{}
	for _, o := range outs {
		want[o.Name] = true
	}
	needed := map[int]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		node := g.Nodes[i]
		for _, o := range node.Outputs {
			if o != "" && want[o] {
				needed[i] = true
				break
			}
		}
		if !needed[i] {
			continue
		}
		for _, in := range nodeReads(node) {
			if in != "" {
				want[in] = true
			}
		}
	}
	return needed
}

// nodeReads is what a node reads: its inputs, then the enclosing-scope values
// its subgraphs read (a Loop body's weights and activations).
func nodeReads(node *graph.Node) []string {
	if !node.HasSubgraphs() {
		return node.Inputs
	}
	return append(append([]string(nil), node.Inputs...), node.ImplicitInputs()...)
}

func (b *builder) slot() int {
	b.n.vals = append(b.n.vals, &tensor{})
	return len(b.n.vals) - 1
}

// define makes name read slot s, inserting fake quantization when Quantize puts a
// Q/DQ pair on name.
func (b *builder) define(name string, s int) {
	a, ok := b.acts[name]
	if !ok {
		b.cur[name] = s
		return
	}
	var r *actRange
	owner := false
	if a.IsFixed {
		fixed := a.Fixed
		r = &actRange{name: name, fixed: &fixed}
	} else {
		r = b.n.ranges[a.Source]
		if r == nil {
			r = &actRange{name: a.Source}
			if t := b.g.Initializers[a.Source]; t != nil && b.consts[a.Source] && t.DType == graph.Float32 {
				// The output of a move of a constant table (a Slice of position
				// embeddings) shares the table's grid, its own min/max as Quantize
				// computes it (an embedding that trains moves it: ops_embedding.go).
				r.fromConst = true
				r.lo, r.hi = tableRange(t.F32())
			}
			b.n.ranges[a.Source] = r
		}
		owner = a.Source == name
	}
	out := b.slot()
	f := &fqOp{node: name + " (fake quantization)", in: s, out: out, r: r, owner: owner, finiteRange: b.infinite[name] || b.gridInfinite[name]}
	b.reads[s]++
	b.n.ops = append(b.n.ops, f)
	b.fqOf[out] = f
	b.cur[name] = out
}

// param returns the trainable parameter for an initializer (shared when several
// nodes read it).
func (b *builder) param(name string, decay bool) (*Param, error) {
	*b.touches++
	if p := b.n.byName[name]; p != nil {
		b.paramNodes[p] = append(b.paramNodes[p], b.curNode)
		return p, nil
	}
	t := b.g.Initializers[name]
	if t == nil || t.DType != graph.Float32 {
		return nil, fmt.Errorf("%q is not a float32 initializer", name)
	}
	p := newParam(name, t.Shape, t.F32(), decay)
	b.n.byName[name] = p
	b.n.params = append(b.n.params, p)
	return p, nil
}

// input returns the slot of a data input, making a constant slot (fake-quantized
// per tensor when Quantize stores it as int8) for an initializer.
func (b *builder) input(node *graph.Node, name string) (int, error) {
	if s, ok := b.cur[name]; ok {
		b.reads[s]++
		return s, nil
	}
	t := b.g.Initializers[name]
	if t == nil {
		return 0, fmt.Errorf("node %s: input %q is not computed", node.Label(), name)
	}
	if t.DType != graph.Float32 {
		return 0, fmt.Errorf("node %s: constant input %q is %s, not float32", node.Label(), name, t.DType)
	}
	s := b.slot()
	v := b.n.vals[s]
	v.shape = append([]int(nil), t.Shape...)
	v.data = append([]float32(nil), t.F32()...)
	if b.consts[name] {
		lo, hi := float32(0), float32(0)
		for _, x := range v.data {
			lo, hi = min(lo, x), max(hi, x)
		}
		p := quantizer.ParamsFromRange(lo, hi)
		for i, x := range v.data {
			v.data[i] = fakeQuant(x, p.Scale, p.ZeroPoint)
		}
	}
	b.n.isConst[s] = true
	b.cur[name] = s
	b.reads[s]++
	return s, nil
}

// markWrittenGrads lets a fake quantization, a Relu/Clip, a convolution or an
// elementwise binary op (each operand) write its input's gradient instead of
// adding to a cleared one (the same bits; it saves Backward's clear and a read per
// element; a convolution whose input gradient accumulates over overlapping
// windows clears it itself) when its backward pass is the first to reach that
// gradient: it is the input's only reader, or the last of its readers in program
// order (the backward pass runs in reverse), every reader being one of these ops
// (the residual block's input, read by the block's first convolution and by the
// join's Add; a strided stage's input, read by the projection and the 3x3
// convolution). The readers after it add to what it wrote.
func (b *builder) markWrittenGrads() {
	n := b.n
	n.gradWritten = map[int]bool{}
	eligible := func(s int) bool {
		return s != n.input && !n.isOut[s] && !n.isConst[s]
	}
	// per slot, the reads by the ops below and, for the last of them, a
	// function that makes it write (nil: it cannot)
	known := map[int]int{}
	last := map[int]func(){}
	b.firstReader = map[int]op{}
	var cur op
	note := func(s int, mark func()) {
		if known[s] == 0 {
			b.firstReader[s] = cur
		}
		known[s]++
		last[s] = mark
	}
	sole := func(s int) bool { return b.reads[s] == 1 }
	if b.n.cfg.unfused {
		// the reference of the fusion tests: sole readers only
		note = func(s int, mark func()) {
			if known[s] == 0 {
				b.firstReader[s] = cur
			}
			known[s]++
			last[s] = nil
			if sole(s) {
				last[s] = mark
			}
		}
	}
	for _, o := range n.ops {
		cur = o
		switch o := o.(type) {
		case *fqOp:
			note(o.in, func() { o.writeGrad = true })
		case *unaryOp:
			if o.kind == "Relu" || o.kind == "Clip" {
				note(o.in, func() { o.writeGrad = true })
			} else {
				note(o.in, nil)
			}
		case *convOp:
			note(o.in, func() { o.writeGrad = true })
		case *convBNOp:
			note(o.in, func() { o.writeGrad = true })
		case *binaryOp:
			if o.a == o.b {
				note(o.a, nil)
				note(o.b, nil)
				break
			}
			// Add's operands (the two branches of a residual block) take its
			// output's gradient as it is
			note(o.a, func() { o.writeA = true })
			note(o.b, func() { o.writeB = true })
		case *gemmOp:
			note(o.in, nil)
			if o.w == nil {
				note(o.bSlot, nil)
			}
		case *reshapeOp:
			note(o.in, nil)
		}
	}
	for s, mark := range last {
		if mark != nil && known[s] == b.reads[s] && eligible(s) {
			mark()
			n.gradWritten[s] = true
		}
	}
	b.known = known
}

// markGradFree lists the fake quantizations of the net's input (or of a
// constant) whose output's gradient nothing needs: every reader is an op that
// skips an input without gradient (the stem convolution's input gradient is
// otherwise computed in full and dropped). Backward gives those outputs no
// gradient unless the input's gradient is asked for or the range is learned.
func (b *builder) markGradFree() {
	n := b.n
	n.gradFree = map[int]*fqOp{}
	for _, o := range n.ops {
		if f, ok := o.(*fqOp); ok && (f.in == n.input || n.isConst[f.in]) && !n.isOut[f.out] && b.known[f.out] == b.reads[f.out] {
			n.gradFree[f.out] = f
		}
	}
}

// fuseReluFakeQuant fuses a Relu whose only reader is a fake quantization (after
// every Conv+Relu, Add+Relu and BN+Relu of a quantize-ready graph) into it: the
// fake quantization reads the Relu's input and quantizes max(x, 0) in one pass,
// its EMA range is the Relu's (max(min x, 0), max(max x, 0) are min and max of
// max(x, 0)), and its backward pass writes the Relu's input gradient where both
// straight-through masks pass. The Relu then does nothing. Forward values and
// gradients keep their bits (a -0 added instead of a +0 aside), and the Relu's
// output, which is neither computed nor stored, is not read by anyone else. With
// learned ranges the range gradient needs that output, so both run unfused.
func (b *builder) fuseReluFakeQuant() {
	n := b.n
	relu := map[int]*unaryOp{}
	for _, o := range n.ops {
		if u, ok := o.(*unaryOp); ok && u.kind == "Relu" {
			relu[u.out] = u
		}
	}
	for _, o := range n.ops {
		f, ok := o.(*fqOp)
		if !ok {
			continue
		}
		if u := relu[f.in]; u != nil && b.reads[f.in] == 1 && !n.isOut[f.in] && f.in != n.input {
			f.relu, u.fq = u, f
		}
	}
}

// ErrNoGradient is wrapped by New when the graph has an operator without a gradient.
var ErrNoGradient = errors.New("operator has no gradient in qat")

// ErrDiverged is returned by Fit when the loss stops being finite: the learning
// rate is too high for the model (a caller trying several rates drops that one).
var ErrDiverged = errors.New("the loss diverged")

func (b *builder) node(node *graph.Node, bn *bnParams) error {
	before, touched := len(b.n.params), *b.touches
	if b.isShapeNode(node) {
		b.shapeNodes[b.curNode] = true
		if err := buildShapeOp(b, node); err != nil {
			return fmt.Errorf("node %s: %w", node.Label(), err)
		}
		return nil
	}
	mk, ok := builders[node.OpType]
	if !ok || node.Domain != "" {
		if !b.readsTrained(node) {
			return b.dataNode(node)
		}
		if node.Domain != "" {
			return fmt.Errorf("node %s: %w (domain %q)", node.Label(), ErrNoGradient, node.Domain)
		}
		return fmt.Errorf("node %s: %w: %s (supported: %s)", node.Label(), ErrNoGradient, node.OpType, strings.Join(supportedOps(), ", "))
	}
	if bn == nil && node.OpType == "Conv" && b.n.cfg.RenormFolded {
		bn = b.synthBN(node)
	}
	if bn != nil && node.OpType == "Conv" {
		mk = buildConvBN(bn)
	}
	o, err := mk(b, node)
	if errors.Is(err, ErrNoGradient) && len(b.n.params) == before && *b.touches == touched && !b.readsTrained(node) {
		// a case of the operator without a gradient (a Resize mode, a
		// GridSample padding) that needs none here
		return b.dataNode(node)
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", node.Label(), err)
	}
	for _, p := range b.n.params[before:] {
		b.paramNodes[p] = append(b.paramNodes[p], b.curNode)
	}
	if len(b.n.params) != before || *b.touches != touched || b.readsTrained(node) {
		for _, out := range node.Outputs {
			b.trained[out] = true
		}
	}
	b.n.ops = append(b.n.ops, o.op)
	b.markInfinite(node)
	for i, name := range node.Outputs {
		if name == "" {
			continue
		}
		s := o.out
		if mo, ok := o.op.(multiOutput); ok && i < len(mo.outSlots()) {
			s = mo.outSlots()[i]
		} else if i > 0 {
			return fmt.Errorf("node %s: output %d (%q) is not supported in training", node.Label(), i, name)
		}
		if s < 0 {
			// an integer output the op keeps in Net.computed (TopK's indices)
			b.n.computedNames[name] = true
			continue
		}
		b.define(name, s)
	}
	return nil
}

// multiOutput is an op with one output slot per node output (Split); a slot of -1
// is an integer output the op computes into Net.computed (TopK's indices).
type multiOutput interface{ outSlots() []int }

// built is what a builder function returns: the op and its output slot.
type built struct {
	op  op
	out int
}

type buildFunc func(b *builder, node *graph.Node) (built, error)

var builders map[string]buildFunc

func init() {
	builders = map[string]buildFunc{
		"Conv": buildConv, "Gemm": buildGemm, "MatMul": buildMatMul,
		"Relu": buildUnary, "Clip": buildUnary, "Sigmoid": buildUnary, "LeakyRelu": buildUnary,
		"Add": buildBinary, "Mul": buildBinary, "Sub": buildBinary,
		"MaxPool": buildPool, "AveragePool": buildPool, "GlobalAveragePool": buildPool, "GlobalMaxPool": buildPool,
		"Flatten": buildReshape, "Reshape": buildReshape, "Squeeze": buildReshape, "Unsqueeze": buildReshape,
		"Dropout": buildReshape, "Identity": buildReshape,
	}
	registerMoreOps()
}

func supportedOps() []string {
	out := make([]string, 0, len(builders))
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Params returns the trainable parameters, sorted by name.
func (n *Net) Params() []*Param { return n.params }

// Plan returns the quantization plan (its Model is the graph to calibrate).
func (n *Net) Plan() *quantizer.TrainingPlan { return n.plan }

// SetRanges sets the activation ranges (typically from a calibration pass of
// Plan().Model). Every range-owning activation must be present.
func (n *Net) SetRanges(r quantizer.Ranges) error {
	var missing []string
	for name, ar := range n.ranges {
		if ar.fromConst {
			continue
		}
		v, ok := r[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		ar.lo, ar.hi, ar.set = v[0], v[1], true
	}
	n.calibrated = r
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("qat: no range for %d tensor(s): %s", len(missing), strings.Join(missing, ", "))
	}
	return nil
}

// Ranges returns the current activation ranges, keyed as quantizer.Ranges (every
// quantized activation, shared ones with their source's range).
func (n *Net) Ranges() quantizer.Ranges {
	out := quantizer.Ranges{}
	for _, a := range n.plan.Activations {
		if a.IsFixed {
			continue
		}
		if r := n.ranges[a.Source]; r != nil {
			out[a.Name] = [2]float32{r.lo, r.hi}
		} else if v, ok := n.calibrated[a.Name]; ok {
			// not in the training program (it feeds only integer outputs):
			// the calibrated range, as post-training quantization has it
			out[a.Name] = v
		}
	}
	return out
}

// Forward runs the program on x, batch samples of SampleLen values each (a sample
// holds its inputs' values one input after the other, in InputNames order; integer
// inputs as float32 integers), and returns the first output's shape and data
// (owned by the net until the next call).
func (n *Net) Forward(x []float32, batch int) ([]int, []float32, error) {
	if err := n.feedInputs(x, batch); err != nil {
		return nil, nil, err
	}
	for _, o := range n.ops {
		if err := o.forward(n); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.label(), err)
		}
	}
	out := n.vals[n.output]
	return out.shape, out.data, nil
}

// Backward propagates dLogits (the gradient of the loss with respect to the output of
// the last Forward) to the parameters' gradients (accumulated: call ZeroGrad first).
func (n *Net) Backward(dLogits []float32) {
	n.backwardFrom(n.output, len(n.ops)-1, dLogits)
}

// clearGrads sizes and clears the activations' gradients before a backward pass.
func (n *Net) clearGrads() {
	for i, v := range n.vals {
		if i == n.input && !n.inputGrad {
			v.grad = nil
			continue
		}
		if n.isConst[i] {
			v.grad = nil
			continue
		}
		if f := n.gradFree[i]; f != nil && !(n.inputGrad && f.in == n.input) && !(n.learnRanges && f.r.fixed == nil) {
			v.grad = nil
			continue
		}
		if n.gradWritten[i] {
			v.sizeGrad()
			continue
		}
		v.zeroGrad()
	}
}

// backwardFrom clears the gradients, seeds slot's with d and runs the backward
// passes of the ops [0, last] in reverse.
func (n *Net) backwardFrom(slot, last int, d []float32) {
	n.clearGrads()
	copy(n.vals[slot].grad, d)
	for i := last; i >= 0; i-- {
		n.ops[i].backward(n)
	}
}

// ZeroGrad clears the parameters' gradients.
func (n *Net) ZeroGrad() {
	for _, p := range n.params {
		clear(p.G)
	}
}

// fuseSTEIntoConv lets a convolution whose input is a fake quantization's output,
// read by nothing else, apply that fake quantization's straight-through mask in
// its input gradient's store (the second convolution of each residual block,
// after Conv+Relu+FakeQuant): when the convolution runs its input gradient as a
// shifted GEMM it writes the fake quantization's input gradient directly,
// instead of writing its own input's gradient for the fake quantization to mask
// in another pass over memory. The same float32 operations on the same values
// (STESetF32 on the GEMM's sums, which the separate pass read back), so the
// same bits; where the convolution takes another path, or the fake quantization
// adds to its input's gradient or needs its output's gradient (learned ranges),
// both run as before (convOp.backward decides per step).
//
// A convolution that is the first of several readers of that output (a residual
// block's first convolution: the join's Add reads the block input too) adds its
// input gradient last; its store then writes the fake quantization's input
// gradient from the sum of what the other readers accumulated and its own
// (kernels.RowsSTEAccSetF32: the same additions, then the same mask).
// fuseMinMaxIntoConv lets a convolution's forward store compute the min/max of its
// output for the EMA range of the fake quantization that reads it (alone, or
// through a fused Relu): the range must be known before that fake quantization
// rounds anything, so its own pass would read the whole output once more just for
// them. Min and max are exact, so the range is the same whatever the order. An
// Add (equal shapes: the residual join) computes them in its pass likewise.
func (b *builder) fuseMinMaxIntoConv() {
	n := b.n
	conv := map[int]*convOp{}
	add := map[int]*binaryOp{}
	for _, o := range n.ops {
		switch o := o.(type) {
		case *convOp:
			conv[o.out] = o
		case *binaryOp:
			if o.kind == "Add" {
				add[o.out] = o
			}
		}
	}
	for _, o := range n.ops {
		f, ok := o.(*fqOp)
		if !ok || !f.owner {
			continue
		}
		in := f.in
		if f.relu != nil {
			in = f.relu.in
		}
		if n.isOut[in] {
			continue
		}
		if c := conv[in]; c != nil {
			c.rangeOf, f.rangeFrom = f, c
		} else if a := add[in]; a != nil {
			// the residual join: its pass (fuse_add.go) reads each sum once
			a.rangeOf, f.rangeFrom = f, a
		}
	}
}

func (b *builder) fuseSTEIntoConv() {
	n := b.n
	fq := n.fakeQuantsByOutput()
	for _, o := range n.ops {
		c, ok := o.(*convOp)
		if !ok {
			continue
		}
		f := fq[c.in]
		switch {
		case f == nil:
		case c.writeGrad && b.reads[c.in] == 1:
			c.ste = f
		case b.firstReader[c.in] == c && b.known[c.in] == b.reads[c.in] && !n.isOut[c.in]:
			// the first of several readers, all of them known: its backward
			// pass is the last to reach the gradient of c.in
			c.ste, c.steAcc = f, true
		}
	}
}

// fakeQuantsByOutput indexes the net's fake quantizations by the tensor they
// write (the fusion passes look an operand's producer up by it).
func (n *Net) fakeQuantsByOutput() map[int]*fqOp {
	fq := map[int]*fqOp{}
	for _, o := range n.ops {
		if f, ok := o.(*fqOp); ok {
			fq[f.out] = f
		}
	}
	return fq
}

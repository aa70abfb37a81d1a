package quantizer

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// opRole says how the quantizer treats an operator.
type opRole int

const (
	// roleFloat operators stay in float32: their inputs are dequantized, their outputs
	// are quantized again only if a quantized operator reads them.
	roleFloat opRole = iota
	// roleCompute operators produce a new scale: their output is calibrated.
	roleCompute
	// roleShared operators only move or select values (TFLite: "same scale and zero
	// point on input and output"), so their output reuses their input's parameters.
	roleShared
	// roleFixed operators have output parameters fixed by the spec.
	roleFixed
)

var opRoles = map[string]opRole{
	"Conv": roleCompute, "ConvTranspose": roleCompute, "Gemm": roleCompute, "MatMul": roleCompute,
	"Add": roleCompute, "Sub": roleCompute, "Mul": roleCompute,
	"AveragePool": roleCompute, "GlobalAveragePool": roleCompute, "ReduceMean": roleCompute,
	"Relu": roleCompute, "Clip": roleCompute, "LeakyRelu": roleCompute, "Concat": roleCompute,
	// LSTM and GRU: W and R int8 through DequantizeLinear (recurrentWeights), X and
	// the outputs calibrated; the gates and the cell state stay float32.
	"LSTM": roleCompute, "GRU": roleCompute,

	"MaxPool": roleShared, "GlobalMaxPool": roleShared, "Reshape": roleShared, "Transpose": roleShared,
	"Flatten": roleShared, "Slice": roleShared, "Squeeze": roleShared, "Unsqueeze": roleShared,
	"Pad": roleShared, "Resize": roleShared, "Gather": roleShared, "Split": roleShared,
	"DepthToSpace": roleShared, "SpaceToDepth": roleShared,

	"Sigmoid": roleFixed, "Softmax": roleFixed, "Tanh": roleFixed, "LogSoftmax": roleFixed,
}

// fixedParams are the output parameters the TFLite spec fixes.
var fixedParams = map[string]qparams{
	"Sigmoid":    {scale: 1.0 / 256, zp: -128},
	"Softmax":    {scale: 1.0 / 256, zp: -128},
	"Tanh":       {scale: 1.0 / 128, zp: 0},
	"LogSoftmax": {scale: 16.0 / 256, zp: 127},
}

// fusable producers may absorb a following Relu/Clip: no Q/DQ between them, the
// activation's output is the quantized tensor (a fused conv with a clamped output).
var fusable = map[string]bool{"Conv": true, "ConvTranspose": true, "Gemm": true, "MatMul": true, "Add": true, "Sub": true}

// weightAxis returns, for a node and input index, whether the input is a weight
// quantized per channel, and the channel axis.
func weightAxis(n *graph.Node, i int, w *graph.Tensor) (bool, int) {
	switch n.OpType {
	case "Conv":
		return i == 1, 0
	case "ConvTranspose":
		return i == 1, 1
	case "Gemm":
		if i != 1 {
			return false, 0
		}
		if n.AttrInt("transB", 0) != 0 {
			return true, 0
		}
		return true, 1
	case "MatMul":
		if i != 1 || len(w.Shape) < 2 {
			return false, 0
		}
		return true, len(w.Shape) - 1
	case "LSTM", "GRU":
		// W [dirs, gates*hidden, input] and R [dirs, gates*hidden, hidden]: one
		// scale per gate row, shared by the directions (DequantizeLinear takes a
		// 1-D scale along one axis).
		return (i == 1 || i == 2) && len(w.Shape) == 3, 1
	}
	return false, 0
}

// isBias reports whether input i of n is a bias quantized to int32.
func isBias(n *graph.Node, i int) bool {
	switch n.OpType {
	case "Conv", "ConvTranspose", "Gemm":
		return i == 2
	}
	return false
}

// dataInputs lists the inputs of a quantized operator that carry values to quantize
// (shape, axes, pads and similar control inputs are left alone).
func dataInputs(n *graph.Node) []int {
	switch opRoles[n.OpType] {
	case roleShared, roleFixed:
		return []int{0}
	}
	switch n.OpType {
	case "Conv", "ConvTranspose", "Gemm":
		return []int{0, 1, 2}
	case "MatMul", "Add", "Sub", "Mul":
		return []int{0, 1}
	case "Concat":
		out := make([]int, len(n.Inputs))
		for i := range out {
			out[i] = i
		}
		return out
	}
	return []int{0}
}

// srcKind says where a quantized tensor's parameters come from.
type srcKind int

const (
	srcRange srcKind = iota // calibrated range
	srcInput                // same as another tensor (shared-scale operators, Concat inputs)
	srcFixed                // fixed by the spec
	srcConst                // an initializer's own min/max
)

type paramSrc struct {
	kind  srcKind
	other string
	fixed qparams
	// narrow: a calibrated range at most half as wide as the fixed one replaces it
	// (narrowFixed).
	narrow bool
	// observed: the range calibrated for it is the observed one whatever the method
	// (observedRange).
	observed bool
}

// narrowFixed are the fixed-output operators whose output takes its calibrated range
// when that range is at most half as wide as the spec's. The TFLite spec fixes Tanh's
// output at scale 1/128 for any input; a Tanh that stays small (a vocoder's last layer
// whose samples keep within +-0.12) then has 30 codes, and its output lost 7.5 dB
// against the calibrated range (hifigan_dynT, fifteenth session). A QDQ file states its
// parameters, so ONNX Runtime and the int8 executor run either; a Tanh that spans most
// of [-1, 1] keeps the spec's parameters.
//
// Softmax (twentieth session): attention over n tokens gives probabilities near 1/n;
// at the spec's 1/256, ViT-B/16's 197 tokens put almost every probability on code 0
// or 1 (every attention map 13.7 dB from float32). Probabilities calibrated below 1/2
// take their range, which is the observed one (observedRange).
var narrowFixed = map[string]bool{"Tanh": true, "Softmax": true}

// observedRange are the fixed-output operators whose calibrated range is the observed
// [min, max] whatever the calibration method. A Softmax's largest probabilities are
// its signal, not outliers: a clipping method (ENTROPY, PERCENTILE, MSE, SQNR) cut a
// narrowed attention's peaks, so that every confident probability saturated
// (msdeform_attn_op16 with ENTROPY_ASYM 23.1 -> 15.7 dB, nineteenth session). The
// observed range still narrows a flat attention (its maximum stays far below 1) and
// never clips a calibration sample's probability; a Softmax whose observed maximum
// passes 1/2 keeps the spec's 1/256 (narrowed).
var observedRange = map[string]bool{"Softmax": true}

// narrowed reports whether a fixed-output tensor calibrated to [lo, hi] takes that
// range instead of its fixed parameters (see narrowFixed).
func (s paramSrc) narrowed(lo, hi float64) bool {
	if s.kind != srcFixed || !s.narrow || math.IsNaN(lo) || math.IsNaN(hi) {
		return false
	}
	f := paramsRange(s.fixed)
	l, h := math.Min(lo, 0), math.Max(hi, 0)
	return h > l && l >= f[0] && h <= f[1] && h-l <= (f[1]-f[0])/2
}

// plan is the quantization decision for a graph: which tensors get a Q/DQ pair and
// where their parameters come from.
type plan struct {
	g    *graph.Graph
	prod map[string]*graph.Node
	cons map[string][]*graph.Node
	// quantOp marks the nodes that run quantized.
	quantOp map[*graph.Node]bool
	// fused marks producer outputs that a fused Relu/Clip reads directly.
	fused map[string]bool
	// acts lists the quantized activations in graph order; src says how each gets its
	// parameters.
	acts []string
	src  map[string]paramSrc
	// consts lists float initializers that quantized operators read as plain data
	// (not weights or biases): they are stored as int8 with their own range.
	consts map[string]bool
	// notes explains operators left in float.
	notes []string
	// takesFloat lists the quantizable nodes left in float32 because they read an
	// excluded node's output.
	takesFloat []string
	// opset is the model's default-domain opset.
	opset int64
	// regionEnd maps the last node of a region (regions.go) to the region: its root
	// and output are quantized, its inside is not.
	regionEnd map[*graph.Node]*region
	// shapeVals are the tensors computed from shapes alone (plan_shape.go).
	shapeVals map[string]bool
	// maskVals are the tensors that carry an attention mask (plan_mask.go).
	maskVals map[string]bool
	// coordVals are the tensors that hold sampling locations (plan_coord.go).
	coordVals map[string]bool
	// intVals are the values turned into integers (plan_integer.go).
	intVals map[string]bool
	// warnings are said whatever the verbosity (plan_shape.go).
	warnings []string
	// ruled lists the nodes a stated rule keeps in float32 (plan_norm.go), for the
	// model's metadata (MetaFloatRules).
	ruled []FloatRule
	// normInputs are the inputs of the layer normalizations (plan_normrows.go), whose
	// row spread the calibrator measures; rowSpread is that measure (dB), when known.
	normInputs map[string]normInput
	rowSpread  map[string]float64
}

func (p *plan) isFloat(name string) bool {
	v := p.g.Values[name]
	if v == nil || v.DType == graph.Undefined {
		if t := p.g.Initializers[name]; t != nil {
			return t.DType == graph.Float32
		}
		return false // type unknown even after shape inference: leave it alone
	}
	return v.DType == graph.Float32 && !v.Seq // a sequence is no tensor (plan_sequence.go)
}

func (p *plan) isConst(name string) bool { return p.g.Initializers[name] != nil }

// makePlan decides how to quantize g (which must be topologically sorted with shapes
// inferred). exclude names nodes to keep in float.
func makePlan(g *graph.Graph, opset int64, exclude map[string]bool) (*plan, error) {
	return makePlanRows(g, opset, exclude, nil)
}

// makePlanRows is makePlan with the calibrated row spread of the layer
// normalizations' inputs (plan_normrows.go).
func makePlanRows(g *graph.Graph, opset int64, exclude map[string]bool, rowSpread map[string]float64) (*plan, error) {
	p := &plan{
		normInputs: map[string]normInput{}, rowSpread: rowSpread,
		g: g, prod: g.Producers(), cons: g.Consumers(),
		quantOp: map[*graph.Node]bool{}, fused: map[string]bool{},
		src: map[string]paramSrc{}, consts: map[string]bool{},
		opset: opset, regionEnd: map[*graph.Node]*region{},
		shapeVals: shapeValues(g), maskVals: maskValues(g), coordVals: coordValues(g),
	}
	for name := range nanGuarded(g) {
		p.maskVals[name] = true
	}
	for name := range pooledForIndices(g) {
		p.coordVals[name] = true
	}
	intSinks := map[*graph.Node]bool{}
	p.intVals, intSinks = integerValues(g, p.isFloat, p.shapeVals)
	for _, n := range g.Nodes {
		if ok, why := p.quantizable(n); ok && !exclude[n.Name] {
			p.quantOp[n] = true
		} else if why != "" {
			p.notes = append(p.notes, fmt.Sprintf("%s stays float32: %s", n.Label(), why))
		} else if exclude[n.Name] {
			p.notes = append(p.notes, fmt.Sprintf("%s stays float32: excluded", n.Label()))
		}
	}
	// A fallback leaves an excluded node's outputs in float32 for every consumer: a
	// quantizable consumer that reads one as data takes float (it runs in float32; its
	// own output is quantized again if a quantized operator reads it). Quantizing the
	// tensor for the consumer instead would keep exactly the error the exclusion was
	// meant to remove (a residual Add reading an excluded stem kept the stem's range).
	floatOut := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		if exclude[n.Name] {
			for _, o := range n.Outputs {
				floatOut[o] = n
			}
		}
	}
	for _, n := range g.Nodes {
		if !p.quantOp[n] {
			continue
		}
		for _, i := range dataInputs(n) {
			if x := floatOut[n.Input(i)]; x != nil {
				delete(p.quantOp, n)
				p.takesFloat = append(p.takesFloat, n.Name)
				p.notes = append(p.notes, fmt.Sprintf("%s stays float32: it reads %q, the float32 output of excluded %s", n.Label(), n.Input(i), x.Label()))
				break
			}
		}
	}
	p.noteIntegerRule(intSinks)
	p.noteMLRule()       // plan_ml.go
	p.noteSequenceRule() // plan_sequence.go
	p.keepLogInputsFloat()
	var inRegion []*graph.Node
	for _, r := range p.keepSpectraFloat(p.findRegions(exclude)) { // plan_spectral.go
		for _, n := range r.nodes {
			delete(p.quantOp, n)
		}
		if r.norm != nil {
			p.normInputs[r.root] = *r.norm
			if db, ok := p.rowSpread[r.root]; ok && db >= normRowsMinDB {
				p.keepNormInputFloat(&r, db)
			}
		}
		inRegion = append(inRegion, r.nodes...)
		p.regionEnd[r.nodes[len(r.nodes)-1]] = &r
	}
	p.bareLayerNorms(inRegion, exclude) // plan_normrows.go
	p.warnSizeDependent(inRegion)
	// Fuse Relu/Clip into the producer of their input.
	for _, n := range g.Nodes {
		if !p.quantOp[n] || (n.OpType != "Relu" && n.OpType != "Clip") {
			continue
		}
		x := n.Input(0)
		pr := p.prod[x]
		if pr == nil || !p.quantOp[pr] || !fusable[pr.OpType] || len(p.cons[x]) != 1 || g.IsGraphOutput(x) {
			continue
		}
		p.fused[x] = true
	}
	seen := map[string]bool{}
	add := func(name string) {
		if name == "" || seen[name] || p.fused[name] || !p.isFloat(name) {
			return
		}
		seen[name] = true
		if p.isConst(name) {
			p.consts[name] = true
			return
		}
		p.acts = append(p.acts, name)
	}
	// Graph inputs first so that the order is the data flow order.
	for _, in := range g.Inputs {
		for _, c := range p.cons[in.Name] {
			if p.quantOp[c] && containsInput(c, dataInputs(c), in.Name) {
				add(in.Name)
			}
		}
	}
	for _, n := range g.Nodes {
		if r := p.regionEnd[n]; r != nil {
			if !r.floatRoot {
				add(r.root)
			}
			add(r.out)
		}
		if !p.quantOp[n] {
			continue
		}
		for _, i := range dataInputs(n) {
			name := n.Input(i)
			if name == "" {
				continue
			}
			if p.isConst(name) {
				if ok, _ := weightAxis(n, i, g.Initializers[name]); ok || isBias(n, i) {
					continue
				}
			}
			add(name)
		}
		for _, o := range n.Outputs {
			add(o)
		}
	}
	// Parameter sources.
	for _, name := range p.acts {
		p.src[name] = paramSrc{kind: srcRange}
		n := p.prod[name]
		if n == nil || !p.quantOp[n] {
			continue
		}
		switch opRoles[n.OpType] {
		case roleShared:
			in := n.Input(0)
			if p.consts[in] {
				p.src[name] = paramSrc{kind: srcInput, other: in}
			} else if _, ok := p.src[in]; ok {
				p.src[name] = paramSrc{kind: srcInput, other: in}
			}
		case roleFixed:
			p.src[name] = paramSrc{kind: srcFixed, fixed: fixedParams[n.OpType], narrow: narrowFixed[n.OpType], observed: observedRange[n.OpType]}
		}
	}
	// Concat: an input that only the Concat reads takes the Concat's output parameters
	// directly (no requantization), as TFLite's quantizer does. So does a Gather (or
	// other shared-parameter operator) of a constant table (twenty-third session): it
	// shared the table's parameters and was requantized to the Concat's, written
	// DQ(table) -> Gather -> Q -> DQ -> Q -> DQ; the first pair reproduces the table's
	// own codes (no value changes without it), and ONNX Runtime's
	// DoubleQDQPairsRemover rewrote the two pairs to one on another grid
	// (canine_bytes_op13's eight hash tables: ORT level "basic" 27.7 dB from the file).
	for _, n := range g.Nodes {
		if !p.quantOp[n] || n.OpType != "Concat" {
			continue
		}
		out := n.Outputs[0]
		for _, in := range n.Inputs {
			s, ok := p.src[in]
			if !ok || len(p.cons[in]) != 1 || g.IsGraphOutput(in) || g.Input(in) != nil {
				continue
			}
			pr := p.prod[in]
			if pr == nil || !p.quantOp[pr] {
				continue
			}
			if s.kind == srcRange || s.kind == srcInput && p.consts[s.other] {
				p.src[in] = paramSrc{kind: srcInput, other: out}
			}
		}
	}
	return p, nil
}

func containsInput(n *graph.Node, idx []int, name string) bool {
	for _, i := range idx {
		if n.Input(i) == name {
			return true
		}
	}
	return false
}

// quantizable reports whether a node can run quantized, and if not (for operators the
// quantizer knows), why.
func (p *plan) quantizable(n *graph.Node) (bool, string) {
	if n.Domain != "" {
		return false, ""
	}
	if _, known := opRoles[n.OpType]; !known {
		return false, ""
	}
	for _, o := range n.Outputs {
		if o != "" && !p.isFloat(o) {
			return false, fmt.Sprintf("output %q is not float32", o)
		}
	}
	if !p.isFloat(n.Input(0)) {
		return false, fmt.Sprintf("input %q is not float32", n.Input(0))
	}
	if p.shapeVals[n.Input(0)] {
		return false, fmt.Sprintf("input %q is computed from tensor shapes", n.Input(0))
	}
	if p.touchesMask(n) {
		return false, "it carries an attention mask (computed from an infinite or 1e30-sized constant)"
	}
	if p.makesCoord(n) {
		return false, "it computes sampling locations (a GridSample grid): 8 bits would move the samples"
	}
	if p.turnsInteger(n) {
		return false, "it computes or reads a value turned into an integer or index (Round/Floor/Ceil/Cast to int/ArgMax/TopK/a count): 8 bits would move the integer"
	}
	switch n.OpType {
	case "Conv", "ConvTranspose":
		w := p.g.Initializers[n.Input(1)]
		if w == nil || w.DType != graph.Float32 {
			return false, "its weight is not a float32 initializer"
		}
		if b := n.Input(2); b != "" && (p.g.Initializers[b] == nil || p.g.Initializers[b].DType != graph.Float32) {
			return false, "its bias is not a float32 initializer"
		}
	case "LSTM", "GRU":
		return recurrentQuantizable(p.g, n)
	case "Gemm":
		if b := p.g.Initializers[n.Input(1)]; b != nil && len(b.Shape) != 2 {
			return false, "its weight is not 2-D"
		}
		if c := n.Input(2); c != "" && p.g.Initializers[c] == nil {
			return false, "its bias C is not an initializer"
		}
	case "Clip":
		for i := 1; i < 3; i++ {
			if in := n.Input(i); in != "" && p.g.Initializers[in] == nil {
				return false, "its min/max are not constants"
			}
		}
	case "Pad":
		if n.AttrString("mode", "constant") != "constant" {
			break
		}
		if v := n.Input(2); v != "" {
			t := p.g.Initializers[v]
			if t == nil {
				return false, "its pad value is not a constant"
			}
			if f := t.F32(); len(f) != 1 || f[0] != 0 {
				return false, "its pad value is not 0 (not exactly representable in every scale)"
			}
		} else if n.AttrFloat("value", 0) != 0 {
			return false, "its pad value is not 0 (not exactly representable in every scale)"
		}
	case "Resize":
		if mode := n.AttrString("mode", "nearest"); mode != "nearest" && mode != "linear" {
			return false, fmt.Sprintf("mode %q does not keep values inside the input range", mode)
		}
	case "Gather":
		if !p.isFloat(n.Input(0)) {
			return false, "its data is not float32"
		}
	}
	return true, ""
}

// keepLogInputsFloat leaves in float32 the quantizable nodes whose outputs only
// Log, Sin or Cos read, directly or through other such nodes.
//
// Log (fourteenth session): a log-mel front end takes Log of a power spectrum
// spanning ten decades: quantized linearly over [0, max], everything under
// max/255 becomes code 0, the Clip after it makes that 1e-10, and Log spreads the
// damage over the whole spectrogram (whisper_stft_op17 of --unseen9: the log-mel
// 12.1 dB from float32, every value of the quiet bins at the floor).
//
// Sin and Cos (seventeenth session): the argument's quantization error is the
// result's absolute error, and arguments are angles over many periods: a
// diffusion model's timestep embedding takes sin/cos of t*f for t up to 1000 (an
// int8 step of 4 radians: ddpm_unet_op13 of --unseen12 had its embedding at
// -0.5 dB and its output 17 dB from float32), a NeRF positional encoding of
// 2^k x, a SIREN layer of 30(Wx+b).
//
// None of these has an int8 form, so nothing that runs int8 is lost; the nodes
// run float32 and their inputs are dequantized as for any float32 consumer.
func (p *plan) keepLogInputsFloat() {
	why := map[string]string{
		"Log": "only Log reads its output (small values would all quantize to 0)",
		"Sin": "only Sin/Cos read its output (an angle's int8 step is an absolute error of the result)",
		"Cos": "only Sin/Cos read its output (an angle's int8 step is an absolute error of the result)",
	}
	// node -> the reason its output stays float32. Float32 nodes get one too, so
	// that the reason passes through them (a sum of squares, its root, to the
	// demodulating Div of a computed weight).
	feeds := map[*graph.Node]string{}
	for i := len(p.g.Nodes) - 1; i >= 0; i-- {
		n := p.g.Nodes[i]
		only := len(n.Outputs) > 0
		reason := ""
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if p.g.IsGraphOutput(o) || len(p.cons[o]) == 0 {
				only = false
				break
			}
			for _, c := range p.cons[o] {
				r := feeds[c]
				switch {
				case c.Domain == "" && why[c.OpType] != "":
					r = why[c.OpType]
				case r == "" && p.floatWeightOnly(c, o):
					r = fmt.Sprintf("it computes the weight of %s, which runs float32 (its weight is not a constant)", c.Label())
				case r == "" && !p.quantOp[c]:
					// A float32 consumer beside the others (the sum of squares
					// demodulating a computed weight) needs no int8 copy either.
					continue
				}
				if r == "" {
					only = false
					break
				}
				reason = r
			}
		}
		if !only || reason == "" {
			continue
		}
		feeds[n] = reason
		if p.quantOp[n] {
			delete(p.quantOp, n)
			p.notes = append(p.notes, fmt.Sprintf("%s stays float32: %s", n.Label(), reason))
		}
	}
}

// floatWeightOnly reports whether c reads o only as the weight of a convolution
// that runs float32 because its weight is computed at run time (StyleGAN's
// modulated convolution: the weight times a per-sample style, demodulated, batch
// folded into groups; stylegan_modconv_op13 of --unseen12 had that weight
// quantized per tensor twice on its way, 35.8 dB, while the convolution ran in
// float32 anyway).
func (p *plan) floatWeightOnly(c *graph.Node, o string) bool {
	if c.Domain != "" || (c.OpType != "Conv" && c.OpType != "ConvTranspose") || p.quantOp[c] || p.isConst(c.Input(1)) {
		return false
	}
	for i, in := range c.Inputs {
		if in == o && i != 1 {
			return false
		}
	}
	return c.Input(1) == o
}

// recurrentQuantizable tells whether an LSTM or GRU gets int8 weights: the int8
// executor runs them with int8 products (runtime/lower/rnn.go) when W and R are
// float32 constants, X is sequence-first and a GRU applies its reset gate after
// the recurrent product (linear_before_reset = 1, as torch.onnx exports it).
// Otherwise int8 weights would only add error, so the operator stays float32.
func recurrentQuantizable(g *graph.Graph, n *graph.Node) (bool, string) {
	for i, what := range []string{"W", "R"} {
		w := g.Initializers[n.Input(1+i)]
		if w == nil || w.DType != graph.Float32 || len(w.Shape) != 3 {
			return false, fmt.Sprintf("its %s is not a 3-D float32 initializer", what)
		}
	}
	if n.AttrInt("layout", 0) != 0 {
		return false, "batch-first layout (the int8 recurrent kernel takes sequence-first X)"
	}
	if n.OpType == "GRU" && n.AttrInt("linear_before_reset", 0) == 0 && !graph.GRUDefaultCell(n) {
		return false, "linear_before_reset = 0 with a clip or other activations than Sigmoid, Tanh (that int8 GRU runs the default cell only)"
	}
	return true, ""
}

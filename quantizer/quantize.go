package quantizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// ErrAlreadyQuantized is returned (wrapped) for a model that already contains
// quantization operators: there is nothing to do. Such models (QDQ models from PyTorch
// or ONNX Runtime, e.g. after quantization-aware training) run as they are.
var ErrAlreadyQuantized = errors.New("model is already quantized")

// Format selects how the quantized model is written.
type Format int

const (
	// FormatQDQ writes QuantizeLinear/DequantizeLinear pairs around float operators,
	// the form ONNX Runtime's quantizer writes and runtimes fuse into integer kernels.
	FormatQDQ Format = iota
	// FormatQOperator additionally replaces Conv and MatMul/Gemm by QLinearConv and
	// QLinearMatMul, and runs shape operators (MaxPool, Reshape, ...) directly on int8.
	FormatQOperator
)

func (f Format) String() string {
	if f == FormatQOperator {
		return "qoperator"
	}
	return "qdq"
}

// ParseFormat parses "qdq" or "qoperator" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "qdq", "":
		return FormatQDQ, nil
	case "qoperator", "qop", "qlinear":
		return FormatQOperator, nil
	}
	return 0, fmt.Errorf("unknown format %q (valid: qdq, qoperator)", s)
}

// QuantOptions configure Quantize.
type QuantOptions struct {
	Format Format
	// Exclude names nodes to keep in float32 (e.g. the layers a Compare report shows as
	// the most sensitive).
	Exclude []string
	// CalibMethod, CalibSamples and Percentile are recorded in the model's metadata.
	CalibMethod  string
	CalibSamples int
	Percentile   float64
	// Notes receives explanations of operators left in float32.
	Notes func(string)
	// Warn receives what the caller should act on (int8 ranges that hold only at
	// the calibrated input size).
	Warn func(string)
	// RowSpread is the calibrated row spread (dB) of the layer normalizations'
	// inputs (Calibrator.RowSpread): a normalization whose input rows spread by 3 dB
	// or more reads its input in float32 (plan_normrows.go). Nil: the rule is off.
	RowSpread map[string]float64
}

// Metadata keys written into quantized models.
const (
	MetaFormat       = "warboy.quantization.format"
	MetaMethod       = "warboy.quantization.method"
	MetaSamples      = "warboy.quantization.calibration_samples"
	MetaPercentile   = "warboy.quantization.percentile"
	MetaTool         = "warboy.quantization.tool"
	MetaWeights      = "warboy.quantization.weights"
	MetaActivations  = "warboy.quantization.activations"
	metaInputPrefix  = "warboy.input."
	metaOutputPrefix = "warboy.output."
)

// MetaFloatRules lists the nodes kept in float32 by a stated rule (not by an
// exclusion or a missing int8 form): JSON [{"rule": ..., "nodes": [...]}]
// (FloatRules; `warboy inspect` shows the rule beside each node).
const MetaFloatRules = "warboy.quantization.float_rules"

// Quantize returns an int8 version of m following the TFLite int8 spec: per-tensor
// asymmetric int8 activations with parameters from r, per-channel symmetric int8
// weights, int32 biases with scale s_in*s_w. The model is first optimized (Optimize)
// and raised to opset 13; m itself is not modified. Ranges must cover every tensor
// the quantized operators read or write, with the names of the optimized model
// (NewCalibrator calibrates exactly those).
func Quantize(m *graph.Model, r Ranges, opts QuantOptions) (*graph.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("quantize: nil model")
	}
	if err := checkNotQuantized(m); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	q, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	p, err := planModelRows(q, liveExclusions(m, q, opts.Exclude), opts.RowSpread)
	if err != nil {
		return nil, err
	}
	params, err := p.resolve(r)
	if err != nil {
		return nil, err
	}
	rw := &rewriter{g: q.Graph, p: p, params: params}
	if err := rw.run(); err != nil {
		return nil, err
	}
	if opts.Notes != nil {
		for _, s := range p.notes {
			opts.Notes(s)
		}
	}
	if opts.Warn != nil {
		for _, s := range p.warnings {
			opts.Warn(s)
		}
	}
	dropImpliedActivations(q.Graph, p.fused)
	q.Graph.RemoveUnused()
	if opts.Format == FormatQOperator {
		if err := toQOperator(q); err != nil {
			return nil, err
		}
	}
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, fmt.Errorf("quantize: the quantized graph is invalid (a quantizer bug): %w", err)
	}
	recordMeta(q, opts)
	if len(p.ruled) > 0 {
		b, err := json.Marshal(p.ruled)
		if err != nil {
			return nil, err
		}
		q.Metadata[MetaFloatRules] = string(b)
	}
	return q, nil
}

func recordMeta(q *graph.Model, opts QuantOptions) {
	if q.Metadata == nil {
		q.Metadata = map[string]string{}
	}
	q.Metadata[MetaFormat] = opts.Format.String()
	q.Metadata[MetaTool] = "warboy-quantizer " + Version
	q.Metadata[MetaWeights] = "int8 symmetric per-channel [-127,127]"
	q.Metadata[MetaActivations] = "int8 asymmetric per-tensor"
	method := opts.CalibMethod
	if method == "" {
		method = "unknown (ranges given)"
	}
	q.Metadata[MetaMethod] = method
	if opts.CalibSamples > 0 {
		q.Metadata[MetaSamples] = strconv.Itoa(opts.CalibSamples)
	}
	if opts.Percentile > 0 {
		q.Metadata[MetaPercentile] = strconv.FormatFloat(opts.Percentile, 'g', -1, 64)
	}
	q.ProducerName = "warboy"
	q.ProducerVersion = Version
}

// CheckFloat returns an error wrapping ErrAlreadyQuantized, naming the first
// quantization operator, when m is already quantized.
func CheckFloat(m *graph.Model) error { return checkNotQuantized(m) }

// checkNotQuantized refuses models that already contain quantization operators.
func checkNotQuantized(m *graph.Model) error {
	if !m.Graph.IsQuantized() {
		return nil
	}
	for _, n := range m.Graph.Nodes {
		if graph.IsQuantizedOp(n.OpType) {
			return fmt.Errorf("%w (it contains %s)", ErrAlreadyQuantized, n.Label())
		}
	}
	return ErrAlreadyQuantized
}

// liveExclusions drops from exclude the nodes of m that optimizing it removed: a
// shape computation folded to a constant once the input shapes are bound (an
// accuracy-budget island of a symbolic-shape model, written with --input-shape)
// runs nothing to keep in float32. Names that are in neither model stay, for
// planModel to refuse.
func liveExclusions(m, q *graph.Model, exclude []string) []string {
	if len(exclude) == 0 {
		return exclude
	}
	inQ, inM := map[string]bool{}, map[string]bool{}
	for _, n := range q.Graph.Nodes {
		inQ[n.Name] = true
	}
	for _, n := range m.Graph.Nodes {
		name := n.Name
		if name == "" {
			continue
		}
		inM[name] = true
	}
	var out []string
	for _, e := range exclude {
		if inQ[e] || !inM[e] {
			out = append(out, e)
		}
	}
	return out
}

// planModel raises the opset, infers shapes and plans the quantization of an
// optimized model.
func planModel(q *graph.Model, exclude []string) (*plan, error) {
	return planModelRows(q, exclude, nil)
}

// planModelRows is planModel with the calibrated row spread of the layer
// normalizations' inputs (QuantOptions.RowSpread).
func planModelRows(q *graph.Model, exclude []string, rowSpread map[string]float64) (*plan, error) {
	if err := upgradeOpset(q, 13); err != nil {
		return nil, err
	}
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, err
	}
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	known := map[string]bool{}
	for _, n := range q.Graph.Nodes {
		known[n.Name] = true
	}
	for _, e := range exclude {
		if !known[e] {
			return nil, fmt.Errorf("quantize: excluded node %q is not in the model", e)
		}
	}
	return makePlanRows(q.Graph, q.Opset(), ex, rowSpread)
}

// resolve computes the parameters of every quantized tensor.
func (p *plan) resolve(r Ranges) (map[string]qparams, error) {
	out := map[string]qparams{}
	for name := range p.consts {
		out[name] = constParams(p.g.Initializers[name])
	}
	var missing []string
	seen := map[string]bool{}
	var get func(name string, depth int) (qparams, bool)
	get = func(name string, depth int) (qparams, bool) {
		if v, ok := out[name]; ok {
			return v, true
		}
		if depth > len(p.acts)+1 {
			return qparams{}, false
		}
		s := p.src[name]
		var v qparams
		switch s.kind {
		case srcRange:
			rg, ok := r[name]
			if !ok {
				if !seen[name] {
					seen[name] = true
					missing = append(missing, name)
				}
				return qparams{}, false
			}
			v = paramsFromRange(rg[0], rg[1])
		case srcInput:
			var ok bool
			if v, ok = get(s.other, depth+1); !ok {
				return qparams{}, false
			}
		case srcFixed:
			v = s.fixed
			if rg, ok := r[name]; ok && s.narrowed(float64(rg[0]), float64(rg[1])) {
				v = paramsFromRange(rg[0], rg[1])
			}
		}
		out[name] = v
		return v, true
	}
	for _, name := range p.acts {
		get(name, 0)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		need := append([]string(nil), p.acts...)
		sort.Strings(need)
		return nil, &MissingRangesError{Missing: missing, Needed: need}
	}
	return out, nil
}

// MissingRangesError is returned by Quantize when the ranges given lack tensors it
// quantizes (a partial or foreign ranges file). The ranges of a complete set come from
// calibrating the same model with the same Exclude list.
type MissingRangesError struct {
	// Missing are the tensors without a range; Needed are all the activations Quantize
	// quantizes (some take another tensor's parameters, so a complete ranges file, as
	// written by a calibration, has them all). Both are sorted, without duplicates.
	Missing, Needed []string
}

func (e *MissingRangesError) Error() string {
	list := e.Missing
	if len(list) > 5 {
		list = append(list[:5:5], fmt.Sprintf("... (%d more)", len(e.Missing)-5))
	}
	return fmt.Sprintf("quantize: the ranges have no entry for %d of the %d tensor(s) to quantize: %s (calibrate the model with the same Exclude list)",
		len(e.Missing), len(e.Needed), strings.Join(list, ", "))
}

// rewriter inserts Q/DQ nodes and quantized initializers.
type rewriter struct {
	g      *graph.Graph
	p      *plan
	params map[string]qparams
	nodes  []*graph.Node
	// alias maps the dequantized copy of a graph input to the input's name.
	alias map[string]string
}

// paramsOf returns the parameters of a quantized tensor read under name.
func (rw *rewriter) paramsOf(name string) (qparams, bool) {
	if a, ok := rw.alias[name]; ok {
		name = a
	}
	q, ok := rw.params[name]
	return q, ok
}

func (rw *rewriter) name(base string) string {
	n := rw.g.UniqueName(base)
	rw.g.Values[n] = &graph.Value{Name: n} // reserve
	return n
}

func (rw *rewriter) isGraphOutput(name string) bool {
	for _, o := range rw.g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func (rw *rewriter) setValue(name string, dt graph.DType, like string) {
	v := &graph.Value{Name: name, DType: dt}
	if old := rw.g.Values[like]; old != nil && old.HasShape {
		v.Shape, v.HasShape = append(graph.Shape(nil), old.Shape...), true
		if rw.isGraphOutput(like) {
			// A graph output's shape is the one its file declares, which names
			// symbolic sizes as the exporter was told (dynamic_axes naming an
			// upscaler's output sizes like its input's): written on the internal
			// tensor it becomes a claim ONNX Runtime plans buffers by, and fails
			// on. Only its fixed sizes are kept there.
			for i := range v.Shape {
				if v.Shape[i].Size < 0 {
					v.Shape[i] = graph.Dim{Size: -1}
				}
			}
		}
	} else if t := rw.g.Initializers[like]; t != nil {
		v.Shape, v.HasShape = graph.ShapeOf(t.Shape...), true
	}
	rw.g.Values[name] = v
}

func (rw *rewriter) addInit(base string, t *graph.Tensor) string {
	n := rw.name(base)
	rw.g.Initializers[n] = t
	rw.g.Values[n] = &graph.Value{Name: n, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
	return n
}

// scaleInits adds per-tensor scale and zero-point initializers.
func (rw *rewriter) scaleInits(base string, q qparams) (string, string) {
	s := rw.addInit(base+"_scale", graph.FromFloat32(nil, []float32{q.scale}))
	z := rw.addInit(base+"_zero_point", graph.FromInt8(nil, []int8{q.zp}))
	return s, z
}

// qdq emits QuantizeLinear(from) -> DequantizeLinear -> to, with parameters q.
func (rw *rewriter) qdq(base, from, to string, q qparams) {
	s, z := rw.scaleInits(base, q)
	mid := rw.name(base + "_QuantizeLinear_Output")
	rw.setValue(mid, graph.Int8, from)
	rw.nodes = append(rw.nodes,
		&graph.Node{Name: rw.name(base + "_QuantizeLinear"), OpType: "QuantizeLinear", Inputs: []string{from, s, z}, Outputs: []string{mid}},
		&graph.Node{Name: rw.name(base + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []string{mid, s, z}, Outputs: []string{to}})
}

// dq emits DequantizeLinear over a quantized initializer qt (per axis when axis >=
// 0) and returns its output, a float tensor of qt's shape.
func (rw *rewriter) dq(base string, qt *graph.Tensor, scales []float32, zp *graph.Tensor, axis int) string {
	qn := rw.addInit(base+"_quantized", qt)
	var s string
	if axis < 0 {
		s = rw.addInit(base+"_scale", graph.FromFloat32(nil, scales))
	} else {
		s = rw.addInit(base+"_scale", graph.FromFloat32([]int{len(scales)}, scales))
	}
	z := rw.addInit(base+"_zero_point", zp)
	out := rw.name(base + "_DequantizeLinear_Output")
	rw.g.Values[out] = &graph.Value{Name: out, DType: graph.Float32, Shape: graph.ShapeOf(qt.Shape...), HasShape: true}
	n := &graph.Node{Name: rw.name(base + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []string{qn, s, z}, Outputs: []string{out}}
	if axis >= 0 {
		n.SetAttrInt("axis", int64(axis))
	}
	rw.nodes = append(rw.nodes, n)
	return out
}

// constDQ stores a float initializer as int8 with parameters q.
func (rw *rewriter) constDQ(name string, q qparams) string {
	t := rw.g.Initializers[name]
	data := t.F32()
	qd := make([]int8, len(data))
	for i, v := range data {
		qd[i] = quantizeValue(v, q)
	}
	qn := rw.addInit(name+"_quantized", graph.FromInt8(t.Shape, qd))
	s, z := rw.scaleInits(name, q)
	out := rw.name(name + "_DequantizeLinear_Output")
	rw.setValue(out, graph.Float32, name)
	rw.nodes = append(rw.nodes, &graph.Node{Name: rw.name(name + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []string{qn, s, z}, Outputs: []string{out}})
	return out
}

func (rw *rewriter) run() error {
	g, p := rw.g, rw.p
	old := g.Nodes
	quantized := map[string]bool{}
	for _, a := range p.acts {
		quantized[a] = true
	}
	// Graph inputs: Q/DQ at the top, consumers read the dequantized copy.
	for _, in := range g.Inputs {
		if !quantized[in.Name] {
			continue
		}
		out := rw.name(in.Name + "_DequantizeLinear_Output")
		rw.setValue(out, graph.Float32, in.Name)
		if rw.alias == nil {
			rw.alias = map[string]string{}
		}
		rw.alias[out] = in.Name
		for _, n := range old {
			for i, x := range n.Inputs {
				if x == in.Name {
					n.Inputs[i] = out
				}
			}
		}
		rw.qdq(in.Name, in.Name, out, rw.params[in.Name])
	}
	for _, n := range old {
		if p.quantOp[n] {
			if err := rw.quantizeInputs(n); err != nil {
				return err
			}
		}
		rw.nodes = append(rw.nodes, n)
		for i, o := range n.Outputs {
			if !quantized[o] {
				continue
			}
			pre := rw.name(o + "_QuantizeLinear_Input")
			rw.setValue(pre, graph.Float32, o)
			n.Outputs[i] = pre
			rw.qdq(o, pre, o, rw.params[o])
		}
	}
	g.Nodes = rw.nodes
	return nil
}

// quantizeInputs replaces the weights, biases and constants a quantized node reads
// with dequantized int8/int32 initializers, and requantizes Concat inputs whose
// parameters differ from the output's.
func (rw *rewriter) quantizeInputs(n *graph.Node) error {
	g := rw.g
	if n.OpType == "Gemm" {
		foldGemmScalars(g, n)
	}
	// Weights first: the bias scale depends on the weight scales.
	sIn, haveIn := rw.paramsOf(n.Input(0))
	var wScales []float32
	for i, name := range n.Inputs {
		w := g.Initializers[name]
		if name == "" || w == nil || w.DType != graph.Float32 {
			continue
		}
		ok, axis := weightAxis(n, i, w)
		if !ok {
			continue
		}
		if !haveIn {
			return fmt.Errorf("quantize: %s: input %q has no quantization parameters", n.Label(), n.Input(0))
		}
		var minScales []float64
		nch := w.Shape[axis]
		if b := g.Initializers[n.Input(2)]; isBias(n, 2) && b != nil && b.DType == graph.Float32 {
			if bias, ok := biasVector(b, outChannels(n, nch)); ok {
				minScales = adjustForBias(bias, sIn.scale, nch, biasChannel(n, nch))
			}
		}
		q, scales := perChannelWeights(w, axis, minScales)
		wScales = scales
		zp := graph.FromInt8([]int{len(scales)}, make([]int8, len(scales)))
		n.Inputs[i] = rw.dq(name, graph.FromInt8(w.Shape, q), scales, zp, axis)
	}
	data := dataInputs(n)
	for i, name := range n.Inputs {
		t := g.Initializers[name]
		if name == "" || t == nil || t.DType != graph.Float32 {
			continue
		}
		switch {
		case isBias(n, i):
			if wScales == nil {
				continue // the weight is an activation: the bias stays float32
			}
			nch := len(wScales)
			bias, ok := biasVector(t, outChannels(n, nch))
			if !ok {
				rw.p.notes = append(rw.p.notes, fmt.Sprintf("%s: bias %q of shape %v is not one value per output channel; kept in float32", n.Label(), name, t.Shape))
				continue
			}
			q, scales := quantizeBias(bias, sIn.scale, wScales, biasChannel(n, nch))
			zp := graph.FromInt32([]int{len(q)}, make([]int32, len(q)))
			n.Inputs[i] = rw.dq(name, graph.FromInt32([]int{len(q)}, q), scales, zp, 0)
		case containsInput(n, data, name):
			q := rw.params[name] // constants are keyed by their own name
			if n.OpType == "Concat" {
				q = rw.params[n.Outputs[0]] // constants are stored at the output's scale
			}
			n.Inputs[i] = rw.constDQ(name, q)
		}
	}
	if n.OpType == "Concat" {
		out := rw.params[n.Outputs[0]]
		for i, in := range n.Inputs {
			q, ok := rw.paramsOf(in)
			if !ok || q == out || rw.p.consts[in] {
				continue
			}
			to := rw.name(in + "_requantized")
			rw.setValue(to, graph.Float32, in)
			rw.qdq(in+"_requantized", in, to, out)
			n.Inputs[i] = to
		}
	}
	return nil
}

// outChannels is the number of output channels of a weighted node whose weight has
// nch channels along its quantization axis.
func outChannels(n *graph.Node, nch int) int {
	if n.OpType == "ConvTranspose" {
		return nch * int(n.AttrInt("group", 1))
	}
	return nch
}

// biasChannel maps a bias index to its weight channel. ConvTranspose weights are
// [C_in, C_out/group, ...]: output channel oc uses weight channel oc mod C_out/group.
func biasChannel(n *graph.Node, nch int) func(int) int {
	if n.OpType == "ConvTranspose" {
		return func(i int) int { return i % nch }
	}
	return func(i int) int { return i }
}

// biasVector returns a bias as one value per output channel, broadcasting a scalar or
// reshaping [1, N]; false when the bias is not per channel (e.g. a full [M, N] Gemm C).
func biasVector(t *graph.Tensor, nout int) ([]float32, bool) {
	d := t.F32()
	switch {
	case len(d) == nout:
		for i, s := range t.Shape {
			if s != 1 && i != len(t.Shape)-1 {
				return nil, false
			}
		}
		return d, true
	case len(d) == 1:
		out := make([]float32, nout)
		for i := range out {
			out[i] = d[0]
		}
		return out, true
	}
	return nil, false
}

// foldGemmScalars folds Gemm's alpha into its (constant) B and beta into its
// (constant) C, so that the quantized node computes A*B + C.
func foldGemmScalars(g *graph.Graph, n *graph.Node) {
	scaleConstInput(g, n, 1, "alpha")
	scaleConstInput(g, n, 2, "beta")
}

// scaleConstInput multiplies the constant float32 input i of n by the node's
// attribute attr (default 1) into a new initializer and sets the attribute to 1.
func scaleConstInput(g *graph.Graph, n *graph.Node, i int, attr string) {
	f := n.AttrFloat(attr, 1)
	t := g.Initializers[n.Input(i)]
	if f == 1 || t == nil || t.DType != graph.Float32 {
		return
	}
	nt := t.Clone()
	for j, v := range nt.F32() {
		nt.F32()[j] = v * f
	}
	name := g.UniqueName(n.Input(i) + "_scaled")
	g.Initializers[name] = nt
	n.Inputs[i] = name
	n.SetAttrFloat(attr, 1)
}

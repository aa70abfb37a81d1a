package runtime

// The int8 lowering pass. It rewrites a quantized model (QDQ: QuantizeLinear /
// DequantizeLinear pairs around float operators; QOperator: QLinearConv and friends;
// or dynamically quantized: DynamicQuantizeLinear + MatMulInteger) into a graph of
// fused int8 operators (domain warboy.int8) with requantization factors computed
// here, once.
//
// How it works. Every value of the source graph gets a state: available under its own
// name in the lowered graph (materialized), and/or represented by an int8 tensor of the
// lowered graph (a qref: the int8 tensor, its scale and zero point, and how its memory
// layout maps to the source value's shape). For a float value, "represented by q"
// means value == dequantize(q) exactly: DequantizeLinear outputs, and the outputs of
// data-movement operators applied to them (Reshape, Transpose, MaxPool, ... commute
// with dequantization, so they are executed on int8 data or folded into layouts).
// A float operator whose inputs are represented by int8 tensors and whose output only
// feeds QuantizeLinear nodes (after an optional Relu/Clip) is replaced by one int8
// operator that writes the quantized output directly. Anything else runs in float32
// on materialized inputs (dequantized on demand), with a warning that names the node.
//
// Layouts: convolutions and pooling run channels-last (NHWC), so their outputs are
// stored NHWC and stay so through elementwise operators, further convolutions and
// pooling; a conversion is inserted only where a consumer needs the logical order.
// A Flatten/Reshape of an NHWC tensor feeding a Gemm/MatMul is folded into the
// weights (their columns are permuted when they are packed), so no transpose runs.

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// QuantInfo tells how an int8 tensor of a lowered graph represents a tensor of the
// source model: source value = (Tensor - ZeroPoint) * Scale, after undoing the layout.
type QuantInfo struct {
	// Tensor is the int8 tensor of the executed graph.
	Tensor string
	// Scale and ZeroPoint are the quantization parameters of Tensor (the zero point in
	// the int8 domain: a uint8 source tensor with zero point z has ZeroPoint z-128).
	Scale     float32
	ZeroPoint int32
	// Perm is the layout: Tensor = transpose(base, Perm); nil when Tensor is in the
	// source tensor's (channels-first) order.
	Perm []int
	// Shape, when not nil, reshapes the base into the source tensor's shape (an
	// ONNX-Reshape template: 0 copies a dimension, -1 is inferred).
	Shape []int64
	// SourceType is the element type of the source tensor (float32 for values between
	// a DequantizeLinear and a QuantizeLinear, int8/uint8 for quantized tensors).
	SourceType graph.DType
	// Exact is false when the source tensor is a float value that the int8 executor
	// only has after requantization (e.g. the output of a Conv that was fused with the
	// QuantizeLinear that followed it): Tensor then holds its quantized value.
	Exact bool
}

func init() { int8Lowering = lowerInt8 }

// qref is an int8 representation of a source value.
type qref struct {
	store string      // int8 tensor of the lowered graph
	perm  []int       // stored = transpose(base, perm); nil: base order
	base  graph.Shape // logical shape before a folded reshape (rank of the stored tensor)
	shape graph.Shape // logical shape of the source value
	scale float32
	zp    int32 // int8 domain
	exact bool
	// placeholder marks the representation of a raw int8/uint8 tensor whose
	// parameters are not known yet (the first DequantizeLinear reading it sets them).
	placeholder bool
}

func (r *qref) reshaped() bool { return !identicalDims(r.base, r.shape) }

// identicalDims compares shapes as written (an unnamed unknown dimension equals an
// unnamed unknown dimension): a reference whose logical shape is its base shape was
// never reshaped. lowerReshape refuses views it cannot tell apart this way.
func identicalDims(a, b graph.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
func (r *qref) plain() bool { return isIdentityPerm(r.perm) && !r.reshaped() }

func (r *qref) with(scale float32, zp int32) *qref {
	c := *r
	c.scale, c.zp = scale, zp
	return &c
}

func sameDims(a, b graph.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameDim(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameDim(a, b graph.Dim) bool {
	if a.Known() || b.Known() {
		return a.Size == b.Size
	}
	return a.Param != "" && a.Param == b.Param
}

type vstate struct {
	q     *qref
	avail bool // present under its own name in the lowered graph
}

// qdest is where a fused operator writes: the QuantizeLinear nodes that consume its
// (activation-clamped) output.
type qdest struct {
	qs       []*graph.Node
	via      []*graph.Node // fused Relu/Clip nodes
	final    string        // float value quantized by qs
	scale    float32
	zp       int32
	qmin     int32
	qmax     int32
	srcDType graph.DType // element type of the quantized outputs
}

type lutGroup struct {
	nodes []*graph.Node // topological order
	root  string        // DequantizeLinear output the group computes from
	last  *graph.Node
}

type lowerer struct {
	cfg     *LowerConfig
	m       *graph.Model
	g       *graph.Graph
	opset   int64
	consts  map[string]*graph.Tensor
	prod    map[string]*graph.Node
	cons    map[string][]*graph.Node
	outputs map[string]bool
	vals    map[string]*vstate
	claimed map[*graph.Node]bool
	luts    map[*graph.Node]*lutGroup
	inLUT   map[*graph.Node]bool
	dqConst map[string]*graph.Node

	nodes       []*graph.Node
	inits       map[string]*graph.Tensor
	used        map[string]bool
	cache       map[string]string
	requantMode string
	warned      []string
}

// errNotLowered carries the reason an operator stays in float32.
type errNotLowered struct{ reason string }

func (e *errNotLowered) Error() string { return e.reason }

func notLowered(format string, args ...any) error {
	return &errNotLowered{reason: fmt.Sprintf(format, args...)}
}

func lowerInt8(src *graph.Model, cfg *LowerConfig) (*graph.Model, error) {
	if cfg == nil {
		cfg = &LowerConfig{}
	}
	mode := cfg.Requant
	switch mode {
	case "", "float":
		mode = "float"
	case "fixed", "fixedpoint", "gemmlowp":
		mode = "fixed"
	default:
		return nil, fmt.Errorf("unknown requantization %q (want float or fixed)", cfg.Requant)
	}
	consts, err := src.InferShapes(graph.InferOptions{})
	if err != nil {
		return nil, err
	}
	l := &lowerer{
		cfg: cfg, m: src, g: src.Graph, opset: src.Opset(), consts: consts,
		prod: src.Graph.Producers(), cons: src.Graph.Consumers(),
		outputs: map[string]bool{}, vals: map[string]*vstate{}, claimed: map[*graph.Node]bool{},
		luts: map[*graph.Node]*lutGroup{}, inLUT: map[*graph.Node]bool{}, dqConst: map[string]*graph.Node{},
		inits: map[string]*graph.Tensor{}, used: map[string]bool{}, cache: map[string]string{}, requantMode: mode,
	}
	for _, o := range l.g.Outputs {
		l.outputs[o.Name] = true
	}
	for k := range l.g.Values {
		l.used[k] = true
	}
	for k, t := range l.g.Initializers {
		l.used[k] = true
		l.inits[k] = t
		l.vals[k] = &vstate{avail: true}
	}
	for _, n := range l.g.Nodes {
		if n.Name != "" {
			l.used[n.Name] = true
		}
		for _, o := range n.Outputs {
			l.used[o] = true
		}
	}
	for _, in := range l.g.Inputs {
		l.vals[in.Name] = &vstate{avail: true}
	}
	l.findLUTGroups()
	for _, n := range l.g.Nodes {
		if err := l.lowerNode(n); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

// ---- small helpers ------------------------------------------------------------------------

func (l *lowerer) fresh(base string) string {
	if base == "" {
		base = "int8"
	}
	name := base
	for i := 1; l.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	l.used[name] = true
	return name
}

func (l *lowerer) state(name string) *vstate {
	v := l.vals[name]
	if v == nil {
		v = &vstate{}
		l.vals[name] = v
	}
	return v
}

func (l *lowerer) value(name string) *graph.Value { return l.g.Values[name] }

func (l *lowerer) dtype(name string) graph.DType {
	if v := l.value(name); v != nil {
		return v.DType
	}
	return graph.Undefined
}

func (l *lowerer) shapeOf(name string) (graph.Shape, bool) {
	v := l.value(name)
	if v == nil || !v.HasShape {
		return nil, false
	}
	return v.Shape, true
}

func (l *lowerer) constOf(name string) *graph.Tensor {
	if name == "" {
		return nil
	}
	if t := l.g.Initializers[name]; t != nil {
		return t
	}
	return l.consts[name]
}

func (l *lowerer) addInit(base string, t *graph.Tensor) string {
	name := l.fresh(base)
	l.inits[name] = t
	l.vals[name] = &vstate{avail: true}
	return name
}

func (l *lowerer) scalarF32(base string, v float32) string {
	return l.addInit(base, graph.FromFloat32(nil, []float32{v}))
}

func (l *lowerer) scalarI8(base string, v int32) string {
	return l.addInit(base, graph.FromInt8(nil, []int8{int8(v)}))
}

func attrI(name string, v int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInt, I: v}
}
func attrF(name string, v float32) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrFloat, F: v}
}
func attrS(name, v string) *graph.Attr { return &graph.Attr{Name: name, Type: graph.AttrString, S: v} }
func attrIs(name string, v []int) *graph.Attr {
	a := &graph.Attr{Name: name, Type: graph.AttrInts, Ints: make([]int64, len(v))}
	for i, x := range v {
		a.Ints[i] = int64(x)
	}
	return a
}
func attrI64s(name string, v []int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInts, Ints: append([]int64(nil), v...)}
}
func attrFs(name string, v []float32) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrFloats, Floats: append([]float32(nil), v...)}
}

// emit appends an int8-domain node.
func (l *lowerer) emit(src *graph.Node, op string, inputs, outputs []string, attrs ...*graph.Attr) *graph.Node {
	base := op
	if src != nil && src.Name != "" {
		base = src.Name
		if !strings.HasPrefix(op, "Q") || op == "Quantize" {
			base = src.Name + "/" + op
		}
	} else if len(outputs) > 0 {
		base = outputs[0] + "/" + op
	}
	n := &graph.Node{Name: l.fresh(base), OpType: op, Domain: Int8Domain, Inputs: inputs, Outputs: outputs, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		if a != nil {
			n.Attrs[a.Name] = a
		}
	}
	if src != nil {
		n.Doc = "lowered from " + src.Label()
	}
	l.nodes = append(l.nodes, n)
	return n
}

// qparams reads constant per-tensor quantization parameters. dt is the quantized type
// used when there is no zero point. The zero point is returned in the int8 domain.
func (l *lowerer) qparams(scaleName, zpName string, dt graph.DType) (float32, int32, graph.DType, bool) {
	st := l.constOf(scaleName)
	if st == nil || st.Len() != 1 {
		return 0, 0, 0, false
	}
	sf, err := st.AsFloat64()
	if err != nil || !(sf[0] > 0) || math.IsInf(sf[0], 0) {
		return 0, 0, 0, false
	}
	zp := int32(0)
	if zpName != "" {
		zt := l.constOf(zpName)
		if zt == nil || zt.Len() != 1 {
			return 0, 0, 0, false
		}
		z, err := zt.AsInt64()
		if err != nil {
			return 0, 0, 0, false
		}
		zp, dt = int32(z[0]), zt.DType
	}
	switch dt {
	case graph.Uint8:
		zp -= 128
	case graph.Int8:
	default:
		return 0, 0, 0, false
	}
	return float32(sf[0]), zp, dt, true
}

// quantParamsOfQ reads a QuantizeLinear's constant per-tensor parameters.
func (l *lowerer) quantParamsOfQ(q *graph.Node) (float32, int32, graph.DType, bool) {
	dt := graph.Uint8
	if q.HasAttr("output_dtype") {
		dt = graph.DType(q.AttrInt("output_dtype", int64(graph.Uint8)))
	}
	if len(q.Inputs) < 2 {
		return 0, 0, 0, false
	}
	return l.qparams(q.Input(1), q.Input(2), dt)
}

// qIn returns the int8 representation of a source value, or nil.
func (l *lowerer) qIn(name string) *qref {
	if v := l.vals[name]; v != nil && v.q != nil {
		return v.q
	}
	return nil
}

// refOf returns the int8 representation of an int8/uint8 source tensor, creating
// one (with placeholder parameters) for tensors that only exist raw, e.g. graph inputs.
func (l *lowerer) refOf(name string) *qref {
	if r := l.qIn(name); r != nil {
		return r
	}
	v := l.vals[name]
	if v == nil || !v.avail || l.constOf(name) != nil {
		return nil
	}
	dt := l.dtype(name)
	shape, ok := l.shapeOf(name)
	if !ok || (dt != graph.Int8 && dt != graph.Uint8) {
		return nil
	}
	store := name
	if dt == graph.Uint8 {
		store = l.fresh(name + "_s8")
		l.emit(nil, "Relayout", []string{name}, []string{store}, attrI("to", int64(graph.Int8)))
	}
	r := &qref{store: store, base: shape, shape: shape, scale: 1, exact: true, placeholder: true}
	v.q = r
	return r
}

// shapeTemplate builds a reshape template producing shape from a tensor of shape from.
func shapeTemplate(shape, from graph.Shape) ([]int64, bool) {
	t := make([]int64, len(shape))
	unknown := -1
	for i, d := range shape {
		switch {
		case d.Known():
			t[i] = int64(d.Size)
		case i < len(from) && sameDim(from[i], d):
			t[i] = 0
		case unknown < 0:
			unknown = i
			t[i] = -1
		default:
			return nil, false
		}
	}
	if unknown >= 0 {
		for i, v := range t {
			if v == 0 && from[i].Known() && from[i].Size == 0 {
				return nil, false
			}
		}
	}
	return t, true
}

// plainI8 returns an int8 tensor holding r in the source value's layout and shape.
func (l *lowerer) plainI8(r *qref) (string, error) {
	if r.plain() {
		return r.store, nil
	}
	var attrs []*graph.Attr
	key := r.store + "|plain"
	if !isIdentityPerm(r.perm) {
		inv := invertPerm(r.perm)
		attrs = append(attrs, attrIs("perm", inv))
		key += fmt.Sprint(inv)
	}
	if r.reshaped() {
		t, ok := shapeTemplate(r.shape, r.base)
		if !ok {
			return "", notLowered("the shape %s cannot be expressed as a reshape of %s", r.shape, r.base)
		}
		attrs = append(attrs, attrI64s("shape", t))
		key += fmt.Sprint(t)
	}
	if s, ok := l.cache[key]; ok {
		return s, nil
	}
	out := l.fresh(r.store + "_plain")
	l.emit(nil, "Relayout", []string{r.store}, []string{out}, attrs...)
	l.cache[key] = out
	return out, nil
}

// channelsLast returns an int8 tensor holding r channels-last (rank 3 or 4).
func (l *lowerer) channelsLast(r *qref) (string, error) {
	rank := len(r.shape)
	if rank != 3 && rank != 4 {
		return "", notLowered("rank-%d input (channels-last needs rank 3 or 4)", rank)
	}
	cl := channelsLastPerm(rank)
	if !r.reshaped() && equalInts(r.perm, cl) {
		return r.store, nil
	}
	src, err := l.plainI8(r)
	if err != nil {
		return "", err
	}
	key := src + "|cl"
	if s, ok := l.cache[key]; ok {
		return s, nil
	}
	out := l.fresh(src + "_nhwc")
	l.emit(nil, "Relayout", []string{src}, []string{out}, attrIs("perm", cl))
	l.cache[key] = out
	return out, nil
}

// need makes a source value available under its own name (in its source type and
// layout) and returns the name.
func (l *lowerer) need(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v := l.vals[name]
	if v != nil && v.avail {
		return name, nil
	}
	if v != nil && v.q != nil {
		return name, l.materialize(name, v)
	}
	if dq := l.dqConst[name]; dq != nil {
		t, err := l.foldDQ(dq)
		if err != nil {
			return "", err
		}
		l.inits[name] = t
		l.state(name).avail = true
		return name, nil
	}
	if t := l.consts[name]; t != nil {
		l.inits[name] = t
		l.state(name).avail = true
		return name, nil
	}
	return "", fmt.Errorf("value %q is not available in the lowered graph", name)
}

func (l *lowerer) materialize(name string, v *vstate) error {
	r := v.q
	dt := l.dtype(name)
	var attrs []*graph.Attr
	if !isIdentityPerm(r.perm) {
		attrs = append(attrs, attrIs("perm", invertPerm(r.perm)))
	}
	if r.reshaped() {
		t, ok := shapeTemplate(r.shape, r.base)
		if !ok {
			return fmt.Errorf("value %q: shape %s cannot be rebuilt from %s", name, r.shape, r.base)
		}
		attrs = append(attrs, attrI64s("shape", t))
	}
	switch dt {
	case graph.Float32:
		s := l.scalarF32(name+"_scale", r.scale)
		z := l.scalarI8(name+"_zero_point", r.zp)
		l.emit(nil, "Dequantize", []string{r.store, s, z}, []string{name}, attrs...)
	case graph.Int8, graph.Uint8:
		if dt == graph.Uint8 {
			attrs = append(attrs, attrI("to", int64(graph.Uint8)))
		}
		l.emit(nil, "Relayout", []string{r.store}, []string{name}, attrs...)
	default:
		return fmt.Errorf("value %q of type %s has no int8 representation", name, dt)
	}
	v.avail = true
	return nil
}

// foldDQ dequantizes a constant DequantizeLinear at lowering time.
func (l *lowerer) foldDQ(dq *graph.Node) (*graph.Tensor, error) {
	x, s := l.constOf(dq.Input(0)), l.constOf(dq.Input(1))
	if x == nil || s == nil {
		return nil, fmt.Errorf("%s: inputs are not constant", dq.Label())
	}
	p, err := readQDQParams(dq, x, s, l.constOf(dq.Input(2)), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dq.Label(), err)
	}
	vals, err := x.AsInt64()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(vals))
	inner, c := 1, 1
	if p.axis >= 0 {
		inner = graph.NumElements(x.Shape[p.axis+1:])
		c = x.Shape[p.axis]
	}
	for i, v := range vals {
		ch := 0
		if p.axis >= 0 {
			ch = (i / inner) % c
		}
		out[i] = float32(int32(v)-p.zp[ch]) * p.scale[ch]
	}
	return graph.FromFloat32(x.Shape, out), nil
}

// constFloat returns the float value of a constant input (a float initializer or
// folded constant, or a DequantizeLinear of constants).
func (l *lowerer) constFloat(name string) *graph.Tensor {
	if dq := l.dqConst[name]; dq != nil {
		t, err := l.foldDQ(dq)
		if err != nil {
			return nil
		}
		return t
	}
	t := l.constOf(name)
	if t == nil || !t.DType.IsFloat() {
		return nil
	}
	if t.DType == graph.Float32 {
		return t
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return graph.FromFloat32(t.Shape, out)
}

// ---- output side -------------------------------------------------------------------------

func (l *lowerer) clipBounds(n *graph.Node) (float64, float64, bool) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if l.opset < 11 || (n.HasAttr("min") || n.HasAttr("max")) {
		if n.HasAttr("min") {
			lo = float64(n.AttrFloat("min", 0))
		}
		if n.HasAttr("max") {
			hi = float64(n.AttrFloat("max", 0))
		}
		return lo, hi, true
	}
	for i, p := range []*float64{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t := l.constFloat(name)
		if t == nil || t.Len() != 1 {
			return 0, 0, false
		}
		*p = float64(t.F32()[0])
	}
	return lo, hi, true
}

// outQ finds the QuantizeLinear nodes an operator output goes to, through an optional
// chain of Relu/Clip when allowAct.
func (l *lowerer) outQ(name string, allowAct bool) (*qdest, error) {
	d := &qdest{final: name}
	lo, hi := math.Inf(-1), math.Inf(1)
	for allowAct {
		cs := l.cons[name]
		if l.outputs[name] || len(cs) != 1 || l.claimed[cs[0]] || len(cs[0].Outputs) != 1 || cs[0].Domain != "" {
			break
		}
		c := cs[0]
		if c.OpType == "Relu" {
			lo = math.Max(lo, 0)
		} else if c.OpType == "Clip" {
			a, b, ok := l.clipBounds(c)
			if !ok {
				break
			}
			lo, hi = math.Max(lo, a), math.Min(hi, b)
		} else {
			break
		}
		d.via = append(d.via, c)
		name = c.Outputs[0]
	}
	d.final = name
	if l.outputs[name] {
		return nil, notLowered("its output %q is a graph output", name)
	}
	cs := l.cons[name]
	if len(cs) == 0 {
		return nil, notLowered("its output %q is not used", name)
	}
	for i, q := range cs {
		if q.OpType != "QuantizeLinear" || q.Domain != "" || l.claimed[q] {
			return nil, notLowered("its output %q feeds %s, not only QuantizeLinear", name, q.Label())
		}
		s, zp, dt, ok := l.quantParamsOfQ(q)
		if !ok {
			return nil, notLowered("%s has no constant per-tensor int8/uint8 parameters", q.Label())
		}
		if i == 0 {
			d.scale, d.zp, d.srcDType = s, zp, dt
		} else if s != d.scale || zp != d.zp || dt != d.srcDType {
			return nil, notLowered("its output %q is quantized with different parameters by %s and %s", name, cs[0].Label(), q.Label())
		}
		d.qs = append(d.qs, q)
	}
	d.qmin, d.qmax = -128, 127
	if !math.IsInf(lo, -1) {
		d.qmin = max(d.qmin, quantizeRound(float32(lo), d.scale, d.zp, -128, 127))
	}
	if !math.IsInf(hi, 1) {
		d.qmax = min(d.qmax, quantizeRound(float32(hi), d.scale, d.zp, -128, 127))
	}
	if d.qmin > d.qmax {
		return nil, notLowered("the fused activation clamps everything to one value")
	}
	return d, nil
}

// destStore picks the name of a fused operator's int8 output: the QuantizeLinear's
// output itself when that is what the source graph holds (plain int8), else a new name.
func (l *lowerer) destStore(d *qdest, plain bool, suffix string) (string, bool) {
	if plain && len(d.qs) == 1 && d.srcDType == graph.Int8 {
		out := d.qs[0].Outputs[0]
		if st := l.vals[out]; st == nil || !st.avail {
			return out, true
		}
	}
	return l.fresh(d.qs[0].Outputs[0] + suffix), false
}

// bindOut records that the QuantizeLinear outputs of d are held by r.
func (l *lowerer) bindOut(d *qdest, r *qref, storeIsOutput bool) {
	for i, q := range d.qs {
		st := l.state(q.Outputs[0])
		st.q = r
		if i == 0 && storeIsOutput {
			st.avail = true
		}
		l.claimed[q] = true
	}
	for _, v := range d.via {
		l.claimed[v] = true
	}
	fr := *r
	fr.exact = false
	l.state(d.final).q = &fr
}

// ---- constants: weights and bias ------------------------------------------------------------

// qweights are constant int8 weights with their quantization parameters.
type qweights struct {
	data  []int8
	shape []int
	scale []float32 // 1 or per channel along axis
	zp    []int32   // int8 domain, 1 or per channel
	axis  int       // channel axis of scale/zp (-1 per-tensor)
}

// constWeights reads weights given as DequantizeLinear(constant int8/uint8) (QDQ) and
// returns them int8 (uint8 shifted by -128 with its zero point).
func (l *lowerer) constWeights(name string) (*qweights, error) {
	dq := l.dqConst[name]
	if dq == nil {
		return nil, notLowered("weights %q are not a quantized constant (DequantizeLinear of an initializer)", name)
	}
	x := l.constOf(dq.Input(0))
	return l.weightsFrom(x, dq.Input(1), dq.Input(2), int(dq.AttrInt("axis", 1)))
}

// weightsFrom converts constant quantized weights and their parameters.
func (l *lowerer) weightsFrom(x *graph.Tensor, scaleName, zpName string, axis int) (*qweights, error) {
	if x == nil || (x.DType != graph.Int8 && x.DType != graph.Uint8) {
		return nil, notLowered("weights are not int8/uint8 constants")
	}
	st := l.constOf(scaleName)
	if st == nil {
		return nil, notLowered("weight scale is not constant")
	}
	sf, err := st.AsFloat64()
	if err != nil {
		return nil, err
	}
	w := &qweights{shape: x.Shape, axis: -1}
	for _, v := range sf {
		if !(v > 0) {
			return nil, notLowered("weight scale %g is not positive", v)
		}
		w.scale = append(w.scale, float32(v))
	}
	if len(sf) > 1 {
		ax, err := graph.NormalizeAxis(int64(axis), len(x.Shape))
		if err != nil || x.Shape[ax] != len(sf) {
			return nil, notLowered("weight scale of %d values does not match axis %d of %v", len(sf), axis, x.Shape)
		}
		w.axis = ax
	}
	shift := int32(0)
	if x.DType == graph.Uint8 {
		shift = 128
	}
	if zpName != "" {
		zt := l.constOf(zpName)
		if zt == nil {
			return nil, notLowered("weight zero point is not constant")
		}
		z, err := zt.AsInt64()
		if err != nil {
			return nil, err
		}
		if len(z) != len(sf) {
			return nil, notLowered("weight zero point has %d values, scale %d", len(z), len(sf))
		}
		for _, v := range z {
			w.zp = append(w.zp, int32(v)-shift)
		}
	} else {
		w.zp = []int32{-shift}
	}
	if x.DType == graph.Uint8 {
		u := x.U8()
		w.data = make([]int8, len(u))
		for i, v := range u {
			w.data[i] = int8(int32(v) - 128)
		}
	} else {
		w.data = x.I8()
	}
	return w, nil
}

// perChannel expands scale/zp to n channels along axis want (or per-tensor).
func (w *qweights) perChannel(want, n int) ([]float32, []int32, error) {
	if w.axis >= 0 && w.axis != want {
		return nil, nil, notLowered("weights are quantized along axis %d, the kernel needs axis %d", w.axis, want)
	}
	sc := make([]float32, n)
	zp := make([]int32, n)
	for c := 0; c < n; c++ {
		if len(w.scale) == 1 {
			sc[c] = w.scale[0]
		} else {
			sc[c] = w.scale[c]
		}
		if len(w.zp) == 1 {
			zp[c] = w.zp[0]
		} else {
			zp[c] = w.zp[c]
		}
	}
	return sc, zp, nil
}

func compactZP(zp []int32) []int32 {
	for _, z := range zp[1:] {
		if z != zp[0] {
			return zp
		}
	}
	return zp[:1]
}

// biasInt32 returns the bias of n channels as int32 in the accumulator scale
// accScale[c] (= s_x*s_w[c], times alpha for Gemm), scaled by beta. The bias may be a
// DequantizeLinear of an int32 constant (used as-is when its scale matches) or float.
func (l *lowerer) biasInt32(name string, n int, accScale []float32, beta float32) ([]int32, error) {
	if name == "" {
		return nil, nil
	}
	if dq := l.dqConst[name]; dq != nil && beta == 1 {
		x := l.constOf(dq.Input(0))
		st := l.constOf(dq.Input(1))
		if x != nil && x.DType == graph.Int32 && x.Len() == n && st != nil {
			sf, _ := st.AsFloat64()
			zt := l.constOf(dq.Input(2))
			zero := zt == nil
			if zt != nil {
				z, _ := zt.AsInt64()
				zero = true
				for _, v := range z {
					zero = zero && v == 0
				}
			}
			match := zero && (len(sf) == 1 || len(sf) == n)
			for c := 0; match && c < n; c++ {
				s := sf[0]
				if len(sf) > 1 {
					s = sf[c]
				}
				match = math.Abs(s-float64(accScale[c])) <= 1e-6*float64(accScale[c])
			}
			if match {
				return append([]int32(nil), x.I32()...), nil
			}
		}
	}
	t := l.constFloat(name)
	if t == nil {
		return nil, notLowered("bias %q is not constant", name)
	}
	f := t.F32()
	if len(f) != n && len(f) != 1 {
		return nil, notLowered("bias %q has %d values for %d channels", name, len(f), n)
	}
	out := make([]int32, n)
	for c := range out {
		v := f[0]
		if len(f) > 1 {
			v = f[c]
		}
		q := math.RoundToEven(float64(beta) * float64(v) / float64(accScale[c]))
		out[c] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, q)))
	}
	return out, nil
}

// ---- the node dispatcher -------------------------------------------------------------------

var lutOps = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true,
	"Erf": true, "Exp": true, "Log": true, "Abs": true, "Neg": true, "Sqrt": true, "Reciprocal": true,
	"Elu": true, "Selu": true, "Celu": true, "Softplus": true, "Softsign": true, "Clip": true, "Gelu": true,
	"Mish": true, "ThresholdedRelu": true, "Sin": true, "Cos": true, "Floor": true, "Ceil": true, "Round": true,
	"Sign": true, "Identity": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"Max": true, "Min": true, "PRelu": true,
}

func (l *lowerer) lowerNode(n *graph.Node) error {
	if l.claimed[n] || l.inLUT[n] {
		return nil
	}
	if grp := l.luts[n]; grp != nil {
		return l.fallbackIfNot(n, l.lowerLUT(grp))
	}
	var err error
	switch n.Domain {
	case "", "ai.onnx":
		switch n.OpType {
		case "QuantizeLinear":
			return l.lowerQ(n)
		case "DequantizeLinear":
			return l.lowerDQ(n)
		case "DynamicQuantizeLinear":
			return l.lowerDynQ(n)
		case "Conv":
			err = l.lowerConv(n)
		case "ConvTranspose":
			err = l.lowerConvTranspose(n)
		case "Gemm":
			err = l.lowerGemm(n)
		case "MatMul":
			err = l.lowerMatMul(n)
		case "Add", "Sub", "Mul", "Div", "Max", "Min":
			err = l.lowerElementwise(n)
		case "MaxPool", "GlobalMaxPool":
			err = l.lowerMaxPool(n)
		case "AveragePool", "GlobalAveragePool":
			err = l.lowerAvgPool(n)
		case "Softmax":
			err = l.lowerSoftmax(n)
		case "LayerNormalization":
			err = l.lowerLayerNorm(n)
		case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
			err = l.lowerReshape(n)
		case "Transpose":
			err = l.lowerTranspose(n)
		case "Identity", "Dropout":
			err = l.lowerIdentity(n)
		case "Concat":
			err = l.lowerConcat(n)
		case "Slice", "Pad", "Resize", "Split", "Gather", "DepthToSpace", "SpaceToDepth", "Expand", "Tile":
			err = l.lowerDataMove(n)
		case "Shape":
			err = l.lowerShape(n)
		case "QLinearConv":
			err = l.lowerQLinearConv(n)
		case "QLinearMatMul":
			err = l.lowerQLinearMatMul(n)
		default:
			if lutOps[n.OpType] {
				err = l.lowerElementwise(n)
			} else {
				err = notLowered("no int8 implementation of %s", n.OpType)
			}
		}
	case "com.microsoft":
		switch n.OpType {
		case "QLinearAdd", "QLinearMul":
			err = l.lowerQLinearBinary(n)
		case "QLinearGlobalAveragePool":
			err = l.lowerQLinearGAP(n)
		case "QLinearSigmoid", "QLinearLeakyRelu":
			err = l.lowerQLinearUnary(n)
		default:
			err = notLowered("no int8 implementation of %s", n.OpType)
		}
	default:
		err = notLowered("no int8 implementation of %s (domain %s)", n.OpType, n.Domain)
	}
	return l.fallbackIfNot(n, err)
}

// fallbackIfNot emits n in float32 when err says it was not lowered; other errors are
// returned.
func (l *lowerer) fallbackIfNot(n *graph.Node, err error) error {
	if err == nil {
		return nil
	}
	var nl *errNotLowered
	if !errors.As(err, &nl) {
		return err
	}
	if grp := l.luts[n]; grp != nil {
		for _, m := range grp.nodes {
			if e := l.emitFloat(m, nl.reason); e != nil {
				return e
			}
		}
		return nil
	}
	return l.emitFloat(n, nl.reason)
}

// emitFloat keeps n as a float32 operator of the default executor.
func (l *lowerer) emitFloat(n *graph.Node, reason string) error {
	c := n.Clone()
	touches := false
	for i, in := range n.Inputs {
		if in == "" {
			continue
		}
		if l.qIn(in) != nil && l.dtype(in).IsFloat() {
			touches = true
		}
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		c.Inputs[i] = name
	}
	for _, o := range n.Outputs {
		if o == "" {
			continue
		}
		for _, u := range l.cons[o] {
			if u.OpType == "QuantizeLinear" {
				touches = true
			}
		}
		l.state(o).avail = true
	}
	l.nodes = append(l.nodes, c)
	info := Lookup(n.Domain, n.OpType)
	if touches && (info == nil || !info.Int8) && n.OpType != "Constant" {
		msg := fmt.Sprintf("int8: %s runs in float32: %s", n.Label(), reason)
		l.warned = append(l.warned, msg)
		if l.cfg.Warn != nil {
			l.cfg.Warn(msg)
		}
	}
	return nil
}

// ---- Q / DQ ---------------------------------------------------------------------------------

func (l *lowerer) lowerDQ(n *graph.Node) error {
	x, out := n.Input(0), n.Outputs[0]
	if l.constOf(x) != nil && (len(n.Inputs) < 2 || l.constOf(n.Input(1)) != nil) && (n.Input(2) == "" || l.constOf(n.Input(2)) != nil) {
		l.dqConst[out] = n
		return nil
	}
	xdt := l.dtype(x)
	if s, zp, _, ok := l.qparams(n.Input(1), n.Input(2), xdt); ok && (xdt == graph.Int8 || xdt == graph.Uint8) {
		if r := l.refOf(x); r != nil {
			if r.placeholder {
				r.scale, r.zp, r.placeholder = s, zp, false
			}
			nr := r.with(s, zp)
			nr.exact = true
			l.state(out).q = nr
			return nil
		}
	}
	return l.emitGeneral(n, "Dequantize")
}

// emitGeneral emits a QuantizeLinear/DequantizeLinear/... with arbitrary (run-time or
// per-axis) parameters as the int8 executor's general operator.
func (l *lowerer) emitGeneral(n *graph.Node, op string) error {
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		ins[i] = name
	}
	var attrs []*graph.Attr
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	l.emit(n, op, ins, append([]string(nil), n.Outputs...), attrs...)
	for _, o := range n.Outputs {
		if o != "" {
			l.state(o).avail = true
		}
	}
	return nil
}

func (l *lowerer) lowerQ(n *graph.Node) error {
	x, out := n.Input(0), n.Outputs[0]
	s, zp, dt, ok := l.quantParamsOfQ(n)
	if !ok {
		return l.emitGeneral(n, "Quantize")
	}
	if r := l.qIn(x); r != nil && l.dtype(x).IsFloat() {
		if r.scale == s && r.zp == zp {
			nr := r.with(s, zp)
			nr.exact = true
			l.state(out).q = nr
			return nil
		}
		nr, err := l.requantRef(n, r, s, zp)
		if err != nil {
			return err
		}
		l.state(out).q = nr
		return nil
	}
	src, err := l.need(x)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Label(), err)
	}
	shape, ok := l.shapeOf(x)
	if !ok {
		return l.emitGeneral(n, "Quantize")
	}
	store, avail := out, dt == graph.Int8
	if !avail {
		store = l.fresh(out + "_s8")
	}
	sc := l.scalarF32(out+"_scale", s)
	z := l.scalarI8(out+"_zero_point", zp)
	l.emit(n, "Quantize", []string{src, sc, z}, []string{store})
	st := l.state(out)
	st.q = &qref{store: store, base: shape, shape: shape, scale: s, zp: zp, exact: true}
	st.avail = avail
	return nil
}

// requant converts r to new parameters with a lookup table (same layout).
func (l *lowerer) requantRef(src *graph.Node, r *qref, s float32, zp int32) (*qref, error) {
	// ONNX QuantizeLinear of the float32 dequantized value (float32 division).
	lut := make([]int8, 256)
	for q := -128; q < 128; q++ {
		v := float32(int32(q)-r.zp) * r.scale
		lut[uint8(int8(q))] = int8(quantizeRound(v, s, zp, -128, 127))
	}
	tbl := l.addInit(r.store+"_requant_lut", graph.FromInt8([]int{256}, lut))
	out := l.fresh(r.store + "_requant")
	l.emit(src, "QLUT", []string{r.store, tbl}, []string{out})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = out, s, zp, true
	return &nr, nil
}

func (l *lowerer) lowerDynQ(n *graph.Node) error {
	x, err := l.need(n.Input(0))
	if err != nil {
		return fmt.Errorf("%s: %w", n.Label(), err)
	}
	outs := append([]string(nil), n.Outputs...)
	for i := range outs {
		if outs[i] == "" {
			outs[i] = l.fresh(n.Outputs[0] + fmt.Sprintf("_unused%d", i))
		}
		l.state(outs[i]).avail = true
	}
	l.emit(n, "DynamicQuantize", []string{x}, outs)
	return nil
}

// ---- LUT groups -------------------------------------------------------------------------------

// findLUTGroups finds elementwise subgraphs computed from one dequantized tensor and
// quantized at the end: they become a 256-entry lookup table.
func (l *lowerer) findLUTGroups() {
	for _, q := range l.g.Nodes {
		if q.OpType != "QuantizeLinear" || q.Domain != "" {
			continue
		}
		y := q.Input(0)
		last := l.prod[y]
		if last == nil || last.Domain != "" || !lutOps[last.OpType] || l.luts[last] != nil || l.inLUT[last] {
			continue
		}
		if _, err := l.outQ(y, false); err != nil {
			continue
		}
		grp := l.collectLUT(last)
		if grp == nil {
			continue
		}
		l.luts[last] = grp
		for _, m := range grp.nodes {
			if m != last {
				l.inLUT[m] = true
			}
		}
	}
}

func (l *lowerer) isDQActivation(name string) bool {
	p := l.prod[name]
	if p == nil || p.OpType != "DequantizeLinear" || p.Domain != "" {
		return false
	}
	if l.constOf(p.Input(0)) != nil {
		return false
	}
	dt := l.dtype(p.Input(0))
	_, _, _, ok := l.qparams(p.Input(1), p.Input(2), dt)
	return ok && (dt == graph.Int8 || dt == graph.Uint8)
}

func (l *lowerer) isScalarConst(name string) bool {
	if t := l.constOf(name); t != nil {
		return t.Len() == 1 && t.DType.IsFloat()
	}
	p := l.prod[name]
	if p != nil && p.OpType == "DequantizeLinear" && l.constOf(p.Input(0)) != nil {
		return l.constOf(p.Input(0)).Len() == 1
	}
	return false
}

func (l *lowerer) collectLUT(last *graph.Node) *lutGroup {
	in := map[*graph.Node]bool{}
	root := ""
	stack := []*graph.Node{last}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if in[n] {
			continue
		}
		if n.Domain != "" || !lutOps[n.OpType] || len(n.Outputs) != 1 {
			return nil
		}
		in[n] = true
		for _, x := range n.Inputs {
			switch {
			case x == "":
			case l.isScalarConst(x):
			case l.isDQActivation(x):
				if root != "" && root != x {
					return nil
				}
				root = x
			default:
				p := l.prod[x]
				if p == nil {
					return nil
				}
				stack = append(stack, p)
			}
		}
	}
	if root == "" {
		return nil
	}
	rs, ok1 := l.shapeOf(root)
	ys, ok2 := l.shapeOf(last.Outputs[0])
	if !ok1 || !ok2 || !sameDims(rs, ys) {
		return nil
	}
	for n := range in {
		if n == last {
			continue
		}
		o := n.Outputs[0]
		if l.outputs[o] {
			return nil
		}
		for _, c := range l.cons[o] {
			if !in[c] {
				return nil
			}
		}
	}
	grp := &lutGroup{root: root, last: last}
	for _, n := range l.g.Nodes { // topological order
		if in[n] {
			grp.nodes = append(grp.nodes, n)
		}
	}
	return grp
}

// evalLUT evaluates the group's float subgraph on the 256 values of the input code.
func (l *lowerer) evalLUT(grp *lutGroup, r *qref) ([]float32, error) {
	const x = "lut_input"
	mg := &graph.Graph{Name: "lut", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	mg.Inputs = []*graph.Value{{Name: x, DType: graph.Float32, Shape: graph.ShapeOf(256), HasShape: true}}
	out := grp.last.Outputs[0]
	mg.Outputs = []*graph.Value{{Name: out, DType: graph.Float32}}
	for _, n := range grp.nodes {
		c := n.Clone()
		for i, in := range c.Inputs {
			switch {
			case in == "":
			case in == grp.root:
				c.Inputs[i] = x
			case l.isScalarConst(in):
				t := l.constFloat(in)
				if t == nil {
					return nil, fmt.Errorf("constant %q", in)
				}
				mg.Initializers[in] = graph.FromFloat32(nil, []float32{t.F32()[0]})
			}
		}
		mg.Nodes = append(mg.Nodes, c)
	}
	mm := &graph.Model{Graph: mg, IRVersion: l.m.IRVersion, Opsets: l.m.Opsets}
	sess, err := NewSession(mm, WithMode(ModeFloat), WithThreads(1))
	if err != nil {
		return nil, err
	}
	xs := make([]float32, 256)
	for q := -128; q < 128; q++ {
		xs[q+128] = float32(int32(q)-r.zp) * r.scale
	}
	res, err := sess.RunTensors(map[string]*graph.Tensor{x: graph.FromFloat32([]int{256}, xs)})
	if err != nil {
		return nil, err
	}
	y := res[out]
	if y == nil || y.F32() == nil || len(y.F32()) != 256 {
		return nil, fmt.Errorf("unexpected result")
	}
	return y.F32(), nil
}

func (l *lowerer) lowerLUT(grp *lutGroup) error {
	r := l.qIn(grp.root)
	if r == nil {
		return notLowered("its input is not quantized")
	}
	d, err := l.outQ(grp.last.Outputs[0], false)
	if err != nil {
		return err
	}
	ys, err := l.evalLUT(grp, r)
	if err != nil {
		return notLowered("its lookup table could not be computed: %v", err)
	}
	tbl := make([]int8, 256)
	for q := -128; q < 128; q++ {
		tbl[uint8(int8(q))] = int8(quantizeRound(ys[q+128], d.scale, d.zp, d.qmin, d.qmax))
	}
	ti := l.addInit(grp.last.Outputs[0]+"_lut", graph.FromInt8([]int{256}, tbl))
	store, isOut := l.destStore(d, r.plain(), "_q")
	l.emit(grp.last, "QLUT", []string{r.store, ti}, []string{store})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = store, d.scale, d.zp, true
	l.bindOut(d, &nr, isOut)
	for _, m := range grp.nodes {
		l.claimed[m] = true
	}
	return nil
}

// ---- convolution, Gemm, MatMul -----------------------------------------------------------------

// explicitPads resolves auto_pad into explicit begin/end pads for the spatial dims.
func explicitPads(n *graph.Node, spatial []graph.Dim, kernel, strides, dil []int) ([]int, error) {
	k := len(kernel)
	pads := intsAttr(n, "pads")
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
	v := intsAttr(n, name)
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
	if rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D convolutions run int8 (input rank %d)", rank)
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
	oc := w.shape[0]
	wsc, wzp, err := w.perChannel(0, oc)
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
	acc := make([]float32, oc)
	scales := make([]float32, oc)
	for c := range acc {
		acc[c] = x.scale * wsc[c]
		scales[c] = kernels.RequantScaleF32(x.scale, wsc[c], d.scale)
	}
	bias, err := l.biasInt32(n.Input(2), oc, acc, 1)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	wi := l.addInit(n.Input(1)+"_int8", &graph.Tensor{DType: graph.Int8, Shape: w.shape, Data: w.data})
	ins := []string{xin, wi}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(2)+"_int32", graph.FromInt32([]int{oc}, bias)))
	}
	store, _ := l.destStore(d, false, "_nhwc")
	l.emit(n, "QConv", ins, []string{store},
		attrIs("strides", strides), attrIs("dilations", dil), attrIs("pads", pads), attrI("group", n.AttrInt("group", 1)),
		attrI("x_zp", int64(x.zp)), attrIs("w_zp", int32sToInts(compactZP(wzp))), attrFs("scales", scales),
		attrI("y_zp", int64(d.zp)), attrI("qmin", int64(d.qmin)), attrI("qmax", int64(d.qmax)), attrS("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, perm: channelsLastPerm(rank), base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
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
	if rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D transposed convolutions run int8")
	}
	if n.HasAttr("output_shape") {
		return notLowered("output_shape is not supported by the int8 kernel; use pads")
	}
	if ap := n.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" && ap != "VALID" {
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
	} else {
		return notLowered("weights quantized along axis %d", w.axis)
	}
	k := rank - 2
	pads := intsOr(n, "pads", 2*k, 0)
	if n.AttrString("auto_pad", "NOTSET") == "VALID" {
		pads = make([]int, 2*k)
	}
	acc := make([]float32, oc)
	scales := make([]float32, oc)
	for c := range acc {
		acc[c] = x.scale * wsc[c]
		scales[c] = kernels.RequantScaleF32(x.scale, wsc[c], d.scale)
	}
	bias, err := l.biasInt32(n.Input(2), oc, acc, 1)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	wi := l.addInit(n.Input(1)+"_int8", &graph.Tensor{DType: graph.Int8, Shape: w.shape, Data: w.data})
	ins := []string{xin, wi}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(2)+"_int32", graph.FromInt32([]int{oc}, bias)))
	}
	store, _ := l.destStore(d, false, "_nhwc")
	l.emit(n, "QConvTranspose", ins, []string{store},
		attrIs("strides", intsOr(n, "strides", k, 1)), attrIs("dilations", intsOr(n, "dilations", k, 1)), attrIs("pads", pads),
		attrIs("output_padding", intsOr(n, "output_padding", k, 0)), attrI("group", int64(group)),
		attrI("x_zp", int64(x.zp)), attrIs("w_zp", int32sToInts(compactZP(wzp))), attrFs("scales", scales),
		attrI("y_zp", int64(d.zp)), attrI("qmin", int64(d.qmin)), attrI("qmax", int64(d.qmax)), attrS("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, perm: channelsLastPerm(rank), base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
}

// gemmInput returns the tensor a fully connected layer reads for the rank-2 logical
// input r, the axis splitting rows from features, and, when a channels-last Flatten
// was folded, the logical feature index of each stored feature (nil otherwise).
func (l *lowerer) gemmInput(r *qref) (string, int, []int, error) {
	if r.plain() {
		return r.store, len(r.shape) - 1, nil, nil
	}
	// The rows must be the batch: with the other dims fixed and the element count
	// unchanged, an unknown row count can only equal the base's first dim.
	if len(r.shape) == 2 && len(r.base) >= 2 && !isIdentityPerm(r.perm) && r.perm[0] == 0 &&
		(sameDim(r.base[0], r.shape[0]) || !r.shape[0].Known()) {
		dims := make([]int, len(r.base)-1)
		ok := true
		for i, dd := range r.base[1:] {
			ok = ok && dd.Known()
			dims[i] = dd.Size
		}
		if ok && r.shape[1].Known() && graph.NumElements(dims) == r.shape[1].Size {
			// stored feature order: base dims perm[1:], each over its size
			sdims := make([]int, len(dims))
			for j := 1; j < len(r.perm); j++ {
				sdims[j-1] = r.base[r.perm[j]].Size
			}
			lst := graph.Strides(dims)
			colPerm := make([]int, graph.NumElements(dims))
			idx := make([]int, len(sdims))
			for s := range colPerm {
				lk := 0
				for j, v := range idx {
					lk += v * lst[r.perm[j+1]-1]
				}
				colPerm[s] = lk
				for j := len(idx) - 1; j >= 0; j-- {
					idx[j]++
					if idx[j] < sdims[j] {
						break
					}
					idx[j] = 0
				}
			}
			return r.store, 1, colPerm, nil
		}
	}
	s, err := l.plainI8(r)
	return s, len(r.shape) - 1, nil, err
}

// emitQGemm emits a fully connected layer: out = a · wᵀ (w given as [N,K] by at).
func (l *lowerer) emitQGemm(n *graph.Node, a *qref, nOut, k int, at func(c, kk int) int8, wsc []float32, wzp []int32,
	biasName string, alpha, beta float32, d *qdest) error {
	acc := make([]float32, nOut)
	scales := make([]float32, nOut)
	for c := range acc {
		acc[c] = alpha * a.scale * wsc[c]
		scales[c] = kernels.RequantScaleF32(a.scale, wsc[c], d.scale)
		if alpha != 1 {
			scales[c] = float32(float64(scales[c]) * float64(alpha))
		}
	}
	bias, err := l.biasInt32(biasName, nOut, acc, beta)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	in, axis, colPerm, err := l.gemmInput(a)
	if err != nil {
		return err
	}
	wd := make([]int8, nOut*k)
	for c := 0; c < nOut; c++ {
		for s := 0; s < k; s++ {
			kk := s
			if colPerm != nil {
				kk = colPerm[s]
			}
			wd[c*k+s] = at(c, kk)
		}
	}
	wi := l.addInit(n.Input(1)+"_int8", graph.FromInt8([]int{nOut, k}, wd))
	ins := []string{in, wi}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(1)+"_bias_int32", graph.FromInt32([]int{nOut}, bias)))
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QGemm", ins, []string{store}, attrI("axis", int64(axis)),
		attrI("a_zp", int64(a.zp)), attrIs("w_zp", int32sToInts(compactZP(wzp))), attrFs("scales", scales),
		attrI("y_zp", int64(d.zp)), attrI("qmin", int64(d.qmin)), attrI("qmax", int64(d.qmax)), attrS("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

func (l *lowerer) lowerGemm(n *graph.Node) error {
	a := l.qIn(n.Input(0))
	if a == nil {
		return notLowered("its input is not quantized")
	}
	if n.AttrInt("transA", 0) != 0 || len(a.shape) != 2 {
		return notLowered("transposed or non-2-D A")
	}
	w, err := l.constWeights(n.Input(1))
	if err != nil {
		return err
	}
	if len(w.shape) != 2 {
		return notLowered("weights must be 2-D")
	}
	transB := n.AttrInt("transB", 0) != 0
	nOut, k, chAxis := w.shape[1], w.shape[0], 1
	at := func(c, kk int) int8 { return w.data[kk*nOut+c] }
	if transB {
		nOut, k, chAxis = w.shape[0], w.shape[1], 0
		at = func(c, kk int) int8 { return w.data[c*k+kk] }
	}
	wsc, wzp, err := w.perChannel(chAxis, nOut)
	if err != nil {
		return err
	}
	if b := n.Input(2); b != "" {
		c := l.constFloat(b)
		if c == nil && l.dqConst[b] == nil {
			return notLowered("bias is not constant")
		}
		if c != nil && c.Len() != nOut && c.Len() != 1 {
			return notLowered("bias of shape %v is not per output column", c.Shape)
		}
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	return l.emitQGemm(n, a, nOut, k, at, wsc, wzp, n.Input(2), n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1), d)
}

func (l *lowerer) lowerMatMul(n *graph.Node) error {
	a := l.qIn(n.Input(0))
	if a == nil {
		return notLowered("its input is not quantized")
	}
	if len(a.shape) < 2 {
		return notLowered("1-D input")
	}
	if dq := l.dqConst[n.Input(1)]; dq != nil {
		w, err := l.constWeights(n.Input(1))
		if err != nil {
			return err
		}
		if len(w.shape) == 2 {
			k, nOut := w.shape[0], w.shape[1]
			wsc, wzp, err := w.perChannel(1, nOut)
			if err != nil {
				return err
			}
			d, err := l.outQ(n.Outputs[0], true)
			if err != nil {
				return err
			}
			return l.emitQGemm(n, a, nOut, k, func(c, kk int) int8 { return w.data[kk*nOut+c] }, wsc, wzp, "", 1, 1, d)
		}
	}
	b := l.qIn(n.Input(1))
	if b == nil {
		return notLowered("its second input is neither quantized nor 2-D quantized weights")
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	return l.emitQMatMul(n, a, b, d)
}

func (l *lowerer) emitQMatMul(n *graph.Node, a, b *qref, d *qdest) error {
	as, err := l.plainI8(a)
	if err != nil {
		return err
	}
	bs, err := l.plainI8(b)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QMatMul", []string{as, bs}, []string{store},
		attrF("a_scale", a.scale), attrI("a_zp", int64(a.zp)), attrF("b_scale", b.scale), attrI("b_zp", int64(b.zp)),
		attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)), attrI("qmin", int64(d.qmin)), attrI("qmax", int64(d.qmax)),
		attrS("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

// lowerElementwise lowers an elementwise operator that was not part of a lookup-table
// group found up front (its input is, e.g., a Reshape of a dequantized tensor): with
// one int8 input and scalar constants it becomes a lookup table; binary operators of
// two int8 tensors become QBinary.
func (l *lowerer) lowerElementwise(n *graph.Node) error {
	root := ""
	single := len(n.Outputs) == 1
	for _, in := range n.Inputs {
		switch {
		case in == "" || in == root:
		case l.isScalarConst(in):
		case root == "" && l.qIn(in) != nil:
			root = in
		default:
			single = false
		}
	}
	if single && root != "" && lutOps[n.OpType] {
		if _, err := l.outQ(n.Outputs[0], false); err == nil {
			return l.lowerLUT(&lutGroup{nodes: []*graph.Node{n}, root: root, last: n})
		}
	}
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		return l.lowerBinary(n)
	}
	if root == "" {
		return notLowered("its input is not quantized")
	}
	return notLowered("its output is not quantized (no QuantizeLinear follows)")
}

// ---- elementwise binary --------------------------------------------------------------------

// binaryOperand is one input of an elementwise operator: an activation or a quantized
// constant.
func (l *lowerer) binaryOperand(name string) (*qref, *graph.Tensor, error) {
	if r := l.qIn(name); r != nil {
		return r, nil, nil
	}
	if dq := l.dqConst[name]; dq != nil {
		x := l.constOf(dq.Input(0))
		s, zp, _, ok := l.qparams(dq.Input(1), dq.Input(2), x.DType)
		if !ok {
			return nil, nil, notLowered("constant %q is not quantized per tensor", name)
		}
		var data []int8
		switch x.DType {
		case graph.Int8:
			data = x.I8()
		case graph.Uint8:
			data = make([]int8, x.Len())
			for i, v := range x.U8() {
				data[i] = int8(int32(v) - 128)
			}
		}
		shape := graph.ShapeOf(x.Shape...)
		return &qref{base: shape, shape: shape, scale: s, zp: zp, exact: true}, &graph.Tensor{DType: graph.Int8, Shape: x.Shape, Data: data}, nil
	}
	return nil, nil, notLowered("input %q is not quantized", name)
}

// constIn places a quantized constant in the layout of the activation act (rank-aligned
// and permuted like it).
func (l *lowerer) constIn(base string, t *graph.Tensor, act *qref) (string, error) {
	if act == nil || isIdentityPerm(act.perm) || t.Len() == 1 {
		return l.addInit(base+"_int8", t), nil
	}
	r := len(act.perm)
	if len(t.Shape) > r {
		return "", notLowered("constant of rank %d", len(t.Shape))
	}
	full := make([]int, r)
	for i := range full {
		full[i] = 1
	}
	copy(full[r-len(t.Shape):], t.Shape)
	dst := make([]byte, t.Len())
	transposeBytes(i8AsBytes(t.I8()), full, act.perm, dst, 0, 1)
	return l.addInit(base+"_int8", &graph.Tensor{DType: graph.Int8, Shape: permuteShape(full, act.perm), Data: bytesAsI8(dst)}), nil
}

func sameLayout(a, b *qref) bool {
	return !a.reshaped() && !b.reshaped() && len(a.base) == len(b.base) &&
		(isIdentityPerm(a.perm) && isIdentityPerm(b.perm) || equalInts(a.perm, b.perm))
}

func (l *lowerer) lowerBinary(n *graph.Node) error {
	a, at, err := l.binaryOperand(n.Input(0))
	if err != nil {
		return err
	}
	b, bt, err := l.binaryOperand(n.Input(1))
	if err != nil {
		return err
	}
	if at != nil && bt != nil {
		return notLowered("both inputs are constant")
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	return l.emitBinary(n, n.OpType, a, at, b, bt, d, outShape)
}

func (l *lowerer) emitBinary(n *graph.Node, op string, a *qref, at *graph.Tensor, b *qref, bt *graph.Tensor, d *qdest, outShape graph.Shape) error {
	var an, bn string
	var layout *qref // activation whose layout the output keeps
	var err error
	switch {
	case at == nil && bt == nil && sameLayout(a, b) && len(a.shape) == len(outShape):
		an, bn, layout = a.store, b.store, a
	case at == nil && bt == nil:
		if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.plainI8(b); err != nil {
			return err
		}
	case at != nil:
		layout = b
		if b.reshaped() || len(b.shape) != len(outShape) {
			layout = nil
		}
		if layout != nil {
			bn = b.store
		} else if bn, err = l.plainI8(b); err != nil {
			return err
		}
		if an, err = l.constIn(n.Input(0), at, layout); err != nil {
			return err
		}
	default:
		layout = a
		if a.reshaped() || len(a.shape) != len(outShape) {
			layout = nil
		}
		if layout != nil {
			an = a.store
		} else if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.constIn(n.Input(1), bt, layout); err != nil {
			return err
		}
	}
	r := &qref{base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}
	if layout != nil {
		r.perm = layout.perm
	}
	store, isOut := l.destStore(d, r.plain(), "_q")
	r.store = store
	l.emit(n, "QBinary", []string{an, bn}, []string{store}, attrS("op", op),
		attrF("a_scale", a.scale), attrI("a_zp", int64(a.zp)), attrF("b_scale", b.scale), attrI("b_zp", int64(b.zp)),
		attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)), attrI("qmin", int64(d.qmin)), attrI("qmax", int64(d.qmax)))
	l.bindOut(d, r, isOut)
	return nil
}

// ---- pooling -----------------------------------------------------------------------------------

func (l *lowerer) poolAttrs(n *graph.Node, x *qref) ([]*graph.Attr, error) {
	ks := intsAttr(n, "kernel_shape")
	k := len(x.shape) - 2
	if len(ks) != k {
		return nil, notLowered("kernel_shape %v does not match the input rank", ks)
	}
	strides, dil := intsOr(n, "strides", k, 1), intsOr(n, "dilations", k, 1)
	pads, err := explicitPads(n, x.shape[2:], ks, strides, dil)
	if err != nil {
		return nil, err
	}
	return []*graph.Attr{attrIs("kernel_shape", ks), attrIs("strides", strides), attrIs("dilations", dil), attrIs("pads", pads),
		attrI("ceil_mode", n.AttrInt("ceil_mode", 0))}, nil
}

func (l *lowerer) lowerMaxPool(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if rank := len(x.shape); rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D pooling runs int8")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return notLowered("the Indices output is used")
	}
	attrs := []*graph.Attr{attrS("kind", "gmax")}
	if n.OpType == "MaxPool" {
		pa, err := l.poolAttrs(n, x)
		if err != nil {
			return err
		}
		attrs = append(pa, attrS("kind", "max"))
	}
	out := n.Outputs[0]
	shape, err := l.outShape(out)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store := l.fresh(out + "_nhwc")
	attrs = append(attrs, attrF("x_scale", x.scale), attrI("x_zp", int64(x.zp)), attrF("y_scale", x.scale), attrI("y_zp", int64(x.zp)))
	l.emit(n, "QPool", []string{xin}, []string{store}, attrs...)
	l.state(out).q = &qref{store: store, perm: channelsLastPerm(len(shape)), base: shape, shape: shape, scale: x.scale, zp: x.zp, exact: true}
	return nil
}

func (l *lowerer) lowerAvgPool(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if rank := len(x.shape); rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D pooling runs int8")
	}
	attrs := []*graph.Attr{attrS("kind", "gavg")}
	if n.OpType == "AveragePool" {
		pa, err := l.poolAttrs(n, x)
		if err != nil {
			return err
		}
		cip := n.AttrInt("count_include_pad", 0)
		if n.AttrInt("ceil_mode", 0) != 0 && cip != 0 {
			return notLowered("ceil_mode with count_include_pad")
		}
		attrs = append(pa, attrS("kind", "avg"), attrI("count_include_pad", cip))
	}
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store, _ := l.destStore(d, false, "_nhwc")
	attrs = append(attrs, attrF("x_scale", x.scale), attrI("x_zp", int64(x.zp)), attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)))
	l.emit(n, "QPool", []string{xin}, []string{store}, attrs...)
	l.bindOut(d, &qref{store: store, perm: channelsLastPerm(len(shape)), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
}

// ---- Softmax / LayerNormalization ------------------------------------------------------------------

func (l *lowerer) lowerSoftmax(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	rank := len(x.shape)
	def := int64(-1)
	if l.opset < 13 {
		def = 1
	}
	ax, err := graph.NormalizeAxis(n.AttrInt("axis", def), rank)
	if err != nil {
		return notLowered("%v", err)
	}
	if l.opset >= 13 && ax != rank-1 {
		return notLowered("softmax over axis %d (not the last)", ax)
	}
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QSoftmax", []string{xin}, []string{store}, attrI("axis", int64(ax)),
		attrF("x_scale", x.scale), attrI("x_zp", int64(x.zp)), attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)))
	l.bindOut(d, &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

func (l *lowerer) lowerLayerNorm(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	for _, o := range n.Outputs[1:] {
		if o != "" && len(l.cons[o]) > 0 {
			return notLowered("the mean/inverse-std outputs are used")
		}
	}
	g := l.constFloat(n.Input(1))
	if g == nil {
		return notLowered("scale is not constant")
	}
	var bt *graph.Tensor
	if n.Input(2) != "" {
		if bt = l.constFloat(n.Input(2)); bt == nil {
			return notLowered("bias is not constant")
		}
	}
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	ins := []string{xin, l.addInit(n.Input(1)+"_f32", g)}
	if bt != nil {
		ins = append(ins, l.addInit(n.Input(2)+"_f32", bt))
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QLayerNorm", ins, []string{store}, attrI("axis", n.AttrInt("axis", -1)), attrF("epsilon", n.AttrFloat("epsilon", 1e-5)),
		attrF("x_scale", x.scale), attrI("x_zp", int64(x.zp)), attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)))
	l.bindOut(d, &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

// ---- data movement ---------------------------------------------------------------------------------

func (l *lowerer) lowerIdentity(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && len(l.cons[n.Outputs[1]]) > 0 {
		return notLowered("the dropout mask is used")
	}
	l.state(n.Outputs[0]).q = x
	return nil
}

func (l *lowerer) lowerReshape(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	out, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	if _, ok := shapeTemplate(out, x.base); !ok {
		return notLowered("output shape %s cannot be expressed from %s", out, x.base)
	}
	unknown := 0
	for _, d := range out {
		if !d.Known() {
			unknown++
		}
	}
	if identicalDims(out, x.base) && unknown > 1 && !identicalDims(out, x.shape) {
		return notLowered("output shape %s is ambiguous", out)
	}
	nr := *x
	nr.shape = out
	l.state(n.Outputs[0]).q = &nr
	return nil
}

func (l *lowerer) lowerTranspose(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if x.reshaped() {
		s, err := l.plainI8(x)
		if err != nil {
			return err
		}
		c := *x
		c.store, c.perm, c.base = s, nil, x.shape
		x = &c
	}
	rank := len(x.shape)
	t := intsAttr(n, "perm")
	if t == nil {
		t = make([]int, rank)
		for i := range t {
			t[i] = rank - 1 - i
		}
	}
	if validPerm(t, rank) != nil {
		return notLowered("bad perm %v", t)
	}
	p := x.perm
	if p == nil {
		p = make([]int, rank)
		for i := range p {
			p[i] = i
		}
	}
	tinv := invertPerm(t)
	np := make([]int, rank)
	for j := range np {
		np[j] = tinv[p[j]]
	}
	nb := permuteDims(x.base, t)
	nr := *x
	nr.base, nr.shape, nr.perm = nb, nb, np
	if isIdentityPerm(np) {
		nr.perm = nil
	}
	if shape, ok := l.shapeOf(n.Outputs[0]); ok && len(shape) == rank {
		for i := range shape {
			if shape[i].Known() || shape[i].Param != "" {
				nr.shape[i] = shape[i]
			}
		}
		nr.base = nr.shape
	}
	l.state(n.Outputs[0]).q = &nr
	return nil
}

// concatInputs brings all inputs to the parameters (s, zp) and a common layout.
func (l *lowerer) lowerConcat(n *graph.Node) error {
	var refs []*qref
	for _, in := range n.Inputs {
		r := l.qIn(in)
		if r == nil {
			return notLowered("input %q is not quantized", in)
		}
		refs = append(refs, r)
	}
	out := n.Outputs[0]
	shape, err := l.outShape(out)
	if err != nil {
		return err
	}
	rank := len(shape)
	ax, err := graph.NormalizeAxis(n.AttrInt("axis", 1), rank)
	if err != nil {
		return notLowered("%v", err)
	}
	s, zp := refs[0].scale, refs[0].zp
	var d *qdest
	same := true
	for _, r := range refs[1:] {
		same = same && r.scale == s && r.zp == zp
	}
	if !same {
		if d, err = l.outQ(out, false); err != nil {
			return notLowered("inputs have different quantization parameters and %v", err)
		}
		s, zp = d.scale, d.zp
	}
	common := refs[0].perm
	layoutOK := !isIdentityPerm(common)
	for _, r := range refs {
		layoutOK = layoutOK && !r.reshaped() && len(r.shape) == rank && equalInts(r.perm, common)
	}
	ins := make([]string, len(refs))
	for i, r := range refs {
		if r.scale != s || r.zp != zp {
			if r, err = l.requantRef(n, r, s, zp); err != nil {
				return err
			}
		}
		if layoutOK {
			ins[i] = r.store
		} else if ins[i], err = l.plainI8(r); err != nil {
			return err
		}
	}
	stAx := ax
	var perm []int
	if layoutOK {
		perm = common
		stAx = invertPerm(common)[ax]
	}
	r := &qref{perm: perm, base: shape, shape: shape, scale: s, zp: zp, exact: true}
	if d != nil {
		store, isOut := l.destStore(d, r.plain(), "_q")
		r.store = store
		l.emit(n, "Concat", ins, []string{store}, attrI("axis", int64(stAx)))
		l.bindOut(d, r, isOut)
		return nil
	}
	r.store = l.fresh(out + "_q")
	l.emit(n, "Concat", ins, []string{r.store}, attrI("axis", int64(stAx)))
	l.state(out).q = r
	return nil
}

// lowerShape reads the shape of an int8-represented value without dequantizing it:
// from a constant when shape inference knows it, else from the int8 tensor.
func (l *lowerer) lowerShape(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	out := n.Outputs[0]
	if t := l.consts[out]; t != nil {
		l.inits[out] = t
		l.state(out).avail = true
		return nil
	}
	src, err := l.plainI8(x)
	if err != nil {
		return err
	}
	c := n.Clone()
	c.Inputs = []string{src}
	l.nodes = append(l.nodes, c)
	l.state(out).avail = true
	return nil
}

// lowerDataMove runs a data-movement operator on int8 data. Pad, Slice and Resize
// keep a channels-last input channels-last (their per-axis constants are permuted);
// the others work on the logical layout.
func (l *lowerer) lowerDataMove(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	switch n.OpType {
	case "Resize":
		if m := n.AttrString("mode", "nearest"); m != "nearest" {
			return notLowered("Resize mode %s needs requantization", m)
		}
	case "Pad":
		if l.opset < 11 {
			return notLowered("Pad before opset 11")
		}
	}
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs[1:] {
		if n.OpType == "Pad" && i == 1 && in != "" {
			cv := l.constFloat(in)
			if cv == nil || cv.Len() != 1 {
				return notLowered("non-constant pad value")
			}
			ins[2] = l.scalarI8(in+"_int8", quantizeRound(cv.F32()[0], x.scale, x.zp, -128, 127))
			continue
		}
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		ins[i+1] = name
	}
	if n.OpType == "Pad" && n.Input(2) == "" && x.zp != 0 {
		for len(ins) < 3 {
			ins = append(ins, "")
		}
		ins[2] = l.scalarI8(n.Outputs[0]+"_pad_int8", x.zp)
	}
	var perm []int
	if rank := len(x.shape); (rank == 3 || rank == 4) && isIdentityPerm(x.perm) && !x.reshaped() &&
		(n.OpType == "Pad" || n.OpType == "Slice" || n.OpType == "Resize") && l.feedsChannelsLast(n.Outputs[0], 6) {
		// e.g. an explicit Pad before a convolution: go channels-last before it
		store, err := l.channelsLast(x)
		if err != nil {
			return err
		}
		c := *x
		c.store, c.perm = store, channelsLastPerm(rank)
		x = &c
	}
	if p, remapped := l.channelsLastInputs(n, x, ins); remapped {
		perm = p
		ins[0] = x.store
	} else {
		xin, err := l.plainI8(x)
		if err != nil {
			return err
		}
		ins[0] = xin
	}
	var outs []string
	var refs []*qref
	for _, o := range n.Outputs {
		if o == "" {
			outs = append(outs, "")
			refs = append(refs, nil)
			continue
		}
		shape, err := l.outShape(o)
		if err != nil {
			return err
		}
		s := l.fresh(o + "_q")
		outs = append(outs, s)
		refs = append(refs, &qref{store: s, perm: perm, base: shape, shape: shape, scale: x.scale, zp: x.zp, exact: true})
	}
	var attrs []*graph.Attr
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	l.emit(n, n.OpType, ins, outs, attrs...)
	for i, o := range n.Outputs {
		if o != "" {
			l.state(o).q = refs[i]
		}
	}
	return nil
}

// feedsChannelsLast reports whether a value reaches a convolution or pooling within
// depth operators, through quantization and data-movement operators.
func (l *lowerer) feedsChannelsLast(name string, depth int) bool {
	if depth == 0 {
		return false
	}
	for _, c := range l.cons[name] {
		switch c.OpType {
		case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "QLinearConv":
			return true
		case "QuantizeLinear", "DequantizeLinear", "Pad", "Slice", "Resize", "Relu", "Clip", "Identity":
			if len(c.Outputs) > 0 && l.feedsChannelsLast(c.Outputs[0], depth-1) {
				return true
			}
		}
	}
	return false
}

// channelsLastInputs rewrites the per-axis constant inputs of Pad, Slice and Resize
// (in ins) for a channels-last input, and returns the layout of the output.
func (l *lowerer) channelsLastInputs(n *graph.Node, x *qref, ins []string) ([]int, bool) {
	if isIdentityPerm(x.perm) || x.reshaped() {
		return nil, false
	}
	r := len(x.perm)
	p := x.perm
	permute := func(name string, per int) (string, bool) {
		t := l.constOf(name)
		if t == nil || t.Len() != per*r {
			return "", false
		}
		var out *graph.Tensor
		switch d := t.Data.(type) {
		case []int64:
			o := make([]int64, len(d))
			for k := 0; k < per; k++ {
				for j := 0; j < r; j++ {
					o[k*r+j] = d[k*r+p[j]]
				}
			}
			out = graph.FromInt64(t.Shape, o)
		case []float32:
			o := make([]float32, len(d))
			for k := 0; k < per; k++ {
				for j := 0; j < r; j++ {
					o[k*r+j] = d[k*r+p[j]]
				}
			}
			out = graph.FromFloat32(t.Shape, o)
		default:
			return "", false
		}
		return l.addInit(name+"_nhwc", out), true
	}
	switch n.OpType {
	case "Pad":
		if n.Input(3) != "" || n.HasAttr("pads") {
			return nil, false
		}
		pads, ok := permute(n.Input(1), 2)
		if !ok {
			return nil, false
		}
		ins[1] = pads
	case "Slice":
		if l.opset < 10 || n.Input(3) == "" {
			// default axes 0..k-1 would have to be materialized with their count
			st := l.constOf(n.Input(1))
			if l.opset < 10 || st == nil {
				return nil, false
			}
			axes := make([]int64, st.Len())
			for i := range axes {
				axes[i] = int64(invertPerm(p)[i])
			}
			for len(ins) < 4 {
				ins = append(ins, "")
			}
			ins[3] = l.addInit(n.Outputs[0]+"_axes_nhwc", graph.FromInt64([]int{len(axes)}, axes))
			return p, true
		}
		at := l.constOf(n.Input(3))
		if at == nil {
			return nil, false
		}
		ax, err := at.AsInt64()
		if err != nil {
			return nil, false
		}
		inv := invertPerm(p)
		axes := make([]int64, len(ax))
		for i, a := range ax {
			na, err := graph.NormalizeAxis(a, r)
			if err != nil {
				return nil, false
			}
			axes[i] = int64(inv[na])
		}
		ins[3] = l.addInit(n.Input(3)+"_nhwc", graph.FromInt64([]int{len(axes)}, axes))
	case "Resize":
		if n.AttrString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize" {
			return nil, false
		}
		switch {
		case n.Input(3) != "":
			sizes, ok := permute(n.Input(3), 1)
			if !ok {
				return nil, false
			}
			ins[3] = sizes
		case n.Input(2) != "":
			scales, ok := permute(n.Input(2), 1)
			if !ok {
				return nil, false
			}
			ins[2] = scales
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	return p, true
}

// ---- QOperator operators ------------------------------------------------------------------------------

// qopInput returns the int8 representation of a QOperator input with its own
// (constant) parameters.
func (l *lowerer) qopInput(x, scale, zp string) (*qref, error) {
	dt := l.dtype(x)
	s, z, _, ok := l.qparams(scale, zp, dt)
	if !ok {
		return nil, notLowered("input %q has no constant per-tensor parameters", x)
	}
	r := l.refOf(x)
	if r == nil {
		return nil, notLowered("input %q is not an int8/uint8 tensor with a known shape", x)
	}
	nr := r.with(s, z)
	nr.exact = true
	return nr, nil
}

// qopDest makes a qdest for a QOperator output with its (constant) parameters.
func (l *lowerer) qopDest(out, scale, zp string) (*qdest, error) {
	s, z, dt, ok := l.qparams(scale, zp, l.dtype(out))
	if !ok {
		return nil, notLowered("output %q has no constant per-tensor parameters", out)
	}
	return &qdest{final: out, scale: s, zp: z, srcDType: dt, qmin: -128, qmax: 127}, nil
}

// bindQOp records a QOperator output.
func (l *lowerer) bindQOp(out string, r *qref) { l.state(out).q = r }

func (l *lowerer) lowerQLinearConv(n *graph.Node) error {
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	rank := len(x.shape)
	if rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D convolutions run int8 (input rank %d)", rank)
	}
	w, err := l.weightsFrom(l.constOf(n.Input(3)), n.Input(4), n.Input(5), 0)
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	oc := w.shape[0]
	wsc, wzp, err := w.perChannel(0, oc)
	if err != nil {
		return err
	}
	k := rank - 2
	strides, dil := intsOr(n, "strides", k, 1), intsOr(n, "dilations", k, 1)
	pads, err := explicitPads(n, x.shape[2:], w.shape[2:], strides, dil)
	if err != nil {
		return err
	}
	scales := make([]float32, oc)
	for c := range scales {
		scales[c] = kernels.RequantScaleF32(x.scale, wsc[c], d.scale)
	}
	var bias []int32
	if b := n.Input(8); b != "" {
		bt := l.constOf(b)
		if bt == nil || bt.I32() == nil || bt.Len() != oc {
			return notLowered("bias is not a constant int32 vector")
		}
		bias = bt.I32()
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	ins := []string{xin, l.addInit(n.Input(3)+"_int8", &graph.Tensor{DType: graph.Int8, Shape: w.shape, Data: w.data})}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(8)+"_int32", graph.FromInt32([]int{oc}, bias)))
	}
	store := l.fresh(n.Outputs[0] + "_nhwc")
	l.emit(n, "QConv", ins, []string{store},
		attrIs("strides", strides), attrIs("dilations", dil), attrIs("pads", pads), attrI("group", n.AttrInt("group", 1)),
		attrI("x_zp", int64(x.zp)), attrIs("w_zp", int32sToInts(compactZP(wzp))), attrFs("scales", scales),
		attrI("y_zp", int64(d.zp)), attrI("qmin", -128), attrI("qmax", 127), attrS("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: channelsLastPerm(rank), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearMatMul(n *graph.Node) error {
	a, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	if bt := l.constOf(n.Input(3)); bt != nil && len(bt.Shape) == 2 && len(a.shape) >= 2 {
		w, err := l.weightsFrom(bt, n.Input(4), n.Input(5), 1)
		if err != nil {
			return err
		}
		k, nOut := w.shape[0], w.shape[1]
		wsc, wzp, err := w.perChannel(1, nOut)
		if err != nil {
			return err
		}
		return l.emitQOpGemm(n, a, nOut, k, w, wsc, wzp, d)
	}
	b, err := l.qopInput(n.Input(3), n.Input(4), n.Input(5))
	if err != nil {
		return err
	}
	as, err := l.plainI8(a)
	if err != nil {
		return err
	}
	bs, err := l.plainI8(b)
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QMatMul", []string{as, bs}, []string{store},
		attrF("a_scale", a.scale), attrI("a_zp", int64(a.zp)), attrF("b_scale", b.scale), attrI("b_zp", int64(b.zp)),
		attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)), attrS("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) emitQOpGemm(n *graph.Node, a *qref, nOut, k int, w *qweights, wsc []float32, wzp []int32, d *qdest) error {
	scales := make([]float32, nOut)
	for c := range scales {
		scales[c] = kernels.RequantScaleF32(a.scale, wsc[c], d.scale)
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	in, axis, colPerm, err := l.gemmInput(a)
	if err != nil {
		return err
	}
	wd := make([]int8, nOut*k)
	for c := 0; c < nOut; c++ {
		for s := 0; s < k; s++ {
			kk := s
			if colPerm != nil {
				kk = colPerm[s]
			}
			wd[c*k+s] = w.data[kk*nOut+c]
		}
	}
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QGemm", []string{in, l.addInit(n.Input(3)+"_int8", graph.FromInt8([]int{nOut, k}, wd))}, []string{store},
		attrI("axis", int64(axis)), attrI("a_zp", int64(a.zp)), attrIs("w_zp", int32sToInts(compactZP(wzp))), attrFs("scales", scales),
		attrI("y_zp", int64(d.zp)), attrI("qmin", -128), attrI("qmax", 127), attrS("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearBinary(n *graph.Node) error {
	a, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	b, err := l.qopInput(n.Input(3), n.Input(4), n.Input(5))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	op := strings.TrimPrefix(n.OpType, "QLinear")
	var an, bn string
	var perm []int
	if sameLayout(a, b) && len(a.shape) == len(shape) {
		an, bn, perm = a.store, b.store, a.perm
	} else {
		if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.plainI8(b); err != nil {
			return err
		}
	}
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QBinary", []string{an, bn}, []string{store}, attrS("op", op),
		attrF("a_scale", a.scale), attrI("a_zp", int64(a.zp)), attrF("b_scale", b.scale), attrI("b_zp", int64(b.zp)),
		attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: perm, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearGAP(n *graph.Node) error {
	if n.AttrInt("channels_last", 0) != 0 {
		return notLowered("channels_last input")
	}
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(3), n.Input(4))
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store := l.fresh(n.Outputs[0] + "_nhwc")
	l.emit(n, "QPool", []string{xin}, []string{store}, attrS("kind", "gavg"),
		attrF("x_scale", x.scale), attrI("x_zp", int64(x.zp)), attrF("y_scale", d.scale), attrI("y_zp", int64(d.zp)))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: channelsLastPerm(len(shape)), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearUnary(n *graph.Node) error {
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(3), n.Input(4))
	if err != nil {
		return err
	}
	f := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	if n.OpType == "QLinearLeakyRelu" {
		alpha := float64(n.AttrFloat("alpha", 0.01))
		f = func(v float64) float64 {
			if v < 0 {
				return alpha * v
			}
			return v
		}
	}
	tbl := make([]int8, 256)
	for q := -128; q < 128; q++ {
		v := float32(f(float64(float32(int32(q)-x.zp) * x.scale)))
		tbl[uint8(int8(q))] = int8(quantizeRound(v, d.scale, d.zp, -128, 127))
	}
	ti := l.addInit(n.Outputs[0]+"_lut", graph.FromInt8([]int{256}, tbl))
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QLUT", []string{x.store, ti}, []string{store})
	nr := *x
	nr.store, nr.scale, nr.zp = store, d.scale, d.zp
	l.bindQOp(n.Outputs[0], &nr)
	return nil
}

// ---- finishing ----------------------------------------------------------------------------------------

func (l *lowerer) finish() (*graph.Model, error) {
	for _, o := range l.g.Outputs {
		if _, err := l.need(o.Name); err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.Name, err)
		}
	}
	roots := map[string]bool{}
	for _, o := range l.g.Outputs {
		roots[o.Name] = true
	}
	var taps []string
	for name := range l.cfg.Taps {
		taps = append(taps, name)
	}
	sort.Strings(taps)
	for _, name := range taps {
		if v := l.vals[name]; v != nil && (v.avail || v.q != nil) {
			if _, err := l.need(name); err != nil {
				return nil, fmt.Errorf("tap %q: %w", name, err)
			}
			roots[name] = true
		}
	}
	l.fuseQuantizeRelayout(roots)
	l.mergeRelayouts(roots)
	nodes := l.liveNodes(roots)
	ng := &graph.Graph{Name: l.g.Name, Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	for _, v := range l.g.Inputs {
		c := *v
		ng.Inputs = append(ng.Inputs, &c)
		ng.Values[c.Name] = &c
	}
	for _, v := range l.g.Outputs {
		c := *v
		ng.Outputs = append(ng.Outputs, &c)
	}
	needed := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			needed[in] = true
		}
	}
	for k, t := range l.inits {
		if needed[k] || roots[k] {
			ng.Initializers[k] = t
		}
	}
	ng.Nodes = nodes
	nm := *l.m
	nm.Graph = ng
	nm.Opsets = map[string]int64{}
	for k, v := range l.m.Opsets {
		nm.Opsets[k] = v
	}
	nm.Opsets[Int8Domain] = 1
	// Record how int8 tensors represent source values (taps, Session.Dequantized).
	produced := map[string]bool{}
	for _, n := range nodes {
		for _, o := range n.Outputs {
			produced[o] = true
		}
	}
	for _, v := range ng.Inputs {
		produced[v.Name] = true
	}
	info := map[string]*QuantInfo{}
	for name, v := range l.vals {
		r := v.q
		if r == nil || !produced[r.store] {
			continue
		}
		qi := &QuantInfo{Tensor: r.store, Scale: r.scale, ZeroPoint: r.zp, SourceType: l.dtype(name), Exact: r.exact}
		if !isIdentityPerm(r.perm) {
			qi.Perm = append([]int(nil), r.perm...)
		}
		if r.reshaped() {
			t, ok := shapeTemplate(r.shape, r.base)
			if !ok {
				continue
			}
			qi.Shape = t
		}
		info[name] = qi
		if _, ok := info[r.store]; !ok || name == r.store {
			st := *qi
			st.Perm, st.Shape, st.SourceType, st.Exact = nil, nil, graph.Int8, true
			if dt := l.dtype(r.store); dt != graph.Undefined {
				st.SourceType = dt
			}
			info[r.store] = &st
		}
	}
	l.cfg.Quant = info
	return &nm, nil
}

// liveNodes keeps the emitted nodes some root depends on, in emission order.
func (l *lowerer) liveNodes(roots map[string]bool) []*graph.Node {
	needed := map[string]bool{}
	for k := range roots {
		needed[k] = true
	}
	keep := make([]bool, len(l.nodes))
	for i := len(l.nodes) - 1; i >= 0; i-- {
		n := l.nodes[i]
		for _, o := range n.Outputs {
			if o != "" && needed[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				needed[in] = true
			}
		}
	}
	var out []*graph.Node
	for i, n := range l.nodes {
		if keep[i] {
			out = append(out, n)
		}
	}
	return out
}

// mergeRelayouts merges a type-only Relayout (uint8 -> int8 of a raw input) into the
// layout change that reads it.
func (l *lowerer) mergeRelayouts(roots map[string]bool) {
	users := map[string][]*graph.Node{}
	prod := map[string]*graph.Node{}
	for _, n := range l.nodes {
		for _, in := range n.Inputs {
			users[in] = append(users[in], n)
		}
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	for _, r := range l.nodes {
		if r.Domain != Int8Domain || r.OpType != "Relayout" || r.HasAttr("to") || len(r.Inputs) == 0 {
			continue
		}
		src := r.Inputs[0]
		first := prod[src]
		if first == nil || first.Domain != Int8Domain || first.OpType != "Relayout" || first.HasAttr("perm") || first.HasAttr("shape") ||
			!first.HasAttr("to") || roots[src] || len(users[src]) != 1 {
			continue
		}
		raw := first.Inputs[0]
		r.Inputs[0] = raw
		r.Attrs["to"] = first.Attrs["to"]
		first.Outputs[0] = ""
		first.Inputs = nil
		// Values held by the converted tensor are held by the raw one (QuantInfo
		// zero points stay in the int8 domain; Dequantized flips uint8 bytes).
		for _, v := range l.vals {
			if v.q != nil && v.q.store == src {
				c := *v.q
				c.store = raw
				v.q = &c
			}
		}
	}
}

// fuseQuantizeRelayout folds a layout conversion into the Quantize that feeds it
// (the graph input is quantized straight into NHWC).
func (l *lowerer) fuseQuantizeRelayout(roots map[string]bool) {
	users := map[string][]*graph.Node{}
	prod := map[string]*graph.Node{}
	for _, n := range l.nodes {
		for _, in := range n.Inputs {
			users[in] = append(users[in], n)
		}
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	for _, r := range l.nodes {
		if r.Domain != Int8Domain || r.OpType != "Relayout" || r.HasAttr("shape") || r.HasAttr("to") || !r.HasAttr("perm") {
			continue
		}
		src := r.Inputs[0]
		q := prod[src]
		if q == nil || q.Domain != Int8Domain || q.OpType != "Quantize" || q.HasAttr("perm") || roots[src] || len(users[src]) != 1 {
			continue
		}
		perm := intsAttr(r, "perm")
		q.Attrs["perm"] = r.Attrs["perm"]
		q.Outputs[0] = r.Outputs[0]
		r.Outputs[0] = "" // dead
		r.Inputs = nil
		// values held by the plain tensor are now held channels-last by the new one
		for _, v := range l.vals {
			if v.q != nil && v.q.store == src && isIdentityPerm(v.q.perm) {
				c := *v.q
				c.store, c.perm = q.Outputs[0], perm
				v.q = &c
			}
		}
	}
}

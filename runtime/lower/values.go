package lower

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

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
	n := &graph.Node{Name: l.fresh(base), OpType: op, Domain: Domain, Inputs: inputs, Outputs: outputs, Attrs: map[string]*graph.Attr{}}
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
		l.emit(nil, "Relayout", []string{name}, []string{store}, graph.IntAttr("to", int64(graph.Int8)))
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
	if !qtensor.IsIdentityPerm(r.perm) {
		inv := qtensor.InvertPerm(r.perm)
		attrs = append(attrs, graph.IntsAttr("perm", inv))
		key += fmt.Sprint(inv)
	}
	if r.reshaped() {
		t, ok := shapeTemplate(r.shape, r.base)
		if !ok {
			return "", notLowered("the shape %s cannot be expressed as a reshape of %s", r.shape, r.base)
		}
		attrs = append(attrs, graph.Int64sAttr("shape", t))
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
	if rank != 3 && rank != 4 && rank != 5 {
		return "", notLowered("rank-%d input (channels-last needs rank 3, 4 or 5)", rank)
	}
	cl := qtensor.ChannelsLastPerm(rank)
	if !r.reshaped() && slices.Equal(r.perm, cl) {
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
	l.emit(nil, "Relayout", []string{src}, []string{out}, graph.IntsAttr("perm", cl))
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
	if !qtensor.IsIdentityPerm(r.perm) {
		attrs = append(attrs, graph.IntsAttr("perm", qtensor.InvertPerm(r.perm)))
	}
	if r.reshaped() {
		t, ok := shapeTemplate(r.shape, r.base)
		if !ok {
			return fmt.Errorf("value %q: shape %s cannot be rebuilt from %s", name, r.shape, r.base)
		}
		attrs = append(attrs, graph.Int64sAttr("shape", t))
	}
	switch dt {
	case graph.Float32:
		s := l.scalarF32(name+"_scale", r.scale)
		z := l.scalarI8(name+"_zero_point", r.zp)
		l.emit(nil, "Dequantize", []string{r.store, s, z}, []string{name}, attrs...)
	case graph.Int8, graph.Uint8:
		if dt == graph.Uint8 {
			attrs = append(attrs, graph.IntAttr("to", int64(graph.Uint8)))
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
	p, err := qtensor.ReadQDQParams(dq, x, s, l.constOf(dq.Input(2)), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dq.Label(), err)
	}
	vals, err := x.AsInt64()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(vals))
	p.DequantizeTo(vals, x.Shape, out)
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
		d.qmin = max(d.qmin, qtensor.QuantizeRound(float32(lo), d.scale, d.zp, -128, 127))
	}
	if !math.IsInf(hi, 1) {
		d.qmax = min(d.qmax, qtensor.QuantizeRound(float32(hi), d.scale, d.zp, -128, 127))
	}
	if d.qmin > d.qmax {
		return nil, notLowered("the fused activation clamps everything to one value")
	}
	return d, nil
}

// implicitOut is the destination of an operator on x whose output no QuantizeLinear
// quantizes, when every reader of that output is a Conv, ConvTranspose, Gemm or MatMul:
// the output keeps x's scale and zero point. PyTorch's eager-mode convert runs ReLU on
// quantized tensors that way, so its QAT models, exported before convert, have no fake
// quantization after it; without this the layers it feeds would run in float32. Only an
// operator whose result is exactly representable on x's grid may take it (ReLU:
// max(q, zp)): the file computes the readers on the float value, so an operator that
// rounds (an average) must stay float instead (the average pool was given this
// destination in the fifteenth session and put qat_fakequant_op13 28 dB from ONNX
// Runtime).
func (l *lowerer) implicitOut(name string, x *qref) (*qdest, error) {
	if l.outputs[name] {
		return nil, notLowered("its output %q is a graph output", name)
	}
	cs := l.cons[name]
	if len(cs) == 0 {
		return nil, notLowered("its output %q is not used", name)
	}
	if c := l.notWeightedReader(name, 4); c != nil {
		return nil, notLowered("its output %q feeds %s, not only QuantizeLinear", name, c.Label())
	}
	return &qdest{final: name, scale: x.scale, zp: x.zp, qmin: -128, qmax: 127, srcDType: graph.Int8, exact: true}, nil
}

// readByQuantize reports whether a QuantizeLinear reads name.
func (l *lowerer) readByQuantize(name string) bool {
	for _, c := range l.cons[name] {
		if c.OpType == "QuantizeLinear" && c.Domain == "" {
			return true
		}
	}
	return false
}

// notWeightedReader returns a reader of name that is neither a Conv, ConvTranspose,
// Gemm or MatMul nor a reshape-like operator (Flatten, Reshape, Squeeze, Unsqueeze,
// Identity) whose readers, up to depth such steps, all are; nil when there is none.
func (l *lowerer) notWeightedReader(name string, depth int) *graph.Node {
	for _, c := range l.cons[name] {
		if c.Domain != "" || l.claimed[c] {
			return c
		}
		switch c.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul":
			continue
		case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity":
			if depth > 0 && c.Input(0) == name && !l.outputs[c.Outputs[0]] && len(l.cons[c.Outputs[0]]) > 0 {
				if r := l.notWeightedReader(c.Outputs[0], depth-1); r == nil {
					continue
				}
			}
		}
		return c
	}
	return nil
}

// destStore picks the name of a fused operator's int8 output: the QuantizeLinear's
// output itself when that is what the source graph holds (plain int8), else a new name.
func (l *lowerer) destStore(d *qdest, plain bool, suffix string) (string, bool) {
	if len(d.qs) == 0 {
		return l.fresh(d.final + suffix), false
	}
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
	fr.exact = len(d.qs) == 0 && d.exact
	l.state(d.final).q = &fr
}

package graph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Dim is one dimension of a shape: a known size, or unknown (Size < 0) with an optional
// symbolic name such as "N" for a dynamic batch.
type Dim struct {
	Size  int
	Param string
}

// Known reports whether the dimension has a concrete size.
func (d Dim) Known() bool { return d.Size >= 0 }

func (d Dim) String() string {
	if d.Size >= 0 {
		return fmt.Sprint(d.Size)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// Shape is a possibly partially known shape. A nil Shape with Rank < 0 semantics is
// represented by Value.ShapeKnown == false.
type Shape []Dim

// Concrete returns the sizes if every dimension is known.
func (s Shape) Concrete() ([]int, bool) {
	out := make([]int, len(s))
	for i, d := range s {
		if d.Size < 0 {
			return nil, false
		}
		out[i] = d.Size
	}
	return out, true
}

// ShapeOf makes a fully known shape.
func ShapeOf(sizes ...int) Shape {
	s := make(Shape, len(sizes))
	for i, v := range sizes {
		s[i] = Dim{Size: v}
	}
	return s
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Value is a named, typed tensor value of the graph.
type Value struct {
	Name  string
	DType DType
	// Shape is meaningful only when HasShape; rank-0 tensors have HasShape and len 0.
	Shape    Shape
	HasShape bool
	// Seq marks an ONNX sequence of tensors (seq_value.go): DType is the
	// elements' type, and Shape, when HasShape, what every element's shape
	// has in common (a dimension that differs between elements is unknown).
	Seq bool
	// SeqEmpty marks a sequence known to hold no element (SequenceEmpty's):
	// its element shape constrains nothing when merged with another's.
	SeqEmpty bool
}

func (v *Value) String() string {
	if v.Seq {
		return v.Name + ":seq(" + v.elemString() + ")"
	}
	if !v.HasShape {
		return fmt.Sprintf("%s:%s[?]", v.Name, v.DType)
	}
	return fmt.Sprintf("%s:%s%s", v.Name, v.DType, v.Shape)
}

// AttrType is the kind of an attribute, numbered as ONNX's AttributeType.
type AttrType int32

// Attribute kinds.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrGraph   AttrType = 5
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attr is a node attribute.
type Attr struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
	// G is a subgraph (AttrGraph: the branches of If, the body of Loop); its nodes may
	// read values of the enclosing graphs by name (subgraph.go).
	G *Graph
	// raw keeps attributes we do not interpret (lists of graphs, sparse tensors) for round trips.
	raw *onnxpb.AttributeProto
}

// Node is one operator application.
type Node struct {
	Name    string
	OpType  string
	Domain  string // "" for the default ONNX domain
	Inputs  []string
	Outputs []string
	Attrs   map[string]*Attr
	Doc     string
}

// Input returns input i or "" when absent (optional inputs are empty strings in ONNX).
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// Label names the node for messages: its name, or its op type and first output.
func (n *Node) Label() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	out := ""
	if len(n.Outputs) > 0 {
		out = n.Outputs[0]
	}
	return fmt.Sprintf("%s (output %q)", n.OpType, out)
}

// HasAttr reports whether the attribute is present.
func (n *Node) HasAttr(name string) bool { _, ok := n.Attrs[name]; return ok }

// AttrInt returns an int attribute or def.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInt {
		return a.I
	}
	return def
}

// AttrFloat returns a float attribute or def.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// AttrString returns a string attribute or def.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrString {
		return a.S
	}
	return def
}

// AttrInts returns an ints attribute or def.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && (a.Type == AttrInts || a.Type == AttrInt) {
		if a.Type == AttrInt {
			return []int64{a.I}
		}
		return a.Ints
	}
	return def
}

// AttrIntList returns an ints attribute as []int, or nil when it is absent.
func (n *Node) AttrIntList(name string) []int {
	v := n.AttrInts(name, nil)
	if v == nil {
		return nil
	}
	return Int64sToInts(v)
}

// AttrFloats returns a floats attribute or def.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloats {
		return a.Floats
	}
	return def
}

// AttrStrings returns a strings attribute or def.
func (n *Node) AttrStrings(name string, def []string) []string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrStrings {
		return a.Strings
	}
	return def
}

// AttrTensor returns a tensor attribute or nil.
func (n *Node) AttrTensor(name string) *Tensor {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrTensor {
		return a.T
	}
	return nil
}

// SetAttrInt sets an int attribute.
func (n *Node) SetAttrInt(name string, v int64) { n.setAttr(&Attr{Name: name, Type: AttrInt, I: v}) }

// SetAttrInts sets an ints attribute.
func (n *Node) SetAttrInts(name string, v []int64) {
	n.setAttr(&Attr{Name: name, Type: AttrInts, Ints: append([]int64(nil), v...)})
}

// SetAttrFloat sets a float attribute.
func (n *Node) SetAttrFloat(name string, v float32) {
	n.setAttr(&Attr{Name: name, Type: AttrFloat, F: v})
}

// SetAttrString sets a string attribute.
func (n *Node) SetAttrString(name, v string) { n.setAttr(&Attr{Name: name, Type: AttrString, S: v}) }

// SetAttrTensor sets a tensor attribute.
func (n *Node) SetAttrTensor(name string, t *Tensor) {
	n.setAttr(&Attr{Name: name, Type: AttrTensor, T: t})
}

func (n *Node) setAttr(a *Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[a.Name] = a
}

// Clone copies the node (attributes are shared, they are treated as immutable).
func (n *Node) Clone() *Node {
	c := *n
	c.Inputs = append([]string(nil), n.Inputs...)
	c.Outputs = append([]string(nil), n.Outputs...)
	c.Attrs = make(map[string]*Attr, len(n.Attrs))
	for k, v := range n.Attrs {
		c.Attrs[k] = v
	}
	c.cloneSubgraphs()
	return &c
}

// Graph is a computation graph.
type Graph struct {
	Name         string
	Nodes        []*Node
	Inputs       []*Value // runtime inputs (initializers excluded)
	Outputs      []*Value
	Initializers map[string]*Tensor
	// Values holds the type and shape of every named value that is known (inputs,
	// outputs, value_info from the file, and what shape inference adds).
	Values map[string]*Value
}

// Model is a graph with its model-level metadata.
type Model struct {
	Graph           *Graph
	IRVersion       int64
	Opsets          map[string]int64 // domain ("" = ai.onnx) -> version
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	Doc             string
	Metadata        map[string]string
	// sharedNames are the node names several nodes of the file carry (LoadWarnings).
	sharedNames map[string][]string
}

// Opset returns the default-domain opset version.
func (m *Model) Opset() int64 {
	if v, ok := m.Opsets[""]; ok {
		return v
	}
	if v, ok := m.Opsets["ai.onnx"]; ok {
		return v
	}
	return 0
}

// Load reads an ONNX file and builds the IR (without shape inference).
func Load(path string) (*Model, error) {
	mp, err := onnx.LoadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := FromONNX(mp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode parses serialized ONNX bytes (external data refused).
func Decode(data []byte) (*Model, error) {
	mp, err := onnx.Decode(data, "")
	if err != nil {
		return nil, err
	}
	return FromONNX(mp)
}

// Save writes the model as ONNX.
func (m *Model) Save(path string) error {
	mp, err := m.ToONNX()
	if err != nil {
		return err
	}
	return onnx.SaveFile(path, mp, 0)
}

// Encode serializes the model as ONNX bytes.
func (m *Model) Encode() ([]byte, error) {
	mp, err := m.ToONNX()
	if err != nil {
		return nil, err
	}
	return onnx.Encode(mp)
}

// FromONNX converts a protobuf model to the IR.
func FromONNX(mp *onnxpb.ModelProto) (*Model, error) {
	// Node names as the file gives them (inlined function bodies add their own).
	shared := sharedNodeNames(mp.GetGraph())
	if len(mp.GetFunctions()) > 0 {
		// Expanded on a copy: the caller's proto stays as it was read.
		mp = proto.Clone(mp).(*onnxpb.ModelProto)
		if err := inlineFunctions(mp); err != nil {
			return nil, err
		}
	}
	m := &Model{
		IRVersion:       mp.GetIrVersion(),
		Opsets:          map[string]int64{},
		ProducerName:    mp.GetProducerName(),
		ProducerVersion: mp.GetProducerVersion(),
		Domain:          mp.GetDomain(),
		ModelVersion:    mp.GetModelVersion(),
		Doc:             mp.GetDocString(),
		Metadata:        map[string]string{},
	}
	for _, o := range mp.GetOpsetImport() {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		m.Opsets[d] = o.GetVersion()
	}
	if len(m.Opsets) == 0 {
		// IR version 3+ requires opset_import; older files imply opset 1.
		m.Opsets[""] = 1
	}
	for _, kv := range mp.GetMetadataProps() {
		m.Metadata[kv.GetKey()] = kv.GetValue()
	}
	g, err := graphFromONNX(mp.GetGraph())
	if err != nil {
		return nil, err
	}
	m.sharedNames = shared
	// Composite operators become standard ones (graph/expand.go).
	if err := expandOps(g, m.Opsets[""]); err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

// typeKind names a non-tensor ONNX type for an error message. Sequences are what
// exporters write most (torch.jit.script's list append in a loop becomes
// SequenceEmpty / SequenceInsert / ConcatFromSequence with a sequence carried
// through the Loop), so they say so.
func typeKind(t *onnxpb.TypeProto) string {
	elem := func(t *onnxpb.TypeProto) string {
		if tt := t.GetTensorType(); tt != nil {
			return "tensor(" + DType(tt.GetElemType()).String() + ")"
		}
		return "a non-tensor type"
	}
	switch {
	case t.GetSequenceType() != nil:
		return "a sequence of " + elem(t.GetSequenceType().GetElemType()) +
			" (SequenceEmpty/SequenceInsert/ConcatFromSequence, as torch.jit.script writes a list append)"
	case t.GetOptionalType() != nil:
		return "an optional of " + elem(t.GetOptionalType().GetElemType())
	case t.GetMapType() != nil:
		return "a map"
	case t.GetSparseTensorType() != nil:
		return "a sparse tensor"
	}
	return "not a tensor"
}

func valueFromONNX(vi *onnxpb.ValueInfoProto) (*Value, error) {
	v := &Value{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if st := vi.GetType().GetSequenceType(); tt == nil && st != nil {
		// A sequence of tensors (seq_value.go): the elements' type and shape.
		if st.GetElemType() != nil && st.GetElemType().GetTensorType() == nil {
			return nil, fmt.Errorf("value %q is %s: only sequences of tensors are supported", vi.GetName(), typeKind(vi.GetType()))
		}
		tt = st.GetElemType().GetTensorType()
		v.Seq = true
		if tt == nil {
			return v, nil
		}
	}
	if ot := vi.GetType().GetOptionalType(); tt == nil && ot != nil {
		// An optional holding a tensor (a torch.jit.script Optional[Tensor]
		// argument) is read as that tensor, given; the Optional* operators
		// over it are expanded accordingly (expand_ops.go).
		tt = ot.GetElemType().GetTensorType()
	}
	if tt == nil {
		if vi.GetType() != nil && vi.GetType().GetValue() != nil {
			return nil, fmt.Errorf("value %q is %s: only tensor types are supported", vi.GetName(), typeKind(vi.GetType()))
		}
		return v, nil
	}
	v.DType = DType(tt.GetElemType())
	if sh := tt.GetShape(); sh != nil {
		v.HasShape = true
		v.Shape = make(Shape, len(sh.GetDim()))
		for i, d := range sh.GetDim() {
			switch x := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				switch {
				case x.DimValue == -1:
					// paddle2onnx and older converters write -1 for a size known only at run
					// time (onnx.helper turns the -1 of their shapes into a dim_value); ONNX
					// Runtime reads it as an unnamed symbolic size, and so does this.
					v.Shape[i] = Dim{Size: -1}
				case x.DimValue < 0:
					return nil, fmt.Errorf("value %q: negative dimension %d", vi.GetName(), x.DimValue)
				default:
					v.Shape[i] = Dim{Size: int(x.DimValue)}
				}
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				v.Shape[i] = Dim{Size: -1, Param: x.DimParam}
			default:
				v.Shape[i] = Dim{Size: -1}
			}
		}
	}
	return v, nil
}

func graphFromONNX(gp *onnxpb.GraphProto) (*Graph, error) {
	if err := checkGraphNames(gp); err != nil {
		return nil, err
	}
	splitSequencesToSlices(gp)
	listLoopsToScans(gp)
	g := &Graph{
		Name:         gp.GetName(),
		Initializers: map[string]*Tensor{},
		Values:       map[string]*Value{},
	}
	for _, tp := range gp.GetInitializer() {
		if tp.GetName() == "" {
			return nil, fmt.Errorf("%w: initializer without a name", onnx.ErrMalformed)
		}
		t, err := TensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		g.Initializers[tp.GetName()] = t
		g.Values[tp.GetName()] = &Value{Name: tp.GetName(), DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}
	}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("sparse initializers are not supported")
	}
	for _, vi := range gp.GetInput() {
		v, err := valueFromONNX(vi)
		if err != nil {
			return nil, fmt.Errorf("graph input: %w", err)
		}
		if t, isInit := g.Initializers[v.Name]; isInit {
			// Old-style models list initializers as inputs too (IR >= 4: a default
			// value); the input is read as that constant.
			if err := checkInitializerInput(v, t); err != nil {
				return nil, err
			}
			continue
		}
		g.Inputs = append(g.Inputs, v)
		g.Values[v.Name] = v
	}
	for _, vi := range gp.GetValueInfo() {
		v, err := valueFromONNX(vi)
		if err != nil {
			return nil, err
		}
		if _, ok := g.Values[v.Name]; !ok {
			g.Values[v.Name] = v
		}
	}
	for _, vi := range gp.GetOutput() {
		v, err := valueFromONNX(vi)
		if err != nil {
			return nil, fmt.Errorf("graph output: %w", err)
		}
		g.Outputs = append(g.Outputs, v)
		if old, ok := g.Values[v.Name]; !ok || !old.HasShape {
			g.Values[v.Name] = v
		}
	}
	for i, np := range gp.GetNode() {
		n := &Node{
			Name:    np.GetName(),
			OpType:  np.GetOpType(),
			Domain:  np.GetDomain(),
			Inputs:  append([]string(nil), np.GetInput()...),
			Outputs: append([]string(nil), np.GetOutput()...),
			Attrs:   map[string]*Attr{},
			Doc:     np.GetDocString(),
		}
		if n.Domain == "ai.onnx" {
			n.Domain = ""
		}
		if n.OpType == "" {
			return nil, fmt.Errorf("%w: node %d (%q) has no op_type", onnx.ErrMalformed, i, n.Name)
		}
		for _, ap := range np.GetAttribute() {
			a, err := attrFromONNX(ap)
			if err == nil {
				err = attrFieldMismatch(ap)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %q: %w", n.Label(), ap.GetName(), err)
			}
			if err := checkAttrName(n, a); err != nil {
				return nil, err
			}
			if err := checkAttrType(n, a); err != nil {
				return nil, err
			}
			n.Attrs[a.Name] = a
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

func attrFromONNX(ap *onnxpb.AttributeProto) (*Attr, error) {
	a := &Attr{Name: ap.GetName(), Type: AttrType(ap.GetType())}
	if a.Type == 0 {
		// Pre-IR3 files may omit the type: infer it from the populated field.
		switch {
		case ap.F != nil:
			a.Type = AttrFloat
		case ap.I != nil:
			a.Type = AttrInt
		case ap.S != nil:
			a.Type = AttrString
		case ap.T != nil:
			a.Type = AttrTensor
		case len(ap.Floats) > 0:
			a.Type = AttrFloats
		case len(ap.Ints) > 0:
			a.Type = AttrInts
		case len(ap.Strings) > 0:
			a.Type = AttrStrings
		}
	}
	switch a.Type {
	case AttrFloat:
		a.F = ap.GetF()
	case AttrInt:
		a.I = ap.GetI()
	case AttrString:
		a.S = string(ap.GetS())
	case AttrTensor:
		t, err := TensorFromProto(ap.GetT())
		if err != nil {
			return nil, err
		}
		a.T = t
	case AttrFloats:
		a.Floats = append([]float32(nil), ap.GetFloats()...)
	case AttrInts:
		a.Ints = append([]int64(nil), ap.GetInts()...)
	case AttrStrings:
		for _, s := range ap.GetStrings() {
			a.Strings = append(a.Strings, string(s))
		}
	case AttrGraph:
		if ap.GetG() == nil {
			return nil, fmt.Errorf("%w: graph attribute without a graph", onnx.ErrMalformed)
		}
		g, err := graphFromONNX(ap.GetG())
		if err != nil {
			return nil, fmt.Errorf("subgraph: %w", err)
		}
		a.G = g
	default:
		a.raw = ap
	}
	return a, nil
}

// ToONNX converts the IR back to protobuf.
func (m *Model) ToONNX() (*onnxpb.ModelProto, error) {
	gp, err := m.Graph.toONNX()
	if err != nil {
		return nil, err
	}
	mp := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(m.IRVersion),
		ProducerName:    proto.String(m.ProducerName),
		ProducerVersion: proto.String(m.ProducerVersion),
		Graph:           gp,
	}
	if m.Domain != "" {
		mp.Domain = proto.String(m.Domain)
	}
	if m.ModelVersion != 0 {
		mp.ModelVersion = proto.Int64(m.ModelVersion)
	}
	if m.Doc != "" {
		mp.DocString = proto.String(m.Doc)
	}
	if mp.GetIrVersion() == 0 {
		mp.IrVersion = proto.Int64(7)
	}
	for _, d := range slices.Sorted(maps.Keys(m.Opsets)) {
		mp.OpsetImport = append(mp.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(d), Version: proto.Int64(m.Opsets[d])})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(m.Metadata[k])})
	}
	return mp, nil
}

func valueToONNX(v *Value) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(v.DType))}
	if v.HasShape {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range v.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Size >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d.Size)}
			case d.Param != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	typ := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	if v.Seq {
		typ = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: typ}}}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(v.Name), Type: typ}
}

func (g *Graph) toONNX() (*onnxpb.GraphProto, error) {
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, valueToONNX(v))
	}
	for _, v := range g.Outputs {
		// An output a rewrite added without a type (the scan output a list loop
		// becomes, seq_scan.go) has the type inference found in Values; one with
		// neither is written without a type, not as element type 0, which ONNX
		// Runtime refuses to load.
		if v.DType == Undefined {
			if iv := g.Values[v.Name]; iv != nil && iv.DType != Undefined {
				v = iv
			}
		}
		if v.DType == Undefined {
			gp.Output = append(gp.Output, &onnxpb.ValueInfoProto{Name: proto.String(v.Name)})
			continue
		}
		gp.Output = append(gp.Output, valueToONNX(v))
	}
	for _, k := range slices.Sorted(maps.Keys(g.Initializers)) {
		tp, err := g.Initializers[k].ToProto(k)
		if err != nil {
			return nil, err
		}
		gp.Initializer = append(gp.Initializer, tp)
	}
	isIO := map[string]bool{}
	for _, v := range g.Inputs {
		isIO[v.Name] = true
	}
	for _, v := range g.Outputs {
		isIO[v.Name] = true
	}
	vnames := make([]string, 0, len(g.Values))
	for k, v := range g.Values {
		if isIO[k] || g.Initializers[k] != nil || v.DType == Undefined {
			continue
		}
		vnames = append(vnames, k)
	}
	sort.Strings(vnames)
	for _, k := range vnames {
		gp.ValueInfo = append(gp.ValueInfo, valueToONNX(g.Values[k]))
	}
	for _, n := range g.Nodes {
		np := &onnxpb.NodeProto{
			Input:  append([]string(nil), n.Inputs...),
			Output: append([]string(nil), n.Outputs...),
			OpType: proto.String(n.OpType),
		}
		if n.Name != "" {
			np.Name = proto.String(n.Name)
		}
		if n.Domain != "" {
			np.Domain = proto.String(n.Domain)
		}
		if n.Doc != "" {
			np.DocString = proto.String(n.Doc)
		}
		for _, k := range slices.Sorted(maps.Keys(n.Attrs)) {
			ap, err := n.Attrs[k].toONNX()
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %q: %w", n.Label(), k, err)
			}
			np.Attribute = append(np.Attribute, ap)
		}
		gp.Node = append(gp.Node, np)
	}
	return gp, nil
}

func (a *Attr) toONNX() (*onnxpb.AttributeProto, error) {
	if a.raw != nil {
		return a.raw, nil
	}
	ap := &onnxpb.AttributeProto{Name: proto.String(a.Name), Type: onnxpb.AttributeProto_AttributeType(a.Type).Enum()}
	switch a.Type {
	case AttrFloat:
		ap.F = proto.Float32(a.F)
	case AttrInt:
		ap.I = proto.Int64(a.I)
	case AttrString:
		ap.S = []byte(a.S)
	case AttrTensor:
		tp, err := a.T.ToProto("")
		if err != nil {
			return nil, err
		}
		ap.T = tp
	case AttrFloats:
		ap.Floats = a.Floats
	case AttrInts:
		ap.Ints = a.Ints
	case AttrStrings:
		for _, s := range a.Strings {
			ap.Strings = append(ap.Strings, []byte(s))
		}
	case AttrGraph:
		gp, err := a.G.toONNX()
		if err != nil {
			return nil, err
		}
		ap.G = gp
	default:
		return nil, fmt.Errorf("unsupported attribute type %d", a.Type)
	}
	return ap, nil
}

package npu

import (
	"github.com/warboy-sim/warboy/graph"
)

// opKind is how an operator executes on the NPU (or which host/transfer step it is).
type opKind int

const (
	kConv          opKind = iota // Conv, QLinearConv, ConvInteger (regular or grouped)
	kDepthwise                   // Conv with group == C_in, and average pooling
	kConvTranspose               // ConvTranspose
	kGemm                        // Gemm, MatMul and friends (on the MAC array)
	kMaxPool                     // MaxPool, GlobalMaxPool (vector engine)
	kEltwise                     // unary and binary elementwise (vector engine)
	kPad                         // Pad and materialised convolution padding
	kView                        // Reshape, Flatten, Squeeze, Unsqueeze (no data movement)
	kCopy                        // Concat, Slice, Split, Expand, Tile
	kTranspose                   // Transpose, DepthToSpace, SpaceToDepth (transpose engine)
	kSoftmax                     // Softmax, LogSoftmax
	kNorm                        // LpNormalization, reductions
	kResize                      // Resize, Upsample
	kLower                       // host->NPU layout conversion
	kUnlower                     // NPU->host layout conversion
	kQuantize                    // float -> int8 on the host
	kDequantize                  // int8 -> float
	kHostOp                      // an operator the NPU cannot run
	kH2D                         // PCIe host to device
	kD2H                         // PCIe device to host
)

// regionKind is the kind of region a step runs (regions.go).
type regionKind int

const (
	regionNone  regionKind = iota
	regionTable            // an elementwise chain of one int8 input: one table lookup
	regionNorm             // a written-out layer normalization
)

// lowLevelNames are the names FuriosaAI's profiler gives the NPU operators (warboy.md
// 2.4); the simulator's trace and table use the same vocabulary.
var lowLevelNames = map[opKind]string{
	kConv: "LowLevelConv2d", kDepthwise: "LowLevelDepthwiseConv2d", kConvTranspose: "LowLevelConvTranspose2d",
	kGemm: "LowLevelConv2d", kMaxPool: "LowLevelMaxPool", kEltwise: "LowLevelElementwise", kPad: "LowLevelPad",
	kView: "LowLevelReshape", kCopy: "LowLevelCopy", kTranspose: "LowLevelTranspose", kSoftmax: "LowLevelSoftmax",
	kNorm: "LowLevelReduce", kResize: "LowLevelResize", kLower: "Lower", kUnlower: "Unlower",
	kQuantize: "Quantize", kDequantize: "Dequantize", kHostOp: "CpuOp", kH2D: "PCIe H2D", kD2H: "PCIe D2H",
}

func (k opKind) isMAC() bool {
	return k == kConv || k == kDepthwise || k == kConvTranspose || k == kGemm
}

// Engine is where an operator runs.
type Engine string

// Engines.
const (
	EngineNPU  Engine = "npu"
	EngineHost Engine = "host"
	EnginePCIe Engine = "pcie"
)

// vt is an activation tensor of the collapsed graph: quantization operators are
// folded away, so a value and its QuantizeLinear / DequantizeLinear twins are one vt.
type vt struct {
	name string
	// label is the name shown in reports: a graph output's own name when the output
	// is a DequantizeLinear twin of an internal tensor.
	label string
	shape []int // nil when unknown
	dtype graph.DType
	// int8 marks tensors that are int8 on the device (one byte per element).
	int8 bool
	// quant marks tensors the model itself quantizes (a QuantizeLinear, an integer
	// type, or AssumeInt8): an NPU operator must produce quantized outputs.
	quant    bool
	prod     *lop
	users    []*lop
	graphIn  bool
	graphOut bool
	// memory plan (NPU tensors): dram says the tensor lives in DRAM (spilled, or
	// crossing the PCIe boundary), so its producer stores it and consumers load it.
	dram  bool
	bytes int64 // NPU layout bytes
	first int   // program index of the producer (or first NPU use)
	last  int   // program index of the last NPU use
	// devAvail is the PCIe step after which a tensor from the host is in device DRAM;
	// hostAvail is the last step of the chain that brings an NPU tensor to the host.
	devAvail  *lop
	hostAvail *lop
}

func (t *vt) display() string {
	if t.label != "" {
		return t.label
	}
	return t.name
}

func (t *vt) elems() int64 {
	if t.shape == nil {
		return 0
	}
	return int64(graph.NumElements(t.shape))
}

// lop is one step of the compiled program: an NPU operator (possibly with fused
// epilogue operators), a host operator, or a PCIe transfer.
type lop struct {
	idx    int // position in the program
	npuIdx int // position among the NPU steps
	name   string
	opType string
	node   *graph.Node
	fused  []string // operator types fused into this one
	nodes  []string // names of the original nodes
	kind   opKind
	in     []*vt
	out    []*vt
	wBytes int64 // weights in DRAM (int8)
	// floatWeight names a weight the model keeps in float32 (a QDQ model's operator
	// the quantizer excluded): the operator computes in float.
	floatWeight string
	cBytes      int64 // other constants in DRAM (int32 bias, scales, elementwise constants)
	engine      Engine
	reason      string // why a computational operator runs on the host
	geom        *macGeom
	// pads holds [top, left, bottom, right] padding a MAC operator needs materialised.
	pads  [4]int
	macs  int64
	extra int // vector passes / taps for vector operators
	// region marks a step that runs a whole region (regions.go); lut says it
	// evaluates a function by table lookup (a transcendental region).
	region regionKind
	lut    bool
	// boundary steps: the tensor they convert or move
	xfer     *vt
	xferByte int64
	dead     bool // removed by fusion
	// deps are extra step dependencies (boundary chains); data dependencies follow
	// from the input tensors.
	deps []*lop
}

// macGeom is the geometry of an operator on the MAC array.
type macGeom struct {
	n          int // images (batch x leading dimensions)
	cin, cout  int
	group      int
	ho, wo     int
	kh, kw     int
	sh, sw     int
	depthwise  bool
	transposed bool
	// tableEpilogue is set when a fused activation needs table lookups (SiLU,
	// Sigmoid, Tanh ...): the epilogue of every pass then takes longer.
	tableEpilogue bool
}

// program is the compiled model: steps in execution order.
type program struct {
	steps    []*lop
	tensors  map[string]*vt
	inputs   []*vt
	outputs  []*vt
	warnings []string
}

// builder collapses an analysed graph into steps.
type builder struct {
	a       *analysis
	cfg     Config
	alias   map[string]string
	tensors map[string]*vt
	steps   []*lop
}

func (b *builder) resolve(name string) string {
	for {
		r, ok := b.alias[name]
		if !ok {
			return name
		}
		name = r
	}
}

func (b *builder) tensor(name string) *vt {
	name = b.resolve(name)
	if t, ok := b.tensors[name]; ok {
		return t
	}
	t := &vt{name: name}
	if v := b.a.values[name]; v != nil {
		t.dtype = v.DType
		if s, ok := concreteOf(v); ok {
			t.shape = s
		}
	}
	t.int8 = b.cfg.AssumeInt8 || t.dtype == graph.Int8 || t.dtype == graph.Uint8
	t.quant = t.int8
	b.tensors[name] = t
	return t
}

// constElems is the element count of a constant input.
func (b *builder) constElems(name string) int64 {
	if t := b.a.g.Initializers[name]; t != nil {
		return int64(t.Len())
	}
	if s, ok := concreteOf(b.a.values[name]); ok {
		return int64(graph.NumElements(s))
	}
	return 0
}

// constRole says how many DRAM bytes a constant input of a node costs: weights are
// int8, biases int32 (the accumulator width), elementwise operands int8, and
// everything else (shapes, pads, scales, zero points) is compiled into instructions.
func constRole(n *graph.Node, i int) (weight bool, bytesPerElem int64) {
	switch n.OpType {
	case "Conv", "ConvTranspose", "ConvInteger":
		switch i {
		case 1:
			return true, 1
		case 2:
			return false, 4
		}
	case "QLinearConv":
		switch i {
		case 3:
			return true, 1
		case 8:
			return false, 4
		}
	case "Gemm":
		switch i {
		case 0, 1:
			return true, 1
		case 2:
			return false, 4
		}
	case "MatMul", "MatMulInteger":
		if i <= 1 {
			return true, 1
		}
	case "QLinearMatMul":
		if i == 0 || i == 3 {
			return true, 1
		}
	case "Add", "Sub", "Mul", "PRelu", "Pow", "Div", "Max", "Min":
		return false, 1
	case "QLinearAdd", "QLinearMul":
		if i == 0 || i == 3 {
			return false, 1
		}
	}
	return false, 0
}

// dataInputs lists the input indices that carry tensor data (as opposed to scales and
// zero points of the QOperator forms).
func dataInputs(n *graph.Node) []int {
	switch n.OpType {
	case "QLinearConv":
		return []int{0, 3, 8}
	case "QLinearMatMul", "QLinearAdd", "QLinearMul":
		return []int{0, 3}
	case "QLinearSigmoid", "QLinearLeakyRelu", "QLinearGlobalAveragePool", "QLinearSoftmax":
		return []int{0}
	case "QLinearConcat":
		var idx []int
		for i := 2; i < len(n.Inputs); i += 3 {
			idx = append(idx, i)
		}
		return idx
	}
	idx := make([]int, len(n.Inputs))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// canonicalOp maps QOperator forms to the operator they quantize.
func canonicalOp(n *graph.Node) string {
	switch n.OpType {
	case "QLinearConv", "ConvInteger":
		return "Conv"
	case "QLinearMatMul", "MatMulInteger":
		return "MatMul"
	case "QLinearAdd":
		return "Add"
	case "QLinearMul":
		return "Mul"
	case "QLinearSigmoid":
		return "Sigmoid"
	case "QLinearLeakyRelu":
		return "LeakyRelu"
	case "QLinearGlobalAveragePool":
		return "GlobalAveragePool"
	case "QLinearSoftmax":
		return "Softmax"
	case "QLinearConcat":
		return "Concat"
	}
	return n.OpType
}

// castKeepsType reports whether a Cast converts to the type its input already has.
func castKeepsType(values map[string]*graph.Value, n *graph.Node) bool {
	if len(n.Inputs) == 0 || !n.HasAttr("to") {
		return false
	}
	v := values[n.Inputs[0]]
	return v != nil && v.DType != graph.Undefined && v.DType == graph.DType(n.AttrInt("to", 0))
}

// collapse builds the step list: constant subgraphs are folded, QuantizeLinear and
// DequantizeLinear become aliases (their arithmetic is the requantisation epilogue of
// the neighbouring operators), and every other node becomes a step.
func collapse(a *analysis, cfg Config) *program {
	b := &builder{a: a, cfg: cfg, alias: map[string]string{}, tensors: map[string]*vt{}}
	for _, in := range a.g.Inputs {
		t := b.tensor(in.Name)
		t.graphIn = true
	}
	for _, n := range a.g.Nodes {
		allConst := true
		for _, o := range n.Outputs {
			if o != "" && !a.consts[o] {
				allConst = false
			}
		}
		if allConst {
			continue
		}
		alias := false
		switch n.OpType {
		case "QuantizeLinear", "DequantizeLinear", "Identity", "Dropout":
			alias = true
		case "Cast":
			// torch.onnx's PyTorch-quantized models: QuantizeLinear -> Cast(to=uint8)
			// -> DequantizeLinear, a Cast to the type its input has.
			alias = castKeepsType(a.values, n)
		}
		if alias {
			if len(n.Inputs) > 0 && !a.consts[n.Inputs[0]] && len(n.Outputs) > 0 {
				src := b.tensor(n.Inputs[0])
				b.alias[n.Outputs[0]] = src.name
				if n.OpType == "QuantizeLinear" {
					src.int8, src.quant = true, true
				}
				continue
			}
		}
		l := &lop{name: n.Name, opType: canonicalOp(n), node: n, nodes: []string{n.Name}}
		if l.name == "" {
			l.name = n.OpType + ":" + firstOutput(n)
		}
		for _, i := range dataInputs(n) {
			in := n.Input(i)
			if in == "" {
				continue
			}
			if a.consts[in] {
				w, per := constRole(n, i)
				bytes := per * b.constElems(in)
				if w {
					l.wBytes += bytes
					if t := a.g.Initializers[in]; t != nil && t.DType.IsFloat() && !cfg.AssumeInt8 {
						l.floatWeight = in
					}
				} else {
					l.cBytes += bytes
				}
				continue
			}
			t := b.tensor(in)
			l.in = append(l.in, t)
			t.users = append(t.users, l)
		}
		b.implicitInputs(l, n)
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			t := b.tensor(o)
			t.prod = l
			l.out = append(l.out, t)
		}
		b.steps = append(b.steps, l)
	}
	p := &program{steps: b.steps, tensors: b.tensors}
	for _, in := range a.g.Inputs {
		p.inputs = append(p.inputs, b.tensor(in.Name))
	}
	for _, o := range a.g.Outputs {
		t := b.tensor(o.Name)
		t.graphOut = true
		if t.label == "" {
			t.label = o.Name
		}
		// The declared output type decides whether the host needs a Dequantize.
		t.dtype = dtypeOf(a.values[o.Name], t.dtype)
		p.outputs = append(p.outputs, t)
	}
	// Quantized tensors produced by quantized operators of the QOperator form are
	// int8 even when nothing quantizes them explicitly.
	for _, l := range p.steps {
		for _, t := range l.out {
			if v := a.values[t.name]; v != nil && (v.DType == graph.Int8 || v.DType == graph.Uint8) {
				t.int8, t.quant = true, true
			}
		}
	}
	return p
}

func firstOutput(n *graph.Node) string {
	if len(n.Outputs) > 0 {
		return n.Outputs[0]
	}
	return ""
}

package lower

// Entry point: the configuration, what the pass needs from the executor, the per-value
// state and the driver loop. The other files follow the pass's sections.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
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

// Config is passed to the int8 lowering pass.
type Config struct {
	// Requant selects the requantization arithmetic ("float" or "fixed").
	Requant string
	// Warn receives fallback warnings.
	Warn func(string)
	// Taps lists tensors the caller will read (WithTaps); the lowering keeps them
	// computed under their source names.
	Taps map[string]bool
	// Quant is filled by the lowering: how int8 tensors of the lowered graph
	// represent source tensors (see runtime.Session.Dequantized).
	Quant map[string]*QuantInfo
}

// Executor is what the lowering asks of the executor that will run its output. The
// lowering does not import the executor (the executor imports the lowering), so the
// session passes itself in.
type Executor interface {
	// EvalFloat runs a float32 model (ModeFloat, one thread) on the given inputs; the
	// lowering uses it to tabulate lookup tables.
	EvalFloat(m *graph.Model, inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error)
	// HasInt8Kernel reports whether the executor runs (domain, op) as an int8 kernel,
	// so that a float fallback of such an operator is not reported as one.
	HasInt8Kernel(domain, op string) bool
	// ConstEval folds constant shape computations during the pass's shape inference.
	graph.ConstEval
}

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

// reshaped compares shapes as written (an unnamed unknown dimension equals an unnamed
// unknown dimension): a reference whose logical shape is its base shape was never
// reshaped. lowerReshape refuses views it cannot tell apart this way.
func (r *qref) reshaped() bool { return !slices.Equal(r.base, r.shape) }

func (r *qref) plain() bool { return qtensor.IsIdentityPerm(r.perm) && !r.reshaped() }

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
	// exact, for a destination without QuantizeLinear nodes (implicitOut): the int8
	// output represents the float value exactly (ReLU), not up to rounding (averages).
	exact bool
}

type lutGroup struct {
	nodes []*graph.Node // topological order
	root  string        // DequantizeLinear output the group computes from
	last  *graph.Node
	// ln, when set, makes the group a written-out layer normalization (patterns.go)
	// rather than a lookup table.
	ln *graph.LayerNormPattern
	// chanAxis >= 0: some constants of the group have one value per index of
	// this axis of the root (chanSize of them): a table per channel (chanlut.go).
	chanAxis, chanSize int
}

type lowerer struct {
	cfg     *Config
	exec    Executor
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

// Lower rewrites a quantized model into the int8 operator dialect (Domain), with
// float32 fallbacks where an operator cannot run in int8. src is not modified. cfg
// may be nil; cfg.Quant is filled on success.
func Lower(src *graph.Model, cfg *Config, exec Executor) (*graph.Model, error) {
	if exec == nil {
		return nil, errors.New("int8 lowering: no executor")
	}
	if cfg == nil {
		cfg = &Config{}
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
	consts, err := src.InferShapes(graph.InferOptions{Eval: exec})
	if err != nil {
		return nil, err
	}
	l := &lowerer{
		cfg: cfg, exec: exec, m: src, g: src.Graph, opset: src.Opset(), consts: consts,
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
	l.findLayerNorms()
	l.findLUTGroups()
	for _, n := range l.g.Nodes {
		if err := l.lowerNode(n); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

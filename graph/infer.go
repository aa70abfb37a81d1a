package graph

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// InferContext is what a shape function sees of one node.
type InferContext struct {
	Node  *Node
	Opset int64
	// Inputs holds the type and shape of each input (nil for an absent optional input).
	Inputs []*Value
	// Consts holds the value of each input when it is known at compile time
	// (initializers, Constant outputs, folded shape computations), else nil.
	Consts []*Tensor
	// Eval folds nodes whose inputs are all constant (FoldConstants); NoFold{} to
	// fold nothing. Never nil when set up by InferShapes.
	Eval ConstEval
	// scope is every value known where the node stands, for the subgraphs of
	// control-flow operators (ops_control.go), which read outer values by name.
	scope *inferScope
}

// inferScope holds the types and constant values known at one point of a graph.
type inferScope struct {
	values map[string]*Value
	consts map[string]*Tensor
}

// Input returns input i, or nil when absent.
func (c *InferContext) Input(i int) *Value {
	if i < len(c.Inputs) {
		return c.Inputs[i]
	}
	return nil
}

// Const returns the constant value of input i, or nil.
func (c *InferContext) Const(i int) *Tensor {
	if i < len(c.Consts) {
		return c.Consts[i]
	}
	return nil
}

// Errorf formats an error that names the node.
func (c *InferContext) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", c.Node.Label(), fmt.Sprintf(format, args...))
}

// InferFunc computes output types and shapes. It may also return constant values of
// outputs (nil entries where unknown), which lets Shape -> Gather -> Concat -> Reshape
// chains resolve statically.
type InferFunc func(c *InferContext) (outs []*Value, consts []*Tensor, err error)

// OpSchema describes an operator the project understands.
type OpSchema struct {
	OpType string
	Domain string
	// SinceOpset..MaxOpset is the range of default-domain opsets whose semantics are
	// implemented (MaxOpset 0 means no upper bound).
	SinceOpset, MaxOpset int64
	// Attrs lists the attributes the implementation understands; others are errors.
	// nil means "do not check".
	Attrs []string
	Infer InferFunc
}

var (
	schemaMu sync.RWMutex
	schemas  = map[string]*OpSchema{}
)

func schemaKey(domain, op string) string {
	if domain == "ai.onnx" {
		domain = ""
	}
	return domain + "::" + op
}

// RegisterOp adds an operator schema. It is called from init functions.
func RegisterOp(s OpSchema) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	cp := s
	schemas[schemaKey(s.Domain, s.OpType)] = &cp
}

// LookupOp returns the schema of an operator, or nil.
func LookupOp(domain, op string) *OpSchema {
	schemaMu.RLock()
	defer schemaMu.RUnlock()
	return schemas[schemaKey(domain, op)]
}

// RegisteredOps lists all registered schemas sorted by domain and name.
func RegisteredOps() []OpSchema {
	schemaMu.RLock()
	defer schemaMu.RUnlock()
	out := make([]OpSchema, 0, len(schemas))
	for _, s := range schemas {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].OpType < out[j].OpType
	})
	return out
}

// ErrUnsupported is wrapped by errors about operators or attributes the project does
// not implement.
var ErrUnsupported = errors.New("unsupported")

// CheckNode verifies that the node's operator, opset and attributes are supported.
func CheckNode(n *Node, opset int64) error {
	s := LookupOp(n.Domain, n.OpType)
	if s == nil {
		dom := n.Domain
		if dom == "" {
			dom = "ai.onnx"
		}
		return fmt.Errorf("%s: %w operator %s (domain %s)", n.Label(), ErrUnsupported, n.OpType, dom)
	}
	if n.Domain == "" && s.MaxOpset > 0 && opset > s.MaxOpset {
		return fmt.Errorf("%s: %w opset %d (implemented up to %d)", n.Label(), ErrUnsupported, opset, s.MaxOpset)
	}
	if s.Attrs != nil {
		for name := range n.Attrs {
			ok := false
			for _, a := range s.Attrs {
				if a == name {
					ok = true
					break
				}
			}
			if !ok {
				return fmt.Errorf("%s: %w attribute %q", n.Label(), ErrUnsupported, name)
			}
		}
	}
	return nil
}

// InferOptions tune shape inference.
type InferOptions struct {
	// InputShapes overrides the declared shapes of graph inputs (e.g. to bind a symbolic
	// batch dimension to a concrete size).
	InputShapes map[string][]int
	// Eval evaluates constant shape computations (runtime.ConstEval()), so that a
	// Reshape fed by Shape -> Gather -> Concat gets a concrete shape. It is required:
	// pass graph.NoFold{} to infer without folding. A nil Eval is an error rather than
	// a silent loss of folding.
	Eval ConstEval
}

// errNoEval is returned by InferShapes when the caller did not say how to fold.
var errNoEval = errors.New("shape inference: InferOptions.Eval is nil (pass runtime.ConstEval(), or graph.NoFold{} to infer without constant folding)")

// InferShapes sorts the graph, checks every node and fills g.Values with the type and
// shape of every value. Constant values discovered on the way are returned (keyed by
// value name) so that callers can fold them.
func (m *Model) InferShapes(opts InferOptions) (map[string]*Tensor, error) {
	if opts.Eval == nil {
		return nil, errNoEval
	}
	g := m.Graph
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	opset := m.Opset()
	consts := map[string]*Tensor{}
	for k, t := range g.Initializers {
		consts[k] = t
	}
	values := map[string]*Value{}
	for k, t := range g.Initializers {
		values[k] = &Value{Name: k, DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}
	}
	for _, in := range g.Inputs {
		v := *in
		if s, ok := opts.InputShapes[in.Name]; ok && !in.Seq {
			if in.HasShape && len(in.Shape) != len(s) {
				return nil, fmt.Errorf("input %q: shape %v has rank %d, model declares %s", in.Name, s, len(s), in.Shape)
			}
			for i, d := range s {
				if in.HasShape && in.Shape[i].Known() && in.Shape[i].Size != d {
					return nil, fmt.Errorf("input %q: dimension %d is %d, model declares %s", in.Name, i, d, in.Shape)
				}
			}
			v.Shape = ShapeOf(s...)
			v.HasShape = true
		}
		values[in.Name] = &v
	}
	if err := inferNodes(g, opset, &inferScope{values: values, consts: consts}, opts.Eval); err != nil {
		return nil, err
	}
	for _, o := range g.Outputs {
		v := values[o.Name]
		if v == nil {
			return nil, fmt.Errorf("graph output %q is not produced by any node", o.Name)
		}
		if o.DType != Undefined && v.DType != Undefined && o.DType != v.DType {
			return nil, fmt.Errorf("graph output %q: declared %s, computed %s (dtype mismatch)", o.Name, o.DType, v.DType)
		}
	}
	// Keep declared symbolic names where inference produced unknown dims.
	for k, v := range values {
		if old, ok := g.Values[k]; ok && old.HasShape && (!v.HasShape || len(old.Shape) == len(v.Shape)) {
			if !v.HasShape {
				v.Shape, v.HasShape = old.Shape, true
			} else {
				for i := range v.Shape {
					if !v.Shape[i].Known() && v.Shape[i].Param == "" {
						v.Shape[i] = old.Shape[i]
					}
				}
			}
		}
	}
	g.Values = values
	return consts, nil
}

// inferNodes infers the nodes of g in order, adding what it learns to sc.
func inferNodes(g *Graph, opset int64, sc *inferScope, eval ConstEval) error {
	shapes := shapeProducers(g) // shape_partial.go
	for i := 0; i < len(g.Nodes); i++ {
		n := g.Nodes[i]
		// An If whose condition is known (a shape check, once shapes are bound) is
		// replaced by its chosen branch, which is then inferred like any node.
		if ok, err := g.inlineConstIf(i, sc); err != nil {
			return err
		} else if ok {
			shapes = shapeProducers(g)
			i--
			continue
		}
		if err := CheckNode(n, opset); err != nil {
			return err
		}
		s := LookupOp(n.Domain, n.OpType)
		ctx := &InferContext{Node: n, Opset: opset, Eval: eval, scope: sc}
		for _, in := range n.Inputs {
			if in == "" {
				ctx.Inputs = append(ctx.Inputs, nil)
				ctx.Consts = append(ctx.Consts, nil)
				continue
			}
			v := sc.values[in]
			if v == nil {
				return fmt.Errorf("%s: input %q has no known type", n.Label(), in)
			}
			if v.Seq && !readsSequences(n) {
				return fmt.Errorf("%s: input %q is a sequence of %s: %s takes tensors (sequences are read by the sequence operators, Identity, Loop and If)", n.Label(), in, v.DType, n.OpType)
			}
			ctx.Inputs = append(ctx.Inputs, v)
			ctx.Consts = append(ctx.Consts, sc.consts[in])
		}
		if c := partialShapeData(n, ctx, shapes, sc); c != nil {
			ctx.Consts[0] = c // the known dimensions it gathers
		}
		if s.Infer == nil {
			return fmt.Errorf("%s: no shape inference for %s", n.Label(), n.OpType)
		}
		outs, cs, err := s.Infer(ctx)
		if err != nil {
			return err
		}
		for i, o := range n.Outputs {
			if o == "" || i >= len(outs) || outs[i] == nil {
				continue
			}
			v := *outs[i]
			v.Name = o
			sc.values[o] = &v
			if i < len(cs) && cs[i] != nil {
				sc.consts[o] = cs[i]
			}
		}
		for _, o := range n.Outputs {
			if o != "" && sc.values[o] == nil {
				sc.values[o] = &Value{Name: o}
			}
		}
	}
	return nil
}

// Validate checks the graph structure and every operator without computing anything:
// dangling inputs, cycles, duplicate outputs, missing initializers, unsupported
// operators, attributes or opsets, and type/shape consistency where shape inference can
// tell. eval folds constant shape computations as in InferOptions.Eval (required;
// NoFold{} to fold nothing).
func (m *Model) Validate(eval ConstEval) error {
	if m.Graph == nil {
		return errors.New("model has no graph")
	}
	if len(m.Graph.Outputs) == 0 {
		return errors.New("graph has no outputs")
	}
	_, err := m.InferShapes(InferOptions{Eval: eval})
	return err
}

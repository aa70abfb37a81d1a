package graph

import (
	"fmt"
	"maps"
)

// Shape inference for control flow: If (then_branch / else_branch) and Loop (body).
// The subgraphs are inferred in a scope that sees every value known where the node
// stands (ONNX's outer scope). An If whose condition is a compile-time constant is
// inlined by inferNodes (inlineConstIf), so the rest of the pipeline sees a flat
// graph; otherwise the executor runs the chosen branch (runtime/op_control.go).

func init() {
	RegisterOp(OpSchema{OpType: "If", SinceOpset: 1, Attrs: []string{"then_branch", "else_branch"}, Infer: inferIf})
	RegisterOp(OpSchema{OpType: "Loop", SinceOpset: 1, Attrs: []string{"body"}, Infer: inferLoop})
}

// SubgraphAttr returns the subgraph attribute name of n, or an error naming the node.
func SubgraphAttr(n *Node, name string) (*Graph, error) {
	a, ok := n.Attrs[name]
	if !ok || a.Type != AttrGraph || a.G == nil {
		return nil, fmt.Errorf("%s: attribute %q (a graph) is missing", n.Label(), name)
	}
	return a.G, nil
}

// inferSubgraph infers sg in a child scope of c's and returns the types of its
// outputs. inputs, when given, are the types of sg's formal inputs (a Loop body's
// iteration count, condition and carried values); else the declared ones are used.
// The subgraph's own Values record what it defines.
func inferSubgraph(c *InferContext, sg *Graph, inputs []*Value) ([]*Value, error) {
	sc := &inferScope{values: map[string]*Value{}, consts: map[string]*Tensor{}}
	if c.scope != nil {
		sc.values = maps.Clone(c.scope.values)
		sc.consts = maps.Clone(c.scope.consts)
	}
	for k, t := range sg.Initializers {
		sc.consts[k] = t
		sc.values[k] = &Value{Name: k, DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}
	}
	for i, in := range sg.Inputs {
		v := *in
		if i < len(inputs) && inputs[i] != nil {
			v = *inputs[i]
			v.Name = in.Name
			if v.DType == Undefined {
				v.DType = in.DType
			}
		}
		sc.values[in.Name] = &v
		delete(sc.consts, in.Name)
	}
	if err := sg.TopoSortScoped(c.scope); err != nil {
		return nil, fmt.Errorf("%s: subgraph %q: %w", c.Node.Label(), sg.Name, err)
	}
	if err := inferNodes(sg, c.Opset, sc, c.Eval); err != nil {
		return nil, fmt.Errorf("%s: subgraph %q: %w", c.Node.Label(), sg.Name, err)
	}
	outs := make([]*Value, len(sg.Outputs))
	for i, o := range sg.Outputs {
		v := sc.values[o.Name]
		if v == nil {
			return nil, fmt.Errorf("%s: subgraph %q: output %q is not produced", c.Node.Label(), sg.Name, o.Name)
		}
		cp := *v
		if cp.DType == Undefined {
			cp.DType = o.DType
		}
		if !cp.HasShape && o.HasShape {
			cp.Shape, cp.HasShape = o.Shape, true
		}
		outs[i] = &cp
	}
	own := map[string]*Value{}
	for k, v := range sc.values {
		if sg.Defines(k) {
			own[k] = v
		}
	}
	sg.Values = own
	return outs, nil
}

// TopoSortScoped sorts a subgraph whose nodes may read the values known in the
// enclosing scope (nil: none beyond its own inputs and initializers).
func (g *Graph) TopoSortScoped(sc *inferScope) error {
	if sc == nil {
		return g.TopoSort()
	}
	// Sort a copy in which the outer values the subgraph reads are declared as
	// inputs, then keep the order.
	tmp := &Graph{Nodes: g.Nodes, Initializers: g.Initializers, Inputs: append([]*Value(nil), g.Inputs...)}
	for _, name := range g.OuterReads() {
		if _, ok := sc.values[name]; ok {
			tmp.Inputs = append(tmp.Inputs, &Value{Name: name})
		}
	}
	if err := tmp.TopoSort(); err != nil {
		return err
	}
	g.Nodes = tmp.Nodes
	return nil
}

// mergeValue is what both branches of an If agree on: the dtype, the rank, and the
// dimensions that are equal; a dimension where they differ is unknown.
func mergeValue(a, b *Value) (*Value, error) {
	if a.DType != Undefined && b.DType != Undefined && a.DType != b.DType {
		return nil, fmt.Errorf("the branches give %s and %s", a.DType, b.DType)
	}
	if a.Seq != b.Seq {
		return nil, fmt.Errorf("one side gives a sequence, the other a tensor")
	}
	if a.Seq && a.SeqEmpty != b.SeqEmpty {
		// A sequence known to be empty (the list a loop starts from) takes the
		// other's element type and shape.
		if a.SeqEmpty {
			a, b = b, a
		}
		out := *a
		if out.DType == Undefined {
			out.DType = b.DType
		}
		return &out, nil
	}
	out := &Value{DType: a.DType, Seq: a.Seq, SeqEmpty: a.SeqEmpty && b.SeqEmpty}
	if out.DType == Undefined {
		out.DType = b.DType
	}
	if !a.HasShape || !b.HasShape || len(a.Shape) != len(b.Shape) {
		return out, nil
	}
	out.HasShape = true
	out.Shape = make(Shape, len(a.Shape))
	for i := range a.Shape {
		da, db := a.Shape[i], b.Shape[i]
		if da == db {
			out.Shape[i] = da
		} else {
			out.Shape[i] = Dim{Size: -1}
		}
	}
	return out, nil
}

func inferIf(c *InferContext) ([]*Value, []*Tensor, error) {
	then, err := SubgraphAttr(c.Node, "then_branch")
	if err != nil {
		return nil, nil, err
	}
	els, err := SubgraphAttr(c.Node, "else_branch")
	if err != nil {
		return nil, nil, err
	}
	if cv := c.Input(0); cv == nil {
		return nil, nil, c.Errorf("the condition input is missing")
	}
	to, err := inferSubgraph(c, then, nil)
	if err != nil {
		return nil, nil, err
	}
	eo, err := inferSubgraph(c, els, nil)
	if err != nil {
		return nil, nil, err
	}
	if len(to) != len(c.Node.Outputs) || len(eo) != len(c.Node.Outputs) {
		return nil, nil, c.Errorf("%d outputs, but the branches have %d (then) and %d (else)", len(c.Node.Outputs), len(to), len(eo))
	}
	outs := make([]*Value, len(to))
	for i := range to {
		v, err := mergeValue(to[i], eo[i])
		if err != nil {
			return nil, nil, c.Errorf("output %d: %v", i, err)
		}
		outs[i] = v
	}
	return outs, nil, nil
}

// inferLoop: the carried values keep the shape the body gives them when it agrees
// with the initial one (the dimensions that change from one iteration to the next
// become unknown; the body is inferred again with them); each scan output gets a
// leading dimension of unknown size, the number of iterations.
func inferLoop(c *InferContext) ([]*Value, []*Tensor, error) {
	body, err := SubgraphAttr(c.Node, "body")
	if err != nil {
		return nil, nil, err
	}
	nCarried := len(c.Node.Inputs) - 2
	if nCarried < 0 {
		return nil, nil, c.Errorf("needs the inputs M and cond (either may be empty)")
	}
	if len(body.Inputs) != nCarried+2 {
		return nil, nil, c.Errorf("body has %d inputs, want %d (iteration number, condition and %d carried values)", len(body.Inputs), nCarried+2, nCarried)
	}
	nScan := len(body.Outputs) - 1 - nCarried
	if nScan < 0 || len(c.Node.Outputs) > nCarried+nScan {
		return nil, nil, c.Errorf("body has %d outputs for %d carried values and %d node outputs", len(body.Outputs), nCarried, len(c.Node.Outputs))
	}
	ins := make([]*Value, nCarried+2)
	ins[0] = &Value{DType: Int64, HasShape: true}
	ins[1] = &Value{DType: Bool, HasShape: true}
	for j := 0; j < nCarried; j++ {
		v := c.Input(2 + j)
		if v == nil {
			return nil, nil, c.Errorf("carried value %d is missing", j)
		}
		ins[2+j] = v
	}
	var bo []*Value
	for round := 0; ; round++ {
		bo, err = inferSubgraph(c, body, ins)
		if err != nil {
			return nil, nil, err
		}
		changed := false
		for j := 0; j < nCarried; j++ {
			m, err := mergeValue(ins[2+j], bo[1+j])
			if err != nil {
				return nil, nil, c.Errorf("carried value %d: %v", j, err)
			}
			if m.HasShape != ins[2+j].HasShape || m.Shape.String() != ins[2+j].Shape.String() || m.SeqEmpty != ins[2+j].SeqEmpty {
				ins[2+j], changed = m, true
			}
		}
		if !changed {
			break
		}
		if round == 3 {
			return nil, nil, c.Errorf("the shapes of the carried values do not settle")
		}
	}
	outs := make([]*Value, 0, nCarried+nScan)
	for j := 0; j < nCarried; j++ {
		outs = append(outs, ins[2+j])
	}
	for k := 0; k < nScan; k++ {
		v := *bo[1+nCarried+k]
		if v.Seq {
			return nil, nil, c.Errorf("scan output %d is a sequence: scan outputs are tensors", k)
		}
		if v.HasShape {
			v.Shape = append(Shape{{Size: -1}}, v.Shape...)
		}
		outs = append(outs, &v)
	}
	return outs, nil, nil
}

// inlineConstIf replaces g.Nodes[i] by the nodes of its chosen branch when it is an
// If whose condition is known in sc. Names the branch defines are renamed where
// they would clash with the enclosing graph; the branch's outputs are renamed to
// the If's outputs (through an Identity when the branch output is not computed
// by one of its nodes).
func (g *Graph) inlineConstIf(i int, sc *inferScope) (bool, error) {
	n := g.Nodes[i]
	if n.OpType != "If" || (n.Domain != "" && n.Domain != "ai.onnx") {
		return false, nil
	}
	cond := sc.consts[n.Input(0)]
	if cond == nil {
		return false, nil
	}
	if cond.Len() != 1 {
		return false, fmt.Errorf("%s: the condition has %d elements, want 1", n.Label(), cond.Len())
	}
	f, err := cond.AsFloat64()
	if err != nil {
		return false, fmt.Errorf("%s: condition: %w", n.Label(), err)
	}
	attr := "else_branch"
	if f[0] != 0 {
		attr = "then_branch"
	}
	br, err := SubgraphAttr(n, attr)
	if err != nil {
		return false, err
	}
	if len(br.Outputs) != len(n.Outputs) {
		return false, fmt.Errorf("%s: %d outputs, but %s has %d", n.Label(), len(n.Outputs), attr, len(br.Outputs))
	}
	br = br.Clone()
	if err := br.TopoSortScoped(sc); err != nil {
		return false, fmt.Errorf("%s: %s: %w", n.Label(), attr, err)
	}
	used := func(s string) bool {
		if _, ok := sc.values[s]; ok {
			return true
		}
		_, ok := g.Initializers[s]
		return ok || g.Defines(s)
	}
	rename := map[string]string{}
	producedOnce := map[string]int{}
	for _, bn := range br.Nodes {
		for _, o := range bn.Outputs {
			if o != "" {
				producedOnce[o]++
			}
		}
	}
	outCount := map[string]int{}
	for _, o := range br.Outputs {
		outCount[o.Name]++
	}
	var tail []*Node
	for j, o := range br.Outputs {
		target := n.Outputs[j]
		if target == "" {
			continue
		}
		if producedOnce[o.Name] == 1 && outCount[o.Name] == 1 && br.Initializers[o.Name] == nil {
			rename[o.Name] = target
			continue
		}
		tail = append(tail, &Node{Name: n.Name + "/output" + fmt.Sprint(j), OpType: "Identity", Inputs: []string{o.Name}, Outputs: []string{target}, Attrs: map[string]*Attr{}})
	}
	fresh := func(base string) string {
		s := n.Name + "/" + base
		for k := 1; used(s); k++ {
			s = fmt.Sprintf("%s/%s_%d", n.Name, base, k)
		}
		return s
	}
	for k := range br.Initializers {
		if used(k) {
			rename[k] = fresh(k)
		}
	}
	for _, bn := range br.Nodes {
		for _, o := range bn.Outputs {
			if _, done := rename[o]; !done && o != "" && used(o) {
				rename[o] = fresh(o)
			}
		}
	}
	re := func(s string) string {
		if r, ok := rename[s]; ok {
			return r
		}
		return s
	}
	for _, bn := range br.Nodes {
		for k, in := range bn.Inputs {
			bn.Inputs[k] = re(in)
		}
		for k, o := range bn.Outputs {
			bn.Outputs[k] = re(o)
		}
		bn.RenameImplicit(re)
		if bn.Name != "" && n.Name != "" {
			bn.Name = n.Name + "/" + bn.Name
		}
	}
	for _, t := range tail {
		t.Inputs[0] = re(t.Inputs[0])
	}
	for k, t := range br.Initializers {
		name := re(k)
		g.Initializers[name] = t
		sc.consts[name] = t
		sc.values[name] = &Value{Name: name, DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}
	}
	nodes := make([]*Node, 0, len(g.Nodes)+len(br.Nodes)+len(tail))
	nodes = append(nodes, g.Nodes[:i]...)
	nodes = append(nodes, br.Nodes...)
	nodes = append(nodes, tail...)
	nodes = append(nodes, g.Nodes[i+1:]...)
	g.Nodes = nodes
	return true, nil
}

// SetScope gives a context built outside InferShapes (the simulator's own pass) the
// values known where the node stands, which the subgraphs of If and Loop read. The
// maps are read, never written.
func (c *InferContext) SetScope(values map[string]*Value, consts map[string]*Tensor) {
	c.scope = &inferScope{values: values, consts: consts}
}

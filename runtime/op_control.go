package runtime

// Control flow: If and Loop run their subgraphs as float32 sub-sessions. An If whose
// condition is known at compile time never gets here (shape inference inlines the
// chosen branch, graph/ops_control.go); this is the If of a data-dependent condition
// (torchvision's "no boxes left" check around its NMS) and every Loop.
//
// The values of the enclosing graph that a subgraph reads (its implicit inputs,
// graph.Node.ImplicitInputs) are appended by the session to the node's inputs, so
// buffer lifetimes count them; the kernel receives them after the declared inputs.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	Register(OpInfo{OpType: "If", Build: buildIf})
	Register(OpInfo{OpType: "Loop", Build: buildLoop})
}

// withImplicit returns the node's inputs followed by its implicit inputs.
func withImplicit(n *graph.Node) []string {
	imp := n.ImplicitInputs()
	if len(imp) == 0 {
		return n.Inputs
	}
	return append(append([]string(nil), n.Inputs...), imp...)
}

// subSession runs one subgraph. Its inputs are the subgraph's formal inputs (a Loop
// body's) followed by the outer values it reads.
type subSession struct {
	sess   *Session
	formal []string // formal input names
	outer  []int    // index into the node's implicit inputs of each outer value read
	outs   []string
}

// newSubSession builds the sub-session of subgraph attribute attr of b.Node. outer
// holds the static types of the node's implicit inputs (by name).
func newSubSession(b *BuildContext, attr string, implicit []string, outerVals map[string]*graph.Value) (*subSession, error) {
	sg, err := graph.SubgraphAttr(b.Node, attr)
	if err != nil {
		return nil, err
	}
	g := sg.Clone()
	ss := &subSession{}
	for i, in := range g.Inputs {
		ss.formal = append(ss.formal, in.Name)
		if (b.Node.OpType == "Loop" && i >= 2 || b.Node.OpType == "Scan") && in.HasShape {
			// A carried value may change shape from one iteration to the next
			// (torchvision's paste_masks_in_image appends a mask per box to a
			// value that starts as [0, H, W]); exporters declare the body's
			// input with the traced first shape. Keep the rank only, as ONNX
			// Runtime does (also for a Scan's states and elements, op_scan.go).
			v := *in
			v.Shape = make(graph.Shape, len(in.Shape))
			for d := range v.Shape {
				v.Shape[d] = graph.Dim{Size: -1}
			}
			g.Inputs[i] = &v
			g.Values[in.Name] = &v
		}
	}
	pos := map[string]int{}
	for i, name := range implicit {
		pos[name] = i
	}
	for _, name := range g.OuterReads() {
		i, ok := pos[name]
		if !ok {
			return nil, b.Errorf("%s reads %q, which is not among the node's implicit inputs", attr, name)
		}
		v := &graph.Value{Name: name}
		if ov := outerVals[name]; ov != nil {
			cp := *ov
			cp.Name = name
			cp.Shape = append(graph.Shape(nil), ov.Shape...)
			v = &cp
		}
		g.Inputs = append(g.Inputs, v)
		g.Values[name] = v
		ss.outer = append(ss.outer, i)
	}
	for _, o := range g.Outputs {
		ss.outs = append(ss.outs, o.Name)
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": b.Opset}, IRVersion: 8}
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(b.Threads))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Node.Label(), attr, err)
	}
	ss.sess = s
	return ss, nil
}

// run feeds formal (the formal inputs' values) and the outer values (all implicit
// inputs of the node, in order) and returns the outputs in order.
func (ss *subSession) run(formal []*graph.Tensor, implicit []*graph.Tensor) ([]*graph.Tensor, error) {
	feed := make(map[string]*graph.Tensor, len(ss.formal)+len(ss.outer))
	for i, name := range ss.formal {
		feed[name] = formal[i]
	}
	for k, i := range ss.outer {
		name := ss.sess.inputs[len(ss.formal)+k].Name
		if implicit[i] == nil {
			return nil, fmt.Errorf("outer value %q is not available", name)
		}
		feed[name] = implicit[i]
	}
	res, err := ss.sess.RunTensors(feed)
	if err != nil {
		return nil, err
	}
	outs := make([]*graph.Tensor, len(ss.outs))
	for i, name := range ss.outs {
		if outs[i] = res[name]; outs[i] == nil {
			return nil, fmt.Errorf("subgraph output %q was not computed", name)
		}
	}
	return outs, nil
}

// implicitValues maps each implicit input to its static type (from the session's
// appended inputs; nil entries when the builder is called without them, as in
// constant folding).
func implicitValues(b *BuildContext) ([]string, map[string]*graph.Value) {
	implicit := b.Node.ImplicitInputs()
	vals := map[string]*graph.Value{}
	for i, name := range implicit {
		if v := b.Input(len(b.Node.Inputs) + i); v != nil {
			vals[name] = v
		}
	}
	return implicit, vals
}

// splitImplicit separates the declared inputs from the implicit ones, checking that
// the session appended them.
func splitImplicit(n *graph.Node, implicit []string, in []*graph.Tensor) ([]*graph.Tensor, []*graph.Tensor, error) {
	if len(in) != len(n.Inputs)+len(implicit) {
		return nil, nil, fmt.Errorf("got %d inputs, want %d declared and %d read by its subgraphs", len(in), len(n.Inputs), len(implicit))
	}
	return in[:len(n.Inputs)], in[len(n.Inputs):], nil
}

func scalarTrue(t *graph.Tensor, what string) (bool, error) {
	if t == nil {
		return false, fmt.Errorf("%s is missing", what)
	}
	if t.Len() != 1 {
		return false, fmt.Errorf("%s has %d elements, want 1", what, t.Len())
	}
	switch d := t.Data.(type) {
	case []bool:
		return d[0], nil
	default:
		f, err := t.AsFloat64()
		if err != nil {
			return false, fmt.Errorf("%s: %w", what, err)
		}
		return f[0] != 0, nil
	}
}

func buildIf(b *BuildContext) (Kernel, error) {
	n := b.Node
	implicit, vals := implicitValues(b)
	then, err := newSubSession(b, "then_branch", implicit, vals)
	if err != nil {
		return nil, err
	}
	els, err := newSubSession(b, "else_branch", implicit, vals)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		decl, outer, err := splitImplicit(n, implicit, in)
		if err != nil {
			return nil, err
		}
		c, err := scalarTrue(decl[0], "the condition")
		if err != nil {
			return nil, err
		}
		br, name := els, "else_branch"
		if c {
			br, name = then, "then_branch"
		}
		outs, err := br.run(nil, outer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return outs, nil
	}), nil
}

// maxLoopIterations bounds a Loop without a trip count, whose condition never
// turns false, so that a wrong model fails instead of hanging.
const maxLoopIterations = 1 << 24

func buildLoop(b *BuildContext) (Kernel, error) {
	n := b.Node
	if len(n.Inputs) < 2 {
		return nil, b.Errorf("needs the inputs M and cond (either may be empty)")
	}
	implicit, vals := implicitValues(b)
	body, err := newSubSession(b, "body", implicit, vals)
	if err != nil {
		return nil, err
	}
	nCarried := len(n.Inputs) - 2
	if len(body.formal) != nCarried+2 {
		return nil, b.Errorf("body has %d inputs, want %d", len(body.formal), nCarried+2)
	}
	nScan := len(body.outs) - 1 - nCarried
	if nScan < 0 {
		return nil, b.Errorf("body has %d outputs for %d carried values", len(body.outs), nCarried)
	}
	if n.Input(0) == "" && n.Input(1) == "" {
		return nil, b.Errorf("neither a trip count nor a condition: the loop would never end")
	}
	scanVals := make([]*graph.Value, nScan)
	for k := range scanVals {
		scanVals[k] = body.sess.model.Graph.Values[body.outs[1+nCarried+k]]
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		decl, outer, err := splitImplicit(n, implicit, in)
		if err != nil {
			return nil, err
		}
		trip := int64(-1)
		if decl[0] != nil {
			// ONNX Runtime refuses another type when it loads the model; torch.jit.script
			// writes int(float_tensor) as a float trip count.
			m, ok := decl[0].Data.([]int64)
			if !ok || len(m) != 1 {
				return nil, fmt.Errorf("trip count M must be one int64, got %s %v", decl[0].DType, decl[0].Shape)
			}
			trip = m[0]
		}
		cond := true
		useCond := decl[1] != nil
		if useCond {
			if cond, err = scalarTrue(decl[1], "cond"); err != nil {
				return nil, err
			}
		}
		carried := append([]*graph.Tensor(nil), decl[2:]...)
		scans := make([][]*graph.Tensor, nScan)
		for i := int64(0); (trip < 0 || i < trip) && cond; i++ {
			if i >= maxLoopIterations {
				return nil, fmt.Errorf("more than %d iterations", maxLoopIterations)
			}
			formal := make([]*graph.Tensor, 0, 2+nCarried)
			formal = append(formal, graph.FromInt64(nil, []int64{i}), &graph.Tensor{DType: graph.Bool, Data: []bool{cond}})
			formal = append(formal, carried...)
			outs, err := body.run(formal, outer)
			if err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i, err)
			}
			if useCond {
				if cond, err = scalarTrue(outs[0], "the body's condition"); err != nil {
					return nil, fmt.Errorf("iteration %d: %w", i, err)
				}
			}
			copy(carried, outs[1:1+nCarried])
			for k := range scans {
				scans[k] = append(scans[k], outs[1+nCarried+k])
			}
		}
		res := append([]*graph.Tensor(nil), carried...)
		for k, parts := range scans {
			t, err := stackScan(parts, scanVals[k])
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, t)
		}
		if len(res) > len(n.Outputs) {
			res = res[:len(n.Outputs)]
		}
		return res, nil
	}), nil
}

// stackScan stacks the per-iteration values of a scan output along a new first
// axis. With no iteration, the element shape is the body's static one (it must be
// known: a zero-size tensor still has a shape).
func stackScan(parts []*graph.Tensor, v *graph.Value) (*graph.Tensor, error) {
	if len(parts) == 0 {
		if v == nil || !v.HasShape {
			return nil, fmt.Errorf("zero iterations and the element shape is unknown")
		}
		dims, ok := v.Shape.Concrete()
		if !ok {
			return nil, fmt.Errorf("zero iterations and the element shape %s is symbolic", v.Shape)
		}
		return graph.NewTensor(v.DType, append([]int{0}, dims...)), nil
	}
	first := parts[0]
	per := first.Len()
	src0, err := bufferOf(first)
	if err != nil {
		return nil, err
	}
	dst := src0.Make(per * len(parts))
	for i, p := range parts {
		if p.DType != first.DType || !sameDims(p.Shape, first.Shape) {
			return nil, fmt.Errorf("iteration %d gives %s%v, iteration 0 gave %s%v", i, p.DType, p.Shape, first.DType, first.Shape)
		}
		src, err := bufferOf(p)
		if err != nil {
			return nil, err
		}
		dst.Copy(i*per, src, 0, per)
	}
	return &graph.Tensor{DType: first.DType, Shape: append([]int{len(parts)}, first.Shape...), Data: dst.Data()}, nil
}

func sameDims(a, b []int) bool {
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

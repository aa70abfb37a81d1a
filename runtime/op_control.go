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
	"reflect"

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
// body's) followed by the outer values it reads that are not constants; the outer
// values that are initializers of the enclosing graph are the body's own
// initializers (a ConvLSTM body's convolution weights: packed once, as at the top
// level, instead of being fed every iteration).
type subSession struct {
	// sess is planned with the formal inputs' ranks only (body_plans.go).
	sess   *Session
	model  *graph.Model
	formal []string // formal input names
	outer  []int    // index into the node's implicit inputs of each outer value fed
	outs   []string
	opts   []Option
	plans  bodyPlans
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
		if (b.Node.OpType == "Loop" && i >= 2 || b.Node.OpType == "Scan" || b.Node.OpType == "SequenceMap") && in.HasShape {
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
		if b.Node.OpType == "Loop" && i < 2 && in.HasShape && len(in.Shape) == 1 && in.Shape[0].Size == 1 {
			// The iteration number and condition are scalars (what runLoop
			// feeds); torch.onnx declares the iteration number [1] when the
			// body reads it as a position (SequenceAt).
			v := *in
			v.Shape = graph.Shape{}
			g.Inputs[i] = &v
			g.Values[in.Name] = &v
		}
		if ov := b.Input(i); b.Node.OpType == "Loop" && i >= 2 && ov != nil && ov.Seq && !g.Inputs[i].Seq {
			// A carried sequence the body declares without its type (torch.onnx
			// writes the list's type without the element's): the loop's.
			v := *g.Inputs[i]
			v.Seq, v.HasShape, v.Shape = true, false, nil
			if v.DType == graph.Undefined {
				v.DType = ov.DType
			}
			g.Inputs[i] = &v
			g.Values[in.Name] = &v
		}
		if g.Inputs[i].SeqEmpty {
			v := *g.Inputs[i]
			v.SeqEmpty = false
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
		if c := b.Const(len(b.Node.Inputs) + i); c != nil {
			g.Initializers[name] = c
			g.Values[name] = &graph.Value{Name: name, DType: c.DType, Shape: graph.ShapeOf(c.Shape...), HasShape: true}
			continue
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
	ss.model = &graph.Model{Graph: g, Opsets: map[string]int64{"": b.Opset}, IRVersion: 8}
	ss.opts = []Option{WithMode(ModeFloat), WithThreads(b.Threads)}
	s, err := NewSession(ss.model, ss.opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.Node.Label(), attr, err)
	}
	ss.sess = s
	return ss, nil
}

// planShapes plans the body for the given input shapes (body_plans.go).
func (ss *subSession) planShapes(shapes map[string][]int) (*Session, error) {
	m, err := ss.model.WithInputShapes(shapes)
	if err != nil {
		return nil, err
	}
	return NewSession(m, ss.opts...)
}

// bodyExec is one execution of a subgraph (every iteration of one Loop or Scan
// run, or one If branch), on the session planned for the shapes of its first
// iteration (body_plans.go), or the rank-only session.
type bodyExec struct {
	ss    *subSession
	it    *iterRun
	bound bool
	feed  []*graph.Tensor // the formal inputs, then the outer values fed
	names []string
}

// start begins an execution whose first iteration's formal inputs are first
// (their shapes pick the plan; only the shapes are read), with the node's
// implicit inputs implicit.
func (ss *subSession) start(first, implicit []*graph.Tensor) (*bodyExec, error) {
	e := &bodyExec{ss: ss, feed: make([]*graph.Tensor, len(ss.formal)+len(ss.outer))}
	for k, i := range ss.outer {
		if i >= len(implicit) || implicit[i] == nil {
			return nil, fmt.Errorf("outer value %q is not available", ss.sess.inputs[len(ss.formal)+k].Name)
		}
		e.feed[len(ss.formal)+k] = implicit[i]
	}
	s := ss.sess
	if len(first) == len(ss.formal) {
		copy(e.feed, first)
		names := make([]string, len(s.inputs))
		for k, v := range s.inputs {
			names[k] = v.Name
		}
		if b := ss.plans.planFor(e.feed, ss.planShapes, names); b != nil {
			s, e.bound = b, true
		}
	}
	e.it = s.startIter()
	return e, nil
}

// allocF32 is a float32 buffer of the execution's arena (iterRun.allocF32).
func (e *bodyExec) allocF32(n int) []float32 { return e.it.allocF32(n) }

// iterate runs one iteration on the formal inputs. When they do not have the
// shapes the session was planned for, the rest of the execution (and every later
// one) runs on the rank-only session.
func (e *bodyExec) iterate(formal []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(formal) != len(e.ss.formal) {
		return nil, fmt.Errorf("got %d formal inputs, the body has %d", len(formal), len(e.ss.formal))
	}
	if e.bound && !fitsInputs(e.it.s, formal) {
		for k, t := range formal {
			formal[k] = e.it.keep(t)
		}
		e.it.finish(true)
		e.ss.plans.varying.Store(true)
		e.it, e.bound = e.ss.sess.startIter(), false
	}
	copy(e.feed, formal)
	return e.it.run(e.feed)
}

// keep hands an output of the last iteration to the caller (iterRun.keep).
func (e *bodyExec) keep(t *graph.Tensor) *graph.Tensor { return e.it.keep(t) }

// finish ends the execution (iterRun.finish).
func (e *bodyExec) finish(ok bool) { e.it.finish(ok) }

// fitsInputs reports whether the formal tensors (the first inputs of s) have the
// shapes s was planned for.
func fitsInputs(s *Session, formal []*graph.Tensor) bool {
	for k, t := range formal {
		v := s.inputs[k]
		if t.IsSeq() && v.Seq {
			continue // a sequence's elements are not bound (op_sequence.go)
		}
		if t == nil || !v.HasShape || len(v.Shape) != len(t.Shape) {
			return false
		}
		for d, dim := range v.Shape {
			if dim.Size != t.Shape[d] {
				return false
			}
		}
	}
	return true
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
		outs, err := runOnce(br, outer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return outs, nil
	}), nil
}

// runOnce runs a subgraph without formal inputs once (an If branch).
func runOnce(ss *subSession, outer []*graph.Tensor) ([]*graph.Tensor, error) {
	e, err := ss.start(nil, outer)
	if err != nil {
		return nil, err
	}
	outs, err := e.iterate(nil)
	if err != nil {
		e.finish(false)
		return nil, err
	}
	res := make([]*graph.Tensor, len(outs))
	for i, t := range outs {
		res[i] = e.keep(t)
	}
	e.finish(true)
	return res, nil
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
		res, err := runLoop(ctx, body, trip, cond, useCond, decl[2:], nScan, scanVals, outer)
		if err != nil {
			return nil, err
		}
		if len(res) > len(n.Outputs) {
			res = res[:len(n.Outputs)]
		}
		return res, nil
	}), nil
}

// runLoop runs the iterations of a Loop: trip (negative: none) and cond (when
// useCond) bound them, carried holds the initial values, and the result is the
// final carried values followed by the nScan scan outputs. Each iteration's scan
// values are copied into the result as they come (loopScans); the carried values
// pass from one iteration to the next without a copy (session_iter.go).
func runLoop(ctx *ExecContext, body *subSession, trip int64, cond, useCond bool, init []*graph.Tensor, nScan int, scanVals []*graph.Value, outer []*graph.Tensor) ([]*graph.Tensor, error) {
	nCarried := len(init)
	carried := append([]*graph.Tensor(nil), init...)
	if trip == 0 || !cond {
		res := carried
		for k := 0; k < nScan; k++ {
			t, err := stackScan(nil, scanVals[k])
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, t)
		}
		return res, nil
	}
	formal := make([]*graph.Tensor, 2+nCarried)
	formal[0] = &graph.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{0}}
	formal[1] = &graph.Tensor{DType: graph.Bool, Shape: []int{}, Data: []bool{cond}}
	copy(formal[2:], carried)
	e, err := body.start(formal, outer)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { e.finish(ok) }()
	scans := make([]loopScan, nScan)
	var outs []*graph.Tensor
	i := int64(0)
	for ; (trip < 0 || i < trip) && cond; i++ {
		if i >= maxLoopIterations {
			return nil, fmt.Errorf("more than %d iterations", maxLoopIterations)
		}
		// Fresh scalars each iteration: the body may hand them on (an output
		// that is the iteration number) and they must not change under it.
		formal[0] = &graph.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{i}}
		formal[1] = &graph.Tensor{DType: graph.Bool, Shape: []int{}, Data: []bool{cond}}
		copy(formal[2:], carried)
		if outs, err = e.iterate(formal); err != nil {
			return nil, fmt.Errorf("iteration %d: %w", i, err)
		}
		if useCond {
			if cond, err = scalarTrue(outs[0], "the body's condition"); err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i, err)
			}
		}
		copy(carried, outs[1:1+nCarried])
		for k := range scans {
			if err := scans[k].add(ctx, outs[1+nCarried+k], int(i), trip, useCond); err != nil {
				return nil, fmt.Errorf("iteration %d: scan output %d: %w", i, k, err)
			}
		}
	}
	res := make([]*graph.Tensor, 0, nCarried+nScan)
	for _, t := range carried {
		res = append(res, e.keep(t))
	}
	for k := range scans {
		res = append(res, scans[k].result(int(i)))
	}
	ok = true
	return res, nil
}

// loopScan gathers one scan output of a Loop: each iteration's value is copied
// into place in the result, allocated at the first iteration for the trip count
// when there is one (the exact size without a condition), else grown by doubling.
type loopScan struct {
	dst   buffer
	dtype graph.DType
	elem  []int
	per   int
}

func (l *loopScan) add(ctx *ExecContext, t *graph.Tensor, i int, trip int64, useCond bool) error {
	src, err := bufferOf(t)
	if err != nil {
		return err
	}
	if i == 0 {
		l.dtype, l.elem, l.per = t.DType, append([]int{}, t.Shape...), t.Len()
		n := 8
		if trip > 0 && trip <= 1<<31 {
			if tot := trip * int64(l.per); tot <= 1<<31 && (!useCond || tot <= 1<<20) {
				n = int(trip)
			}
		}
		if _, f32 := t.Data.([]float32); f32 && !useCond {
			l.dst = vec[float32](ctx.AllocF32(n * l.per))
		} else {
			l.dst = src.Make(n * l.per)
		}
	} else if t.DType != l.dtype || !sameDims(t.Shape, l.elem) {
		return fmt.Errorf("iteration %d gives %s%v, iteration 0 gave %s%v", i, t.DType, t.Shape, l.dtype, l.elem)
	}
	if need := (i + 1) * l.per; need > l.dst.Len() {
		grown := l.dst.Make(max(need, 2*l.dst.Len()))
		grown.Copy(0, l.dst, 0, i*l.per)
		l.dst = grown
	}
	l.dst.Copy(i*l.per, src, 0, l.per)
	return nil
}

// result is the scan output after n iterations (n > 0).
func (l *loopScan) result(n int) *graph.Tensor {
	data := l.dst.Data()
	if n*l.per < l.dst.Len() {
		data = reflect.ValueOf(data).Slice(0, n*l.per).Interface()
	}
	return &graph.Tensor{DType: l.dtype, Shape: append([]int{n}, l.elem...), Data: data}
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

package runtime

// LSTM cells written out as operators (fifteenth session). torch.onnx writes
// nn.LSTMCell, and any hand-written cell of a decoder loop, as two Gemms and
// an Add for the gates' pre-activations, then Split into four blocks,
// Sigmoid on three and Tanh on one, c' = σ(f)·c + σ(i)·tanh(g) and
// h' = σ(o)·tanh(c'): ten steps after the Add, each a few dozen values at
// batch 1-2, each with its own buffer, shape checks and dispatch. A greedy
// seq2seq decoder unrolled over its output length runs that cell once per
// token (seq2seq_lstmcell: 168 steps, two thirds of them cell steps), so
// what a step costs besides its arithmetic decided the run. The ten steps
// become one (lstmCellKernel) that reads the pre-activations and c and writes
// c' and h'. The roles of the four blocks are read from the dataflow, not
// from their order, so any gate order matches. The arithmetic is the
// operators' own: kernels.ActF32 (whose results do not depend on where a
// tensor is cut) and one float32 product or sum per operator, so the bits
// are those of the unfused steps. A tapped or graph-output intermediate, a
// consumer of c' placed between the cell's steps, or any shape other than
// c of the pre-activations' leading shape with a last axis of a quarter of
// theirs (broadcasting) leaves the steps alone or runs them one by one.

import (
	"fmt"
	"sort"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// lstmCellKernel computes c' and h' from the gate pre-activations x
// [..., 4H] and the cell state c [..., H].
type lstmCellKernel struct {
	h          int
	i, f, g, o int // block index of each gate in x's last axis
	sub        subSteps
	scratch    sync.Pool // *[]float32 of 4H: one row's activations
}

func (k *lstmCellKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, c := in[0], in[1]
	if !k.fits(x, c) {
		return k.sub.run(ctx, in)
	}
	h := k.h
	xd, cd := x.F32(), c.F32()
	rows := len(cd) / h
	cn, hn := ctx.AllocF32(len(cd)), ctx.AllocF32(len(cd))
	cell := func(lo, hi int) {
		p, _ := k.scratch.Get().(*[]float32)
		if p == nil {
			s := make([]float32, 4*h)
			p = &s
		}
		a := *p
		si, sf, tg, so := a[:h], a[h:2*h], a[2*h:3*h], a[3*h:4*h]
		for r := lo; r < hi; r++ {
			xr := xd[r*4*h : (r+1)*4*h]
			kernels.ActF32(kernels.ActSigmoid, si, xr[k.i*h:(k.i+1)*h])
			kernels.ActF32(kernels.ActSigmoid, sf, xr[k.f*h:(k.f+1)*h])
			kernels.ActF32(kernels.ActTanh, tg, xr[k.g*h:(k.g+1)*h])
			kernels.ActF32(kernels.ActSigmoid, so, xr[k.o*h:(k.o+1)*h])
			cr, cnr, hnr := cd[r*h:(r+1)*h], cn[r*h:(r+1)*h], hn[r*h:(r+1)*h]
			for j := range cnr {
				fc := sf[j] * cr[j] // the Mul of f and c
				ig := si[j] * tg[j] // the Mul of i and g
				cnr[j] = fc + ig    // the Add
			}
			kernels.ActF32(kernels.ActTanh, hnr, cnr)
			for j := range hnr {
				hnr[j] = so[j] * hnr[j]
			}
		}
		k.scratch.Put(p)
	}
	if th := min(ctx.Threads, max(1, len(cd)/parallelMinWork)); th > 1 {
		nnParallel(th, rows, cell)
	} else {
		cell(0, rows)
	}
	shape := append([]int(nil), c.Shape...)
	return []*graph.Tensor{
		{DType: graph.Float32, Shape: shape, Data: cn},
		{DType: graph.Float32, Shape: append([]int(nil), shape...), Data: hn},
	}, nil
}

// fits reports whether x and c have the shapes of the fused cell: float32,
// c of x's shape with the last axis a quarter of x's.
func (k *lstmCellKernel) fits(x, c *graph.Tensor) bool {
	if x == nil || c == nil || x.DType != graph.Float32 || c.DType != graph.Float32 ||
		len(x.Shape) == 0 || len(x.Shape) != len(c.Shape) {
		return false
	}
	r := len(x.Shape) - 1
	if x.Shape[r] != 4*k.h || c.Shape[r] != k.h {
		return false
	}
	for a := 0; a < r; a++ {
		if x.Shape[a] != c.Shape[a] {
			return false
		}
	}
	return len(x.F32()) == graph.NumElements(x.Shape) && len(c.F32()) == graph.NumElements(c.Shape)
}

// subSteps are steps replaced by a fused one, kept to run one by one on
// inputs the fused kernel does not take.
type subSteps struct {
	steps  []step
	consts map[int]*graph.Tensor
	in     []int // slots of the fused step's inputs
	out    []int // slots of its outputs
}

func (r *subSteps) run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	vals := map[int]*graph.Tensor{}
	for i, id := range r.in {
		vals[id] = in[i]
	}
	for _, st := range r.steps {
		args := make([]*graph.Tensor, len(st.in))
		for j, id := range st.in {
			if id < 0 {
				continue
			}
			if t, ok := vals[id]; ok {
				args[j] = t
			} else {
				args[j] = r.consts[id]
			}
		}
		outs, err := st.kernel.Run(ctx, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.node.Label(), err)
		}
		for j, id := range st.out {
			if j < len(outs) && id >= 0 {
				vals[id] = outs[j]
			}
		}
	}
	out := make([]*graph.Tensor, len(r.out))
	for i, id := range r.out {
		out[i] = vals[id]
	}
	return out, nil
}

// fuseLSTMCells rewrites each written-out LSTM cell into one lstmCellKernel
// step at the place of its last node (the Mul giving h').
func (s *Session) fuseLSTMCells() {
	g := s.model.Graph
	cons := map[string][]*graph.Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				cons[in] = append(cons[in], n)
			}
		}
	}
	stepOf := map[*graph.Node]int{}
	for i, st := range s.steps {
		stepOf[st.node] = i
	}
	removed := make([]bool, len(s.steps))
	for i := range s.steps {
		if removed[i] {
			continue
		}
		m := s.matchLSTMCell(s.steps[i].node, cons)
		if m == nil {
			continue
		}
		idx := make([]int, 0, len(m.nodes))
		last := -1
		for _, n := range m.nodes {
			j, ok := stepOf[n]
			if !ok || removed[j] {
				idx = nil
				break
			}
			idx = append(idx, j)
			last = max(last, j)
		}
		if idx == nil || last != stepOf[m.hMul] {
			continue
		}
		// c' must not be read before the fused step runs.
		early := false
		for _, n := range cons[m.cNew] {
			if j, ok := stepOf[n]; ok && j <= last && n != m.tanhC {
				early = true
			}
		}
		if early {
			continue
		}
		order := append([]int(nil), idx...)
		sort.Ints(order)
		sub := subSteps{consts: map[int]*graph.Tensor{}}
		for _, j := range order {
			st := s.steps[j]
			sub.steps = append(sub.steps, st)
			for _, id := range st.in {
				if t := s.consts[id]; id >= 0 && t != nil {
					sub.consts[id] = t
				}
			}
		}
		xs, cs := s.slots[m.x], s.slots[m.c]
		cn, hn := s.slots[m.cNew], s.slots[m.hMul.Outputs[0]]
		sub.in, sub.out = []int{xs, cs}, []int{cn, hn}
		k := &lstmCellKernel{h: m.h, i: m.gate['i'], f: m.gate['f'], g: m.gate['g'], o: m.gate['o'], sub: sub}
		for _, j := range idx {
			removed[j] = true
		}
		removed[last] = false
		s.steps[last] = step{node: s.steps[last].node, kernel: k, in: []int{xs, cs}, out: []int{cn, hn}}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// lstmCellMatch is a written-out cell found from its Split.
type lstmCellMatch struct {
	nodes []*graph.Node // the ten nodes from the Split to the Mul giving h'
	x, c  string        // pre-activations and cell state
	cNew  string
	tanhC *graph.Node
	hMul  *graph.Node
	h     int
	gate  map[byte]int // 'i', 'f', 'g', 'o' -> block index
}

// matchLSTMCell matches the cell whose Split is n.
func (s *Session) matchLSTMCell(n *graph.Node, cons map[string][]*graph.Node) *lstmCellMatch {
	g := s.model.Graph
	if n.OpType != "Split" || n.Domain != "" || len(n.Outputs) != 4 || len(n.Inputs) == 0 {
		return nil
	}
	xv := g.Values[n.Inputs[0]]
	if xv == nil || xv.DType != graph.Float32 || !xv.HasShape || len(xv.Shape) == 0 {
		return nil
	}
	rank := len(xv.Shape)
	if ax := int(n.AttrInt("axis", 0)); ax != rank-1 && ax != -1 {
		return nil
	}
	full := xv.Shape[rank-1].Size
	if full <= 0 || full%4 != 0 {
		return nil
	}
	h := full / 4
	if !s.equalSplit(n, h) {
		return nil
	}
	// sole consumer of a tensor, which is no output or tap
	sole := func(name string) *graph.Node {
		if s.kept(name) || len(cons[name]) != 1 {
			return nil
		}
		return cons[name][0]
	}
	act := map[string]int{} // activation output -> block
	var sig []string
	tanhG := ""
	nodes := []*graph.Node{n}
	for b, o := range n.Outputs {
		a := sole(o)
		if a == nil || a.Domain != "" || len(a.Outputs) != 1 || len(a.Inputs) != 1 {
			return nil
		}
		switch a.OpType {
		case "Sigmoid":
			sig = append(sig, a.Outputs[0])
		case "Tanh":
			if tanhG != "" {
				return nil
			}
			tanhG = a.Outputs[0]
		default:
			return nil
		}
		act[a.Outputs[0]] = b
		nodes = append(nodes, a)
	}
	if tanhG == "" || len(sig) != 3 {
		return nil
	}
	isSig := func(name string) bool {
		_, ok := act[name]
		return ok && name != tanhG
	}
	other := func(m *graph.Node, name string) (string, bool) {
		if m.OpType != "Mul" || m.Domain != "" || len(m.Inputs) != 2 || len(m.Outputs) != 1 {
			return "", false
		}
		switch name {
		case m.Inputs[0]:
			return m.Inputs[1], true
		case m.Inputs[1]:
			return m.Inputs[0], true
		}
		return "", false
	}
	// σ(i)·tanh(g)
	mIG := sole(tanhG)
	if mIG == nil {
		return nil
	}
	iName, ok := other(mIG, tanhG)
	if !ok || !isSig(iName) || sole(iName) != mIG {
		return nil
	}
	// + σ(f)·c
	add := sole(mIG.Outputs[0])
	if add == nil || add.OpType != "Add" || add.Domain != "" || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
		return nil
	}
	fcName := add.Inputs[0]
	if fcName == mIG.Outputs[0] {
		fcName = add.Inputs[1]
	}
	mFC := s.producer(fcName)
	if fcName == mIG.Outputs[0] || mFC == nil || sole(fcName) != add {
		return nil
	}
	fName, cName := "", ""
	for _, sName := range sig {
		if sName == iName {
			continue
		}
		if c, ok := other(mFC, sName); ok && sole(sName) == mFC {
			if _, isAct := act[c]; !isAct {
				fName, cName = sName, c
			}
			break
		}
	}
	if fName == "" {
		return nil
	}
	// h' = σ(o)·tanh(c')
	cNew := add.Outputs[0]
	var tanhC *graph.Node
	for _, t := range cons[cNew] {
		if t.OpType == "Tanh" && t.Domain == "" && len(t.Inputs) == 1 && len(t.Outputs) == 1 {
			tanhC = t
			break
		}
	}
	if tanhC == nil {
		return nil
	}
	hMul := sole(tanhC.Outputs[0])
	if hMul == nil {
		return nil
	}
	oName, ok := other(hMul, tanhC.Outputs[0])
	if !ok || !isSig(oName) || oName == iName || oName == fName || sole(oName) != hMul {
		return nil
	}
	nodes = append(nodes, mIG, mFC, add, tanhC, hMul)
	return &lstmCellMatch{
		nodes: nodes, x: n.Inputs[0], c: cName, cNew: cNew, tanhC: tanhC, hMul: hMul, h: h,
		gate: map[byte]int{'i': act[iName], 'f': act[fName], 'g': act[tanhG], 'o': act[oName]},
	}
}

// equalSplit reports whether the Split n cuts its input's last axis into
// four blocks of h (no sizes, or sizes h, h, h, h as an input or attribute).
func (s *Session) equalSplit(n *graph.Node, h int) bool {
	var sizes []int64
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		id, ok := s.slots[n.Inputs[1]]
		t := s.consts[id]
		if !ok || t == nil {
			return false
		}
		v, err := t.AsInt64()
		if err != nil {
			return false
		}
		sizes = v
	} else if n.HasAttr("split") {
		sizes = n.AttrInts("split", nil)
	}
	if sizes == nil {
		return true
	}
	if len(sizes) != 4 {
		return false
	}
	for _, v := range sizes {
		if v != int64(h) {
			return false
		}
	}
	return true
}

// kept reports whether a tensor must stay visible: a graph output or tap.
func (s *Session) kept(name string) bool {
	id, ok := s.slots[name]
	return !ok || s.keep[id]
}

// producer returns the node writing name, or nil.
func (s *Session) producer(name string) *graph.Node {
	for _, st := range s.steps {
		for _, o := range st.node.Outputs {
			if o == name {
				return st.node
			}
		}
	}
	return nil
}

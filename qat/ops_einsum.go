package qat

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// einsumOp is Einsum (attention written as
// torch.einsum("bhid,bhjd->bhij", q, k), Mamba-2's state products, a weight
// contracted with the data). The forward pass is the runtime's kernel
// (runtime.ConstEval). An operand's gradient is an Einsum too: the output's
// gradient contracted with the other operands, written back to the operand's
// subscripts ("bhij,bhjd->bhid" for q). That holds when each of the operand's
// subscripts appears in the output or an other operand (nothing summed over that
// operand alone); other equations are refused naming the node. An operand that
// repeats a subscript (a diagonal, "bnii->bni") gets its gradient on the
// subscripts once each, written back onto its diagonal (zero elsewhere). A
// constant operand is a trainable weight.
type einsumOp struct {
	node  string
	gnode *graph.Node
	opset int64
	ops   []einsumOperand
	out   int
	grads []*graph.Node // per operand, the Einsum of its gradient
	in    []*graph.Tensor
	// checked: the operand shapes whose gradient shapes were checked; err: a
	// backward pass that failed (returned by the next forward pass)
	checked string
	err     error
	// diag: per operand, nil or its diagonal (a repeated subscript)
	diag []*einsumDiag
	// sumTo: per operand, nil or, for an operand broadcast over the ellipsis
	// (size 1, or fewer dimensions, against the other operands), the operand
	// element each element of its gradient Einsum's result adds to
	sumTo [][]int32
}

// einsumDiag is an operand that repeats a subscript: term as written (no
// ellipsis), uniq with each subscript once, and for the current shape the
// element of the gradient on uniq that each operand element takes (-1: off the
// diagonal).
type einsumDiag struct {
	term, uniq string
	shape      []int
	from       []int32
}

// einsumOperand is an activation slot or a trainable constant.
type einsumOperand struct {
	slot int // -1 for a parameter
	p    *Param
}

// einsumTerms splits an equation into its input terms and output term (implicit
// output: the subscripts appearing once, in alphabetical order, after any
// ellipsis), spaces removed.
func einsumTerms(eq string) ([]string, string) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, out, explicit := strings.Cut(eq, "->")
	ins := strings.Split(lhs, ",")
	if explicit {
		return ins, out
	}
	count := map[rune]int{}
	ell := false
	for _, t := range ins {
		ell = ell || strings.Contains(t, "...")
		for _, r := range strings.ReplaceAll(t, "...", "") {
			count[r]++
		}
	}
	var once []string
	for r, c := range count {
		if c == 1 {
			once = append(once, string(r))
		}
	}
	sort.Strings(once)
	out = strings.Join(once, "")
	if ell {
		out = "..." + out
	}
	return ins, out
}

func buildEinsum(b *builder, node *graph.Node) (built, error) {
	if len(node.Inputs) < 1 {
		return built{}, fmt.Errorf("Einsum without operands")
	}
	eq := node.AttrString("equation", "")
	ins, out := einsumTerms(eq)
	if len(ins) != len(node.Inputs) {
		return built{}, fmt.Errorf("Einsum equation %q has %d operands, the node %d inputs", eq, len(ins), len(node.Inputs))
	}
	o := &einsumOp{node: node.Label(), gnode: node, opset: b.n.plan.Model.Opset()}
	for i, name := range node.Inputs {
		var op einsumOperand
		if t := b.g.Initializers[name]; t != nil && t.DType == graph.Float32 {
			p, err := b.param(name, true)
			if err != nil {
				return built{}, err
			}
			op = einsumOperand{slot: -1, p: p}
		} else {
			s, err := b.input(node, name)
			if err != nil {
				return built{}, err
			}
			op = einsumOperand{slot: s}
		}
		o.ops = append(o.ops, op)
		term := ins[i]
		plain := strings.ReplaceAll(term, "...", "")
		others := out
		for j, t := range ins {
			if j != i {
				others += t
			}
		}
		var d *einsumDiag
		for k, r := range plain {
			if strings.ContainsRune(plain[k+1:], r) {
				if strings.Contains(term, "...") {
					return built{}, fmt.Errorf("%w: Einsum %q repeats subscript %q in operand %d beside an ellipsis", ErrNoGradient, eq, r, i)
				}
				d = &einsumDiag{term: plain}
			}
			if !strings.ContainsRune(others, r) {
				return built{}, fmt.Errorf("%w: Einsum %q sums subscript %q over operand %d alone", ErrNoGradient, eq, r, i)
			}
		}
		if strings.Contains(term, "...") && !strings.Contains(out, "...") {
			return built{}, fmt.Errorf("%w: Einsum %q sums the ellipsis dimensions", ErrNoGradient, eq)
		}
		gin := []string{out}
		for j, t := range ins {
			if j != i {
				gin = append(gin, t)
			}
		}
		gout := term
		if d != nil {
			for _, r := range plain {
				if !strings.ContainsRune(d.uniq, r) {
					d.uniq += string(r)
				}
			}
			gout = d.uniq
		}
		o.diag = append(o.diag, d)
		o.grads = append(o.grads, &graph.Node{Name: node.Name + "/grad", OpType: "Einsum", Inputs: make([]string, len(gin)), Outputs: []string{""},
			Attrs: map[string]*graph.Attr{"equation": {Name: "equation", Type: graph.AttrString, S: strings.Join(gin, ",") + "->" + gout}}})
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *einsumOp) label() string { return o.node }

// operand returns operand i's current value as a tensor.
func (o *einsumOp) operand(n *Net, i int) *graph.Tensor {
	op := o.ops[i]
	if op.slot < 0 {
		return graph.FromFloat32(op.p.Shape, op.p.W)
	}
	v := n.vals[op.slot]
	return graph.FromFloat32(v.shape, v.data)
}

func (o *einsumOp) forward(n *Net) error {
	o.in = o.in[:0]
	for i := range o.ops {
		o.in = append(o.in, o.operand(n, i))
	}
	res, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, o.in)
	if err != nil {
		return err
	}
	if len(res) != 1 || res[0].DType != graph.Float32 {
		return fmt.Errorf("the runtime's Einsum gave no float32 output")
	}
	y := n.vals[o.out]
	y.resize(res[0].Shape)
	copy(y.data, res[0].F32())
	if o.err != nil {
		return o.err
	}
	return o.checkGradShapes(y.shape)
}

// checkGradShapes checks, once per operand shapes, that each operand's gradient
// Einsum gives the operand's shape: an ellipsis broadcast from size 1 in one
// operand would need a sum the equation does not have.
func (o *einsumOp) checkGradShapes(out []int) error {
	key := fmt.Sprint(out)
	for _, t := range o.in {
		key += fmt.Sprint(t.Shape)
	}
	if key == o.checked {
		return nil
	}
	dy := graph.FromFloat32(out, make([]float32, numel(out)))
	o.sumTo = make([][]int32, len(o.ops))
	for i := range o.ops {
		in := []*graph.Tensor{dy}
		for j := range o.ops {
			if j != i {
				in = append(in, o.in[j])
			}
		}
		res, err := runtime.ConstEval().EvalConst(o.grads[i], o.opset, in)
		if err != nil {
			return fmt.Errorf("%w: the gradient of Einsum operand %d: %v", ErrNoGradient, i, err)
		}
		want := o.in[i].Shape
		if d := o.diag[i]; d != nil {
			if want, err = d.plan(o.in[i].Shape); err != nil {
				return fmt.Errorf("%w: Einsum operand %d: %v", ErrNoGradient, i, err)
			}
		}
		if len(res) != 1 {
			return fmt.Errorf("%w: the gradient of Einsum operand %d gave %d results", ErrNoGradient, i, len(res))
		}
		o.sumTo[i] = nil
		if !equalShape(res[0].Shape, want) {
			if o.sumTo[i] = broadcastSum(res[0].Shape, want); o.sumTo[i] == nil {
				return fmt.Errorf("%w: Einsum operand %d %v against the output %v", ErrNoGradient, i, o.in[i].Shape, out)
			}
		}
	}
	o.checked = key
	return nil
}

func (o *einsumOp) backward(n *Net) {
	y := n.vals[o.out]
	dy := graph.FromFloat32(y.shape, y.grad)
	for i, op := range o.ops {
		var dst []float32
		if op.slot < 0 {
			dst = op.p.G
		} else {
			dst = n.vals[op.slot].grad
		}
		if dst == nil {
			continue
		}
		in := []*graph.Tensor{dy}
		for j := range o.ops {
			if j != i {
				in = append(in, o.in[j])
			}
		}
		res, err := runtime.ConstEval().EvalConst(o.grads[i], o.opset, in)
		d := o.diag[i]
		switch {
		case err != nil:
		case len(res) != 1:
			err = fmt.Errorf("%d results", len(res))
		case d == nil && o.sumTo[i] == nil && res[0].Len() != len(dst):
			err = fmt.Errorf("%d values for %d", res[0].Len(), len(dst))
		case o.sumTo[i] != nil && len(o.sumTo[i]) != res[0].Len():
			err = fmt.Errorf("%d values for a sum of %d", res[0].Len(), len(o.sumTo[i]))
		case d != nil && len(d.from) != len(dst):
			err = fmt.Errorf("a diagonal of %d values for %d", len(d.from), len(dst))
		}
		if err != nil {
			// checkGradShapes rules this out; kept for the next forward pass
			o.err = fmt.Errorf("the gradient of Einsum operand %d: %w", i, err)
			continue
		}
		g := res[0].F32()
		if d != nil {
			for k, j := range d.from {
				if j >= 0 {
					dst[k] += g[j]
				}
			}
			continue
		}
		if to := o.sumTo[i]; to != nil {
			for k, v := range g {
				dst[to[k]] += v
			}
			continue
		}
		for k, v := range g {
			dst[k] += v
		}
	}
}

// plan maps the operand's elements of shape to the gradient on uniq (whose
// shape it returns): an element whose repeated subscripts take one index is on
// the diagonal.
func (d *einsumDiag) plan(shape []int) ([]int, error) {
	if len(shape) != len(d.term) {
		return nil, fmt.Errorf("operand %v for subscripts %q", shape, d.term)
	}
	size := map[rune]int{}
	for k, r := range d.term {
		if s, ok := size[r]; ok && s != shape[k] {
			return nil, fmt.Errorf("subscript %q is %d and %d long in %v", r, s, shape[k], shape)
		}
		size[r] = shape[k]
	}
	ushape := make([]int, len(d.uniq))
	stride := map[rune]int{}
	st := 1
	for k := len(d.uniq) - 1; k >= 0; k-- {
		r := rune(d.uniq[k])
		ushape[k] = size[r]
		stride[r] = st
		st *= size[r]
	}
	if equalShape(shape, d.shape) && d.from != nil {
		return ushape, nil
	}
	d.shape = append(d.shape[:0], shape...)
	d.from = make([]int32, numel(shape))
	idx := make([]int, len(shape))
	for e := range d.from {
		at := map[rune]int{}
		j, on := 0, true
		for k, r := range d.term {
			if v, ok := at[r]; ok {
				on = on && v == idx[k]
				continue
			}
			at[r] = idx[k]
			j += idx[k] * stride[r]
		}
		d.from[e] = -1
		if on {
			d.from[e] = int32(j)
		}
		for k := len(idx) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return ushape, nil
}

// broadcastSum maps each element of a tensor of shape from to the element of
// shape to that broadcasts onto it (numpy's rule, aligned on the right: to's
// missing leading dimensions and its dimensions of size 1 repeat), or returns nil
// when to does not broadcast to from. A gradient on from summed along the map is
// the gradient of the operand of shape to.
func broadcastSum(from, to []int) []int32 {
	if len(to) > len(from) {
		return nil
	}
	off := len(from) - len(to)
	st := make([]int, len(from)) // stride in to of each axis of from (0: repeated)
	s := 1
	for k := len(to) - 1; k >= 0; k-- {
		switch {
		case to[k] == from[off+k]:
			st[off+k] = s
		case to[k] != 1:
			return nil
		}
		s *= to[k]
	}
	m := make([]int32, numel(from))
	idx := make([]int, len(from))
	for e := range m {
		j := 0
		for k, i := range idx {
			j += i * st[k]
		}
		m[e] = int32(j)
		for k := len(idx) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < from[k] {
				break
			}
			idx[k] = 0
		}
	}
	return m
}

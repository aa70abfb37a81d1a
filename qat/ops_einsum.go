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
// subscripts ("bhij,bhjd->bhid" for q). That holds when the operand repeats no
// subscript (no diagonal) and each of its subscripts appears in the output or an
// other operand (nothing summed over that operand alone); other equations are
// refused naming the node. A constant operand is a trainable weight.
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
		for k, r := range plain {
			if strings.ContainsRune(plain[k+1:], r) {
				return built{}, fmt.Errorf("%w: Einsum %q repeats subscript %q in operand %d (a diagonal)", ErrNoGradient, eq, r, i)
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
		o.grads = append(o.grads, &graph.Node{Name: node.Name + "/grad", OpType: "Einsum", Inputs: make([]string, len(gin)), Outputs: []string{""},
			Attrs: map[string]*graph.Attr{"equation": {Name: "equation", Type: graph.AttrString, S: strings.Join(gin, ",") + "->" + term}}})
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
		if len(res) != 1 || !equalShape(res[0].Shape, o.in[i].Shape) {
			return fmt.Errorf("%w: Einsum operand %d %v is broadcast against the output %v", ErrNoGradient, i, o.in[i].Shape, out)
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
		if err == nil && (len(res) != 1 || res[0].Len() != len(dst)) {
			err = fmt.Errorf("%d values for %d", res[0].Len(), len(dst))
		}
		if err != nil {
			// checkGradShapes rules this out; kept for the next forward pass
			o.err = fmt.Errorf("the gradient of Einsum operand %d: %w", i, err)
			continue
		}
		for k, v := range res[0].F32() {
			dst[k] += v
		}
	}
}

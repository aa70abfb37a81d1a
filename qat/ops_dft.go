package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// dftOp is DFT (opset 17 and 20) of a signal that a weight feeds (a learned
// spectral mask before an inverse transform, a filter before the analysis). The
// forward pass is the runtime's kernel. The transform is linear, Y = A x with A
// the complex matrix of the (inverse) DFT of length L restricted to the output
// bins, so the gradient is A^H g: for the forward transform L times the
// normalized inverse DFT of g (the bins a one-sided output leaves out taken as 0),
// for the inverse transform the forward DFT of g over L, both computed by the
// runtime's kernel on g; the signal's padding or truncation to dft_length is
// undone on the way back, and a real signal keeps the real part.
type dftOp struct {
	node    string
	gnode   *graph.Node
	opset   int64
	in, out int
	// lenIn, axisIn: dft_length and (opset 20) axis, when given
	lenIn, axisIn     noGradIn
	hasLen, hasAxis   bool
	inverse, onesided bool
	// of the last forward pass: the axis, the signal's length there, the
	// transform length
	axis, n, l int
	// checked: the output shape the adjoint transform was tried on
	checked []int
}

func buildDFT(b *builder, node *graph.Node) (built, error) {
	if !b.readsTrained(node) {
		// a front end on the input signal: data (data.go), and so is what
		// computes from it alone (a power spectrum, a mel filter bank's MatMul),
		// as before DFT had a gradient
		return built{}, fmt.Errorf("%w: DFT that no weight feeds", ErrNoGradient)
	}
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &dftOp{node: node.Label(), gnode: node, opset: b.n.plan.Model.Opset(), in: in, out: b.slot(),
		inverse: node.AttrInt("inverse", 0) != 0, onesided: node.AttrInt("onesided", 0) != 0}
	var ok bool
	if node.Input(1) != "" {
		if o.lenIn, ok = b.noGradInput(node.Input(1)); !ok {
			return built{}, fmt.Errorf("dft_length %q is an activation", node.Input(1))
		}
		o.hasLen = true
	}
	if o.opset >= 20 && node.Input(2) != "" {
		if o.axisIn, ok = b.noGradInput(node.Input(2)); !ok {
			return built{}, fmt.Errorf("axis %q is an activation", node.Input(2))
		}
		o.hasAxis = true
	}
	return built{o, o.out}, nil
}

func (o *dftOp) label() string { return o.node }

func scalarOf(t *graph.Tensor, what string) (int, error) {
	v, err := t.AsInt64()
	if err != nil || len(v) != 1 {
		return 0, fmt.Errorf("%s must be one integer, got %s %v", what, t.DType, t.Shape)
	}
	return int(v[0]), nil
}

func (o *dftOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	r := len(x.shape)
	if r < 2 || (x.shape[r-1] != 1 && x.shape[r-1] != 2) {
		return fmt.Errorf("signal of shape %v: the last axis must hold 1 (real) or 2 (complex) values", x.shape)
	}
	ins := []*graph.Tensor{graph.FromFloat32(x.shape, x.data), nil, nil}
	axisV := int64(1)
	if o.opset >= 20 {
		axisV = -2
	} else {
		axisV = o.gnode.AttrInt("axis", 1)
	}
	if o.hasLen {
		t, err := o.lenIn.value(n)
		if err != nil {
			return err
		}
		ins[1] = t
	}
	if o.hasAxis {
		t, err := o.axisIn.value(n)
		if err != nil {
			return err
		}
		a, err := scalarOf(t, "axis")
		if err != nil {
			return err
		}
		ins[2], axisV = t, int64(a)
	}
	axis, err := graph.DFTAxis(axisV, r)
	if err != nil {
		return err
	}
	o.axis, o.n = axis, x.shape[axis]
	o.l = o.n
	if ins[1] != nil {
		if o.l, err = scalarOf(ins[1], "dft_length"); err != nil {
			return err
		}
	}
	if len(o.gnode.Inputs) < 3 {
		ins = ins[:len(o.gnode.Inputs)]
	}
	out, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, ins)
	if err != nil {
		return err
	}
	if len(out) != 1 || out[0].DType != graph.Float32 {
		return fmt.Errorf("the runtime's DFT gave %d outputs", len(out))
	}
	y.resize(out[0].Shape)
	copy(y.data, out[0].F32())
	if !equalShape(o.checked, y.shape) {
		// the backward pass's transform must run on this shape too: known now,
		// where an error can be returned
		gShape := append([]int(nil), y.shape...)
		gShape[axis] = o.l
		if _, err := o.adjoint(gShape, make([]float32, numel(gShape))); err != nil {
			return fmt.Errorf("its gradient's transform: %w", err)
		}
		o.checked = append(o.checked[:0], y.shape...)
	}
	return nil
}

// adjoint runs the runtime's DFT of the other direction (full length, two-sided,
// on the resolved axis) on the complex signal g of shape gShape.
func (o *dftOp) adjoint(gShape []int, g []float32) (*graph.Tensor, error) {
	adj := &graph.Node{Name: o.gnode.Name + "/adjoint", OpType: "DFT", Inputs: []string{"g"}, Outputs: []string{"a"},
		Attrs: map[string]*graph.Attr{
			"inverse":  {Name: "inverse", Type: graph.AttrInt, I: boolInt(!o.inverse)},
			"onesided": {Name: "onesided", Type: graph.AttrInt, I: 0},
			"axis":     {Name: "axis", Type: graph.AttrInt, I: int64(o.axis)},
		}}
	out, err := runtime.ConstEval().EvalConst(adj, 17, []*graph.Tensor{graph.FromFloat32(gShape, g)})
	if err != nil {
		return nil, err
	}
	if len(out) != 1 || out[0].DType != graph.Float32 || numel(out[0].Shape) != len(g) {
		return nil, fmt.Errorf("the runtime's DFT gave %d outputs for %v", len(out), gShape)
	}
	return out[0], nil
}

// axisCopy copies, for every index before and after the axis, the first k
// positions along it of src (length ls there) to dst (length ld), each position
// holding per values; positions of dst past k are left as they are.
func axisCopy(dst, src []float32, pre, ls, ld, k, per int) {
	for p := 0; p < pre; p++ {
		copy(dst[p*ld*per:p*ld*per+k*per], src[p*ls*per:p*ls*per+k*per])
	}
}

func (o *dftOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	r := len(x.shape)
	pre := numel(x.shape[:o.axis])
	post := numel(x.shape[o.axis+1 : r-1]) // between the axis and the real/imaginary pair
	per := 2 * post
	k := y.shape[o.axis]
	// g as a complex signal of the transform's full length (bins past a
	// one-sided output are 0)
	gShape := append([]int(nil), y.shape...)
	gShape[o.axis] = o.l
	g := make([]float32, numel(gShape))
	axisCopy(g, y.grad, pre, k, o.l, min(k, o.l), per)
	out, err := o.adjoint(gShape, g)
	if err != nil {
		// checked on this shape by the forward pass; should it fail all the
		// same, training stops at the non-finite gradient, naming the weight
		for i := range x.grad {
			x.grad[i] = float32(math.NaN())
		}
		return
	}
	a := out.F32()
	// forward: L · IDFT(g); inverse: DFT(g) / L
	scale := float32(o.l)
	if o.inverse {
		scale = 1 / float32(o.l)
	}
	m := min(o.n, o.l)
	c := x.shape[r-1]
	for p := 0; p < pre; p++ {
		for i := 0; i < m; i++ {
			for q := 0; q < post; q++ {
				src := ((p*o.l+i)*post + q) * 2
				dst := ((p*o.n+i)*post + q) * c
				x.grad[dst] += scale * a[src]
				if c == 2 {
					x.grad[dst+1] += scale * a[src+1]
				}
			}
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

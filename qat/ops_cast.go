package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// castOp is a Cast or CastLike of an activation between floating-point types (a
// float32 tensor cast to float32, as torch.onnx and tf2onnx write around
// arithmetic; a round trip through bfloat16 in a mixed-precision export; float16
// casts do not reach training: Optimize widens a float16 model to float32).
// Training keeps every value in float32: a cast to a narrower type rounds to it
// (its values are what the executor computes), and the gradient passes straight
// through the rounding. Before, a cast to another float type was taken for shape
// arithmetic, which silently gave what came before it no gradient. Casts of integer or computed values are
// shape arithmetic (isShapeNode; CastLike's second input only gives the type); a
// cast of an activation to an integer type has no gradient.
type castOp struct {
	node    string
	in, out int
	round   func(float32) float32 // nil: exact
}

func buildCast(b *builder, node *graph.Node) (built, error) {
	in, out := b.g.Values[node.Input(0)], b.g.Values[node.Output(0)]
	if in == nil || out == nil || !in.DType.IsFloat() || !out.DType.IsFloat() {
		what := "an unknown type"
		if out != nil {
			what = out.DType.String()
		}
		return built{}, fmt.Errorf("%w: %s of activation %q to %s", ErrNoGradient, node.OpType, node.Input(0), what)
	}
	s, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &castOp{node: node.Label(), in: s, out: b.slot()}
	switch out.DType {
	case graph.Float16:
		o.round = func(v float32) float32 { return graph.Float16ToFloat32(graph.Float32ToFloat16(v)) }
	case graph.BFloat16:
		o.round = func(v float32) float32 {
			return math.Float32frombits(uint32(graph.Float32ToBFloat16(v)) << 16)
		}
	}
	return built{o, o.out}, nil
}

func (o *castOp) label() string { return o.node }

func (o *castOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	y.resize(x.shape)
	if o.round == nil {
		copy(y.data, x.data)
		return nil
	}
	for i, v := range x.data {
		y.data[i] = o.round(v)
	}
	return nil
}

func (o *castOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for i, g := range y.grad {
		x.grad[i] += g
	}
}

package graph

// The shape schemas of the random generators: RandomNormal, RandomUniform (shape
// from the attribute) and RandomNormalLike, RandomUniformLike (the input's
// shape). torch.onnx writes the *Like forms for torch.randn_like / rand_like: a
// VAE's or VITS' (Piper's) sampled prior, noise injection. Their outputs are
// never folded into constants (each run draws anew; graph/optimize and the
// int8 session's step folding leave them alone too). float32 and float64
// outputs; other dtypes refused naming the node. Twenty-first session, the
// unseen16 set.

import "strings"

var randomAttrs = []string{"dtype", "mean", "scale", "high", "low", "seed", "shape"}

// RandomDType is the output type of a random generator node: its dtype
// attribute, else the input's type for the *Like forms (float32 when that is
// not a float type), else float32.
func RandomDType(n *Node, input DType) (DType, error) {
	dt := Float32
	if a := n.Attrs["dtype"]; a != nil {
		dt = DType(a.I)
	} else if strings.HasSuffix(n.OpType, "Like") && (input == Float64 || input == Float32) {
		dt = input
	}
	if dt != Float32 && dt != Float64 {
		return Undefined, errorf(n, "output type %s is not supported (float32 and float64)", dt)
	}
	return dt, nil
}

func inferRandom(c *InferContext) ([]*Value, []*Tensor, error) {
	like := strings.HasSuffix(c.Node.OpType, "Like")
	if like {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
		x := c.Input(0)
		dt, err := RandomDType(c.Node, x.DType)
		if err != nil {
			return nil, nil, err
		}
		// Not finish: a random output is never a constant.
		return []*Value{valueOf(dt, x.Shape, x.HasShape)}, nil, nil
	}
	if err := requireInputs(c, 0, 0); err != nil {
		return nil, nil, err
	}
	dt, err := RandomDType(c.Node, Undefined)
	if err != nil {
		return nil, nil, err
	}
	a := c.Node.Attrs["shape"]
	if a == nil {
		return nil, nil, c.Errorf("needs the shape attribute")
	}
	for _, d := range a.Ints {
		if d < 0 {
			return nil, nil, c.Errorf("shape %v has a negative dimension", a.Ints)
		}
	}
	return []*Value{{DType: dt, Shape: ShapeOf(Int64sToInts(a.Ints)...), HasShape: true}}, nil, nil
}

func init() {
	for _, op := range []string{"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"} {
		RegisterOp(OpSchema{OpType: op, SinceOpset: 1, Attrs: randomAttrs, Infer: inferRandom})
	}
}

package graph

import "fmt"

// CenterCropPad (opset 18): the listed axes (all by default) cropped or zero-padded
// to the given sizes around their centres; a torchvision-style preprocessing graph's
// CenterCrop(224) after its Resize (eighteenth session). The output is static where
// the sizes are constants, whatever the input's symbolic sizes.

func init() {
	RegisterOp(OpSchema{OpType: "CenterCropPad", SinceOpset: 18, Attrs: []string{"axes"}, Infer: inferCenterCropPad})
}

// CenterCropPadAxes returns the axes of a rank-r input that n's shape values are
// for (its axes attribute, normalised; all axes when absent), checking their count
// against k values.
func CenterCropPadAxes(n *Node, r, k int) ([]int, error) {
	axes := n.AttrInts("axes", nil)
	out := make([]int, 0, r)
	if axes == nil {
		for a := 0; a < r; a++ {
			out = append(out, a)
		}
	} else {
		seen := make([]bool, r)
		for _, a := range axes {
			na, err := NormalizeAxis(a, r)
			if err != nil {
				return nil, fmt.Errorf("axes %v: %v", axes, err)
			}
			if seen[na] {
				return nil, fmt.Errorf("axes %v: axis %d is listed twice", axes, a)
			}
			seen[na] = true
			out = append(out, na)
		}
	}
	if k != len(out) {
		return nil, fmt.Errorf("shape has %d values for %d axes", k, len(out))
	}
	return out, nil
}

func inferCenterCropPad(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType})
	}
	st := c.Const(1)
	if st == nil {
		return finish(c, &Value{DType: in.DType, Shape: unknownDims(len(in.Shape)), HasShape: true})
	}
	sizes, err := st.AsInt64()
	if err != nil {
		return nil, nil, c.Errorf("shape: %v", err)
	}
	axes, err := CenterCropPadAxes(c.Node, len(in.Shape), len(sizes))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := append(Shape{}, in.Shape...)
	for i, a := range axes {
		if sizes[i] < 0 {
			return nil, nil, c.Errorf("shape %v: size %d is negative", sizes, sizes[i])
		}
		out[a] = Dim{Size: int(sizes[i])}
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

package graph

// The ai.onnx.ml feature operators skl2onnx writes for a ColumnTransformer over
// mixed numeric and categorical columns: ArrayFeatureExtractor (columns picked by
// index along the last axis), Binarizer (1 above the threshold, else 0) and
// OneHotEncoder (int64 categories from cats_int64s; an unknown category is all
// zeros when zeros=1, an error otherwise). String categories (cats_strings) are
// refused naming the node: string tensors are not supported.

var afeTypes = typeSet{Float32, Float64, Int64, Int32}

func inferArrayFeatureExtractor(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, afeTypes); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int64}); err != nil {
		return nil, nil, err
	}
	x, idx := c.Input(0), c.Input(1)
	if !x.HasShape {
		return finish(c, &Value{DType: x.DType})
	}
	if len(x.Shape) == 0 {
		return nil, nil, c.Errorf("input X is a scalar; the indices select along its last axis")
	}
	n := Dim{Size: -1}
	if v, err := constInts(c, 1); err != nil {
		return nil, nil, err
	} else if v != nil {
		n = Dim{Size: len(v)}
		if last := x.Shape[len(x.Shape)-1]; last.Known() {
			for _, i := range v {
				if i < 0 || i >= int64(last.Size) {
					return nil, nil, c.Errorf("index %d is outside the %d columns of X %s", i, last.Size, x.Shape)
				}
			}
		}
	} else if idx.HasShape && len(idx.Shape) > 0 {
		n = idx.Shape[len(idx.Shape)-1]
	}
	if len(x.Shape) == 1 {
		return finish(c, &Value{DType: x.DType, Shape: Shape{{Size: 1}, n}, HasShape: true})
	}
	out := append(append(Shape{}, x.Shape[:len(x.Shape)-1]...), n)
	return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
}

func inferBinarizer(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Float32}); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	return finish(c, valueOf(x.DType, x.Shape, x.HasShape))
}

func inferOneHotEncoder(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Int64, Int32, Float32, Float64}); err != nil {
		return nil, nil, err
	}
	if s := c.Node.AttrStrings("cats_strings", nil); len(s) > 0 {
		return nil, nil, nnUnsupported(c, "cats_strings (string categories; int64 only)")
	}
	cats := c.Node.AttrInts("cats_int64s", nil)
	if len(cats) == 0 {
		return nil, nil, c.Errorf("cats_int64s is empty")
	}
	if z := c.Node.AttrInt("zeros", 1); z != 0 && z != 1 {
		return nil, nil, c.Errorf("zeros %d must be 0 or 1", z)
	}
	x := c.Input(0)
	if !x.HasShape {
		return finish(c, &Value{DType: Float32})
	}
	out := append(append(Shape{}, x.Shape...), Dim{Size: len(cats)})
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "ArrayFeatureExtractor", Domain: MLDomain, Attrs: []string{}, Infer: inferArrayFeatureExtractor})
	RegisterOp(OpSchema{OpType: "Binarizer", Domain: MLDomain, Attrs: []string{"threshold"}, Infer: inferBinarizer})
	RegisterOp(OpSchema{OpType: "OneHotEncoder", Domain: MLDomain, Attrs: []string{"cats_int64s", "cats_strings", "zeros"}, Infer: inferOneHotEncoder})
}

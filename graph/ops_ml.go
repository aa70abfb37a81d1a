package graph

// The ai.onnx.ml operators skl2onnx writes for scikit-learn pipelines with
// zipmap=False: Scaler, Normalizer, Imputer, LinearClassifier, LinearRegressor,
// TreeEnsembleClassifier and TreeEnsembleRegressor, on a [N, C] (or [C]) feature
// tensor. Integer class labels only: string labels (classlabels_strings) are
// refused naming the node, and so are the one-row binary forms whose output
// ONNX Runtime synthesises (a LinearClassifier with one coefficient row, a
// TreeEnsembleClassifier whose leaves vote for one class of two).

import "fmt"

// MLDomain is the ONNX domain of the traditional machine-learning operators.
const MLDomain = "ai.onnx.ml"

var mlInputTypes = typeSet{Float32, Float64, Int64, Int32}

// mlRows returns the batch dimension of a [N, C] or [C] feature input (1 for [C])
// and C; the shape must be known in rank.
func mlRows(c *InferContext) (Dim, Dim, bool, error) {
	x := c.Input(0)
	if err := checkInputType(c, 0, mlInputTypes); err != nil {
		return Dim{}, Dim{}, false, err
	}
	if !x.HasShape {
		return Dim{Size: -1}, Dim{Size: -1}, false, nil
	}
	switch len(x.Shape) {
	case 1:
		return Dim{Size: 1}, x.Shape[0], true, nil
	case 2:
		return x.Shape[0], x.Shape[1], true, nil
	}
	return Dim{}, Dim{}, false, c.Errorf("input must be [N, C] or [C], has shape %s", x.Shape)
}

func inferMLSameShape(out DType) InferFunc {
	return func(c *InferContext) ([]*Value, []*Tensor, error) {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
		if _, _, _, err := mlRows(c); err != nil {
			return nil, nil, err
		}
		x := c.Input(0)
		dt := out
		if dt == Undefined {
			dt = x.DType
		}
		if c.Node.OpType == "Normalizer" {
			switch n := c.Node.AttrString("norm", "MAX"); n {
			case "MAX", "L1", "L2":
			default:
				return nil, nil, c.Errorf("norm %q must be MAX, L1 or L2", n)
			}
		}
		return finish(c, valueOf(dt, x.Shape, x.HasShape))
	}
}

// MLPostTransform checks a post_transform attribute.
func MLPostTransform(p string) error {
	switch p {
	case "NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO":
		return nil
	case "PROBIT":
		return fmt.Errorf("%w post_transform PROBIT (ONNX Runtime's approximate inverse erf is not reproduced)", ErrUnsupported)
	}
	return fmt.Errorf("post_transform %q is not NONE, SOFTMAX, LOGISTIC or SOFTMAX_ZERO", p)
}

// classLabels returns the integer class labels of a classifier attribute.
func classLabels(c *InferContext, intsAttr string) ([]int64, error) {
	if c.Node.HasAttr("classlabels_strings") {
		return nil, nnUnsupported(c, "string class labels (classlabels_strings; integer labels only)")
	}
	l := c.Node.AttrInts(intsAttr, nil)
	if len(l) == 0 {
		return nil, c.Errorf("has no %s", intsAttr)
	}
	return l, nil
}

func inferLinearClassifier(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := requireOutputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	n, f, _, err := mlRows(c)
	if err != nil {
		return nil, nil, err
	}
	labels, err := classLabels(c, "classlabels_ints")
	if err != nil {
		return nil, nil, err
	}
	if err := MLPostTransform(c.Node.AttrString("post_transform", "NONE")); err != nil {
		return nil, nil, errorf(c.Node, "%w", err)
	}
	coef := c.Node.AttrFloats("coefficients", nil)
	e := len(labels)
	if e < 2 || len(coef)%e != 0 {
		return nil, nil, nnUnsupported(c, "%d coefficients for %d class labels (one coefficient row per class, two classes or more)",
			len(coef), len(labels))
	}
	if f.Known() && len(coef) != e*f.Size {
		return nil, nil, c.Errorf("%d coefficients for %d classes and %d features", len(coef), e, f.Size)
	}
	if b := c.Node.AttrFloats("intercepts", nil); b != nil && len(b) != e {
		return nil, nil, c.Errorf("%d intercepts for %d classes", len(b), e)
	}
	return finish(c, &Value{DType: Int64, Shape: Shape{n}, HasShape: n.Size != 0},
		&Value{DType: Float32, Shape: Shape{n, {Size: e}}, HasShape: n.Size != 0})
}

func inferLinearRegressor(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	n, f, _, err := mlRows(c)
	if err != nil {
		return nil, nil, err
	}
	if p := c.Node.AttrString("post_transform", "NONE"); p != "NONE" {
		return nil, nil, nnUnsupported(c, "post_transform %q (NONE only)", p)
	}
	t := int(c.Node.AttrInt("targets", 1))
	coef := c.Node.AttrFloats("coefficients", nil)
	if t < 1 || len(coef) == 0 || len(coef)%t != 0 || (f.Known() && len(coef) != t*f.Size) {
		return nil, nil, c.Errorf("%d coefficients do not fit %d targets and features %s", len(coef), t, Shape{f})
	}
	if b := c.Node.AttrFloats("intercepts", nil); b != nil && len(b) != t {
		return nil, nil, c.Errorf("%d intercepts for %d targets", len(b), t)
	}
	return finish(c, &Value{DType: Float32, Shape: Shape{n, {Size: t}}, HasShape: n.Size != 0})
}

func inferTreeEnsemble(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	n, _, _, err := mlRows(c)
	if err != nil {
		return nil, nil, err
	}
	if err := MLPostTransform(c.Node.AttrString("post_transform", "NONE")); err != nil {
		return nil, nil, errorf(c.Node, "%w", err)
	}
	if _, err := NewTreeEnsemble(c.Node); err != nil {
		return nil, nil, errorf(c.Node, "%w", err)
	}
	if c.Node.OpType == "TreeEnsembleRegressor" {
		t := int(c.Node.AttrInt("n_targets", 1))
		return finish(c, &Value{DType: Float32, Shape: Shape{n, {Size: t}}, HasShape: n.Size != 0})
	}
	if err := requireOutputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	labels, err := classLabels(c, "classlabels_int64s")
	if err != nil {
		return nil, nil, err
	}
	return finish(c, &Value{DType: Int64, Shape: Shape{n}, HasShape: n.Size != 0},
		&Value{DType: Float32, Shape: Shape{n, {Size: len(labels)}}, HasShape: n.Size != 0})
}

func init() {
	tree := []string{"nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
		"nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true", "nodes_hitrates",
		"base_values", "post_transform"}
	RegisterOp(OpSchema{OpType: "Scaler", Domain: MLDomain, Attrs: []string{"offset", "scale"}, Infer: inferMLSameShape(Float32)})
	RegisterOp(OpSchema{OpType: "Normalizer", Domain: MLDomain, Attrs: []string{"norm"}, Infer: inferMLSameShape(Float32)})
	RegisterOp(OpSchema{OpType: "Imputer", Domain: MLDomain, Attrs: []string{"imputed_value_floats", "imputed_value_int64s",
		"replaced_value_float", "replaced_value_int64"}, Infer: inferMLSameShape(Undefined)})
	RegisterOp(OpSchema{OpType: "LinearClassifier", Domain: MLDomain, Attrs: []string{"classlabels_ints", "classlabels_strings",
		"coefficients", "intercepts", "multi_class", "post_transform"}, Infer: inferLinearClassifier})
	RegisterOp(OpSchema{OpType: "LinearRegressor", Domain: MLDomain, Attrs: []string{"coefficients", "intercepts", "targets",
		"post_transform"}, Infer: inferLinearRegressor})
	RegisterOp(OpSchema{OpType: "TreeEnsembleRegressor", Domain: MLDomain, Attrs: append(append([]string{}, tree...),
		"n_targets", "aggregate_function", "target_treeids", "target_nodeids", "target_ids", "target_weights"),
		Infer: inferTreeEnsemble})
	RegisterOp(OpSchema{OpType: "TreeEnsembleClassifier", Domain: MLDomain, Attrs: append(append([]string{}, tree...),
		"classlabels_int64s", "classlabels_strings", "class_treeids", "class_nodeids", "class_ids", "class_weights"),
		Infer: inferTreeEnsemble})
}

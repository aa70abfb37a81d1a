package graph

// This file holds the shape-inference schemas of the elementwise operators: unary
// activations and math, numpy-broadcasting binary and variadic arithmetic, comparisons,
// logical operators, Where, Cast/CastLike, Identity and Dropout. Every schema checks the
// operand dtypes it can see and folds the node when its inputs are small constants.

// typeSet is the set of element types an operator input accepts.
type typeSet []DType

var (
	floatTypes   = typeSet{Float32, Float64, Float16, BFloat16}
	signedTypes  = typeSet{Float32, Float64, Float16, BFloat16, Int8, Int16, Int32, Int64}
	numericTypes = typeSet{Float32, Float64, Float16, BFloat16, Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64}
	boolTypes    = typeSet{Bool}
	// anyTypes accepts every tensor type (data movement, Identity, Equal on bools...).
	anyTypes = typeSet(nil)
)

func (s typeSet) has(d DType) bool {
	if s == nil || d == Undefined {
		return true
	}
	for _, x := range s {
		if x == d {
			return true
		}
	}
	return false
}

func (s typeSet) String() string {
	if s == nil {
		return "any type"
	}
	out := ""
	for i, d := range s {
		if i > 0 {
			out += ", "
		}
		out += d.String()
	}
	return out
}

// checkInputType verifies input i (when present and typed) against a type set.
func checkInputType(c *InferContext, i int, s typeSet) error {
	v := c.Input(i)
	if v == nil || s.has(v.DType) {
		return nil
	}
	return c.Errorf("input %d (%q) has type %s; the operator accepts %s", i, c.Node.Input(i), v.DType, s)
}

// sameInputTypes checks that the present, typed inputs among idx share one dtype and
// returns it (Undefined when none is known).
func sameInputTypes(c *InferContext, idx ...int) (DType, error) {
	dt, first := Undefined, -1
	for _, i := range idx {
		v := c.Input(i)
		if v == nil || v.DType == Undefined {
			continue
		}
		if dt == Undefined {
			dt, first = v.DType, i
			continue
		}
		if v.DType != dt {
			return Undefined, c.Errorf("dtype mismatch: input %d (%q) is %s, input %d (%q) is %s",
				first, c.Node.Input(first), dt, i, c.Node.Input(i), v.DType)
		}
	}
	return dt, nil
}

// broadcastInputs broadcasts the shapes of the present inputs among idx; ok is false
// when any of them has an unknown shape.
func broadcastInputs(c *InferContext, idx ...int) (Shape, bool, error) {
	out := Shape{}
	for _, i := range idx {
		v := c.Input(i)
		if v == nil {
			continue
		}
		if !v.HasShape {
			return nil, false, nil
		}
		s, err := BroadcastShapes(out, v.Shape)
		if err != nil {
			return nil, false, c.Errorf("%v", err)
		}
		out = s
	}
	return out, true, nil
}

// requireInputs checks the number of inputs and that the first req are present.
func requireInputs(c *InferContext, req, maxIn int) error {
	n := len(c.Node.Inputs)
	if n < req || (maxIn >= 0 && n > maxIn) {
		if maxIn == req {
			return c.Errorf("expects %d inputs, has %d", req, n)
		}
		if maxIn < 0 {
			return c.Errorf("expects at least %d inputs, has %d", req, n)
		}
		return c.Errorf("expects %d to %d inputs, has %d", req, maxIn, n)
	}
	for i := 0; i < req; i++ {
		if c.Node.Inputs[i] == "" {
			return c.Errorf("required input %d is empty", i)
		}
	}
	return nil
}

// requireOutputs checks the number of outputs.
func requireOutputs(c *InferContext, minOut, maxOut int) error {
	n := len(c.Node.Outputs)
	if n < minOut || n > maxOut {
		return c.Errorf("has %d outputs, the operator has %d to %d", n, minOut, maxOut)
	}
	return nil
}

// attrBecameInput checks the inputs of an operator whose attribute name became its
// optional second input at opset since (Squeeze/Unsqueeze axes, Split split): the
// attribute is refused from that opset on, the input before it.
func attrBecameInput(c *InferContext, since int64, name string) error {
	if err := noLegacyAttrs(c, since, name); err != nil {
		return err
	}
	maxIn := 2
	if c.Opset < since {
		maxIn = 1
	}
	return requireInputs(c, 1, maxIn)
}

// noLegacyAttrs rejects attributes that an operator replaced by inputs at opset
// `since` (Clip's min/max, Split's split, Squeeze's axes, ...): silently ignoring them
// would compute something else than the model's author meant.
func noLegacyAttrs(c *InferContext, since int64, names ...string) error {
	if c.Opset < since {
		return nil
	}
	for _, name := range names {
		if c.Node.HasAttr(name) {
			return errorf(c.Node, "%w attribute %q at opset %d (it became an input in opset %d)", ErrUnsupported, name, c.Opset, since)
		}
	}
	return nil
}

// finish folds the node when possible and returns the InferFunc results.
func finish(c *InferContext, outs ...*Value) ([]*Value, []*Tensor, error) {
	consts, err := FoldConstants(c, outs)
	if err != nil {
		return nil, nil, err
	}
	return outs, consts, nil
}

// valueOf makes an output value; hasShape false leaves the shape unknown.
func valueOf(dt DType, s Shape, hasShape bool) *Value {
	if !hasShape {
		return &Value{DType: dt}
	}
	return &Value{DType: dt, Shape: append(Shape{}, s...), HasShape: true}
}

// unarySchema: one input, one output of the same type and shape.
func unarySchema(op string, since int64, types typeSet, attrs ...string) OpSchema {
	return OpSchema{
		OpType: op, SinceOpset: since, Attrs: append([]string{}, attrs...),
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) {
			if err := requireInputs(c, 1, 1); err != nil {
				return nil, nil, err
			}
			if err := requireOutputs(c, 1, 1); err != nil {
				return nil, nil, err
			}
			if err := checkInputType(c, 0, types); err != nil {
				return nil, nil, err
			}
			in := c.Input(0)
			return finish(c, valueOf(in.DType, in.Shape, in.HasShape))
		},
	}
}

// broadcastSchema: inputs broadcast together (numpy rules); all inputs in sameType
// share a dtype; the output has dtype outType (Undefined: that of input 0).
func broadcastSchema(op string, since int64, minIn, maxIn int, types typeSet, outType DType, attrs ...string) OpSchema {
	return OpSchema{
		OpType: op, SinceOpset: since, Attrs: append([]string{}, attrs...),
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) {
			if err := requireInputs(c, minIn, maxIn); err != nil {
				return nil, nil, err
			}
			if err := requireOutputs(c, 1, 1); err != nil {
				return nil, nil, err
			}
			idx := make([]int, len(c.Node.Inputs))
			for i := range idx {
				idx[i] = i
				if err := checkInputType(c, i, types); err != nil {
					return nil, nil, err
				}
			}
			dt, err := sameInputTypes(c, idx...)
			if err != nil {
				return nil, nil, err
			}
			s, ok, err := broadcastInputs(c, idx...)
			if err != nil {
				return nil, nil, err
			}
			if outType != Undefined {
				dt = outType
			}
			return finish(c, valueOf(dt, s, ok))
		},
	}
}

func inferPow(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	// Base and exponent may have different numeric types since opset 12; the result
	// has the base's type.
	for i := 0; i < 2; i++ {
		if err := checkInputType(c, i, numericTypes); err != nil {
			return nil, nil, err
		}
	}
	if c.Opset < 12 {
		if _, err := sameInputTypes(c, 0, 1); err != nil {
			return nil, nil, err
		}
	}
	s, ok, err := broadcastInputs(c, 0, 1)
	if err != nil {
		return nil, nil, err
	}
	return finish(c, valueOf(c.Input(0).DType, s, ok))
}

func inferMod(c *InferContext) ([]*Value, []*Tensor, error) {
	fmod := c.Node.AttrInt("fmod", 0)
	if fmod != 0 && fmod != 1 {
		return nil, nil, c.Errorf("attribute fmod must be 0 or 1, is %d", fmod)
	}
	if v := c.Input(0); v != nil && fmod == 0 && v.DType.IsFloat() {
		return nil, nil, c.Errorf("fmod=0 (integer modulo) is not defined for %s inputs; floating-point Mod needs fmod=1", v.DType)
	}
	return broadcastSchema("Mod", 10, 2, 2, numericTypes, Undefined).Infer(c)
}

func inferClip(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 11, "min", "max"); err != nil {
		return nil, nil, err
	}
	if c.Opset < 11 {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
		if err := checkInputType(c, 0, floatTypes); err != nil {
			return nil, nil, err
		}
	} else {
		if err := requireInputs(c, 1, 3); err != nil {
			return nil, nil, err
		}
		if err := checkInputType(c, 0, numericTypes); err != nil {
			return nil, nil, err
		}
		if _, err := sameInputTypes(c, 0, 1, 2); err != nil {
			return nil, nil, err
		}
		for i := 1; i < 3; i++ {
			if v := c.Input(i); v != nil && v.HasShape && len(v.Shape) > 1 {
				return nil, nil, c.Errorf("input %d (%q) must be a scalar, has shape %s", i, c.Node.Input(i), v.Shape)
			}
		}
	}
	in := c.Input(0)
	return finish(c, valueOf(in.DType, in.Shape, in.HasShape))
}

func inferPRelu(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, signedTypes); err != nil {
		return nil, nil, err
	}
	dt, err := sameInputTypes(c, 0, 1)
	if err != nil {
		return nil, nil, err
	}
	s, ok, err := broadcastInputs(c, 0, 1)
	if err != nil {
		return nil, nil, err
	}
	return finish(c, valueOf(dt, s, ok))
}

func inferWhere(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, boolTypes); err != nil {
		return nil, nil, err
	}
	dt, err := sameInputTypes(c, 1, 2)
	if err != nil {
		return nil, nil, err
	}
	s, ok, err := broadcastInputs(c, 0, 1, 2)
	if err != nil {
		return nil, nil, err
	}
	return finish(c, valueOf(dt, s, ok))
}

// castTypes are the element types Cast converts between (strings are not supported).
var castTypes = typeSet{Float32, Float64, Float16, BFloat16, Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64, Bool}

func inferCast(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if !c.Node.HasAttr("to") {
		return nil, nil, c.Errorf("attribute 'to' is required")
	}
	to := DType(c.Node.AttrInt("to", 0))
	if !castTypes.has(to) || to == Undefined {
		return nil, nil, errorf(c.Node, "%w cast target type %s", ErrUnsupported, to)
	}
	if err := checkInputType(c, 0, castTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	return finish(c, valueOf(to, in.Shape, in.HasShape))
}

func inferCastLike(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	for i := 0; i < 2; i++ {
		if err := checkInputType(c, i, castTypes); err != nil {
			return nil, nil, err
		}
	}
	in := c.Input(0)
	return finish(c, valueOf(c.Input(1).DType, in.Shape, in.HasShape))
}

func inferDropout(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 12, "ratio"); err != nil {
		return nil, nil, err
	}
	maxIn := 3
	if c.Opset < 12 {
		maxIn = 1
	}
	if err := requireInputs(c, 1, maxIn); err != nil {
		return nil, nil, err
	}
	if err := requireOutputs(c, 1, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, floatTypes); err != nil {
		return nil, nil, err
	}
	if r := c.Node.AttrFloat("ratio", 0.5); r < 0 || r >= 1 {
		return nil, nil, c.Errorf("ratio %g must be in [0, 1)", r)
	}
	if v := c.Input(2); v != nil && v.DType != Undefined && v.DType != Bool {
		return nil, nil, c.Errorf("training_mode must be bool, is %s", v.DType)
	}
	in := c.Input(0)
	outs := []*Value{valueOf(in.DType, in.Shape, in.HasShape)}
	if len(c.Node.Outputs) > 1 {
		// The mask was of the input's type before opset 10.
		mt := Bool
		if c.Opset < 10 {
			mt = in.DType
		}
		outs = append(outs, valueOf(mt, in.Shape, in.HasShape))
	}
	// Dropout is not folded: in training mode it is random.
	return outs, nil, nil
}

func inferIdentity(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if in.Seq { // a sequence passes through (seq_value.go)
		v := *in
		return []*Value{&v}, nil, nil
	}
	return []*Value{valueOf(in.DType, in.Shape, in.HasShape)}, []*Tensor{c.Const(0)}, nil
}

func init() {
	for _, u := range []struct {
		op    string
		since int64
		types typeSet
		attrs []string
	}{
		{"Relu", 6, signedTypes, nil},
		{"Sigmoid", 6, floatTypes, nil},
		{"Tanh", 6, floatTypes, nil},
		{"Sqrt", 6, floatTypes, nil},
		{"Exp", 6, floatTypes, nil},
		{"Log", 6, floatTypes, nil},
		{"Neg", 6, signedTypes, nil},
		{"Abs", 6, numericTypes, nil},
		{"Reciprocal", 6, floatTypes, nil},
		{"Floor", 6, floatTypes, nil},
		{"Ceil", 6, floatTypes, nil},
		{"Round", 11, floatTypes, nil},
		{"Sign", 9, numericTypes, nil},
		{"Softplus", 1, floatTypes, nil},
		{"Softsign", 1, floatTypes, nil},
		{"Sin", 7, floatTypes, nil},
		{"Cos", 7, floatTypes, nil},
		{"Tan", 7, floatTypes, nil},
		{"Asin", 7, floatTypes, nil},
		{"Acos", 7, floatTypes, nil},
		{"Atan", 7, floatTypes, nil},
		{"Sinh", 9, floatTypes, nil},
		{"Cosh", 9, floatTypes, nil},
		{"Asinh", 9, floatTypes, nil},
		{"Acosh", 9, floatTypes, nil},
		{"Atanh", 9, floatTypes, nil},
		{"Shrink", 9, numericTypes, []string{"bias", "lambd"}},
		{"Elu", 6, floatTypes, []string{"alpha"}},
		{"Celu", 12, floatTypes, []string{"alpha"}},
		{"Selu", 6, floatTypes, []string{"alpha", "gamma"}},
		{"LeakyRelu", 6, floatTypes, []string{"alpha"}},
		{"ThresholdedRelu", 10, floatTypes, []string{"alpha"}},
		{"HardSigmoid", 6, floatTypes, []string{"alpha", "beta"}},
		{"HardSwish", 14, floatTypes, nil},
		// Mish became an operator at opset 18 (x·tanh(softplus(x))); torch.onnx
		// before it, and the converters, write it decomposed.
		{"Mish", 18, floatTypes, nil},
		// Gelu became an operator at opset 20 (approximate "none": erf; "tanh").
		{"Gelu", 20, floatTypes, []string{"approximate"}},
		{"Not", 1, boolTypes, nil},
	} {
		RegisterOp(unarySchema(u.op, u.since, u.types, u.attrs...))
	}
	RegisterOp(OpSchema{OpType: "IsInf", SinceOpset: 10, Attrs: []string{"detect_negative", "detect_positive"},
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) {
			if err := requireInputs(c, 1, 1); err != nil {
				return nil, nil, err
			}
			if err := checkInputType(c, 0, floatTypes); err != nil {
				return nil, nil, err
			}
			in := c.Input(0)
			return finish(c, valueOf(Bool, in.Shape, in.HasShape))
		}})
	RegisterOp(OpSchema{OpType: "IsNaN", SinceOpset: 9, Attrs: []string{},
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) {
			if err := requireInputs(c, 1, 1); err != nil {
				return nil, nil, err
			}
			if err := checkInputType(c, 0, floatTypes); err != nil {
				return nil, nil, err
			}
			in := c.Input(0)
			return finish(c, valueOf(Bool, in.Shape, in.HasShape))
		}})
	RegisterOp(OpSchema{OpType: "Clip", SinceOpset: 6, Attrs: []string{"min", "max"}, Infer: inferClip})
	RegisterOp(OpSchema{OpType: "PRelu", SinceOpset: 7, Attrs: []string{}, Infer: inferPRelu})
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		RegisterOp(broadcastSchema(op, 7, 2, 2, numericTypes, Undefined))
	}
	RegisterOp(OpSchema{OpType: "Pow", SinceOpset: 7, Attrs: []string{}, Infer: inferPow})
	RegisterOp(OpSchema{OpType: "Mod", SinceOpset: 10, Attrs: []string{"fmod"}, Infer: inferMod})
	for _, op := range []string{"Max", "Min"} {
		RegisterOp(broadcastSchema(op, 8, 1, -1, numericTypes, Undefined))
	}
	for _, op := range []string{"Sum", "Mean"} {
		RegisterOp(broadcastSchema(op, 8, 1, -1, floatTypes, Undefined))
	}
	RegisterOp(broadcastSchema("Equal", 7, 2, 2, anyTypes, Bool))
	for _, op := range []string{"Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		RegisterOp(broadcastSchema(op, 7, 2, 2, numericTypes, Bool))
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		RegisterOp(broadcastSchema(op, 7, 2, 2, boolTypes, Bool))
	}
	RegisterOp(OpSchema{OpType: "BitShift", SinceOpset: 11, Attrs: []string{"direction"},
		Infer: func(c *InferContext) ([]*Value, []*Tensor, error) {
			if d := c.Node.AttrString("direction", ""); d != "LEFT" && d != "RIGHT" {
				return nil, nil, c.Errorf("attribute direction must be LEFT or RIGHT, is %q", d)
			}
			return broadcastSchema("BitShift", 11, 2, 2, typeSet{Uint8, Uint16, Uint32, Uint64}, Undefined).Infer(c)
		}})
	RegisterOp(OpSchema{OpType: "Where", SinceOpset: 9, Attrs: []string{}, Infer: inferWhere})
	RegisterOp(OpSchema{OpType: "Cast", SinceOpset: 6, Attrs: []string{"to"}, Infer: inferCast})
	RegisterOp(OpSchema{OpType: "CastLike", SinceOpset: 15, Attrs: []string{}, Infer: inferCastLike})
	RegisterOp(OpSchema{OpType: "Identity", SinceOpset: 1, Attrs: []string{}, Infer: inferIdentity})
	RegisterOp(OpSchema{OpType: "Dropout", SinceOpset: 7, Attrs: []string{"ratio", "seed"}, Infer: inferDropout})
}

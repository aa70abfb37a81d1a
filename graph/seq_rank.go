package graph

import "github.com/warboy-sim/warboy/onnx/onnxpb"

// rankFromProducersP is the rank of name in scopes (innermost first; a subgraph
// reads outer values by name) when no value_info declares it: from initializers
// and declared values, else through the producing node for operators whose
// output rank follows from their inputs' (elementwise, convolution and pooling,
// Slice, Gather, MatMul). -1 when unknown. The sequence rewrites need it on the
// protobuf, before shape inference: torch.jit.script declares the types of
// graph inputs and outputs, not of the tensors a loop appends to a list.
func rankFromProducersP(scopes []*onnxpb.GraphProto, name string, depth int) int {
	if depth > 64 || name == "" {
		return -1
	}
	for i, gp := range scopes {
		for _, t := range gp.GetInitializer() {
			if t.GetName() == name {
				return len(t.GetDims())
			}
		}
		if r := rankP(gp, name); r >= 0 {
			return r
		}
		p := producerP(gp, name)
		if p == nil {
			continue
		}
		in := func(k int) int {
			if k >= len(p.GetInput()) {
				return -1
			}
			return rankFromProducersP(scopes[i:], p.GetInput()[k], depth+1)
		}
		if p.GetDomain() != "" {
			return -1
		}
		switch p.GetOpType() {
		case "Constant":
			for _, a := range p.GetAttribute() {
				if a.GetName() == "value" && a.GetT() != nil {
					return len(a.GetT().GetDims())
				}
			}
			return -1
		case "Identity", "Relu", "Sigmoid", "Tanh", "Neg", "Abs", "Exp", "Log", "Sqrt", "Erf", "LeakyRelu", "Elu",
			"Selu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Clip", "Cast", "Dropout", "Softmax",
			"LogSoftmax", "Slice", "Conv", "ConvTranspose", "MaxPool", "AveragePool", "BatchNormalization",
			"InstanceNormalization", "LayerNormalization", "Pad", "Resize", "Floor", "Ceil", "Round", "Reciprocal",
			"Sin", "Cos", "Not", "Gelu", "Mish", "PRelu", "CumSum", "Tile", "Transpose":
			return in(0)
		case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "And", "Or", "Equal", "Less",
			"Greater", "LessOrEqual", "GreaterOrEqual", "MatMul", "Mod":
			r := -1
			for k := range p.GetInput() {
				rk := in(k)
				if rk < 0 {
					return -1
				}
				r = max(r, rk)
			}
			return r
		case "Shape":
			return 1
		case "Size":
			return 0
		case "Gather":
			a, b := in(0), in(1)
			if a < 0 || b < 0 {
				return -1
			}
			return a + b - 1
		}
		return -1
	}
	return -1
}

package graph

// quantizedOps are the operators whose presence makes a model quantized: the QDQ pair,
// dynamic quantization, the standard QOperator operators and the com.microsoft
// QLinear* contrib operators. The runtime (int8 or float execution), the simulator
// (int8 timing) and the quantizer (refusing to quantize twice) all ask this one list.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true,
	"QLinearConv": true, "QLinearMatMul": true, "ConvInteger": true, "MatMulInteger": true,
	"QLinearAdd": true, "QLinearMul": true, "QLinearGlobalAveragePool": true, "QLinearSigmoid": true,
	"QLinearLeakyRelu": true, "QLinearConcat": true, "QLinearSoftmax": true,
	"QLinearAveragePool": true, "QGemm": true, DynamicLSTMOp: true,
}

// IsQuantizedOp reports whether an operator type is a quantization operator.
func IsQuantizedOp(opType string) bool { return quantizedOps[opType] }

// IsQuantized reports whether the graph contains quantization operators.
func (g *Graph) IsQuantized() bool {
	for _, n := range g.Nodes {
		if quantizedOps[n.OpType] {
			return true
		}
	}
	return false
}

package quantizer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Traditional-ML operators (twenty-first session). skl2onnx writes a scikit-learn
// pipeline as ai.onnx.ml operators (Scaler, OneHotEncoder, Binarizer,
// ArrayFeatureExtractor, the tree ensembles, LinearClassifier, ...) around, at
// most, a network of standard operators (an MLPRegressor's MatMul/Add/Relu). The
// ai.onnx.ml operators have no int8 form: they run float32, and the network
// between them is quantized as any other. The rule is stated (notes, the
// metadata and `warboy inspect`'s execution[].why), and a model made of them
// alone is refused with an error that names them (mlOnlyError).

// mlDomain is the ONNX domain of the traditional-ML operators.
const mlDomain = "ai.onnx.ml"

// mlRule is the stated rule of the ai.onnx.ml operators.
const mlRule = "ai.onnx.ml operator (scikit-learn pipeline step): no int8 form, runs float32; the network around it is quantized"

// noteMLRule records the graph's ai.onnx.ml operators in the notes and metadata.
func (p *plan) noteMLRule() {
	var names []string
	for _, n := range p.g.Nodes {
		if n.Domain == mlDomain {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	p.ruled = append(p.ruled, FloatRule{Rule: mlRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32: %s", strings.Join(names, " "), mlRule))
}

// mlOnlyError explains a model with nothing to quantize when it holds ai.onnx.ml
// operators (nil otherwise).
func mlOnlyError(g *graph.Graph) error {
	count := map[string]int{}
	for _, n := range g.Nodes {
		if n.Domain == mlDomain {
			count[n.OpType]++
		}
	}
	if len(count) == 0 {
		return nil
	}
	ops := make([]string, 0, len(count))
	for op := range count {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return fmt.Errorf("calibration: nothing to quantize: the model's operators are ai.onnx.ml (%s), which have no int8 form and run float32 "+
		"(only a network of standard operators inside a pipeline, e.g. an MLP's MatMul/Gemm, is quantized); run the float32 model as it is",
		strings.Join(ops, ", "))
}

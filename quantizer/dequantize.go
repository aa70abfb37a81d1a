package quantizer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// ErrNotQDQ is returned (wrapped) by DequantizeQDQ for a quantized model it
// cannot turn back into float32, naming the node.
var ErrNotQDQ = errors.New("not a QDQ model with float32 inputs and outputs")

// DequantizeQDQ returns the float32 model a model quantized in QDQ form computes
// with its activations unquantized, and the range each quantized activation had:
// the start of quantization-aware training from a model another tool quantized
// (ONNX Runtime's quantize_static, PyTorch's QAT or quantized export, a TFLite
// conversion), where the float model is not at hand.
//
// Weights and biases (a DequantizeLinear of a constant, and a QuantizeLinear →
// DequantizeLinear of a float initializer as fake-quantized exports write it)
// become float32 initializers holding the values the model computes with: the
// grid's values, exactly. Each activation's QuantizeLinear → DequantizeLinear
// pair (with the Cast to the same type torch.onnx writes between them, an
// identity the optimizer removes) is removed, its readers reading the float
// tensor, and the tensor's range is the one the pair's grid covers:
// [(qmin - zp)·scale, (qmax - zp)·scale] (several pairs on one tensor: the
// union). A grid that starts at exactly 0 on the output of a convolution,
// matrix product or elementwise sum (which can be negative) stood for a Relu (warboy's quantizer, as TFLite's, fuses a Relu into the grid
// of the tensor before it): the Relu is put back and the range is its output's.
// The output of a pooling or reshaping operator the model left on its input's
// grid gets the input's range. Per-axis activation grids give no range.
//
// Anything else quantized is an error wrapping ErrNotQDQ that names the node:
// QOperator and dynamically quantized operators, a DequantizeLinear of an
// integer graph input or a QuantizeLinear writing an integer graph output (a
// model edited for raw integer I/O), a grid whose scale or zero point is
// computed, or a pair whose two grids differ. m is not modified.
func DequantizeQDQ(m *graph.Model) (*graph.Model, Ranges, error) {
	f := m.Clone()
	if _, err := optimize.Optimize(f, optimize.Options{Eval: runtime.ConstEval(), FoldQDQ: true}); err != nil {
		return nil, nil, err
	}
	if err := qopToQDQ(f.Graph); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotQDQ, err)
	}
	// the dequantized weights of the QOperator operators
	if _, err := optimize.Optimize(f, optimize.Options{Eval: runtime.ConstEval(), FoldQDQ: true}); err != nil {
		return nil, nil, err
	}
	g := f.Graph
	cons := g.Consumers()
	outputs := map[string]bool{}
	for _, o := range g.Outputs {
		outputs[o.Name] = true
	}
	ranges := Ranges{}
	prod := g.Producers()
	relu := map[string]string{} // a tensor -> the Relu put back after it
	var added []*graph.Node
	drop := map[*graph.Node]bool{}
	reads := map[string]string{} // a removed DequantizeLinear's output -> the float tensor
	why := map[*graph.Node]string{}
	for _, q := range g.Nodes {
		if q.OpType != "QuantizeLinear" || len(q.Outputs) != 1 || len(q.Inputs) < 2 {
			continue
		}
		grid, err := constGrid(g, q)
		if err != nil {
			why[q] = err.Error()
			continue
		}
		pair, err := qdqReaders(g, q, grid, cons, outputs)
		if err != nil {
			why[q] = err.Error()
			continue
		}
		a := q.Inputs[0]
		lo, hi, ok := grid.span()
		if ok && lo == 0 && fusesRelu(prod[a]) && !nonNegative(a, prod) {
			// A grid that starts at 0 clamps the negatives away: the Relu a
			// quantizer fused into it (warboy's and TFLite's do) is put back.
			if relu[a] == "" {
				relu[a] = a + "/relu"
				added = append(added, &graph.Node{Name: relu[a], OpType: "Relu", Inputs: []string{a}, Outputs: []string{relu[a]}, Attrs: map[string]*graph.Attr{}})
			}
			a = relu[a]
		}
		for _, n := range pair {
			drop[n] = true
			reads[n.Outputs[0]] = a
		}
		drop[q] = true
		if ok {
			if r, seen := ranges[a]; seen {
				lo, hi = min(lo, r[0]), max(hi, r[1])
			}
			ranges[a] = [2]float32{lo, hi}
		}
	}
	nodes := added
	for _, n := range g.Nodes {
		if drop[n] {
			continue
		}
		for i, in := range n.Inputs {
			if a, ok := reads[in]; ok {
				n.Inputs[i] = a
			}
		}
		nodes = append(nodes, n)
	}
	for _, o := range g.Outputs {
		if a, ok := reads[o.Name]; ok {
			// a graph output read from a removed pair keeps its name
			nodes = append(nodes, &graph.Node{Name: o.Name + "/dequantized", OpType: "Identity", Inputs: []string{a}, Outputs: []string{o.Name}, Attrs: map[string]*graph.Attr{}})
		}
	}
	g.Nodes = nodes
	// the operators that are not QDQ first: they are what makes the model another kind
	left := slices.Clone(g.Nodes)
	slices.SortStableFunc(left, func(a, b *graph.Node) int {
		return cmp.Compare(qdqRank(a), qdqRank(b))
	})
	for _, n := range left {
		if !graph.IsQuantizedOp(n.OpType) {
			continue
		}
		reason := why[n]
		switch {
		case reason != "":
		case n.OpType == "DequantizeLinear" && len(n.Inputs) > 0 && isGraphInput(g, n.Inputs[0]):
			reason = fmt.Sprintf("it reads the %s graph input %q (a model edited for raw integer input): give the model with a float32 input", inputDType(g, n.Inputs[0]), n.Inputs[0])
		case n.OpType == "DequantizeLinear" && len(n.Inputs) > 0 && g.Initializers[n.Inputs[0]] != nil:
			reason = fmt.Sprintf("its constant %q has %d values, over the %d the optimizer turns into float32 here", n.Inputs[0], g.Initializers[n.Inputs[0]].Len(), optimize.MaxFoldElements)
		case n.OpType == "DequantizeLinear":
			reason = "its input is neither a constant nor the output of a QuantizeLinear"
		default:
			reason = "dynamic quantization and this QOperator form have no float32 form here: give the float model, or a QDQ or QOperator model"
		}
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrNotQDQ, n.Label(), reason)
	}
	if err := g.TopoSort(); err != nil {
		return nil, nil, err
	}
	for _, o := range g.Outputs {
		// the Identity's removal renames the tensor to the output's name
		if r, ok := ranges[reads[o.Name]]; ok {
			ranges[o.Name] = r
		}
	}
	// the removed pairs' constants and value descriptions
	if _, err := optimize.Optimize(f, optimize.Options{Eval: runtime.ConstEval()}); err != nil {
		return nil, nil, err
	}
	for _, n := range g.Nodes {
		if !gridKeeping[n.OpType] || len(n.Inputs) == 0 || len(n.Outputs) == 0 {
			continue
		}
		if r, ok := ranges[n.Inputs[0]]; ok {
			if _, set := ranges[n.Outputs[0]]; !set {
				ranges[n.Outputs[0]] = r
			}
		}
	}
	return f, ranges, nil
}

// fusesRelu: the operators a quantizer fuses a following Relu into (TFLite's
// fused activations: convolutions, fully connected layers, elementwise
// arithmetic). A grid from 0 after anything else (an input's pixels, a pooled
// or reshaped non-negative tensor) is the data's range, not a Relu.
func fusesRelu(n *graph.Node) bool {
	if n == nil {
		return false
	}
	switch n.OpType {
	case "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "BatchNormalization":
		return true
	}
	return false
}

// nonNegative reports whether tensor a cannot be negative: the output of an
// operator whose outputs are not, through the pooling and reshaping that keep
// the sign.
func nonNegative(a string, prod map[string]*graph.Node) bool {
	for n := prod[a]; n != nil; n = prod[n.Inputs[0]] {
		switch n.OpType {
		case "Relu", "Sigmoid", "Softmax", "Abs", "Exp", "Sqrt", "HardSigmoid":
			return true
		}
		if !gridKeeping[n.OpType] || len(n.Inputs) == 0 {
			return false
		}
	}
	return false
}

// gridKeeping are the operators whose output a QDQ model leaves on its input's
// grid (PyTorch's quantized pooling and reshaping keep their input's scale and
// zero point, and QDQ exports put no pair after them): DequantizeQDQ gives the
// output the input's range when the model gave the output none.
var gridKeeping = map[string]bool{
	"MaxPool": true, "GlobalMaxPool": true, "AveragePool": true, "GlobalAveragePool": true,
	"Flatten": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true, "Identity": true,
}

// qgrid is a QuantizeLinear's constant grid.
type qgrid struct {
	scale []float32
	zp    []int64
	dtype graph.DType
}

// span is the real range a per-tensor grid covers.
func (q qgrid) span() (lo, hi float32, ok bool) {
	if len(q.scale) != 1 {
		return 0, 0, false
	}
	qmin, qmax := int64(-128), int64(127)
	if q.dtype == graph.Uint8 {
		qmin, qmax = 0, 255
	}
	s, zp := q.scale[0], q.zp[0]
	return float32(qmin-zp) * s, float32(qmax-zp) * s, true
}

func (q qgrid) equal(o qgrid) bool {
	if q.dtype != o.dtype || len(q.scale) != len(o.scale) || len(q.zp) != len(o.zp) {
		return false
	}
	for i := range q.scale {
		if q.scale[i] != o.scale[i] || q.zp[i] != o.zp[i] {
			return false
		}
	}
	return true
}

// constGrid reads the scale and zero point of a QuantizeLinear or
// DequantizeLinear, which must be constants.
func constGrid(g *graph.Graph, n *graph.Node) (qgrid, error) {
	st := g.Initializers[n.Inputs[1]]
	if st == nil {
		return qgrid{}, fmt.Errorf("its scale %q is computed, not a constant", n.Inputs[1])
	}
	sc, err := st.AsFloat64()
	if err != nil || len(sc) == 0 {
		return qgrid{}, fmt.Errorf("its scale %q cannot be read", n.Inputs[1])
	}
	q := qgrid{dtype: graph.Uint8, scale: make([]float32, len(sc)), zp: make([]int64, len(sc))}
	for i, v := range sc {
		q.scale[i] = float32(v)
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		zt := g.Initializers[n.Inputs[2]]
		if zt == nil {
			return qgrid{}, fmt.Errorf("its zero point %q is computed, not a constant", n.Inputs[2])
		}
		zp, err := zt.AsInt64()
		if err != nil || len(zp) != len(sc) {
			return qgrid{}, fmt.Errorf("its zero point %q does not match its scale", n.Inputs[2])
		}
		q.zp, q.dtype = zp, zt.DType
	}
	if q.dtype != graph.Int8 && q.dtype != graph.Uint8 {
		return qgrid{}, fmt.Errorf("its grid is %s (int8 and uint8 are read)", q.dtype)
	}
	return q, nil
}

// qdqReaders returns q's readers, the DequantizeLinear nodes that take its
// output back to float on the same grid (a Cast to the grid's own type, which
// torch.onnx writes between them, is gone with the identities Optimize removed).
// Any other reader, or q's output being a graph output, is an error saying why.
func qdqReaders(g *graph.Graph, q *graph.Node, grid qgrid, cons map[string][]*graph.Node, outputs map[string]bool) ([]*graph.Node, error) {
	name := q.Outputs[0]
	if outputs[name] {
		return nil, fmt.Errorf("it writes the graph output %q in %s (a model edited for raw integer output): give the model with float32 outputs", name, grid.dtype)
	}
	rs := cons[name]
	if len(rs) == 0 {
		return nil, errors.New("nothing reads its output")
	}
	for _, r := range rs {
		if r.OpType != "DequantizeLinear" || len(r.Inputs) < 2 || r.Inputs[0] != name {
			return nil, fmt.Errorf("its output is read by %s, not only by a DequantizeLinear", r.Label())
		}
		dg, err := constGrid(g, r)
		if err != nil {
			return nil, fmt.Errorf("its reader %s: %v", r.Label(), err)
		}
		if !dg.equal(grid) {
			return nil, fmt.Errorf("its reader %s dequantizes on another grid", r.Label())
		}
	}
	return rs, nil
}

// qdqRank orders the quantized operators DequantizeQDQ could not remove: QOperator
// and dynamic quantization before the QDQ nodes they read or feed.
func qdqRank(n *graph.Node) int {
	if n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" {
		return 1
	}
	return 0
}

func isGraphInput(g *graph.Graph, name string) bool {
	for _, in := range g.Inputs {
		if in.Name == name && g.Initializers[name] == nil {
			return true
		}
	}
	return false
}

func inputDType(g *graph.Graph, name string) graph.DType {
	for _, in := range g.Inputs {
		if in.Name == name {
			return in.DType
		}
	}
	return graph.Undefined
}

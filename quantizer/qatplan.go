package quantizer

import (
	"errors"
	"sort"

	"github.com/warboy-sim/warboy/graph"
)

// TrainingPlan tells quantization-aware training (package qat) exactly where Quantize
// will put quantization, so that fake quantization during training computes what the
// int8 model will compute. It is derived from the same plan Quantize uses.
type TrainingPlan struct {
	// Model is the optimized model (opset 13, shapes inferred) that Quantize rewrites;
	// its tensor and initializer names are the ones used below and in Ranges.
	Model *graph.Model
	// Activations lists every tensor that gets a QuantizeLinear/DequantizeLinear pair,
	// in data-flow order.
	Activations []TrainingActivation
	// Weights lists the float initializers quantized per channel (symmetric int8).
	Weights []TrainingWeight
	// Biases lists the biases stored as int32 with scale s_in * s_w[c].
	Biases []TrainingBias
	// Consts are other float initializers quantized read as data (per tensor, their own min/max).
	Consts []string
}

// TrainingActivation is a quantized activation. Its parameters come from the range of
// Source (itself unless the operator shares its input's scale), or are Fixed by the
// spec (Sigmoid, Softmax, Tanh, LogSoftmax) when IsFixed.
type TrainingActivation struct {
	Name    string
	Source  string
	IsFixed bool
	Fixed   QParams
}

// TrainingWeight is a weight initializer quantized per channel along Axis by Node.
type TrainingWeight struct {
	Node, Name string
	Axis       int
}

// TrainingBias is a bias initializer quantized to int32 with the scale of Node's input
// Input times the per-channel scale of Weight.
type TrainingBias struct {
	Node, Name, Input, Weight string
}

// PlanTraining optimizes m as Quantize does and returns the quantization plan.
// exclude lists nodes kept in float32 (as QuantOptions.Exclude).
func PlanTraining(m *graph.Model, exclude []string) (*TrainingPlan, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("qat plan: nil model")
	}
	if err := checkNotQuantized(m); err != nil {
		return nil, err
	}
	q, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	p, err := planModel(q, exclude)
	if err != nil {
		return nil, err
	}
	tp := &TrainingPlan{Model: q}
	for _, name := range p.acts {
		a := TrainingActivation{Name: name, Source: name}
		src := p.src[name]
		for depth := 0; src.kind == srcInput && depth <= len(p.acts); depth++ {
			a.Source = src.other
			src = p.src[src.other]
		}
		if src.kind == srcFixed {
			a.IsFixed, a.Source = true, ""
			a.Fixed = QParams{Scale: src.fixed.scale, ZeroPoint: int(src.fixed.zp)}
		}
		tp.Activations = append(tp.Activations, a)
	}
	for _, n := range q.Graph.Nodes {
		if !p.quantOp[n] {
			continue
		}
		var wname string
		for i, name := range n.Inputs {
			w := q.Graph.Initializers[name]
			if name == "" || w == nil || w.DType != graph.Float32 {
				continue
			}
			if ok, axis := weightAxis(n, i, w); ok {
				tp.Weights = append(tp.Weights, TrainingWeight{Node: n.Name, Name: name, Axis: axis})
				wname = name
			}
		}
		if b := n.Input(2); isBias(n, 2) && wname != "" && q.Graph.Initializers[b] != nil {
			tp.Biases = append(tp.Biases, TrainingBias{Node: n.Name, Name: b, Input: n.Input(0), Weight: wname})
		}
	}
	for c := range p.consts {
		tp.Consts = append(tp.Consts, c)
	}
	sort.Strings(tp.Consts)
	return tp, nil
}

// ParamsFromRange returns the int8 activation parameters Quantize uses for [lo, hi].
func ParamsFromRange(lo, hi float32) QParams {
	q := paramsFromRange(lo, hi)
	return QParams{Scale: q.scale, ZeroPoint: int(q.zp)}
}

package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// Optimize returns an optimized copy of m for quantization (m is not modified):
// Constant nodes become initializers, Identity and inference-mode Dropout disappear,
// subgraphs whose inputs are all constants are evaluated (shape computations by
// shape inference, the rest with the float executor), BatchNormalization is folded
// into a preceding Conv, ConvTranspose or Gemm, dead nodes and unused initializers
// are removed, and shapes are inferred. The optimized model computes the same function
// up to float rounding. Conv/Gemm + Relu/Clip fusion is not a graph change: Quantize
// expresses it by not quantizing between the two.
func Optimize(m *graph.Model) (*graph.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("optimize: nil model")
	}
	q := m.Clone()
	g := q.Graph
	if err := g.TopoSort(); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	nameUnnamedNodes(g)
	optimize.WidenFloat16(g)  // a float16 model is quantized from float32 (graph/optimize/widen_f16.go)
	optimize.NarrowFloat64(g) // and so is a float64 one
	// The exporter clean-up every executor runs (Constant nodes, Identity-fed
	// weights, shape subgraphs, dead nodes): one implementation, graph/optimize.
	if _, err := optimize.Optimize(q, optimize.Options{Eval: runtime.ConstEval()}); err != nil {
		return nil, err
	}
	g = q.Graph
	if err := foldBatchNorms(q); err != nil {
		return nil, err
	}
	g.RemoveUnused()
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if batchNormsToDepthwise(g, q.Opset()) {
		g.RemoveUnused()
		if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
			return nil, fmt.Errorf("optimize: %w", err)
		}
	}
	return q, nil
}

// foldBatchNorms folds inference-mode BatchNormalization into the Conv, ConvTranspose
// or Gemm that produces its input, when that output feeds nothing else.
func foldBatchNorms(m *graph.Model) error {
	g := m.Graph
	cons := g.Consumers()
	prod := g.Producers()
	var keep []*graph.Node
	removed := map[*graph.Node]bool{}
	for _, bn := range g.Nodes {
		if bn.OpType != "BatchNormalization" || bn.Domain != "" {
			continue
		}
		x := bn.Input(0)
		p := prod[x]
		if p == nil || removed[p] || len(cons[x]) != 1 || g.IsGraphOutput(x) {
			continue
		}
		if len(bn.Outputs) > 1 {
			used := false
			for _, o := range bn.Outputs[1:] {
				if o != "" && (len(cons[o]) > 0 || g.IsGraphOutput(o)) {
					used = true
				}
			}
			if used {
				continue
			}
		}
		// Opsets 7-13 select training mode (batch statistics) by the extra
		// outputs, used or not: as ONNX Runtime and the executor compute it, such
		// a node is not the affine map of its running statistics.
		if graph.BatchNormTraining(bn, m.Opset()) || bn.AttrInt("spatial", 1) != 1 {
			continue
		}
		scale, shift, ok := graph.BatchNormAffine(g, bn)
		if !ok {
			continue
		}
		done, err := foldAffineInto(g, cons, p, scale, shift)
		if err != nil {
			return err
		}
		if !done {
			continue
		}
		p.Outputs[0] = bn.Outputs[0]
		delete(g.Values, x)
		removed[bn] = true
	}
	for _, n := range g.Nodes {
		if !removed[n] {
			keep = append(keep, n)
		}
	}
	g.Nodes = keep
	return nil
}

// foldAffineInto rewrites p's weight and bias so that p computes scale*p(x)+shift per
// output channel. It returns false when p's form does not allow it.
func foldAffineInto(g *graph.Graph, cons map[string][]*graph.Node, p *graph.Node, scale, shift []float64) (bool, error) {
	if p.Domain != "" {
		return false, nil
	}
	w := g.Initializers[p.Input(1)]
	if w == nil || w.DType != graph.Float32 {
		return false, nil
	}
	c := len(scale)
	var bias []float32
	if b := p.Input(2); b != "" {
		bt := g.Initializers[b]
		if bt == nil || bt.DType != graph.Float32 {
			return false, nil
		}
		bias = bt.F32()
	}
	var nw *graph.Tensor
	var outAxisScale func(idx int) float64
	switch p.OpType {
	case "Conv":
		if len(w.Shape) < 1 || w.Shape[0] != c {
			return false, nil
		}
		inner := w.Len() / c
		outAxisScale = func(i int) float64 { return scale[i/inner] }
	case "ConvTranspose":
		if len(w.Shape) < 2 {
			return false, nil
		}
		grp := int(p.AttrInt("group", 1))
		cin, coutG := w.Shape[0], w.Shape[1]
		if coutG*grp != c || grp <= 0 || cin%grp != 0 {
			return false, nil
		}
		inner := w.Len() / (cin * coutG)
		cinG := cin / grp
		outAxisScale = func(i int) float64 {
			ci := i / (coutG * inner)
			j := (i / inner) % coutG
			return scale[(ci/cinG)*coutG+j]
		}
	case "Gemm":
		if len(w.Shape) != 2 {
			return false, nil
		}
		if p.AttrInt("transB", 0) != 0 {
			if w.Shape[0] != c {
				return false, nil
			}
			k := w.Shape[1]
			outAxisScale = func(i int) float64 { return scale[i/k] }
		} else {
			if w.Shape[1] != c {
				return false, nil
			}
			outAxisScale = func(i int) float64 { return scale[i%c] }
		}
		if bias != nil {
			beta := float64(p.AttrFloat("beta", 1))
			bt := g.Initializers[p.Input(2)]
			vec, ok := biasVector(bt, c)
			if !ok {
				return false, nil
			}
			scaled := make([]float32, c)
			for i, v := range vec {
				scaled[i] = float32(beta * float64(v))
			}
			bias = scaled
		}
	default:
		return false, nil
	}
	if bias != nil && len(bias) != c {
		return false, nil
	}
	nw = graph.NewTensor(graph.Float32, w.Shape)
	wd, nd := w.F32(), nw.F32()
	for i, v := range wd {
		nd[i] = float32(float64(v) * outAxisScale(i))
	}
	nb := make([]float32, c)
	for i := 0; i < c; i++ {
		b := 0.0
		if bias != nil {
			b = float64(bias[i])
		}
		nb[i] = float32(b*scale[i] + shift[i])
	}
	setConst := func(idx int, base string, t *graph.Tensor) {
		name := p.Input(idx)
		if name == "" || len(cons[name]) != 1 || g.IsGraphOutput(name) {
			name = g.UniqueName(base)
		}
		g.Initializers[name] = t
		g.Values[name] = &graph.Value{Name: name, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
		for len(p.Inputs) <= idx {
			p.Inputs = append(p.Inputs, "")
		}
		p.Inputs[idx] = name
	}
	setConst(1, p.Input(1)+"_bn", nw)
	setConst(2, p.Outputs[0]+"_bias", graph.FromFloat32([]int{c}, nb))
	if p.OpType == "Gemm" {
		p.SetAttrFloat("beta", 1)
	}
	return true, nil
}

// nameUnnamedNodes gives every node without a name (ONNX node names are optional;
// hand-built and converted graphs often leave them empty) a name of its own: its
// first output's, made unique. Exclusions and the accuracy-budget fallback name
// nodes; with empty names an island "" excluded every unnamed node at once. The
// names are deterministic, so every Optimize of a model agrees on them.
func nameUnnamedNodes(g *graph.Graph) {
	used := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Name != "" {
			used[n.Name] = true
		}
	}
	for _, n := range g.Nodes {
		if n.Name != "" {
			continue
		}
		base := n.OpType
		for _, o := range n.Outputs {
			if o != "" {
				base = o
				break
			}
		}
		name := base
		for i := 1; used[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		n.Name, used[name] = name, true
	}
}

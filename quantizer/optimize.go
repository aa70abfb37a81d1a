package quantizer

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// maxFoldElements bounds the size of a tensor produced by constant folding: folding an
// Expand or ConstantOfShape into a huge initializer would bloat the model file.
const maxFoldElements = 1 << 24

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
	if err := constantsToInitializers(g); err != nil {
		return nil, err
	}
	removeIdentities(g)
	if err := foldConstants(q); err != nil {
		return nil, err
	}
	if err := foldBatchNorms(q); err != nil {
		return nil, err
	}
	g.RemoveUnused()
	if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if batchNormsToDepthwise(g) {
		g.RemoveUnused()
		if _, err := q.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
			return nil, fmt.Errorf("optimize: %w", err)
		}
	}
	return q, nil
}

// constantsToInitializers turns Constant nodes into initializers.
func constantsToInitializers(g *graph.Graph) error {
	var keep []*graph.Node
	for _, n := range g.Nodes {
		if n.OpType != "Constant" || n.Domain != "" || len(n.Outputs) != 1 || g.IsGraphOutput(n.Outputs[0]) {
			keep = append(keep, n)
			continue
		}
		t, err := constantValue(n)
		if err != nil {
			return err
		}
		if t == nil {
			keep = append(keep, n) // sparse or unknown form: leave it to the executor
			continue
		}
		g.Initializers[n.Outputs[0]] = t
		g.Values[n.Outputs[0]] = &graph.Value{Name: n.Outputs[0], DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
	}
	g.Nodes = keep
	return nil
}

func constantValue(n *graph.Node) (*graph.Tensor, error) {
	switch {
	case n.AttrTensor("value") != nil:
		return n.AttrTensor("value"), nil
	case n.HasAttr("value_float"):
		return graph.FromFloat32(nil, []float32{n.AttrFloat("value_float", 0)}), nil
	case n.HasAttr("value_floats"):
		f := n.AttrFloats("value_floats", nil)
		return graph.FromFloat32([]int{len(f)}, append([]float32(nil), f...)), nil
	case n.HasAttr("value_int"):
		return graph.FromInt64(nil, []int64{n.AttrInt("value_int", 0)}), nil
	case n.HasAttr("value_ints"):
		v := n.AttrInts("value_ints", nil)
		return graph.FromInt64([]int{len(v)}, append([]int64(nil), v...)), nil
	}
	return nil, nil
}

// removeIdentities drops Identity nodes and inference-mode Dropout (whose mask output
// nobody reads), rewiring their consumers to the input.
func removeIdentities(g *graph.Graph) {
	cons := g.Consumers()
	var keep []*graph.Node
	renames := map[string]string{} // removed output -> replacement
	resolve := func(s string) string {
		for i := 0; i < len(renames)+1; i++ {
			r, ok := renames[s]
			if !ok {
				return s
			}
			s = r
		}
		return s
	}
	for _, n := range g.Nodes {
		if !isIdentityLike(g, n, cons) {
			keep = append(keep, n)
			continue
		}
		x, y := resolve(n.Inputs[0]), n.Outputs[0]
		if g.IsGraphOutput(y) {
			// The graph output keeps its name: the producer of x writes y instead, unless
			// x itself is a graph input, an initializer or another graph output.
			if g.Input(x) != nil || g.Initializers[x] != nil || g.IsGraphOutput(x) || producerOf(keep, x) == nil {
				n.Inputs[0] = x
				keep = append(keep, n)
				continue
			}
			p := producerOf(keep, x)
			for i, o := range p.Outputs {
				if o == x {
					p.Outputs[i] = y
				}
			}
			renames[x] = y
			continue
		}
		renames[y] = x
	}
	for _, n := range keep {
		for i, in := range n.Inputs {
			if in != "" {
				n.Inputs[i] = resolve(in)
			}
		}
	}
	g.Nodes = keep
}

func producerOf(nodes []*graph.Node, name string) *graph.Node {
	for _, n := range nodes {
		for _, o := range n.Outputs {
			if o == name {
				return n
			}
		}
	}
	return nil
}

func isIdentityLike(g *graph.Graph, n *graph.Node, cons map[string][]*graph.Node) bool {
	if n.Domain != "" || len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) == 0 {
		return false
	}
	switch n.OpType {
	case "Identity":
		return len(n.Outputs) == 1
	case "Dropout":
		if len(n.Outputs) > 1 && n.Outputs[1] != "" && (len(cons[n.Outputs[1]]) > 0 || g.IsGraphOutput(n.Outputs[1])) {
			return false
		}
		if n.AttrInt("is_test", 1) == 0 {
			return false // opset < 7 training-mode Dropout
		}
		if tm := n.Input(2); tm != "" {
			t := g.Initializers[tm]
			if t == nil {
				return false
			}
			if b, ok := t.Data.([]bool); !ok || len(b) != 1 || b[0] {
				return false
			}
		}
		return true
	}
	return false
}

// nonDeterministic operators are never folded.
var nonDeterministic = map[string]bool{
	"RandomNormal": true, "RandomUniform": true, "RandomNormalLike": true, "RandomUniformLike": true,
	"Multinomial": true, "Bernoulli": true,
}

// foldConstants replaces every node whose inputs are all constants by initializers:
// values shape inference already knows (Shape -> Gather -> Concat chains) are taken
// from it, other nodes are evaluated with the float executor.
func foldConstants(m *graph.Model) error {
	g := m.Graph
	known, err := m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()})
	if err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	var keep []*graph.Node
	for _, n := range g.Nodes {
		if !foldable(g, n) {
			keep = append(keep, n)
			continue
		}
		outs := make([]*graph.Tensor, len(n.Outputs))
		all := true
		for i, o := range n.Outputs {
			if o == "" {
				continue
			}
			if t, ok := known[o]; ok && t != nil {
				outs[i] = t
			} else {
				all = false
			}
		}
		if !all {
			if !allInputsConst(g, n) {
				keep = append(keep, n)
				continue
			}
			ev, err := evalNode(m, n)
			if err != nil {
				return fmt.Errorf("optimize: folding constant %s: %w", n.Label(), err)
			}
			outs = ev
		}
		big := false
		for _, t := range outs {
			if t != nil && t.Len() > maxFoldElements {
				big = true
			}
		}
		if big {
			keep = append(keep, n)
			continue
		}
		for i, o := range n.Outputs {
			if o == "" || outs[i] == nil {
				continue
			}
			g.Initializers[o] = outs[i]
			g.Values[o] = &graph.Value{Name: o, DType: outs[i].DType, Shape: graph.ShapeOf(outs[i].Shape...), HasShape: true}
		}
	}
	g.Nodes = keep
	return nil
}

// foldable says whether a node may be replaced by constants (if its outputs are
// known): deterministic, not a quantization marker, not writing a graph output.
func foldable(g *graph.Graph, n *graph.Node) bool {
	if n.Domain != "" || nonDeterministic[n.OpType] || graph.IsQuantizedOp(n.OpType) {
		return false
	}
	for _, o := range n.Outputs {
		if o != "" && g.IsGraphOutput(o) {
			return false
		}
	}
	return true
}

func allInputsConst(g *graph.Graph, n *graph.Node) bool {
	for _, in := range n.Inputs {
		if in != "" && g.Initializers[in] == nil {
			return false
		}
	}
	return true
}

// evalNode runs one node whose inputs are all initializers on the float executor.
func evalNode(m *graph.Model, n *graph.Node) ([]*graph.Tensor, error) {
	g := &graph.Graph{Name: "fold", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	for _, in := range n.Inputs {
		if in != "" {
			g.Initializers[in] = m.Graph.Initializers[in]
		}
	}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &graph.Value{Name: o})
		}
	}
	g.Nodes = []*graph.Node{n.Clone()}
	mini := &graph.Model{Graph: g, IRVersion: m.IRVersion, Opsets: m.Opsets, Metadata: map[string]string{}}
	s, err := runtime.NewSession(mini, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(1))
	if err != nil {
		return nil, err
	}
	res, err := s.RunTensors(map[string]*graph.Tensor{})
	if err != nil {
		return nil, err
	}
	out := make([]*graph.Tensor, len(n.Outputs))
	for i, o := range n.Outputs {
		if o != "" {
			out[i] = res[o]
		}
	}
	return out, nil
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
		if bn.AttrInt("training_mode", 0) != 0 || bn.AttrInt("spatial", 1) != 1 {
			continue
		}
		scale, shift, ok := bnAffine(g, bn)
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

// bnAffine returns BatchNormalization as y = scale*x + shift per channel.
func bnAffine(g *graph.Graph, bn *graph.Node) ([]float64, []float64, bool) {
	var ts [4][]float32
	for i := 0; i < 4; i++ {
		t := g.Initializers[bn.Input(i+1)]
		if t == nil || t.DType != graph.Float32 {
			return nil, nil, false
		}
		ts[i] = t.F32()
	}
	c := len(ts[0])
	for _, v := range ts {
		if len(v) != c {
			return nil, nil, false
		}
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	scale, shift := make([]float64, c), make([]float64, c)
	for i := 0; i < c; i++ {
		s := float64(ts[0][i]) / math.Sqrt(float64(ts[3][i])+eps)
		scale[i] = s
		shift[i] = float64(ts[1][i]) - float64(ts[2][i])*s
	}
	return scale, shift, true
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

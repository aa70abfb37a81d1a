package graph

import "fmt"

// QuantizePoolsOnInputGrid gives every average pool that reads a quantized tensor and
// whose output the file leaves unquantized its input's quantization parameters, as
// PyTorch's eager-mode convert does: it inserts QuantizeLinear → DequantizeLinear with
// the input's scale and zero point after the pool, so the layers that read it see a
// tensor on that grid and run int8.
//
// Why it is an option and not the rule: the file says otherwise. A PyTorch QAT model
// exported before convert has no fake quantization after AvgPool2d and
// AdaptiveAvgPool2d (their quantized kernels keep the input's qparams, so eager QAT
// inserts no observer there); ONNX, ONNX Runtime and the float32 run then compute the
// next layer on the exact average, which the int8 runtime can only do in float32
// (runtime/lower). PyTorch's convert instead rounds the average to the input's grid.
// This rewrite states that rounding in the graph, so every consumer (the int8 and the
// float32 executors, the NPU simulator, compare, ONNX Runtime on the written model)
// computes PyTorch's int8 semantics.
//
// A pool qualifies when it is an AveragePool or GlobalAveragePool; its input comes from
// a DequantizeLinear with one constant scale (per tensor), directly or through operators
// that keep values on that grid (Relu, MaxPool, GlobalMaxPool, Identity, Reshape,
// Flatten, Squeeze, Unsqueeze, Transpose, Pad with edge/reflect or a zero constant,
// earlier pools this function quantized); and no QuantizeLinear reads its output (a
// file that quantizes the output itself is left as it is). The pool's output name is
// kept (now the DequantizeLinear's), so graph outputs and readers need no renaming.
//
// m is not modified: when a pool qualifies the result is a copy with its own node
// list and value map (tensors and untouched nodes are shared); otherwise m itself is
// returned. The second result names the pools rewritten, in graph order.
func QuantizePoolsOnInputGrid(m *Model) (*Model, []string) {
	if m == nil || m.Graph == nil {
		return m, nil
	}
	g := m.Graph
	cons := g.Consumers()
	type fix struct {
		pool *Node
		dq   *Node
	}
	var fixes []fix
	// dqOf maps a rewritten pool's output to the DequantizeLinear whose parameters it
	// took, so that a pool reading another rewritten pool qualifies in the same pass.
	dqOf := map[string]*Node{}
	prods := g.Producers()
	for _, n := range g.Nodes {
		if n.Domain != "" || (n.OpType != "AveragePool" && n.OpType != "GlobalAveragePool") || len(n.Outputs) != 1 {
			continue
		}
		y := n.Outputs[0]
		requantized := false
		for _, c := range cons[y] {
			if c.OpType == "QuantizeLinear" {
				requantized = true
			}
		}
		if requantized {
			continue
		}
		dq := gridSource(g, prods, dqOf, n.Input(0))
		if dq == nil {
			continue
		}
		fixes = append(fixes, fix{n, dq})
		dqOf[y] = dq
	}
	if len(fixes) == 0 {
		return m, nil
	}
	ng := copyGraphShallow(g)
	at := map[*Node]fix{}
	for _, f := range fixes {
		at[f.pool] = f
	}
	nodes := make([]*Node, 0, len(g.Nodes)+2*len(fixes))
	var names []string
	for _, n := range g.Nodes {
		f, ok := at[n]
		if !ok {
			nodes = append(nodes, n)
			continue
		}
		y := n.Outputs[0]
		avg := ng.UniqueName(y + "_average")
		q := ng.UniqueName(y + "_quantized")
		pool := *n
		pool.Outputs = []string{avg}
		qIn := []string{avg, f.dq.Input(1)}
		dqIn := []string{q, f.dq.Input(1)}
		if zp := f.dq.Input(2); zp != "" {
			qIn = append(qIn, zp)
			dqIn = append(dqIn, zp)
		}
		base := n.Name
		if base == "" {
			base = y
		}
		nodes = append(nodes, &pool,
			&Node{Name: ng.UniqueName(base + "/input_qparams/QuantizeLinear"), OpType: "QuantizeLinear", Inputs: qIn, Outputs: []string{q}},
			&Node{Name: ng.UniqueName(base + "/input_qparams/DequantizeLinear"), OpType: "DequantizeLinear", Inputs: dqIn, Outputs: []string{y}})
		if v := ng.Values[y]; v != nil {
			c := *v
			c.Name = avg
			ng.Values[avg] = &c
		}
		// reserve the names for the next pool's UniqueName calls
		ng.Values[q] = &Value{Name: q, DType: quantizedType(g, f.dq)}
		names = append(names, n.Label())
	}
	ng.Nodes = nodes
	nm := *m
	nm.Graph = ng
	return &nm, names
}

// gridSource returns the DequantizeLinear (one constant scale) whose output grid the
// value name lies on, following operators that keep every value on their input's grid,
// or nil.
func gridSource(g *Graph, prods map[string]*Node, dqOf map[string]*Node, name string) *Node {
	for range 32 {
		if dq := dqOf[name]; dq != nil {
			return dq
		}
		p := prods[name]
		if p == nil || p.Domain != "" {
			return nil
		}
		switch p.OpType {
		case "DequantizeLinear":
			if perTensorScale(g, p.Input(1)) {
				return p
			}
			return nil
		case "Relu", "MaxPool", "GlobalMaxPool", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose":
		case "Pad":
			if !padKeepsGrid(g, p) {
				return nil
			}
		default:
			return nil
		}
		name = p.Input(0)
	}
	return nil
}

// perTensorScale reports whether name is a constant holding one scale.
func perTensorScale(g *Graph, name string) bool {
	t := g.Initializers[name]
	return t != nil && t.Len() == 1
}

// padKeepsGrid reports whether a Pad adds only values already on its input's grid:
// edge and reflect copy input values, and a constant 0 is the zero point.
func padKeepsGrid(g *Graph, p *Node) bool {
	switch p.AttrString("mode", "constant") {
	case "edge", "reflect":
		return true
	case "constant":
	default:
		return false
	}
	if p.AttrFloat("value", 0) != 0 {
		return false
	}
	name := p.Input(2)
	if name == "" {
		return true
	}
	t := g.Initializers[name]
	if t == nil || t.Len() != 1 {
		return false
	}
	v, err := t.AsFloat64()
	return err == nil && v[0] == 0
}

// quantizedType is the element type of dq's quantized input: its zero point's type,
// uint8 without one (ONNX's default).
func quantizedType(g *Graph, dq *Node) DType {
	if zp := dq.Input(2); zp != "" {
		if t := g.Initializers[zp]; t != nil {
			return t.DType
		}
		if v := g.Values[zp]; v != nil {
			return v.DType
		}
		if v := g.Values[dq.Input(0)]; v != nil {
			return v.DType
		}
	}
	return Uint8
}

// PoolQParams names how an average pool that a QDQ file leaves unquantized runs: as
// the file says (PoolQParamsFile, the default: the exact average; the int8 runtime runs
// the pool and its readers up to the next QuantizeLinear in float32) or on its input's
// quantization parameters (PoolQParamsInput: PyTorch's convert, QuantizePoolsOnInputGrid).
type PoolQParams string

const (
	PoolQParamsFile  PoolQParams = "file"
	PoolQParamsInput PoolQParams = "input"
)

// ParsePoolQParams checks a --pool-qparams value.
func ParsePoolQParams(s string) (PoolQParams, error) {
	switch p := PoolQParams(s); p {
	case "", PoolQParamsFile:
		return PoolQParamsFile, nil
	case PoolQParamsInput:
		return p, nil
	}
	return "", fmt.Errorf("unknown pool quantization %q (file: as the model says, input: the pool's input's scale and zero point, as PyTorch's convert)", s)
}

// Apply rewrites m as p says (see QuantizePoolsOnInputGrid); m is not modified.
func (p PoolQParams) Apply(m *Model) (*Model, []string) {
	if p != PoolQParamsInput {
		return m, nil
	}
	return QuantizePoolsOnInputGrid(m)
}

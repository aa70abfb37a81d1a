package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// qoperatorShared are operators that run directly on int8 tensors in opset 13 and
// keep their input's scale, so DQ -> op -> Q with equal parameters becomes op on int8.
var qoperatorShared = map[string]bool{
	"MaxPool": true, "Reshape": true, "Flatten": true, "Transpose": true,
	"Squeeze": true, "Unsqueeze": true, "Slice": true, "Gather": true,
}

// toQOperator rewrites a QDQ graph into the QOperator form where standard operators
// exist: DQ -> Conv [-> Relu/Clip] -> Q becomes QLinearConv, DQ -> MatMul -> Q becomes
// QLinearMatMul, Gemm becomes a 1x1 QLinearConv between two Reshapes (QLinearMatMul
// has no bias input, and a bias in the int32 accumulator is exact where a float add
// would not be), and shape operators run on int8. Anything else keeps its Q/DQ pairs,
// as in ONNX Runtime's QOperator output.
func toQOperator(m *graph.Model) error {
	g := m.Graph
	for changed := true; changed; {
		changed = false
		prod := g.Producers()
		cons := g.Consumers()
		for _, q := range g.Nodes {
			if q.OpType != "QuantizeLinear" {
				continue
			}
			if replaced := fuseQLinear(g, prod, cons, q); replaced {
				changed = true
				break
			}
			if replaced := fuseShared(g, prod, cons, q); replaced {
				changed = true
				break
			}
		}
		if changed {
			g.RemoveUnused()
			if err := g.TopoSort(); err != nil {
				return err
			}
		}
	}
	return nil
}

// dqOf returns the DequantizeLinear producing name, or nil.
func dqOf(prod map[string]*graph.Node, name string) *graph.Node {
	if p := prod[name]; p != nil && p.OpType == "DequantizeLinear" {
		return p
	}
	return nil
}

// sameParams reports whether two Q/DQ nodes use equal scale and zero point.
func sameParams(g *graph.Graph, a, b *graph.Node) bool {
	for i := 1; i <= 2; i++ {
		x, y := g.Initializers[a.Input(i)], g.Initializers[b.Input(i)]
		if x == nil || y == nil {
			return false
		}
		fx, err1 := x.AsFloat64()
		fy, err2 := y.AsFloat64()
		if err1 != nil || err2 != nil || len(fx) != len(fy) || x.DType != y.DType {
			return false
		}
		for k := range fx {
			if fx[k] != fy[k] {
				return false
			}
		}
	}
	return a.AttrInt("axis", 1) == b.AttrInt("axis", 1) || len(g.Initializers[a.Input(1)].Shape) == 0
}

func fuseQLinear(g *graph.Graph, prod map[string]*graph.Node, cons map[string][]*graph.Node, q *graph.Node) bool {
	y := q.Input(0)
	if g.IsGraphOutput(y) || len(cons[y]) != 1 {
		return false
	}
	op := prod[y]
	if op == nil {
		return false
	}
	var act *graph.Node
	if op.OpType == "Relu" || op.OpType == "Clip" {
		act = op
		x := act.Input(0)
		if g.IsGraphOutput(x) || len(cons[x]) != 1 {
			return false
		}
		op = prod[x]
		if op == nil || !activationImplied(g, act, q) {
			return false
		}
	}
	if op.Domain != "" || (op.OpType != "Conv" && op.OpType != "MatMul" && op.OpType != "Gemm") {
		return false
	}
	dx, dw := dqOf(prod, op.Input(0)), dqOf(prod, op.Input(1))
	if dx == nil || dw == nil || g.Initializers[dw.Input(0)] == nil {
		return false
	}
	var db *graph.Node
	if b := op.Input(2); b != "" {
		if db = dqOf(prod, b); db == nil || g.Initializers[db.Input(0)] == nil || g.Initializers[db.Input(0)].DType != graph.Int32 {
			return false
		}
	}
	for _, d := range []*graph.Node{dx, dw} {
		if len(d.Inputs) < 3 || g.Initializers[d.Input(1)] == nil || g.Initializers[d.Input(2)] == nil {
			return false
		}
	}
	if len(g.Initializers[dx.Input(1)].Shape) != 0 && g.Initializers[dx.Input(1)].Len() != 1 {
		return false // activations must be per tensor
	}
	yq := q.Outputs[0]
	var repl []*graph.Node
	switch op.OpType {
	case "Conv":
		n := &graph.Node{Name: op.Name, OpType: "QLinearConv", Attrs: op.Attrs,
			Inputs:  []string{dx.Input(0), dx.Input(1), dx.Input(2), dw.Input(0), dw.Input(1), dw.Input(2), q.Input(1), q.Input(2)},
			Outputs: []string{yq}}
		if db != nil {
			n.Inputs = append(n.Inputs, db.Input(0))
		}
		repl = []*graph.Node{n}
	case "MatMul":
		if db != nil || dw.AttrInt("axis", 1) != 1 || len(g.Initializers[dw.Input(0)].Shape) != 2 {
			return false
		}
		repl = []*graph.Node{{Name: op.Name, OpType: "QLinearMatMul",
			Inputs:  []string{dx.Input(0), dx.Input(1), dx.Input(2), dw.Input(0), dw.Input(1), dw.Input(2), q.Input(1), q.Input(2)},
			Outputs: []string{yq}}}
	case "Gemm":
		var ok bool
		if repl, ok = gemmAsConv(g, op, dx, dw, db, q); !ok {
			return false
		}
	}
	replaceNodes(g, []*graph.Node{op, act, q}, repl)
	return true
}

// gemmAsConv expresses a quantized Gemm (transA 0, alpha 1, beta 1, constant weight)
// as Reshape [M,K,1,1] -> QLinearConv 1x1 -> Reshape [M,N].
func gemmAsConv(g *graph.Graph, op, dx, dw, db, q *graph.Node) ([]*graph.Node, bool) {
	if op.AttrInt("transA", 0) != 0 || op.AttrFloat("alpha", 1) != 1 || op.AttrFloat("beta", 1) != 1 {
		return nil, false
	}
	w := g.Initializers[dw.Input(0)]
	if len(w.Shape) != 2 {
		return nil, false
	}
	wq := w.I8()
	var n, k int
	var conv []int8
	if op.AttrInt("transB", 0) != 0 {
		n, k = w.Shape[0], w.Shape[1]
		conv = wq
		if dw.AttrInt("axis", 1) != 0 {
			return nil, false
		}
	} else {
		k, n = w.Shape[0], w.Shape[1]
		if dw.AttrInt("axis", 1) != 1 {
			return nil, false
		}
		conv = make([]int8, len(wq))
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				conv[j*k+i] = wq[i*n+j]
			}
		}
	}
	base := nodeBase(op)
	wname := g.UniqueName(dw.Input(0) + "_1x1")
	g.Initializers[wname] = graph.FromInt8([]int{n, k, 1, 1}, conv)
	s4 := g.UniqueName(base + "_shape_4d")
	g.Initializers[s4] = graph.FromInt64([]int{4}, []int64{0, -1, 1, 1})
	s2 := g.UniqueName(base + "_shape_2d")
	g.Initializers[s2] = graph.FromInt64([]int{2}, []int64{0, -1})
	x4 := g.UniqueName(dx.Input(0) + "_4d")
	y4 := g.UniqueName(q.Outputs[0] + "_4d")
	conv4 := &graph.Node{Name: op.Name, OpType: "QLinearConv",
		Inputs:  []string{x4, dx.Input(1), dx.Input(2), wname, dw.Input(1), dw.Input(2), q.Input(1), q.Input(2)},
		Outputs: []string{y4}}
	if db != nil {
		conv4.Inputs = append(conv4.Inputs, db.Input(0))
	}
	return []*graph.Node{
		{Name: g.UniqueName(base + "_Reshape_in"), OpType: "Reshape", Inputs: []string{dx.Input(0), s4}, Outputs: []string{x4}},
		conv4,
		{Name: g.UniqueName(base + "_Reshape_out"), OpType: "Reshape", Inputs: []string{y4, s2}, Outputs: []string{q.Outputs[0]}},
	}, true
}

func fuseShared(g *graph.Graph, prod map[string]*graph.Node, cons map[string][]*graph.Node, q *graph.Node) bool {
	y := q.Input(0)
	op := prod[y]
	if op == nil || op.Domain != "" || !qoperatorShared[op.OpType] || len(op.Outputs) != 1 || g.IsGraphOutput(y) || len(cons[y]) != 1 {
		return false
	}
	d := dqOf(prod, op.Input(0))
	if d == nil || !sameParams(g, d, q) {
		return false
	}
	n := op.Clone()
	n.Inputs[0] = d.Input(0)
	n.Outputs[0] = q.Outputs[0]
	replaceNodes(g, []*graph.Node{op, q}, []*graph.Node{n})
	return true
}

// replaceNodes removes old (nil entries ignored) and puts repl where the last of them was.
func replaceNodes(g *graph.Graph, old []*graph.Node, repl []*graph.Node) {
	drop := map[*graph.Node]bool{}
	for _, n := range old {
		if n != nil {
			drop[n] = true
		}
	}
	var out []*graph.Node
	pending := len(drop)
	for _, n := range g.Nodes {
		if drop[n] {
			pending--
			if pending == 0 {
				out = append(out, repl...)
			}
			continue
		}
		out = append(out, n)
	}
	g.Nodes = out
}

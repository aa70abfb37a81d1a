package testmodels

import "github.com/warboy-sim/warboy/graph"

// ShapeArith names the values of the ShapeArith model the tests look at.
const (
	ShapeArithInput    = "x"
	ShapeArithReshaped = "flat"
	ShapeArithOutput   = "y"
	// ShapeArithChainedOutput is the output of ShapeArithChained.
	ShapeArithChainedOutput = "y2"
	// ShapeArithMACs is the MatMul's multiply-accumulates: [2,12] x [12,5].
	ShapeArithMACs = 2 * 12 * 5
)

// ShapeArith is the shape arithmetic exporters write to flatten a tensor:
//
//	x[2,3,4] -> Shape -> Gather(0) -> Unsqueeze(0) -> Concat(., [12]) -> Reshape(x, .) -> MatMul(., W[12,5]) -> y
//
// The Reshape's output shape, and so the MatMul's, is concrete ([2,12], [2,5]) only
// when shape inference folds the Gather/Unsqueeze/Concat on constants: the model
// shows whether an entry point passes a constant evaluator (graph.InferOptions.Eval).
// The graph outputs declare no shape, so what a tool reports comes from inference.
func ShapeArith() *graph.Model {
	x := &graph.Value{Name: ShapeArithInput, DType: graph.Float32, Shape: graph.ShapeOf(2, 3, 4), HasShape: true}
	w := make([]float32, 12*5)
	for i := range w {
		w[i] = float32(i%7-3) / 8
	}
	g := &graph.Graph{
		Name:   "shape_arith",
		Inputs: []*graph.Value{x},
		Initializers: map[string]*graph.Tensor{
			"idx0":  graph.FromInt64(nil, []int64{0}),
			"axes0": graph.FromInt64([]int{1}, []int64{0}),
			"rest":  graph.FromInt64([]int{1}, []int64{12}),
			"W":     graph.FromFloat32([]int{12, 5}, w),
		},
		Values:  map[string]*graph.Value{x.Name: x},
		Outputs: []*graph.Value{{Name: ShapeArithOutput, DType: graph.Float32}},
	}
	node := func(op string, ins []string, out string, attrs ...*graph.Attr) {
		n := &graph.Node{Name: op + "_" + out, OpType: op, Inputs: ins, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
		for _, a := range attrs {
			n.Attrs[a.Name] = a
		}
		g.Nodes = append(g.Nodes, n)
	}
	node("Shape", []string{"x"}, "shape")
	node("Gather", []string{"shape", "idx0"}, "batch", graph.IntAttr("axis", 0))
	node("Unsqueeze", []string{"batch", "axes0"}, "batch1")
	node("Concat", []string{"batch1", "rest"}, "target", graph.IntAttr("axis", 0))
	node("Reshape", []string{"x", "target"}, ShapeArithReshaped)
	node("MatMul", []string{ShapeArithReshaped, "W"}, ShapeArithOutput)
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
}

// ShapeArithChained extends ShapeArith with a second chain that reads the shape of the
// first Reshape's output: Shape(flat) -> Gather(0) -> Unsqueeze(0) -> Concat(., [5]) ->
// Reshape(y, .) -> y2 (the graph output). That chain is constant only when shape
// inference folded the first one, so a pass that folds constants from inference's
// results (the quantizer's Optimize) removes it only when it was given an evaluator.
func ShapeArithChained() *graph.Model {
	m := ShapeArith()
	g := m.Graph
	g.Initializers["five"] = graph.FromInt64([]int{1}, []int64{5})
	for _, n := range []*graph.Node{
		{OpType: "Shape", Inputs: []string{ShapeArithReshaped}, Outputs: []string{"shape2"}},
		{OpType: "Gather", Inputs: []string{"shape2", "idx0"}, Outputs: []string{"batch2"}, Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0)}},
		{OpType: "Unsqueeze", Inputs: []string{"batch2", "axes0"}, Outputs: []string{"batch2u"}},
		{OpType: "Concat", Inputs: []string{"batch2u", "five"}, Outputs: []string{"target2"}, Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0)}},
		{OpType: "Reshape", Inputs: []string{ShapeArithOutput, "target2"}, Outputs: []string{ShapeArithChainedOutput}},
	} {
		n.Name = n.OpType + "_" + n.Outputs[0]
		if n.Attrs == nil {
			n.Attrs = map[string]*graph.Attr{}
		}
		g.Nodes = append(g.Nodes, n)
	}
	g.Outputs = []*graph.Value{{Name: ShapeArithChainedOutput, DType: graph.Float32}}
	return m
}

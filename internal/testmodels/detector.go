package testmodels

import "github.com/warboy-sim/warboy/graph"

// Detector builds a small detector whose number of detections depends on the
// data, as torchvision's post-processing and YOLO end-to-end exports have:
// features "feat" [K, 8] (K symbolic: the candidates) -> MatMul -> boxes
// (x1, y1, x2, y2, scaled by 4 around (10, 10, 20, 20)), a score (sigmoid) and a
// class (arg-max of three logits) per candidate; the candidates scoring above 0.5
// are kept (NonZero, Gather). With rows the output is "det" [M, 6] (x1, y1, x2,
// y2, score, class), else "boxes" [M, 4], "scores" [M] and int64 "labels" [M].
func Detector(seed int64, rows bool) *graph.Model {
	b := New(seed)
	x := b.Input("feat", graph.Dim{Size: -1, Param: "k"}, graph.Dim{Size: 8})
	head := b.Node("MatMul", []string{x, b.RandInit("w", []int{8, 8}, 0.6)})
	i64 := func(v ...int64) string { return b.Init("c", graph.FromInt64([]int{len(v)}, v)) }
	boxes := b.Node("Slice", []string{head, i64(0), i64(4), i64(1)})
	boxes = b.Node("Add", []string{b.Node("Mul", []string{boxes, b.Init("s", graph.FromFloat32(nil, []float32{4}))}),
		b.Init("o", graph.FromFloat32([]int{4}, []float32{10, 10, 20, 20}))})
	scores := b.Node("Sigmoid", []string{b.Node("Slice", []string{head, i64(4), i64(5), i64(1)})}) // [K, 1]
	labels := b.Node("ArgMax", []string{b.Node("Slice", []string{head, i64(5), i64(8), i64(1)})},
		graph.IntAttr("axis", 1), graph.IntAttr("keepdims", 1)) // [K, 1]
	flat := b.Node("Squeeze", []string{scores, i64(1)})
	keep := b.Node("Squeeze", []string{b.Node("NonZero", []string{
		b.Node("Greater", []string{flat, b.Init("t", graph.FromFloat32(nil, []float32{0.5}))})}), i64(0)})
	gather := func(v, out string) {
		n := &graph.Node{Name: b.Name("Gather"), OpType: "Gather", Inputs: []string{v, keep}, Outputs: []string{out},
			Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0)}}
		b.G.Nodes = append(b.G.Nodes, n)
	}
	if rows {
		clsf := b.Node("Cast", []string{labels}, graph.IntAttr("to", int64(graph.Float32)))
		gather(b.Node("Concat", []string{boxes, scores, clsf}, graph.IntAttr("axis", 1)), "det")
		b.Output("det")
		return b.Model()
	}
	gather(boxes, "boxes")
	gather(flat, "scores")
	gather(b.Node("Squeeze", []string{labels, i64(1)}), "labels")
	b.Output("boxes", "scores")
	b.G.Outputs = append(b.G.Outputs, &graph.Value{Name: "labels", DType: graph.Int64})
	return b.Model()
}

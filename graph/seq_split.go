package graph

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// splitSequencesToSlices rewrites, in gp, the other use of ONNX sequences that
// torch.jit.script writes: a loop over torch.split's chunks,
//
//	s = SplitToSequence(x, split, axis)      split a scalar: chunks of split along axis
//	n = SequenceLength(s)                    the Loop's trip count
//	t = SequenceAt(s, i)                     in the Loop's body (or anywhere)
//
// Each chunk is a Slice of x, so every SequenceLength becomes
// (dim + split - 1) / split of x's size along axis, and every SequenceAt a Slice
// of x from pos·split to pos·split + split (Slice clamps the last, shorter, chunk),
// where pos = (i + n) mod n takes SequenceAt's negative positions too. Without a
// split input the chunks have size 1, and SequenceAt becomes a Gather (keepdims=0
// drops the axis, as Gather by a scalar does; keepdims=1 gathers by [pos]); so
// does a split of 1 with keepdims=0 (torch's unbind), as ONNX Runtime reads it.
// Exact: data movement only. A sequence read by anything else (or a split that is
// not known to be a scalar) is left alone, and loading refuses the sequence type,
// naming it. Runs before listLoopsToScans, which then turns the list the loop
// appends to into a scan output.
func splitSequencesToSlices(gp *onnxpb.GraphProto) {
	for _, n := range append([]*onnxpb.NodeProto(nil), gp.GetNode()...) {
		if n.GetOpType() != "SplitToSequence" || n.GetDomain() != "" || len(n.GetOutput()) != 1 || len(n.GetInput()) < 1 {
			continue
		}
		s := n.GetOutput()[0]
		split := ""
		if len(n.GetInput()) > 1 {
			split = n.GetInput()[1]
		}
		keep := attrIntP(n, "keepdims", 1) != 0
		if split != "" {
			v, ok := scalarP(gp, split)
			if !ok {
				continue
			}
			if !keep {
				// torch's unbind writes a split of 1 with keepdims=0, and ONNX
				// Runtime drops the axis: chunks of 1 without a split input.
				if v != 1 {
					continue
				}
				split = ""
			}
		}
		if isOutputP(gp, s) != 0 || !onlySeqReaders(gp, s) {
			continue
		}
		r := &seqSplit{x: n.GetInput()[0], split: split, axis: attrIntP(n, "axis", 0), keep: keep,
			prefix: s + "/split"}
		r.rewrite(gp, s)
		gp.Node = withoutP(gp.GetNode(), n)
		gp.ValueInfo = withoutValueInfoP(gp.GetValueInfo(), s)
	}
}

// scalarP returns the value of name when it is a rank-0 integer initializer or
// Constant output of gp (value -1 when the value cannot be read), and whether it is.
func scalarP(gp *onnxpb.GraphProto, name string) (int64, bool) {
	read := func(t *onnxpb.TensorProto) (int64, bool) {
		if len(t.GetDims()) != 0 {
			return 0, false
		}
		tt, err := TensorFromProto(t)
		if err != nil {
			return -1, true
		}
		v, err := tt.AsInt64()
		if err != nil || len(v) != 1 {
			return -1, true
		}
		return v[0], true
	}
	for _, t := range gp.GetInitializer() {
		if t.GetName() == name {
			return read(t)
		}
	}
	if p := producerP(gp, name); p != nil && p.GetOpType() == "Constant" && p.GetDomain() == "" {
		for _, a := range p.GetAttribute() {
			if a.GetName() == "value" && a.GetT() != nil {
				return read(a.GetT())
			}
			if a.GetName() == "value_int" {
				return a.GetI(), true
			}
		}
	}
	return 0, false
}

// onlySeqReaders reports whether every read of s, in gp and its subgraphs, is
// the sequence input of a SequenceLength or SequenceAt.
func onlySeqReaders(gp *onnxpb.GraphProto, s string) bool {
	for _, n := range gp.GetNode() {
		for i, in := range n.GetInput() {
			if in != s {
				continue
			}
			if n.GetDomain() != "" || i != 0 || (n.GetOpType() != "SequenceLength" && n.GetOpType() != "SequenceAt") {
				return false
			}
		}
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil && !onlySeqReaders(a.GetG(), s) {
				return false
			}
			for _, g := range a.GetGraphs() {
				if !onlySeqReaders(g, s) {
					return false
				}
			}
		}
	}
	return true
}

type seqSplit struct {
	x, split string
	axis     int64
	keep     bool
	prefix   string
	count    int
}

func (r *seqSplit) name(what string) string {
	r.count++
	return fmt.Sprintf("%s/%s_%d", r.prefix, what, r.count)
}

func seqNodeP(op string, ins []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(out), Input: ins, Output: []string{out}, Attribute: attrs}
}

func constI64P(out string, v int64, vector bool) *onnxpb.NodeProto {
	t := &onnxpb.TensorProto{DataType: proto.Int32(int32(Int64)), Int64Data: []int64{v}}
	if vector {
		t.Dims = []int64{1}
	}
	return seqNodeP("Constant", nil, out, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t})
}

// length appends the nodes computing the number of chunks and returns its name.
func (r *seqSplit) length(nodes *[]*onnxpb.NodeProto) string {
	shape := r.name("shape")
	ax := r.name("axis")
	dim := r.name("dim")
	*nodes = append(*nodes, seqNodeP("Shape", []string{r.x}, shape), constI64P(ax, r.axis, false),
		seqNodeP("Gather", []string{shape, ax}, dim, &onnxpb.AttributeProto{Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}))
	if r.split == "" {
		return dim
	}
	one, sm1, sum, n := r.name("one"), r.name("split_minus_1"), r.name("ceil_sum"), r.name("chunks")
	*nodes = append(*nodes, constI64P(one, 1, false), seqNodeP("Sub", []string{r.split, one}, sm1),
		seqNodeP("Add", []string{dim, sm1}, sum), seqNodeP("Div", []string{sum, r.split}, n))
	return n
}

// rewrite replaces the readers of s in gp and its subgraphs.
func (r *seqSplit) rewrite(gp *onnxpb.GraphProto, s string) {
	var nodes []*onnxpb.NodeProto
	for _, n := range gp.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil {
				r.rewrite(a.GetG(), s)
			}
			for _, g := range a.GetGraphs() {
				r.rewrite(g, s)
			}
		}
		if len(n.GetInput()) == 0 || n.GetInput()[0] != s {
			nodes = append(nodes, n)
			continue
		}
		out := n.GetOutput()[0]
		length := r.length(&nodes)
		if n.GetOpType() == "SequenceLength" {
			nodes = append(nodes, seqNodeP("Identity", []string{length}, out))
			continue
		}
		// SequenceAt: pos = (i + n) mod n.
		sum, pos := r.name("pos_plus_n"), r.name("pos")
		nodes = append(nodes, seqNodeP("Add", []string{n.GetInput()[1], length}, sum), seqNodeP("Mod", []string{sum, length}, pos))
		axisAttr := &onnxpb.AttributeProto{Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(r.axis)}
		if r.split == "" {
			idx := pos
			if r.keep {
				shape1 := r.name("shape1")
				idx = r.name("pos1")
				nodes = append(nodes, constI64P(shape1, 1, true), seqNodeP("Reshape", []string{pos, shape1}, idx))
			}
			nodes = append(nodes, seqNodeP("Gather", []string{r.x, idx}, out, axisAttr))
			continue
		}
		start, end, shape1, starts, ends, axes := r.name("start"), r.name("end"), r.name("shape1"), r.name("starts"),
			r.name("ends"), r.name("axes")
		nodes = append(nodes, seqNodeP("Mul", []string{pos, r.split}, start), seqNodeP("Add", []string{start, r.split}, end),
			constI64P(shape1, 1, true), seqNodeP("Reshape", []string{start, shape1}, starts), seqNodeP("Reshape", []string{end, shape1}, ends),
			constI64P(axes, r.axis, true), seqNodeP("Slice", []string{r.x, starts, ends, axes}, out))
	}
	gp.Node = nodes
}

package graph

import (
	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// listLoopsToScans rewrites, in gp, the one use of ONNX sequences that exporters
// write into otherwise tensor-only models: torch.jit.script's list built by append
// in a loop and stacked after it,
//
//	s0 = SequenceEmpty()
//	..., s = Loop(M, cond, ..., s0)            body: s' = SequenceInsert(s, t)
//	y = ConcatFromSequence(s, axis, new_axis)
//
// (a greedy decoder collecting its tokens). The list is append-only and read only
// by the ConcatFromSequence, so it is the Loop's scan output t stacked on a new
// leading axis, which this rewrite makes it: the carried sequence leaves the Loop,
// t becomes a scan output S, and the ConcatFromSequence becomes a Transpose of S
// (new_axis = 1: stacking at axis), or a Transpose and a Reshape merging the loop
// axis into axis (new_axis = 0). Both are exact (a data movement). A pattern that
// differs in any way (an insert at a position, the list read in the body, another
// reader, a negative axis without a known rank) is left alone, and loading then
// refuses the sequence type, naming it. Runs on the protobuf before conversion, as
// the graph has no sequence values.
func listLoopsToScans(gp *onnxpb.GraphProto) {
	for changed := true; changed; {
		changed = false
		for _, n := range gp.GetNode() {
			if n.GetOpType() != "Loop" || n.GetDomain() != "" {
				continue
			}
			for j := 0; j+2 < len(n.GetInput()); j++ {
				if listLoopToScan(gp, n, j) {
					changed = true
					break
				}
			}
			if changed {
				break
			}
		}
	}
}

// listLoopToScan rewrites the Loop n's carried value j if it is the pattern above.
func listLoopToScan(gp *onnxpb.GraphProto, n *onnxpb.NodeProto, j int) bool {
	body := loopBody(n)
	if body == nil || len(body.GetInput()) != len(n.GetInput()) || len(body.GetOutput()) < 1+j+1 ||
		len(n.GetOutput()) <= j {
		return false
	}
	init, seqIn, seqOut, final := n.GetInput()[2+j], body.GetInput()[2+j].GetName(), body.GetOutput()[1+j].GetName(), n.GetOutput()[j]
	empty := producerP(gp, init)
	if empty == nil || empty.GetOpType() != "SequenceEmpty" || empty.GetDomain() != "" || readsP(gp, init) != 1 {
		return false
	}
	ins := producerP(body, seqOut)
	if ins == nil || ins.GetOpType() != "SequenceInsert" || ins.GetDomain() != "" || len(ins.GetInput()) != 2 ||
		ins.GetInput()[0] != seqIn || readsP(body, seqIn) != 1 || readsP(body, seqOut) != 0 || isOutputP(body, seqOut) != 1 {
		return false
	}
	if final == "" || isOutputP(gp, final) != 0 || readsP(gp, final) != 1 {
		return false
	}
	var cat *onnxpb.NodeProto
	for _, m := range gp.GetNode() {
		for _, in := range m.GetInput() {
			if in == final {
				cat = m
			}
		}
	}
	if cat == nil || cat.GetOpType() != "ConcatFromSequence" || cat.GetDomain() != "" || len(cat.GetOutput()) != 1 {
		return false
	}
	elem := ins.GetInput()[1]
	axis, newAxis := attrIntP(cat, "axis", 0), attrIntP(cat, "new_axis", 0)
	if newAxis != 0 && newAxis != 1 {
		return false
	}
	if newAxis == 0 && readsOtherSequencesP(body) {
		// Concatenated elements may differ in size along the axis, which a scan
		// output cannot hold; they do when the body reads another sequence (the
		// unequal chunks of a SplitToSequence by a list of sizes, torch's
		// repeat_interleave): left to the executor's sequence values.
		return false
	}
	// The element rank r (moving the loop axis needs it): from the element's or the
	// result's declared type (torch.onnx declares both).
	// torch.onnx can declare the result's rank wrong (a stack of unbind's chunks
	// declared one axis too many, --unseen10), so the producers come first.
	r := rankP(body, elem)
	if r < 0 {
		r = rankFromProducersP([]*onnxpb.GraphProto{body, gp}, elem, 0)
	}
	if r < 0 {
		if yr := rankP(gp, cat.GetOutput()[0]); yr >= 0 {
			r = yr - int(newAxis)
		}
	}
	if r < 0 {
		// Last, the list's own declared element type (an RWKV's WKV loop, whose
		// elements come from loop-carried states that torch.onnx leaves untyped).
		r = seqElemRankP(body, seqIn)
	}
	if r < 0 {
		return false
	}
	if axis < 0 {
		axis += int64(r) + newAxis
	}
	if axis < 0 || axis >= int64(r)+newAxis {
		return false
	}

	// The Loop: the carried list leaves; t is the last scan output.
	n.Input = append(append([]string(nil), n.GetInput()[:2+j]...), n.GetInput()[2+j+1:]...)
	outs := append(append([]string(nil), n.GetOutput()[:j]...), n.GetOutput()[j+1:]...)
	scan := final + "_scan"
	n.Output = append(outs, scan)
	body.Input = append(append([]*onnxpb.ValueInfoProto(nil), body.GetInput()[:2+j]...), body.GetInput()[2+j+1:]...)
	bouts := append(append([]*onnxpb.ValueInfoProto(nil), body.GetOutput()[:1+j]...), body.GetOutput()[1+j+1:]...)
	body.Output = append(bouts, &onnxpb.ValueInfoProto{Name: proto.String(elem)})
	body.Node = withoutP(body.GetNode(), ins)
	body.ValueInfo = withoutValueInfoP(body.GetValueInfo(), seqIn, seqOut)

	// The ConcatFromSequence: S is [trips, t...]; stacking at axis moves the loop
	// axis there, concatenating also merges it with the next one.
	name := cat.GetName()
	if name == "" {
		name = cat.GetOutput()[0]
	}
	var repl []*onnxpb.NodeProto
	y := cat.GetOutput()[0]
	moved := scan
	if axis > 0 {
		moved = y
		if newAxis == 0 {
			moved = scan + "_moved"
		}
		perm := []int64{}
		for i := int64(1); i <= axis; i++ {
			perm = append(perm, i)
		}
		perm = append(perm, 0)
		for i := axis + 1; i <= int64(r); i++ {
			perm = append(perm, i)
		}
		repl = append(repl, &onnxpb.NodeProto{Name: proto.String(name + "/move_loop_axis"), OpType: proto.String("Transpose"),
			Input: []string{scan}, Output: []string{moved}, Attribute: []*onnxpb.AttributeProto{{
				Name: proto.String("perm"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: perm}}})
	}
	switch {
	case newAxis == 1 && axis == 0:
		repl = append(repl, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String("Identity"),
			Input: []string{scan}, Output: []string{y}})
	case newAxis == 0:
		// Reshape to shape[:axis] ++ [-1] ++ shape[axis+2:], from the moved tensor's Shape.
		sh, head, tail, tgt := name+"/shape", name+"/head", name+"/tail", name+"/target"
		c := func(suffix string, v ...int64) string {
			out := name + "/" + suffix
			repl = append(repl, &onnxpb.NodeProto{Name: proto.String(out), OpType: proto.String("Constant"),
				Output: []string{out}, Attribute: []*onnxpb.AttributeProto{{
					Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
					T: &onnxpb.TensorProto{Name: proto.String(out), DataType: proto.Int32(int32(Int64)), Dims: []int64{int64(len(v))}, Int64Data: v},
				}}})
			return out
		}
		zero, a, a2, end, minus := c("c0", 0), c("ca", axis), c("ca2", axis+2), c("cend", 1<<62), c("cm1", -1)
		repl = append(repl,
			&onnxpb.NodeProto{Name: proto.String(sh), OpType: proto.String("Shape"), Input: []string{moved}, Output: []string{sh}},
			&onnxpb.NodeProto{Name: proto.String(head), OpType: proto.String("Slice"), Input: []string{sh, zero, a}, Output: []string{head}},
			&onnxpb.NodeProto{Name: proto.String(tail), OpType: proto.String("Slice"), Input: []string{sh, a2, end}, Output: []string{tail}},
			&onnxpb.NodeProto{Name: proto.String(tgt), OpType: proto.String("Concat"), Input: []string{head, minus, tail}, Output: []string{tgt},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}},
			&onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String("Reshape"), Input: []string{moved, tgt}, Output: []string{y}})
	}
	var nodes []*onnxpb.NodeProto
	for _, m := range gp.GetNode() {
		switch m {
		case empty:
		case cat:
			nodes = append(nodes, repl...)
		default:
			nodes = append(nodes, m)
		}
	}
	gp.Node = nodes
	gp.ValueInfo = withoutValueInfoP(gp.GetValueInfo(), init, final)
	return true
}

// rankP is the rank gp declares for name (value_info, inputs or outputs), or -1.
func rankP(gp *onnxpb.GraphProto, name string) int {
	for _, list := range [][]*onnxpb.ValueInfoProto{gp.GetValueInfo(), gp.GetOutput(), gp.GetInput()} {
		for _, v := range list {
			if v.GetName() == name {
				if sh := v.GetType().GetTensorType().GetShape(); sh != nil {
					return len(sh.GetDim())
				}
			}
		}
	}
	return -1
}

// seqElemRankP is the rank of the elements of the sequence name as gp declares
// them, or -1.
func seqElemRankP(gp *onnxpb.GraphProto, name string) int {
	for _, list := range [][]*onnxpb.ValueInfoProto{gp.GetValueInfo(), gp.GetOutput(), gp.GetInput()} {
		for _, v := range list {
			if v.GetName() == name {
				if sh := v.GetType().GetSequenceType().GetElemType().GetTensorType().GetShape(); sh != nil {
					return len(sh.GetDim())
				}
			}
		}
	}
	return -1
}

// readsOtherSequencesP reports whether a loop body (or a subgraph of it) has a
// sequence operator other than a SequenceInsert appending to a list the loop
// carries (its first input a body input, no position).
func readsOtherSequencesP(body *onnxpb.GraphProto) bool {
	formal := map[string]bool{}
	for _, in := range body.GetInput() {
		formal[in.GetName()] = true
	}
	var walk func(gp *onnxpb.GraphProto) bool
	walk = func(gp *onnxpb.GraphProto) bool {
		for _, n := range gp.GetNode() {
			if n.GetDomain() == "" && SeqOps[n.GetOpType()] &&
				(n.GetOpType() != "SequenceInsert" || len(n.GetInput()) != 2 || !formal[n.GetInput()[0]]) {
				return true
			}
			for _, a := range n.GetAttribute() {
				if a.GetG() != nil && walk(a.GetG()) {
					return true
				}
				for _, g := range a.GetGraphs() {
					if walk(g) {
						return true
					}
				}
			}
		}
		return false
	}
	return walk(body)
}

func loopBody(n *onnxpb.NodeProto) *onnxpb.GraphProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == "body" {
			return a.GetG()
		}
	}
	return nil
}

func producerP(gp *onnxpb.GraphProto, name string) *onnxpb.NodeProto {
	for _, n := range gp.GetNode() {
		for _, o := range n.GetOutput() {
			if o == name {
				return n
			}
		}
	}
	return nil
}

// readsP counts the reads of name in gp's nodes and, by name, in their subgraphs.
func readsP(gp *onnxpb.GraphProto, name string) int {
	k := 0
	for _, n := range gp.GetNode() {
		for _, in := range n.GetInput() {
			if in == name {
				k++
			}
		}
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil {
				k += readsP(a.GetG(), name)
			}
			for _, g := range a.GetGraphs() {
				k += readsP(g, name)
			}
		}
	}
	return k
}

func isOutputP(gp *onnxpb.GraphProto, name string) int {
	k := 0
	for _, o := range gp.GetOutput() {
		if o.GetName() == name {
			k++
		}
	}
	return k
}

func attrIntP(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

func withoutP(nodes []*onnxpb.NodeProto, drop *onnxpb.NodeProto) []*onnxpb.NodeProto {
	var out []*onnxpb.NodeProto
	for _, n := range nodes {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

func withoutValueInfoP(vis []*onnxpb.ValueInfoProto, names ...string) []*onnxpb.ValueInfoProto {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	var out []*onnxpb.ValueInfoProto
	for _, v := range vis {
		if !drop[v.GetName()] {
			out = append(out, v)
		}
	}
	return out
}

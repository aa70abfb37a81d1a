package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqModel is x -> nodes -> out, with x declared as shape (sym: symbolic dims as -1
// named "T") and the given initializers.
func seqModel(x Shape, inits map[string]*Tensor, nodes ...*Node) *Model {
	g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
	g.Inputs = []*Value{{Name: "x", DType: Float32, Shape: x, HasShape: true}}
	for k, t := range inits {
		g.Initializers[k] = t
	}
	for _, n := range nodes {
		if n.Attrs == nil {
			n.Attrs = map[string]*Attr{}
		}
		if n.Name == "" {
			n.Name = n.Outputs[0]
		}
	}
	g.Nodes = nodes
	last := nodes[len(nodes)-1]
	g.Outputs = []*Value{{Name: last.Outputs[0]}}
	return &Model{Graph: g, Opsets: map[string]int64{"": 13}}
}

func seqNode(op string, ins []string, out string, attrs map[string]int64) *Node {
	n := &Node{OpType: op, Inputs: ins, Outputs: []string{out}, Attrs: map[string]*Attr{}}
	for k, v := range attrs {
		n.SetAttrInt(k, v)
	}
	return n
}

func TestInferSequenceOps(t *testing.T) {
	sym := Dim{Size: -1, Param: "T"}
	x := Shape{{Size: 2}, sym, {Size: 6}}
	inits := map[string]*Tensor{
		"three": FromInt64([]int{}, []int64{3}), "four": FromInt64([]int{}, []int64{4}), "one": FromInt64([]int{}, []int64{1}),
		"list": FromInt64([]int{2}, []int64{1, 5}), "eq": FromInt64([]int{3}, []int64{2, 2, 2}), "zero": FromInt64([]int{}, []int64{0}),
	}
	for _, tc := range []struct {
		name  string
		nodes []*Node
		seq   bool
		shape string // "" : no shape
		err   string
	}{
		{"split by 3 of 6: chunks of 3", []*Node{seqNode("SplitToSequence", []string{"x", "three"}, "s", map[string]int64{"axis": 2})}, true, "[2,T,3]", ""},
		{"split by 4 of 6: the last shorter, unknown", []*Node{seqNode("SplitToSequence", []string{"x", "four"}, "s", map[string]int64{"axis": 2})}, true, "[2,T,?]", ""},
		{"split of a symbolic dim: unknown", []*Node{seqNode("SplitToSequence", []string{"x", "three"}, "s", map[string]int64{"axis": 1})}, true, "[2,?,6]", ""},
		{"split by a list, unequal: unknown", []*Node{seqNode("SplitToSequence", []string{"x", "list"}, "s", map[string]int64{"axis": -1})}, true, "[2,T,?]", ""},
		{"split by a list, equal", []*Node{seqNode("SplitToSequence", []string{"x", "eq"}, "s", map[string]int64{"axis": 2})}, true, "[2,T,2]", ""},
		{"split by a list not adding up", []*Node{seqNode("SplitToSequence", []string{"x", "list"}, "s", map[string]int64{"axis": 0})}, false, "", `SplitToSequence "s": split sizes [1 5] add up to 6, the axis has 2`},
		{"no split, keepdims 0 drops the axis", []*Node{seqNode("SplitToSequence", []string{"x"}, "s", map[string]int64{"axis": 0, "keepdims": 0})}, true, "[T,6]", ""},
		{"split 1, keepdims 0 drops the axis (unbind)", []*Node{seqNode("SplitToSequence", []string{"x", "one"}, "s", map[string]int64{"axis": 1, "keepdims": 0})}, true, "[2,6]", ""},
		{"axis out of range", []*Node{seqNode("SplitToSequence", []string{"x"}, "s", map[string]int64{"axis": 3})}, false, "", "axis 3 is out of range for rank 3"},
		{"concat: the axis unknown", []*Node{
			seqNode("SplitToSequence", []string{"x", "list"}, "s", map[string]int64{"axis": 2}),
			seqNode("ConcatFromSequence", []string{"s"}, "y", map[string]int64{"axis": 2})}, false, "[2,T,?]", ""},
		{"stack: a new unknown axis", []*Node{
			seqNode("SplitToSequence", []string{"x", "three"}, "s", map[string]int64{"axis": 2}),
			seqNode("ConcatFromSequence", []string{"s"}, "y", map[string]int64{"axis": -1, "new_axis": 1})}, false, "[2,T,3,?]", ""},
		{"concat of an always-empty sequence", []*Node{
			seqNode("SequenceEmpty", nil, "s", nil),
			seqNode("ConcatFromSequence", []string{"s"}, "y", map[string]int64{"axis": 0})}, false, "", `ConcatFromSequence "y": concatenates a sequence that is always empty`},
		{"insert into empty: the element's shape", []*Node{
			seqNode("SequenceEmpty", nil, "s", nil),
			seqNode("SequenceInsert", []string{"s", "x"}, "s2", nil)}, true, "[2,T,6]", ""},
		{"construct: what the elements share", []*Node{
			seqNode("Slice", []string{"x", "zero", "one", "zero"}, "x1", nil),
			seqNode("SequenceConstruct", []string{"x", "x1"}, "s", nil)}, true, "[?,T,6]", ""},
		{"at: the elements' shape", []*Node{
			seqNode("SplitToSequence", []string{"x", "three"}, "s", map[string]int64{"axis": 2}),
			seqNode("SequenceAt", []string{"s", "one"}, "e", nil)}, false, "[2,T,3]", ""},
		{"at of an always-empty sequence", []*Node{
			seqNode("SequenceEmpty", nil, "s", nil),
			seqNode("SequenceAt", []string{"s", "zero"}, "e", nil)}, false, "", `SequenceAt "e": reads an element of a sequence that is always empty`},
		{"length", []*Node{
			seqNode("SplitToSequence", []string{"x"}, "s", map[string]int64{"axis": 1}),
			seqNode("SequenceLength", []string{"s"}, "n", nil)}, false, "[]", ""},
		{"a sequence read by another operator", []*Node{
			seqNode("SplitToSequence", []string{"x"}, "s", map[string]int64{"axis": 1}),
			seqNode("Relu", []string{"s"}, "r", nil)}, false, "", `Relu "r": input "s" is a sequence of float32: Relu takes tensors`},
		{"a tensor where a sequence is read", []*Node{seqNode("SequenceLength", []string{"x"}, "n", nil)}, false, "", `SequenceLength "n": input 0 ("x") is a tensor, want a sequence`},
		{"insert of another type", []*Node{
			seqNode("SplitToSequence", []string{"x"}, "s", map[string]int64{"axis": 1}),
			seqNode("SequenceInsert", []string{"s", "one"}, "s2", nil)}, false, "", `SequenceInsert "s2": inserts a int64 tensor into a sequence of float32`},
		{"identity passes a sequence", []*Node{
			seqNode("SplitToSequence", []string{"x", "three"}, "s", map[string]int64{"axis": 2}),
			seqNode("Identity", []string{"s"}, "s2", nil)}, true, "[2,T,3]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := seqModel(x, inits, tc.nodes...)
			_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			last := tc.nodes[len(tc.nodes)-1].Outputs[0]
			v := m.Graph.Values[last]
			require.NotNil(t, v)
			assert.Equal(t, tc.seq, v.Seq)
			if tc.shape == "" {
				assert.False(t, v.HasShape)
				return
			}
			require.True(t, v.HasShape)
			assert.Equal(t, tc.shape, v.Shape.String())
		})
	}
}

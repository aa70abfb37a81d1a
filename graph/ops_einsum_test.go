package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInferEinsumShapes(t *testing.T) {
	f := Float32
	eq := func(s string) *Attr { return &Attr{Name: "equation", Type: AttrString, S: s} }
	cases := []struct {
		name    string
		eq      string
		ins     []*Value
		want    string
		wantErr string
	}{
		{"maxvit scores, symbolic batch", "B G H I D, B G H J D -> B G H I J", []*Value{nnVal(f, -1, 49, 2, 49, 32), nnVal(f, -1, 49, 2, 49, 32)}, "[N,49,2,49,49]", ""},
		{"implicit output sorted", "kj,ji", []*Value{nnVal(f, 3, 4), nnVal(f, 4, 5)}, "[5,3]", ""},
		{"broadcast ellipsis", "...ij,...jk->...ik", []*Value{nnVal(f, 2, 1, 3, 4), nnVal(f, 5, 4, 6)}, "[2,5,3,6]", ""},
		{"sum everything", "ij->", []*Value{nnVal(f, 3, 4)}, "[]", ""},
		{"sizes differ", "ij,jk->ik", []*Value{nnVal(f, 3, 4), nnVal(f, 5, 6)}, "", "dimension 0 is 5 where another input has 4"},
		{"rank differs", "ijk->i", []*Value{nnVal(f, 3, 4)}, "", "has 3 subscripts, the input has rank 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for i := range tc.ins {
				names = append(names, string(rune('a'+i)))
			}
			n := nnIO(nnNode("Einsum", eq(tc.eq)), names, "y")
			g, err := nnInferOne(t, 13, n, tc.ins, nil)
			if nnExpectErr(t, err, tc.wantErr, "Einsum") {
				return
			}
			assert.Equal(t, tc.want, g.Values["y"].Shape.String())
		})
	}
}

func TestParseEinsumLabels(t *testing.T) {
	s, err := ParseEinsum("ii->i", []int{2})
	require.NoError(t, err)
	assert.Equal(t, [][]int{{0, 0}}, s.Operands)
	assert.Equal(t, []int{0}, s.Output)
	_, err = ParseEinsum("i...j...->i", []int{4})
	assert.ErrorContains(t, err, "more than one ellipsis")
	_, err = ParseEinsum("i...->i", []int{0})
	assert.ErrorContains(t, err, "does not fit")
}

func TestEinsumMACs(t *testing.T) {
	g := &Graph{Values: map[string]*Value{
		"q": {Name: "q", DType: Float32, Shape: ShapeOf(1, 4, 2, 49, 32), HasShape: true},
		"k": {Name: "k", DType: Float32, Shape: ShapeOf(1, 4, 2, 49, 32), HasShape: true},
	}, Initializers: map[string]*Tensor{}}
	n := &Node{Name: "e", OpType: "Einsum", Inputs: []string{"q", "k"}, Outputs: []string{"s"},
		Attrs: map[string]*Attr{"equation": {Name: "equation", Type: AttrString, S: "B G H I D, B G H J D -> B G H I J"}}}
	macs, known := g.MACsKnown(n)
	assert.True(t, known)
	assert.Equal(t, int64(4*2*49*49*32), macs)
	g.Values["k"].Shape[3] = Dim{Size: -1, Param: "seq"}
	_, known = g.MACsKnown(n)
	assert.False(t, known)
}

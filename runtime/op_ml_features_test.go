package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func mlFeatNode(op string, ins []string, attrs map[string]*graph.Attr) *graph.Node {
	if attrs == nil {
		attrs = map[string]*graph.Attr{}
	}
	return &graph.Node{Name: "n", OpType: op, Domain: graph.MLDomain, Inputs: ins, Outputs: []string{"y"}, Attrs: attrs}
}

// TestMLFeatureOps checks ArrayFeatureExtractor, Binarizer and OneHotEncoder
// against values worked out by hand from ONNX Runtime's definitions.
func TestMLFeatureOps(t *testing.T) {
	x := graph.FromFloat32([]int{2, 4}, []float32{0, 1, 2, 3, 10, 11, 12, 13})
	for _, tc := range []struct {
		name  string
		x     *graph.Tensor
		idx   []int64
		shape []int
		want  any
	}{
		{"2-D float", x, []int64{3, 0, 3}, []int{2, 3}, []float32{3, 0, 3, 13, 10, 13}},
		{"1-D gives one row", graph.FromFloat32([]int{4}, []float32{5, 6, 7, 8}), []int64{1}, []int{1, 1}, []float32{6}},
		{"3-D int64", graph.FromInt64([]int{2, 1, 3}, []int64{1, 2, 3, 4, 5, 6}), []int64{2, 1}, []int{2, 1, 2}, []int64{3, 2, 6, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runSingleNode(t, 13, mlFeatNode("ArrayFeatureExtractor", []string{"x", "i"}, nil), tc.x,
				graph.FromInt64([]int{len(tc.idx)}, tc.idx))
			require.NoError(t, err)
			assert.Equal(t, tc.shape, got[0].Shape)
			assert.Equal(t, tc.want, got[0].Data)
		})
	}
	_, err := runNodeDynamic(t, mlFeatNode("ArrayFeatureExtractor", []string{"x", "i"}, nil), x, graph.FromInt64([]int{1}, []int64{4}))
	require.ErrorContains(t, err, "index 4 is outside the 4 columns")

	got, err := runSingleNode(t, 13, mlFeatNode("Binarizer", []string{"x"}, map[string]*graph.Attr{"threshold": graph.FloatAttr("threshold", 2)}), x)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0, 1, 1, 1, 1, 1}, got[0].F32(), "1 strictly above the threshold")

	cats := map[string]*graph.Attr{"cats_int64s": graph.IntsAttr("cats_int64s", []int{10, 20, 30})}
	got, err = runSingleNode(t, 13, mlFeatNode("OneHotEncoder", []string{"c"}, cats), graph.FromInt64([]int{2, 2}, []int64{20, 10, 40, 30}))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 3}, got[0].Shape)
	assert.Equal(t, []float32{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, got[0].F32(), "40 is no category: all zeros")
	got, err = runSingleNode(t, 13, mlFeatNode("OneHotEncoder", []string{"c"}, cats), graph.FromFloat32([]int{2}, []float32{30.7, 10}))
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 1, 1, 0, 0}, got[0].F32(), "a float value is truncated to its category")
	strict := map[string]*graph.Attr{"cats_int64s": cats["cats_int64s"], "zeros": graph.IntAttr("zeros", 0)}
	_, err = runSingleNode(t, 13, mlFeatNode("OneHotEncoder", []string{"c"}, strict), graph.FromInt64([]int{1}, []int64{40}))
	require.ErrorContains(t, err, "value 40 is not one of the 3 categories")
	_, err = runSingleNode(t, 13, mlFeatNode("OneHotEncoder", []string{"c"}, map[string]*graph.Attr{
		"cats_strings": {Name: "cats_strings", Type: graph.AttrStrings, Strings: []string{"a"}}}), graph.FromInt64([]int{1}, []int64{1}))
	require.ErrorContains(t, err, `OneHotEncoder "n"`)
	require.ErrorContains(t, err, "cats_strings")
}

package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func mlNode(op string, nout int, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{Name: "ml", OpType: op, Domain: graph.MLDomain, Inputs: []string{"x"}, Attrs: map[string]*graph.Attr{}}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, []string{"y", "z"}[i])
	}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

func stringsAttr(name string, v ...string) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrStrings, Strings: v}
}

// A two-tree ensemble over two features: tree 0 splits feature 0 at 0.5 (LEQ; a
// NaN goes to the true branch), tree 1 splits feature 1 at 0 (LT).
func twoTrees(prefix string) []*graph.Attr {
	return []*graph.Attr{
		graph.Int64sAttr("nodes_treeids", []int64{0, 0, 0, 1, 1, 1}),
		graph.Int64sAttr("nodes_nodeids", []int64{0, 1, 2, 0, 1, 2}),
		graph.Int64sAttr("nodes_featureids", []int64{0, 0, 0, 1, 0, 0}),
		graph.FloatsAttr("nodes_values", []float32{0.5, 0, 0, 0, 0, 0}),
		stringsAttr("nodes_modes", "BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_LT", "LEAF", "LEAF"),
		graph.Int64sAttr("nodes_truenodeids", []int64{1, 0, 0, 1, 0, 0}),
		graph.Int64sAttr("nodes_falsenodeids", []int64{2, 0, 0, 2, 0, 0}),
		graph.Int64sAttr("nodes_missing_value_tracks_true", []int64{1, 0, 0, 0, 0, 0}),
		graph.Int64sAttr(prefix+"_treeids", []int64{0, 0, 1, 1}),
		graph.Int64sAttr(prefix+"_nodeids", []int64{1, 2, 1, 2}),
		graph.Int64sAttr(prefix+"_ids", []int64{0, 1, 0, 1}),
		graph.FloatsAttr(prefix+"_weights", []float32{1, 2, 4, 8}),
	}
}

func TestMLOperators(t *testing.T) {
	nan := float32(math.NaN())
	x := graph.FromFloat32([]int{3, 2}, []float32{0, -1, 1, 1, nan, 2})
	e := func(v ...float32) []float32 { return v }
	softmax := func(a, b float32) []float32 {
		ea, eb := math.Exp(float64(a)), math.Exp(float64(b))
		return e(float32(ea/(ea+eb)), float32(eb/(ea+eb)))
	}
	cases := []struct {
		name   string
		node   *graph.Node
		in     *graph.Tensor
		labels []int64
		want   []float32
	}{
		{"Scaler per column", mlNode("Scaler", 1, graph.FloatsAttr("offset", []float32{1, 0}), graph.FloatsAttr("scale", []float32{2})),
			graph.FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4}), nil, e(0, 4, 4, 8)},
		{"Scaler of int64", mlNode("Scaler", 1, graph.FloatsAttr("scale", []float32{0.5})),
			graph.FromInt64([]int{1, 2}, []int64{2, 6}), nil, e(1, 3)},
		{"Normalizer L1", mlNode("Normalizer", 1, graph.StringAttr("norm", "L1")),
			graph.FromFloat32([]int{2, 2}, []float32{1, -3, 0, 0}), nil, e(0.25, -0.75, 0, 0)},
		{"Normalizer L2", mlNode("Normalizer", 1, graph.StringAttr("norm", "L2")),
			graph.FromFloat32([]int{1, 2}, []float32{3, 4}), nil, e(0.6, 0.8)},
		{"Normalizer MAX", mlNode("Normalizer", 1, graph.StringAttr("norm", "MAX")),
			graph.FromFloat32([]int{1, 3}, []float32{1, 4, -2}), nil, e(0.25, 1, -0.5)},
		{"Imputer of NaN", mlNode("Imputer", 1, graph.FloatsAttr("imputed_value_floats", []float32{7, 9}),
			graph.FloatAttr("replaced_value_float", nan)), x, nil, e(0, -1, 1, 1, 7, 2)},
		{"LinearRegressor two targets", mlNode("LinearRegressor", 1, graph.FloatsAttr("coefficients", []float32{1, 2, -1, 0}),
			graph.FloatsAttr("intercepts", []float32{0.5, 1}), graph.IntAttr("targets", 2)),
			graph.FromFloat32([]int{1, 2}, []float32{1, 1}), nil, e(3.5, 0)},
		{"LinearClassifier softmax, labels by raw argmax", mlNode("LinearClassifier", 2,
			graph.Int64sAttr("classlabels_ints", []int64{10, 20}), graph.FloatsAttr("coefficients", []float32{1, 0, 0, 1}),
			graph.StringAttr("post_transform", "SOFTMAX")),
			graph.FromFloat32([]int{2, 2}, []float32{2, 1, 0, 3}), []int64{10, 20}, append(softmax(2, 1), softmax(0, 3)...)},
		{"TreeEnsembleRegressor SUM with a NaN tracking true", mlNode("TreeEnsembleRegressor", 1,
			append(twoTrees("target"), graph.IntAttr("n_targets", 2))...), x, nil,
			// rows: (0,-1): leaves t0 n1 (1 for 0), t1 n1 (4 for 0) -> [5, 0]; (1,1): t0 n2 (2 for 1),
			// t1 n2 (8 for 1) -> [0, 10]; (NaN,2): t0 n1 (missing tracks true), t1 n2 -> [1, 8]
			e(5, 0, 0, 10, 1, 8)},
		{"TreeEnsembleRegressor AVERAGE plus base", mlNode("TreeEnsembleRegressor", 1,
			append(twoTrees("target"), graph.IntAttr("n_targets", 2), graph.StringAttr("aggregate_function", "AVERAGE"),
				graph.FloatsAttr("base_values", []float32{1, -1}))...), x, nil, e(3.5, -1, 1, 4, 1.5, 3)},
		{"TreeEnsembleRegressor MAX", mlNode("TreeEnsembleRegressor", 1,
			append(twoTrees("target"), graph.IntAttr("n_targets", 2), graph.StringAttr("aggregate_function", "MAX"))...), x, nil,
			e(4, 0, 0, 8, 1, 8)},
		{"TreeEnsembleClassifier logistic", mlNode("TreeEnsembleClassifier", 2,
			append(twoTrees("class"), graph.Int64sAttr("classlabels_int64s", []int64{3, 4}),
				graph.StringAttr("post_transform", "LOGISTIC"))...), x, []int64{3, 4, 4},
			e(sig(5), sig(0), sig(0), sig(10), sig(1), sig(8))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runNodeWith(t, 13, 1, tc.node, nil, tc.in)
			require.NoError(t, err)
			out := got[0]
			if tc.labels != nil {
				assert.Equal(t, tc.labels, got[0].I64())
				out = got[1]
			}
			assert.InDeltaSlice(t, tc.want, out.F32(), 1e-6)
		})
	}
}

func sig(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

func TestMLRefusals(t *testing.T) {
	x := graph.FromFloat32([]int{1, 2}, []float32{1, 2})
	cases := []struct {
		name string
		node *graph.Node
		msg  string
	}{
		{"string labels", mlNode("LinearClassifier", 2, stringsAttr("classlabels_strings", "a", "b"),
			graph.FloatsAttr("coefficients", []float32{1, 2, 3, 4})), "string class labels"},
		{"one-row binary classifier", mlNode("LinearClassifier", 2, graph.Int64sAttr("classlabels_ints", []int64{0, 1}),
			graph.FloatsAttr("coefficients", []float32{1, 2})), "2 coefficients for 2 classes and 2 features"},
		{"PROBIT", mlNode("LinearClassifier", 2, graph.Int64sAttr("classlabels_ints", []int64{0, 1}),
			graph.FloatsAttr("coefficients", []float32{1, 2, 3, 4}), graph.StringAttr("post_transform", "PROBIT")), "PROBIT"},
		{"coefficients do not fit the features", mlNode("LinearRegressor", 1, graph.FloatsAttr("coefficients", []float32{1, 2, 3})),
			"coefficients"},
		{"leaf weight on a branch", mlNode("TreeEnsembleRegressor", 1, append(twoTrees("target")[:8],
			graph.Int64sAttr("target_treeids", []int64{0}), graph.Int64sAttr("target_nodeids", []int64{0}),
			graph.Int64sAttr("target_ids", []int64{0}), graph.FloatsAttr("target_weights", []float32{1}))...), "not a leaf"},
		{"binary tree classifier voting for one class", mlNode("TreeEnsembleClassifier", 2, append(twoTrees("class")[:8],
			graph.Int64sAttr("class_treeids", []int64{0}), graph.Int64sAttr("class_nodeids", []int64{1}),
			graph.Int64sAttr("class_ids", []int64{1}), graph.FloatsAttr("class_weights", []float32{1}),
			graph.Int64sAttr("classlabels_int64s", []int64{0, 1}))...), "binary form"},
		{"branch to a missing node", mlNode("TreeEnsembleRegressor", 1, append(twoTrees("target"), graph.IntAttr("n_targets", 2),
			graph.Int64sAttr("nodes_truenodeids", []int64{1, 0, 0, 7, 0, 0}))...), "true branch 7 is not a node of the tree"},
		{"weight for a target beyond n_targets", mlNode("TreeEnsembleRegressor", 1, twoTrees("target")...), "weight 1 is for target 1 of 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runNodeWith(t, 13, 1, tc.node, nil, x)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), "ml")
		})
	}
}

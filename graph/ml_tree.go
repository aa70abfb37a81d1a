package graph

// TreeEnsemble: the parsed form of an ai.onnx.ml TreeEnsembleRegressor or
// TreeEnsembleClassifier (attribute arrays, one entry per node and one per leaf
// weight), checked once, and its evaluation of one feature row.

import (
	"fmt"
	"math"
	"sort"
)

// Tree branch modes.
const (
	treeLeaf = iota
	treeLEQ
	treeLT
	treeGTE
	treeGT
	treeEQ
	treeNEQ
)

type treeNode struct {
	mode          int
	feature       int
	value         float32
	yes, no       int // indices into TreeEnsemble.nodes
	missingTracks bool
	leaf          []treeWeight
}

type treeWeight struct {
	target int
	weight float32
}

// TreeEnsemble is a checked tree ensemble.
type TreeEnsemble struct {
	nodes   []treeNode
	roots   []int
	Targets int // regressor targets, or classes
	// Aggregate is SUM, AVERAGE, MIN or MAX (classifiers: SUM).
	Aggregate string
	Base      []float32
	// MaxFeature is the largest feature index a branch reads.
	MaxFeature int
}

// NewTreeEnsemble parses the attributes of a TreeEnsembleRegressor or
// TreeEnsembleClassifier node.
func NewTreeEnsemble(n *Node) (*TreeEnsemble, error) {
	prefix, te := "target", &TreeEnsemble{Aggregate: n.AttrString("aggregate_function", "SUM"), MaxFeature: -1}
	if n.OpType == "TreeEnsembleClassifier" {
		prefix, te.Aggregate = "class", "SUM"
		te.Targets = len(n.AttrInts("classlabels_int64s", nil))
		if te.Targets == 0 {
			return nil, fmt.Errorf("has no classlabels_int64s")
		}
	} else {
		te.Targets = int(n.AttrInt("n_targets", 1))
	}
	switch te.Aggregate {
	case "SUM", "AVERAGE", "MIN", "MAX":
	default:
		return nil, fmt.Errorf("aggregate_function %q is not SUM, AVERAGE, MIN or MAX", te.Aggregate)
	}
	if te.Targets < 1 || te.Targets > 1<<20 {
		return nil, fmt.Errorf("%d targets", te.Targets)
	}
	for _, a := range []string{"nodes_values_as_tensor", "base_values_as_tensor", prefix + "_weights_as_tensor"} {
		if n.HasAttr(a) {
			return nil, fmt.Errorf("%w attribute %q", ErrUnsupported, a)
		}
	}
	tids, nids := n.AttrInts("nodes_treeids", nil), n.AttrInts("nodes_nodeids", nil)
	feats, vals := n.AttrInts("nodes_featureids", nil), n.AttrFloats("nodes_values", nil)
	modes := n.AttrStrings("nodes_modes", nil)
	yes, no := n.AttrInts("nodes_truenodeids", nil), n.AttrInts("nodes_falsenodeids", nil)
	miss := n.AttrInts("nodes_missing_value_tracks_true", nil)
	k := len(nids)
	if k == 0 {
		return nil, fmt.Errorf("has no nodes")
	}
	for name, l := range map[string]int{"nodes_treeids": len(tids), "nodes_featureids": len(feats), "nodes_values": len(vals),
		"nodes_modes": len(modes), "nodes_truenodeids": len(yes), "nodes_falsenodeids": len(no)} {
		if l != k {
			return nil, fmt.Errorf("%s has %d entries, nodes_nodeids %d", name, l, k)
		}
	}
	if miss != nil && len(miss) != k {
		return nil, fmt.Errorf("nodes_missing_value_tracks_true has %d entries, nodes_nodeids %d", len(miss), k)
	}
	type key struct{ tree, node int64 }
	index := make(map[key]int, k)
	for i := 0; i < k; i++ {
		if _, dup := index[key{tids[i], nids[i]}]; dup {
			return nil, fmt.Errorf("node %d of tree %d is listed twice", nids[i], tids[i])
		}
		index[key{tids[i], nids[i]}] = i
	}
	te.nodes = make([]treeNode, k)
	child := make([]bool, k)
	for i := 0; i < k; i++ {
		nd := &te.nodes[i]
		switch modes[i] {
		case "LEAF":
			nd.mode = treeLeaf
			continue
		case "BRANCH_LEQ":
			nd.mode = treeLEQ
		case "BRANCH_LT":
			nd.mode = treeLT
		case "BRANCH_GTE":
			nd.mode = treeGTE
		case "BRANCH_GT":
			nd.mode = treeGT
		case "BRANCH_EQ":
			nd.mode = treeEQ
		case "BRANCH_NEQ":
			nd.mode = treeNEQ
		default:
			return nil, fmt.Errorf("node %d of tree %d has mode %q", nids[i], tids[i], modes[i])
		}
		if feats[i] < 0 || feats[i] > 1<<24 {
			return nil, fmt.Errorf("node %d of tree %d reads feature %d", nids[i], tids[i], feats[i])
		}
		nd.feature, nd.value = int(feats[i]), vals[i]
		te.MaxFeature = max(te.MaxFeature, nd.feature)
		nd.missingTracks = miss != nil && miss[i] != 0
		var ok bool
		if nd.yes, ok = index[key{tids[i], yes[i]}]; !ok {
			return nil, fmt.Errorf("node %d of tree %d: true branch %d is not a node of the tree", nids[i], tids[i], yes[i])
		}
		if nd.no, ok = index[key{tids[i], no[i]}]; !ok {
			return nil, fmt.Errorf("node %d of tree %d: false branch %d is not a node of the tree", nids[i], tids[i], no[i])
		}
		child[nd.yes], child[nd.no] = true, true
	}
	lt, ln := n.AttrInts(prefix+"_treeids", nil), n.AttrInts(prefix+"_nodeids", nil)
	li, lw := n.AttrInts(prefix+"_ids", nil), n.AttrFloats(prefix+"_weights", nil)
	if len(ln) != len(lt) || len(li) != len(lt) || len(lw) != len(lt) {
		return nil, fmt.Errorf("%s_treeids/_nodeids/_ids/_weights have %d/%d/%d/%d entries", prefix, len(lt), len(ln), len(li), len(lw))
	}
	for j := range lt {
		i, ok := index[key{lt[j], ln[j]}]
		if !ok || te.nodes[i].mode != treeLeaf {
			return nil, fmt.Errorf("weight %d names node %d of tree %d, which is not a leaf", j, ln[j], lt[j])
		}
		if li[j] < 0 || li[j] >= int64(te.Targets) {
			return nil, fmt.Errorf("weight %d is for %s %d of %d", j, prefix, li[j], te.Targets)
		}
		te.nodes[i].leaf = append(te.nodes[i].leaf, treeWeight{int(li[j]), lw[j]})
	}
	// Roots: the nodes no branch leads to, in tree order; each tree has one.
	perTree := map[int64]int{}
	for i := 0; i < k; i++ {
		if !child[i] {
			if _, dup := perTree[tids[i]]; dup {
				return nil, fmt.Errorf("tree %d has more than one root", tids[i])
			}
			perTree[tids[i]] = i
		}
	}
	trees := make([]int64, 0, len(perTree))
	for t := range perTree {
		trees = append(trees, t)
	}
	sort.Slice(trees, func(a, b int) bool { return trees[a] < trees[b] })
	for _, t := range trees {
		te.roots = append(te.roots, perTree[t])
	}
	if len(te.roots) == 0 {
		return nil, fmt.Errorf("has no root (the branches form a cycle)")
	}
	if b := n.AttrFloats("base_values", nil); b != nil {
		if len(b) != te.Targets {
			return nil, fmt.Errorf("%d base_values for %d %ss", len(b), te.Targets, prefix)
		}
		te.Base = b
	}
	if n.OpType == "TreeEnsembleClassifier" {
		voted := map[int]bool{}
		for i := range te.nodes {
			for _, w := range te.nodes[i].leaf {
				voted[w.target] = true
			}
		}
		if te.Targets == 2 && len(voted) < 2 {
			return nil, fmt.Errorf("%w binary form (leaves vote for one class of two; ONNX Runtime derives the other)", ErrUnsupported)
		}
	}
	return te, nil
}

func (te *TreeEnsemble) leafOf(root int, x []float32) (*treeNode, error) {
	i := root
	for steps := 0; ; steps++ {
		nd := &te.nodes[i]
		if nd.mode == treeLeaf {
			return nd, nil
		}
		if steps > len(te.nodes) {
			return nil, fmt.Errorf("the branches form a cycle")
		}
		v := x[nd.feature]
		var yes bool
		switch {
		case nd.missingTracks && math.IsNaN(float64(v)):
			yes = true
		case nd.mode == treeLEQ:
			yes = v <= nd.value
		case nd.mode == treeLT:
			yes = v < nd.value
		case nd.mode == treeGTE:
			yes = v >= nd.value
		case nd.mode == treeGT:
			yes = v > nd.value
		case nd.mode == treeEQ:
			yes = v == nd.value
		default:
			yes = v != nd.value
		}
		if yes {
			i = nd.yes
		} else {
			i = nd.no
		}
	}
}

// Eval writes the aggregated scores of one feature row into out (Targets
// values), base values included, before any post_transform.
func (te *TreeEnsemble) Eval(x []float32, out []float32) error {
	if te.MaxFeature >= len(x) {
		return fmt.Errorf("a branch reads feature %d of %d", te.MaxFeature, len(x))
	}
	seen := make([]bool, te.Targets)
	for t := range out {
		out[t] = 0
	}
	for _, r := range te.roots {
		leaf, err := te.leafOf(r, x)
		if err != nil {
			return err
		}
		for _, w := range leaf.leaf {
			switch {
			case te.Aggregate == "MIN" && seen[w.target]:
				out[w.target] = min(out[w.target], w.weight)
			case te.Aggregate == "MAX" && seen[w.target]:
				out[w.target] = max(out[w.target], w.weight)
			case te.Aggregate == "MIN" || te.Aggregate == "MAX":
				out[w.target] = w.weight
			default:
				out[w.target] += w.weight
			}
			seen[w.target] = true
		}
	}
	for t := range out {
		if te.Aggregate == "AVERAGE" {
			out[t] /= float32(len(te.roots))
		}
		if te.Base != nil {
			out[t] += te.Base[t]
		}
	}
	return nil
}

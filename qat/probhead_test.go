package qat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// withHead returns the bundled MLP with op (Softmax or LogSoftmax, on axis) after its
// logits, as an exporter writes a classifier that outputs probabilities.
func withHead(t *testing.T, op string, axis int64) *graph.Model {
	t.Helper()
	m, err := graph.Load("../testdata/models/fmnist_mlp.onnx")
	require.NoError(t, err)
	if op == "" {
		return m
	}
	g := m.Graph
	out := g.Outputs[0].Name
	for _, n := range g.Nodes {
		for i, o := range n.Outputs {
			if o == out {
				n.Outputs[i] = out + "_logits"
			}
		}
	}
	g.Nodes = append(g.Nodes, &graph.Node{Name: "head", OpType: op, Inputs: []string{out + "_logits"}, Outputs: []string{out},
		Attrs: map[string]*graph.Attr{"axis": {Name: "axis", Type: graph.AttrInt, I: axis}}})
	g.Values = nil
	return m
}

// TestProbabilityHead: a classifier that outputs Softmax probabilities trains on the
// cross-entropy of the Softmax's input, exactly as the same network without the
// Softmax (same losses, same weights), and so does one that outputs LogSoftmax; a
// teacher that outputs probabilities is distilled from its logits. A Softmax over
// another axis is left as the output.
func TestProbabilityHead(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	fit := func(m *graph.Model, distill bool) (*Net, []EpochStats) {
		n, err := New(m, Config{Threads: 1})
		require.NoError(t, err)
		calibrateNet(t, n, m, train, 100)
		o := Options{Batch: 32, LR: 0.01, Seed: 2}
		if distill {
			o.Distill, o.Temperature = 0.5, 2
			o.Teacher, err = NewTeacher(m, Config{Threads: 1})
			require.NoError(t, err)
		}
		stats, err := n.Fit(dsData{train, 256}, o)
		require.NoError(t, err)
		return n, stats
	}
	for _, distill := range []bool{false, true} {
		ref, refStats := fit(withHead(t, "", 0), distill)
		assert.Nil(t, ref.head)
		for _, tc := range []struct {
			op    string
			axis  int64
			head  bool
			exact bool
		}{
			{"Softmax", 1, true, true},
			{"Softmax", -1, true, true},
			{"LogSoftmax", 1, true, true},
			{"Softmax", 0, false, false}, // over the batch: not class scores
		} {
			n, stats := fit(withHead(t, tc.op, tc.axis), distill)
			assert.Equal(t, tc.head, n.head != nil, "%s axis %d", tc.op, tc.axis)
			if tc.exact {
				assert.Equal(t, refStats[0].Loss, stats[0].Loss, "%s axis %d, distill %v: the loss of the logits", tc.op, tc.axis, distill)
				for i, p := range n.Params() {
					assert.Equal(t, ref.Params()[i].W, p.W, "%s: weights of %s", tc.op, p.Name)
				}
				continue
			}
			assert.NotEqual(t, refStats[0].Loss, stats[0].Loss, "%s axis %d: the loss of the output", tc.op, tc.axis)
		}
	}
}

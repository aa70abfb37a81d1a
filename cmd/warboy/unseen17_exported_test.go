package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// The unseen17 families fixed in the twenty-second session against ONNX
// Runtime's outputs (scripts/make_unseen17_testdata.py; docs/models.md, "Unseen
// set 17 (twenty-second session)"), at 1 and 2 threads.
func TestUnseen17AsORT(t *testing.T) {
	for _, c := range []struct {
		name, model string
		outs        []string
		tol         float64
	}{
		// One decoder step with the Hugging Face logits processors and
		// torch.multinomial at top_p 0 (one token left: a deterministic draw).
		// Before: `Multinomial "/Multinomial": unsupported operator`.
		{"sampling decoder step", "sampling_decode_op15", []string{"next_token", "probs"}, 1e-5},
		// Multinomial with sample_size 3 and dtype int64, one class per row.
		{"Multinomial spellings", "multinomial_ops", []string{"draws", "probs"}, 1e-6},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstORT(t, c.model+".onnx", "npz_u17_"+c.model, nil, c.outs, c.tol, 1, 2)
		})
	}
}

// TestInspectNamesUnsupportedOperator: `inspect` of a model with a symbolic size
// and an operator the project does not implement names the operator alone;
// before it asked for --input-shape, which would not help (unseen17's
// canine_bytes_op13: `input "bytes": dimension 1 (L) of [N,L] is symbolic; give
// it with --input-shape ... (... SplitToSequence ... unsupported operator ...)`).
// A model whose operators are all known still gets the --input-shape advice.
func TestInspectNamesUnsupportedOperator(t *testing.T) {
	for _, tc := range []struct {
		name, op, want, not string
	}{
		{"unknown operator", "NoSuchOp", `NoSuchOp "n": unsupported operator NoSuchOp (domain ai.onnx)`, "--input-shape"},
		{"known operator", "Relu", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Name: "g", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
			g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{{Size: 1}, {Size: -1, Param: "L"}}, HasShape: true}}
			g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
			g.Nodes = []*graph.Node{{Name: "n", OpType: tc.op, Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}}
			m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}}
			b, err := m.Encode()
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "m.onnx")
			require.NoError(t, os.WriteFile(path, b, 0o644))
			code, _, errOut := runCLI("inspect", path)
			if tc.want == "" {
				require.Equal(t, 0, code, errOut)
				return
			}
			require.Equal(t, 1, code)
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, errOut, tc.not)
		})
	}
}

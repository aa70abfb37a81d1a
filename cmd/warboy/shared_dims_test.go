package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputShapeSharedNames: minibert's input_ids, attention_mask and
// token_type_ids all declare [batch,seq], so binding input_ids binds the other two
// (graph.ShareSymbolicDims) in every command; two bindings that disagree on seq are
// an error naming both inputs and the dimension.
func TestInputShapeSharedNames(t *testing.T) {
	model := filepath.Join(exportedDir, "minibert_opset14.onnx")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "inspect binds the mask from input_ids", args: []string{"inspect", model, "--input-shape", "input_ids=1,16", "--json"}},
		{name: "sim binds the mask from input_ids", args: []string{"sim", model, "--input-shape", "input_ids=1,16", "--timing-only", "--json"}},
		{
			name:    "conflicting seq",
			args:    []string{"inspect", model, "--input-shape", "input_ids=1,16", "--input-shape", "attention_mask=1,12"},
			wantErr: `symbolic dimension "seq" is 16 in input "input_ids" (dimension 1) but 12 in input "attention_mask" (dimension 1)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if tc.wantErr != "" {
				assert.NotEqual(t, 0, code)
				assert.Contains(t, errOut, tc.wantErr)
				return
			}
			require.Equal(t, 0, code, errOut)
			if tc.args[0] == "inspect" {
				var rep inspectReport
				require.NoError(t, json.Unmarshal([]byte(out), &rep))
				want := map[string][]int{"input_ids": {1, 16}, "attention_mask": {1, 16}, "token_type_ids": {1, 16}}
				assert.Equal(t, want, rep.InputShapes)
			}
		})
	}
}

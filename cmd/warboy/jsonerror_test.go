package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With --json a failure prints {"error": ..., "exit_code": N} on standard output (and
// the text on standard error as always), so a script reads JSON either way.
func TestJSONErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.onnx")
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing model", []string{"inspect", missing, "--json"}, 1, "no such file"},
		{"flag before the model", []string{"quantize", "--json", missing, "-o", filepath.Join(dir, "q.onnx")}, 1, "no such file"},
		{"usage error", []string{"quantize", cnn, "--json"}, 2, "-o OUT.onnx is required"},
		{"unknown flag", []string{"eval", "--frob", "--json"}, 2, "flag provided but not defined: -frob"},
		{"json=true", []string{"run", missing, "--json=true"}, 1, "no such file"},
		{"bench --format json", []string{"bench", missing, "--format", "json"}, 1, "no such file"},
		{"bench --format=json", []string{"bench", missing, "--format=json"}, 1, "no such file"},
		{"bench cpu", []string{"bench", "cpu", "--json"}, 2, "bench cpu takes one MODEL"},
		{"sim", []string{"sim", "zoo:nope", "--json"}, 2, "no model"},
		{"unknown command", []string{"frobnicate", "--json"}, 2, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			require.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want, "the text still goes to standard error")
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			var e errorJSON
			require.NoError(t, dec.Decode(&e), "stdout: %q", stdout)
			assert.False(t, dec.More(), "one JSON document")
			assert.Contains(t, e.Error, tt.want)
			assert.Equal(t, tt.code, e.ExitCode)
			var keys map[string]any
			require.NoError(t, json.Unmarshal([]byte(stdout), &keys))
			assert.Len(t, keys, 2, "error and exit_code are always both present")
		})
	}
	// Without --json (or with --json=false) standard output stays empty.
	for _, args := range [][]string{{"inspect", missing}, {"inspect", missing, "--json=false"}, {"bench", missing, "--format", "md"}} {
		code, stdout, _ := runCLI(args...)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout, args)
	}
}

// --format json means JSON only for the bench report (quantize --format is qdq or qoperator).
func TestWantsJSON(t *testing.T) {
	assert.True(t, wantsJSON("bench", []string{"m.onnx", "--format", "json"}))
	assert.True(t, wantsJSON("bench", []string{"--format=JSON"}))
	assert.False(t, wantsJSON("bench", []string{"cpu", "--format", "json"}))
	assert.False(t, wantsJSON("quantize", []string{"--format", "json"}))
	assert.True(t, wantsJSON("quantize", []string{"--json"}))
	assert.False(t, wantsJSON("quantize", []string{"--json", "--json=false"}))
	assert.False(t, wantsJSON("run", []string{"--", "--json"}))
}

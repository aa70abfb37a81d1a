package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renamedFlags are the flags renamed so that one idea has one name across commands:
// command, old spelling (still accepted, not listed by --help), new name. docs/cli.md
// lists the same table.
var renamedFlags = []struct{ cmd, old, name string }{
	{"bench", "cpu-iterations", "iterations"},
	{"bench cpu", "duration", "min-time"},
	{"sim", "calib", "calib-n"},
	{"sim", "inflight", "in-flight"},
	{"edit", "input", "input-name"},
	{"edit", "output", "output-name"},
}

func TestRenamedFlagsHelp(t *testing.T) {
	for _, r := range renamedFlags {
		code, out, _ := runCLI(append(strings.Fields(r.cmd), "--help")...)
		require.Equal(t, 0, code)
		assert.Contains(t, out, "\n  --"+r.name+" ", "%s lists --%s", r.cmd, r.name)
		assert.NotContains(t, out, "\n  --"+r.old+" ", "%s hides --%s", r.cmd, r.old)
	}
}

// The old spellings still work, and mean the same as the new names.
func TestRenamedFlagsStillWork(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	q := filepath.Join(dir, "q.onnx")
	code, _, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "20", "-o", q)
	require.Equal(t, 0, code, stderr)

	simJSON := func(args ...string) map[string]any {
		code, out, stderr := runCLI(append([]string{"sim"}, args...)...)
		require.Equal(t, 0, code, stderr)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &m))
		return m
	}
	for _, f := range []string{"--inflight", "--in-flight"} {
		assert.Equal(t, float64(2), simJSON("zoo:tiny_cnn", f, "2", "--json")["in_flight"], f)
	}
	resnet := filepath.Join(testModels, "fmnist_resnet.onnx")
	for _, f := range []string{"--calib", "--calib-n"} {
		assert.Contains(t, simJSON(resnet, f, "2", "--json")["preparation"], "calibration on 2 samples", f)
	}
	for _, f := range []string{"--duration", "--min-time"} {
		code, out, stderr := runCLI("bench", "cpu", "zoo:tiny_cnn", f, "1ms", "--iterations", "1", "--warmup", "0", "--json")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, `"int8"`, f)
	}
	for _, f := range []string{"--cpu-iterations", "--iterations"} {
		code, out, stderr := runCLI("bench", cnn, "--data", testData, "--methods", "MIN_MAX_ASYM", "--calib-n", "10", "--n", "20",
			"--compare-n", "5", f, "3", "--json")
		require.Equal(t, 0, code, stderr)
		var rep struct {
			CPU struct {
				Iterations int `json:"iterations"`
			} `json:"cpu_float32"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		assert.Equal(t, 3, rep.CPU.Iterations, f)
	}
	for _, f := range [][2]string{{"--input", "--output"}, {"--input-name", "--output-name"}} {
		out := filepath.Join(dir, strings.TrimLeft(f[0], "-")+".onnx")
		code, stdout, stderr := runCLI("edit", q, "--input-type", "uint8", f[0], "input", "--output-type", "int8", f[1], "logits", "-o", out)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `input "input": raw uint8`)
		assert.Contains(t, stdout, `output "logits": raw int8`)
		code, _, stderr = runCLI("edit", q, "--input-type", "uint8", f[0], "images", "-o", out)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, `no input "images"`)
	}
	// bench --json is --format json; both together must agree.
	code, _, stderr = runCLI("bench", cnn, "--json", "--format", "csv")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--json and --format csv disagree")
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.json")
	profile := filepath.Join(dir, "fast.json")
	require.NoError(t, os.WriteFile(profile, []byte(`{"model": {"dram_efficiency": {"value": 0.9}}}`), 0o644))
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"zoo model as JSON with a trace", []string{"sim", "zoo:tiny_cnn", "--json", "--trace", trace}, 0, []string{`"latency_us"`, `"ops"`, `"time_split_us"`}},
		{"text report", []string{"sim", "zoo:tiny_cnn", "--mode", "single", "--batch", "2"}, 0,
			[]string{"latency", "throughput", "MAC utilization", "DRAM", "SRAM", "time split", "per-operator timeline", "LowLevelConv2d", "simulator"}},
		{"float model from PyTorch, flags after the model", []string{"sim", filepath.Join("..", "..", "testdata", "models", "fmnist_resnet.onnx"), "--functional", "--calib", "2"}, 0,
			[]string{"MIN_MAX_ASYM calibration on 2 samples", "outputs     computed with the int8 runtime"}},
		{"2pe timing only with a what-if profile", []string{"sim", "zoo:tiny_cnn", "--mode", "2pe", "--timing-only", "--profile", profile}, 0, []string{"mode 2pe", "PE1"}},
		{"print profile", []string{"sim", "--print-profile", "--profile", profile}, 0, []string{`"dram_efficiency"`, `"kind": "user"`}},
		{"unknown mode", []string{"sim", "zoo:tiny_cnn", "--mode", "3pe"}, 2, []string{"unknown mode"}},
		{"unknown zoo model", []string{"sim", "zoo:nope"}, 2, []string{"no model"}},
		{"no model", []string{"sim"}, 2, []string{"sim takes one MODEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			require.Equal(t, tc.code, code, "stderr: %s", errb.String())
			all := out.String() + errb.String()
			for _, s := range tc.contains {
				require.Contains(t, all, s)
			}
		})
	}
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.NotEmpty(t, doc["traceEvents"])
}

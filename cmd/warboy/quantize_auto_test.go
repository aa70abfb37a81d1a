package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantizeMethodAuto(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	out := filepath.Join(dir, "auto.onnx")
	code, stdout, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "200", "--val-n", "200",
		"--method", "auto", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Method string `json:"method"`
		Auto   struct {
			Validation string `json:"validation"`
			Samples    int    `json:"samples"`
			Chosen     string `json:"chosen"`
			Methods    []struct {
				Method string `json:"method"`
				Score  struct {
					SQNR      float64 `json:"output_sqnr_db"`
					Agreement float64 `json:"top1_agreement"`
					Accuracy  float64 `json:"accuracy"`
				} `json:"score"`
			} `json:"methods"`
		} `json:"auto"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Len(t, rep.Auto.Methods, 10)
	assert.Equal(t, 200, rep.Auto.Samples)
	assert.Equal(t, rep.Method, rep.Auto.Chosen)
	assert.Contains(t, rep.Auto.Validation, "samples 200-399")
	for _, m := range rep.Auto.Methods {
		assert.Greater(t, m.Score.SQNR, 10.0, m.Method)
		assert.Greater(t, m.Score.Agreement, 0.9, m.Method)
	}
	_, err := os.Stat(out)
	require.NoError(t, err)

	// Text form, and usage errors.
	code, stdout, stderr = runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "100", "--val-n", "100",
		"--method", "auto", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "(chosen)")
	assert.Contains(t, stdout, "top-1 agreement %")
	code, _, stderr = runCLI("quantize", cnn, "--method", "auto", "--ranges-in", "x.json", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--ranges-in")
	code, _, stderr = runCLI("quantize", cnn, "--val-n", "10", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--val-n")
	code, _, stderr = runCLI("quantize", cnn, "--accuracy-budget", "-1", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "accuracy-budget")
}

func TestQuantizeAccuracyBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates the ResNet several times")
	}
	dir := t.TempDir()
	resnet := filepath.Join(testModels, "fmnist_resnet.onnx")
	out := filepath.Join(dir, "fb.onnx")
	// The ranges of the old ENTROPY search (quantizer/testdata; ~9 points below
	// float): the fallback must keep layers in float32 and price them.
	legacy := filepath.Join("..", "..", "quantizer", "testdata", "resnet_legacy_entropy_ranges.json")
	code, stdout, stderr := runCLI("quantize", resnet, "--ranges-in", legacy, "--calib-data", testData, "--calib-n", "1000",
		"--val-n", "300", "--accuracy-budget", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Fallback struct {
			Met      bool    `json:"met"`
			Baseline float64 `json:"baseline_latency_us"`
			Final    float64 `json:"final_latency_us"`
			Budget   struct {
				UseAccuracy bool `json:"use_accuracy"`
			} `json:"budget"`
			Start struct {
				Accuracy float64 `json:"accuracy"`
			} `json:"start"`
			Islands []struct {
				Nodes []string `json:"nodes"`
			} `json:"islands"`
			Prices []struct {
				LatencyUS float64 `json:"latency_us"`
				HostUS    float64 `json:"host_us"`
			} `json:"island_costs"`
		} `json:"fallback"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.True(t, rep.Fallback.Budget.UseAccuracy, "labelled data: the budget is in accuracy points")
	assert.True(t, rep.Fallback.Met)
	assert.Greater(t, rep.Fallback.Baseline, 0.0)
	require.Len(t, rep.Fallback.Prices, len(rep.Fallback.Islands))
	for _, p := range rep.Fallback.Prices {
		assert.Greater(t, p.HostUS, 0.0, "a float island runs on the host")
	}
	assert.NotEmpty(t, rep.Fallback.Islands)
	assert.Greater(t, rep.Fallback.Final, rep.Fallback.Baseline)
	assert.Less(t, rep.Fallback.Start.Accuracy, 0.9)
}

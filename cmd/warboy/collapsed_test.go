package main

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeOutlierIDX writes n 28x28 images of dim pixels (0-25), one in ten with a
// saturated pixel: the input's range is set by outliers a PERCENTILE method cannot clip on so
// few values.
func writeOutlierIDX(t *testing.T, dir string, n int) {
	t.Helper()
	rng := rand.New(rand.NewSource(9))
	px := make([]byte, n*28*28)
	for j := range px {
		px[j] = byte(rng.Intn(26))
	}
	for i := 0; i < n; i += 10 {
		px[i*28*28+rng.Intn(28*28)] = 255
	}
	writeIDXPixels(t, dir, "train", n, 28, 28, px)
}

// quantize warns that PERCENTILE picked the MIN_MAX range only for tensors whose range
// a few outliers set; the expected cases (input pixels, logits) are listed with -v.
func TestQuantizeCollapsedNotes(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	out := filepath.Join(dir, "q.onnx")
	code, stdout, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "100", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "MIN_MAX", "no warning where no clipping was expected")
	assert.NotContains(t, stdout, "MIN_MAX")

	code, stdout, stderr = runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "100", "-o", out, "-v")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "MIN_MAX")
	assert.Regexp(t, `\nnote: PERCENTILE_ASYM kept the MIN_MAX range \(no outliers to clip\) on \d of 8 tensors: .*input, logits\n`, stdout)

	outliers := t.TempDir()
	writeOutlierIDX(t, outliers, 20)
	code, _, stderr = runCLI("quantize", cnn, "--calib-data", outliers, "--calib-n", "20", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "warning: PERCENTILE_ASYM picked the MIN_MAX range on 1 of 8 tensors although a few outliers set their range "+
		"(it needs more than 20000 values per tensor to clip any at 99.99 %: calibrate on more samples or lower the percentile): [input]")
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A bad output path is refused before any work, with the user's path in the message
// and nothing written. The calibration data given does not exist: had the command
// calibrated first, the error would be about the data.
func TestOutputPathCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	missingDir := filepath.Join(dir, "missing")
	noData := filepath.Join(dir, "no-data")
	okOut := filepath.Join(dir, "ok.onnx")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"quantize -o", []string{"quantize", cnn, "--calib-data", noData, "-o", filepath.Join(missingDir, "x.onnx")},
			"warboy quantize: cannot write " + filepath.Join(missingDir, "x.onnx") + ": directory " + missingDir + " does not exist"},
		{"quantize -o a directory", []string{"quantize", cnn, "--calib-data", noData, "-o", dir}, "cannot write " + dir + ": it is a directory"},
		{"quantize --ranges-out", []string{"quantize", cnn, "--calib-data", noData, "-o", okOut, "--ranges-out", filepath.Join(missingDir, "r.json")},
			"cannot write " + filepath.Join(missingDir, "r.json")},
		{"edit -o", []string{"edit", cnn, "--output-type", "int8", "-o", filepath.Join(missingDir, "e.onnx")}, "cannot write " + filepath.Join(missingDir, "e.onnx")},
		{"bench -o", []string{"bench", cnn, "--data", noData, "-o", filepath.Join(missingDir, "r.md")}, "cannot write " + filepath.Join(missingDir, "r.md")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, ".tmp", "the temporary file is never named")
			assert.NotContains(t, stderr, "no-data", "nothing else was tried first")
			assert.NoFileExists(t, okOut)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}
}

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Errors about an output file name the user's path and the reason, never the
// temporary file it is written through, and leave nothing behind.
func TestCheckWritableAndWriteErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	ok := filepath.Join(dir, "out.onnx")
	require.NoError(t, CheckWritable(ok))
	assert.NoFileExists(t, ok)

	missing := filepath.Join(dir, "missing", "x.onnx")
	tests := []struct {
		path, want string
	}{
		{missing, "cannot write " + missing + ": directory " + filepath.Join(dir, "missing") + " does not exist"},
		{dir, "cannot write " + dir + ": it is a directory"},
		{filepath.Join(file, "x.onnx"), "cannot write " + filepath.Join(file, "x.onnx") + ": " + file + " is not a directory"},
	}
	for _, tt := range tests {
		assert.EqualError(t, CheckWritable(tt.path), tt.want)
	}
	err := WriteFile(missing, []byte("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot write "+missing+": ")
	assert.NotContains(t, err.Error(), ".tmp")
	err = WriteFile(dir, []byte("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot write "+dir+": ")
	assert.NotContains(t, err.Error(), ".tmp")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only the file the test made")
}

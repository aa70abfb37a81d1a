//go:build amd64 && !purego && !noasm

package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGeneratedRowsIdxUpToDate is TestGeneratedAssemblyUpToDate for the
// indexed row kernels, generated into their own files (-set rowsidx).
func TestGeneratedRowsIdxUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the avo generator")
	}
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", gen, ".")
	cmd.Dir = "_gen"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	sub := filepath.Join(dir, "_gen")
	require.NoError(t, os.Mkdir(sub, 0o755))
	cmd = exec.Command(gen, "-set", "rowsidx", "-out", "../asm_rows_idx_amd64.s", "-stubs", "../stubs_rows_idx_amd64.go", "-pkg", "kernels")
	cmd.Dir = sub
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for _, f := range []string{"asm_rows_idx_amd64.s", "stubs_rows_idx_amd64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		got, err := os.ReadFile(f)
		require.NoError(t, err)
		if !assert.True(quietT{}, bytes.Equal(want, got)) {
			require.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./kernels/...", f)
		}
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, errOut)
		assert.True(t, strings.HasPrefix(out, "warboy "+version), out)
		for _, s := range []string{"go:       go1.", "kernels:  int8 ", "float32 ", "profile:  warboy-v1 (profile format 1)"} {
			assert.Contains(t, out, s)
		}
	}
	for _, args := range [][]string{{"--version", "--json"}, {"version", "--json"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, 0, code, errOut)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &v))
		assert.Equal(t, version, v["version"])
		assert.Contains(t, v["go_version"], "go1.")
		assert.Contains(t, []any{"amx", "avx512vnni", "avx2", "go"}, v["int8_kernel_path"])
		assert.Equal(t, "warboy-v1", v["profile"])
		assert.Equal(t, float64(1), v["profile_format_version"])
	}
	code, _, errOut := runCLI("version", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "version takes no arguments")
}

// TestF32KernelsLabel checks the float32 kernel label of `version` and
// `bench cpu` on each combination of dispatch paths.
func TestF32KernelsLabel(t *testing.T) {
	for _, tc := range []struct{ gemm, conv, want string }{
		{"avx2", "avx512", "avx512 (packed GEMM avx2)"},
		{"avx2", "avx2", "avx2"},
		{"go", "go", "go"},
		{"avx512", "avx512", "avx512"},
	} {
		assert.Equal(t, tc.want, f32KernelsLabel(tc.gemm, tc.conv), "%s/%s", tc.gemm, tc.conv)
	}
}

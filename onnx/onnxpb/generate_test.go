package onnxpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeUpToDate regenerates onnx.pb.go from onnx.proto into a temporary
// directory and checks that the committed file is exactly what protoc produces: the
// generated code must never be edited by hand.
func TestGeneratedCodeUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds protoc-gen-go")
	}
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (make test installs protobuf-compiler)")
	}
	tmp := t.TempDir()
	plugin := filepath.Join(tmp, "protoc-gen-go")
	build := exec.Command("go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building protoc-gen-go: %s", out)
	gen := exec.Command(protoc, "--plugin=protoc-gen-go="+plugin, "--go_out="+tmp, "--go_opt=paths=source_relative",
		"--go_opt=Monnx.proto=github.com/warboy-sim/warboy/onnx/onnxpb", "onnx.proto")
	out, err = gen.CombinedOutput()
	require.NoError(t, err, "protoc: %s", out)
	want, err := os.ReadFile(filepath.Join(tmp, "onnx.pb.go"))
	require.NoError(t, err)
	have, err := os.ReadFile("onnx.pb.go")
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, have), "onnx.pb.go differs from what protoc generates from onnx.proto: run `go generate ./onnx/onnxpb`")
}

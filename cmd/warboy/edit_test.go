package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/warboy-sim/warboy/graph"
)

// edit on a float model says that the editor works on quantized models and gives the
// commands to run, with the user's own flags.
func TestEditFloatModelAdvice(t *testing.T) {
	dir := t.TempDir()
	m, err := graph.Load(filepath.Join(testModels, "fmnist_cnn.onnx"))
	if !assert.NoError(t, err) {
		return
	}
	model := filepath.Join(dir, "net.onnx")
	assert.NoError(t, m.Save(model))
	out := filepath.Join(dir, "raw.onnx")
	for _, args := range [][]string{
		{"edit", model, "--input-type", "uint8", "-o", out},
		{"edit", "-o", out, "--output-type", "int8", model},
	} {
		code, stdout, stderr := runCLI(args...)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, model+" is a float32 model: the editor works on quantized models")
		assert.Contains(t, stderr, "\n  warboy quantize "+model+" -o "+filepath.Join(dir, "net_int8.onnx")+"\n")
		flags := ""
		if args[1] == "-o" {
			flags = "--output-type int8"
		} else {
			flags = "--input-type uint8"
		}
		assert.Contains(t, stderr, "\n  warboy edit "+filepath.Join(dir, "net_int8.onnx")+" "+flags+" -o "+out+"\n")
		assert.NotContains(t, stderr, "readers")
		assert.NoFileExists(t, out)
	}
}

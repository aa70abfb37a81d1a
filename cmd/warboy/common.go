package main

import (
	"io"
	"strings"

	"fmt"
	"github.com/klauspost/cpuid/v2"
	"os"
	"path/filepath"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
)

// Bundled defaults, relative to the project root.
const (
	defaultModel = "testdata/models/fmnist_cnn.onnx"
	defaultData  = "testdata/fashion-mnist"
)

// projectPath resolves a bundled file: relative to the working directory, or to the
// directory above the executable (bin/warboy -> project root).
func projectPath(rel string) string {
	if _, err := os.Stat(rel); err == nil {
		return rel
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(filepath.Dir(exe)), rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return rel
}

// loadModel reads an ONNX model file with a message that names the file, and prints
// on stderr, once, what graph.LoadWarnings says about it (an opset newer than known,
// node names shared by several nodes).
func loadModel(path string, stderr io.Writer) (*graph.Model, error) {
	if path == "" {
		return nil, usageErr("no model given")
	}
	m, err := graph.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range graph.LoadWarnings(m) {
		fmt.Fprintf(stderr, "warning: %s: %s\n", path, w)
	}
	return m, nil
}

func fmtCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// cpuName is the CPU's brand string, for benchmark reports.
func cpuName() string {
	if n := strings.TrimSpace(cpuid.CPU.BrandName); n != "" {
		return n
	}
	return "unknown CPU"
}

// checkOutput checks, before any work, that the int8 model can be written to out and
// that out is not the float32 model read from in: quantize and qat would replace the
// original that compare, bench and a later quantize need.
func checkOutput(out, in string) error {
	if err := atomicfile.CheckWritable(out); err != nil {
		return err
	}
	a, errA := os.Stat(out)
	b, errB := os.Stat(in)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return usageErr("-o %s is the input model: the int8 model would replace the float32 original; give another path", out)
	}
	return nil
}

package graph

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeedModels are the bundled models the loader fuzz test starts from.
var fuzzSeedModels = []string{"fmnist_cnn.onnx", "fmnist_mlp.onnx", "fmnist_resnet.onnx"}

// FuzzLoad feeds arbitrary bytes to the model loader and validator: they must return
// a model or an error, never panic or allocate without bound. The seed corpus is the
// three bundled models plus truncated and corrupted copies, and a sample of ONNX's
// conformance models; `go test` runs the seeds, and
//
//	go test ./graph -run XXX -fuzz FuzzLoad -fuzzminimizetime 0
//
// explores further (minimizing an interesting 1.6 MB seed mutation takes minutes, so
// it is best turned off).
func FuzzLoad(f *testing.F) {
	for _, name := range fuzzSeedModels {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "models", name))
		if err != nil {
			f.Fatalf("seed model: %v", err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:len(data)-1])
		f.Add(data[:64])
		for _, pos := range []int{3, 17, 101, len(data) / 3, len(data) - 40} {
			c := append([]byte(nil), data...)
			c[pos] ^= 0xa5
			f.Add(c)
		}
	}
	// Small, operator-diverse seeds let the fuzzer mutate attributes and shapes quickly:
	// a sample of ONNX's conformance models when they are installed.
	conf, _ := filepath.Glob("/usr/share/libonnx-testdata/data/node/test_*/model.onnx")
	for i := 0; i < len(conf); i += 10 {
		if data, err := os.ReadFile(conf[i]); err == nil {
			f.Add(data)
		}
	}
	// Subgraphs (If branches, a Loop body, nesting), whole and damaged.
	if data, err := os.ReadFile(filepath.Join("..", "testdata", "exported", "control_flow_opset13.onnx")); err == nil {
		f.Add(data)
		for _, pos := range []int{41, len(data) / 2, len(data) - 90} {
			c := append([]byte(nil), data...)
			c[pos] ^= 0xa5
			f.Add(c)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x00})             // empty graph field
	f.Add([]byte{0x3a, 0xff, 0xff, 0xff}) // graph field with an impossible length
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		_ = m.Validate(NoFold{})
		if enc, err := m.Encode(); err == nil {
			// What we can load and encode we must be able to load again.
			if _, err := Decode(enc); err != nil {
				t.Fatalf("re-decoding an encoded model failed: %v", err)
			}
		}
	})
}

package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// FuzzSession mutates models and runs them: loading, shape inference (which executes
// kernels to fold constants), kernel building and one run on zero inputs must return
// errors for bad models, never panic. Seeds are the MLP model and a sample of ONNX's
// conformance models. `go test ./runtime -run XXX -fuzz FuzzSession -fuzzminimizetime 0`
// explores further.
func FuzzSession(f *testing.F) {
	if data, err := os.ReadFile("../testdata/models/fmnist_mlp.onnx"); err == nil {
		f.Add(data)
	}
	conf, _ := filepath.Glob(filepath.Join(conformanceDir, "test_*", "model.onnx"))
	for i := 0; i < len(conf); i += 7 {
		if data, err := os.ReadFile(conf[i]); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := graph.Decode(data)
		if err != nil {
			return
		}
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
		if err != nil {
			return
		}
		// Run only models whose every value has a known, modest size: a mutated model
		// may legitimately ask for gigabytes (Range to 2^31, say), which is not a bug.
		for _, v := range s.Model().Graph.Values {
			dims, ok := v.Shape.Concrete()
			if !v.HasShape || !ok || !smallShape(dims, 1<<20) {
				return
			}
		}
		inputs := map[string]*graph.Tensor{}
		for _, in := range s.Inputs() {
			if in == nil || !in.HasShape {
				return
			}
			dims, ok := in.Shape.Concrete()
			if !ok || !smallShape(dims, 1<<16) {
				return
			}
			t := graph.NewTensor(in.DType, dims)
			if t.Data == nil {
				return
			}
			inputs[in.Name] = t
		}
		_, _ = s.RunTensors(inputs)
	})
}

// smallShape reports whether a shape has at most limit elements (without overflowing).
func smallShape(dims []int, limit int) bool {
	n := 1
	for _, d := range dims {
		if d < 0 || d > limit {
			return false
		}
		if n *= d; n > limit {
			return false
		}
	}
	return true
}

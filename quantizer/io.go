package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// SaveModel writes m as an ONNX file. The file is written to a temporary name and
// renamed into place, so a failure never leaves a partial model behind.
func SaveModel(m *graph.Model, path string) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// WriteFileAtomic writes data to path through a temporary file and a rename.
func WriteFileAtomic(path string, data []byte) error { return writeFileAtomic(path, data) }

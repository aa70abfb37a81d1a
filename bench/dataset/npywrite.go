package dataset

import (
	"archive/zip"
	"fmt"
	"io"

	"github.com/warboy-sim/warboy/graph"
)

// NamedTensor is one array of an .npz archive.
type NamedTensor struct {
	Name   string
	Tensor *graph.Tensor
}

// WriteNPZ writes tensors as an .npz archive, the way numpy.savez does: a zip file
// with one uncompressed NAME.npy entry per array, so numpy.load(path)[NAME] returns
// it. Names must be unique and non-empty.
func WriteNPZ(w io.Writer, arrays []NamedTensor) error {
	seen := map[string]bool{}
	zw := zip.NewWriter(w)
	for _, a := range arrays {
		if a.Name == "" {
			return fmt.Errorf(".npz: an array has no name")
		}
		if seen[a.Name] {
			return fmt.Errorf(".npz: array %q is given twice", a.Name)
		}
		seen[a.Name] = true
		f, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
		if err != nil {
			return fmt.Errorf(".npz: %q: %w", a.Name, err)
		}
		if err := WriteNPY(f, a.Tensor); err != nil {
			return fmt.Errorf(".npz: %q: %w", a.Name, err)
		}
	}
	return zw.Close()
}

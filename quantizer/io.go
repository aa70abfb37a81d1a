package quantizer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// CheckWritable reports whether WriteFileAtomic can write path, so a command can refuse
// a bad output path before minutes of calibration rather than after. It checks that the
// directory exists and accepts a new file (by creating and removing an empty temporary
// file there) and that path is not a directory. Errors name path, never the probe.
func CheckWritable(path string) error {
	if path == "" {
		return errors.New("no output path")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("cannot write %s: it is a directory", path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	case !st.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// pathErr drops the file names of an *fs.PathError or *os.LinkError (the temporary file's, which means
// nothing to the user) and keeps the reason.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// Package atomicfile writes files all at once: through a temporary file next to the
// destination and a rename, so a failure never leaves a partial file behind. Errors
// name the user's path and the reason, never the temporary file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path (mode 0644) through a temporary file in the same
// directory and a rename.
func WriteFile(path string, data []byte) error {
	fail := func(err error) error { return fmt.Errorf("cannot write %s: %w", path, pathErr(err)) }
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	cleanup := func(err error) error {
		os.Remove(tmp)
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return cleanup(err)
	}
	if err := f.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return cleanup(err)
	}
	return nil
}

// CheckWritable reports whether WriteFile can write path, so a command can refuse a
// bad output path before minutes of calibration rather than after. It checks that the
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

// pathErr drops the file names of an *fs.PathError or *os.LinkError (the temporary
// file's, which means nothing to the user) and keeps the reason.
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

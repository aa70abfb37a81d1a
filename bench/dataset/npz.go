package dataset

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// maxNPZMember bounds the uncompressed size of one .npz member (refused before
// reading it).
const maxNPZMember = 1 << 32

// ReadNPZ reads a NumPy .npz archive (np.savez or np.savez_compressed): one array per
// member, keyed by the member name without ".npy".
func ReadNPZ(path string) (map[string]*graph.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, err := DecodeNPZ(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// DecodeNPZ parses .npz bytes.
func DecodeNPZ(data []byte) (map[string]*graph.Tensor, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not an .npz (zip) archive: %w", err)
	}
	out := map[string]*graph.Tensor{}
	for _, f := range zr.File {
		name, ok := npzMemberName(f.Name)
		if !ok {
			continue
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("array %q appears twice", name)
		}
		if f.UncompressedSize64 > maxNPZMember {
			return nil, fmt.Errorf("array %q: %d bytes is too large", name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		t, err := DecodeNPY(b)
		if err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		out[name] = t
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the archive holds no .npy arrays")
	}
	return out, nil
}

// npzArrayInfo is the dtype and shape of one .npz member, read from its header only.
type npzArrayInfo struct {
	dtype graph.DType
	shape []int
}

// scanNPZ lists the arrays of an .npz file with their dtypes and shapes, reading only
// each member's header (a few hundred bytes, decompressed).
func scanNPZ(path string) (map[string]npzArrayInfo, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not an .npz (zip) archive: %w", path, err)
	}
	defer zr.Close()
	out := map[string]npzArrayInfo{}
	for _, f := range zr.File {
		name, ok := npzMemberName(f.Name)
		if !ok {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", path, name, err)
		}
		h, err := readNPYHeader(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", path, name, err)
		}
		out[name] = npzArrayInfo{h.dtype, h.shape}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: the archive holds no .npy arrays", path)
	}
	return out, nil
}

// readNPYHeader reads just the header of a .npy stream.
func readNPYHeader(r io.Reader) (*npyHeader, error) {
	pre := make([]byte, 12)
	n, err := io.ReadFull(r, pre)
	if err != nil && n < 10 {
		return nil, fmt.Errorf("not a .npy file")
	}
	pre = pre[:n]
	var hlen int
	switch {
	case len(pre) >= 10 && pre[6] == 1:
		hlen = 10 + (int(pre[8]) | int(pre[9])<<8)
	case len(pre) >= 12 && (pre[6] == 2 || pre[6] == 3):
		u := uint32(pre[8]) | uint32(pre[9])<<8 | uint32(pre[10])<<16 | uint32(pre[11])<<24
		if u > 1<<20 {
			return nil, fmt.Errorf(".npy header of %d bytes is too large", u)
		}
		hlen = 12 + int(u)
	default:
		return parseNPYHeader(pre) // reports what is wrong
	}
	buf := make([]byte, hlen)
	copy(buf, pre)
	if hlen > len(pre) {
		if _, err := io.ReadFull(r, buf[len(pre):]); err != nil {
			return nil, fmt.Errorf("truncated .npy header")
		}
	}
	return parseNPYHeader(buf)
}

// npyFileHeader reads the header of a .npy file.
func npyFileHeader(path string) (*npyHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readNPYHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func npzMemberName(n string) (string, bool) {
	if !strings.HasSuffix(n, ".npy") {
		return "", false
	}
	return strings.TrimSuffix(n, ".npy"), true
}

func sortedNames[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

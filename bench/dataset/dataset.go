package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Dataset is a set of uint8 images (N x C x H x W, row-major) with optional labels.
type Dataset struct {
	Name       string
	N, C, H, W int
	Pixels     []uint8
	// Labels holds one class index per image, or nil when the set is unlabelled.
	Labels []int
	// Scale and Offset turn a pixel p into the model input p*Scale + Offset. The
	// bundled models take pixel/255.
	Scale, Offset float32
}

// maxIDXElements bounds what an IDX header may declare (refused before allocating).
const maxIDXElements = 1 << 32

// Load reads a data set from dir. For IDX data, split names the file prefix
// ("t10k" for the Fashion-MNIST test set, "train" for training images): it reads
// SPLIT-images-idx3-ubyte[.gz] and SPLIT-labels-idx1-ubyte[.gz]. A directory of
// images with a labels.txt (see LoadImageDir) is read when no IDX file is found.
func Load(dir, split string) (*Dataset, error) {
	if split == "" {
		split = "t10k"
	}
	img := findFile(dir, split+"-images-idx3-ubyte")
	if img == "" {
		if _, err := os.Stat(filepath.Join(dir, "labels.txt")); err == nil {
			return LoadImageDir(dir)
		}
		return nil, fmt.Errorf("dataset %s: no %s-images-idx3-ubyte[.gz] and no labels.txt", dir, split)
	}
	ds, err := readIDXImages(img)
	if err != nil {
		return nil, err
	}
	if lab := findFile(dir, split+"-labels-idx1-ubyte"); lab != "" {
		labels, err := readIDXLabels(lab)
		if err != nil {
			return nil, err
		}
		if len(labels) != ds.N {
			return nil, fmt.Errorf("dataset %s: %d images but %d labels", dir, ds.N, len(labels))
		}
		ds.Labels = labels
	}
	ds.Name = filepath.Base(dir) + "/" + split
	return ds, nil
}

func findFile(dir, base string) string {
	for _, name := range []string{base, base + ".gz"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// ReadIDX reads an IDX file of unsigned bytes, returning its dimensions and data.
func ReadIDX(path string) (dims []int, data []uint8, err error) {
	rc, err := openMaybeGzip(path)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	return DecodeIDX(bufio.NewReader(rc), path)
}

// DecodeIDX reads IDX data of unsigned bytes from r (name labels the errors).
func DecodeIDX(r io.Reader, path string) (dims []int, data []uint8, err error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("%s: reading IDX header: %w", path, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, fmt.Errorf("%s: not an IDX file (magic %x)", path, magic)
	}
	if magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("%s: IDX element type 0x%02x, only unsigned bytes (0x08) are supported", path, magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, nil, fmt.Errorf("%s: IDX with %d dimensions", path, nd)
	}
	total := int64(1)
	for i := 0; i < nd; i++ {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: reading IDX dimensions: %w", path, err)
		}
		dims = append(dims, int(d))
		total *= int64(d)
		if total > maxIDXElements {
			return nil, nil, fmt.Errorf("%s: IDX declares more than %d elements", path, int64(maxIDXElements))
		}
	}
	// Read what is there rather than allocate what the header declares: a corrupt
	// header of a few bytes must not cost gigabytes before the truncation shows.
	data, err = io.ReadAll(io.LimitReader(r, total))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading IDX data: %w", path, err)
	}
	if int64(len(data)) != total {
		return nil, nil, fmt.Errorf("%s: IDX data truncated: the header declares %v (%d bytes), the file holds %d", path, dims, total, len(data))
	}
	return dims, data, nil
}

func readIDXImages(path string) (*Dataset, error) {
	dims, data, err := ReadIDX(path)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Scale: 1.0 / 255, Pixels: data}
	switch len(dims) {
	case 3:
		ds.N, ds.C, ds.H, ds.W = dims[0], 1, dims[1], dims[2]
	case 4:
		ds.N, ds.C, ds.H, ds.W = dims[0], dims[1], dims[2], dims[3]
	default:
		return nil, fmt.Errorf("%s: image file has %d dimensions, want 3 (N,H,W) or 4", path, len(dims))
	}
	return ds, nil
}

func readIDXLabels(path string) ([]int, error) {
	dims, data, err := ReadIDX(path)
	if err != nil {
		return nil, err
	}
	if len(dims) != 1 {
		return nil, fmt.Errorf("%s: label file has %d dimensions, want 1", path, len(dims))
	}
	out := make([]int, len(data))
	for i, v := range data {
		out[i] = int(v)
	}
	return out, nil
}

// Subset returns the first n images (all when n <= 0 or n >= N), sharing storage.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n >= d.N {
		return d
	}
	return d.Slice(0, n)
}

// Slice returns images [start, start+n) of d, sharing storage.
func (d *Dataset) Slice(start, n int) *Dataset {
	c := *d
	sz := d.ImageSize()
	c.N = n
	c.Pixels = d.Pixels[start*sz : (start+n)*sz]
	if d.Labels != nil {
		c.Labels = d.Labels[start : start+n]
	}
	return &c
}

// ImageSize is the number of pixels of one image.
func (d *Dataset) ImageSize() int { return d.C * d.H * d.W }

// Batch returns images [start, start+n) as a float32 NCHW tensor, preprocessed with
// Scale and Offset. n is clipped at the end of the set.
func (d *Dataset) Batch(start, n int) *graph.Tensor {
	if start+n > d.N {
		n = d.N - start
	}
	if n < 0 {
		n = 0
	}
	sz := d.ImageSize()
	out := make([]float32, n*sz)
	px := d.Pixels[start*sz : (start+n)*sz]
	scale, off := d.Scale, d.Offset
	if scale == 0 {
		scale = 1.0 / 255
	}
	for i, p := range px {
		out[i] = float32(p)*scale + off
	}
	return graph.FromFloat32([]int{n, d.C, d.H, d.W}, out)
}

// BatchUint8 returns images [start, start+n) as raw uint8 NCHW pixels, for models
// whose input was converted to uint8 by the model editor.
func (d *Dataset) BatchUint8(start, n int) *graph.Tensor {
	if start+n > d.N {
		n = d.N - start
	}
	sz := d.ImageSize()
	return graph.FromUint8([]int{n, d.C, d.H, d.W}, d.Pixels[start*sz:(start+n)*sz])
}

// Top1 returns the argmax of each row of a [N, classes] float tensor (the first
// maximum on ties, as numpy's argmax).
func Top1(logits *graph.Tensor) ([]int, error) {
	if len(logits.Shape) != 2 {
		return nil, fmt.Errorf("top-1: logits have shape %v, want [N, classes]", logits.Shape)
	}
	vals, err := logits.AsFloat64()
	if err != nil {
		return nil, err
	}
	n, k := logits.Shape[0], logits.Shape[1]
	if k == 0 {
		return nil, errors.New("top-1: zero classes")
	}
	out := make([]int, n)
	for i := 0; i < n; i++ {
		row := vals[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out, nil
}

// Accuracy is the fraction of predictions equal to labels.
func Accuracy(pred, labels []int) float64 {
	if len(pred) == 0 {
		return 0
	}
	ok := 0
	for i, p := range pred {
		if i < len(labels) && p == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

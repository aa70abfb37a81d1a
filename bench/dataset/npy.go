package dataset

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a NumPy .npy file (format 1.0-3.0, C or Fortran order; float16/32/64,
// signed and unsigned integers of 1-8 bytes, bool; either byte order).
func ReadNPY(path string) (*graph.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := DecodeNPY(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// DecodeNPY parses .npy bytes.
func DecodeNPY(data []byte) (*graph.Tensor, error) {
	h, err := parseNPYHeader(data)
	if err != nil {
		return nil, err
	}
	body := data[h.dataOffset:]
	need := graph.NumElements(h.shape) * h.elemSize
	if len(body) < need {
		return nil, fmt.Errorf(".npy data truncated: %d bytes for shape %v of %s", len(body), h.shape, h.descr)
	}
	return h.decode(body[:need])
}

// npyHeader is what a .npy header says about the array that follows it.
type npyHeader struct {
	descr      string
	dtype      graph.DType
	elemSize   int
	bigEndian  bool
	fortran    bool // column-major: np.save of a transposed or Fortran-ordered array writes it so
	shape      []int
	dataOffset int
}

// maxNPYElements bounds what a header may declare (refused before allocating).
const maxNPYElements = 1 << 31

// parseNPYHeader reads the magic, version and header dictionary; data may hold just
// the header (the array need not follow).
func parseNPYHeader(data []byte) (*npyHeader, error) {
	if len(data) < 10 || !bytes.Equal(data[:6], []byte("\x93NUMPY")) {
		return nil, fmt.Errorf("not a .npy file")
	}
	var hlen, off int
	switch data[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, fmt.Errorf("truncated .npy header")
		}
		u := binary.LittleEndian.Uint32(data[8:12])
		if u > 1<<20 {
			return nil, fmt.Errorf(".npy header of %d bytes is too large", u)
		}
		hlen, off = int(u), 12
	default:
		return nil, fmt.Errorf(".npy format version %d is not supported", data[6])
	}
	if off+hlen > len(data) {
		return nil, fmt.Errorf("truncated .npy header")
	}
	header := string(data[off : off+hlen])
	d := npyDescr.FindStringSubmatch(header)
	f := npyFortran.FindStringSubmatch(header)
	s := npyShape.FindStringSubmatch(header)
	if d == nil || f == nil || s == nil {
		return nil, fmt.Errorf("bad .npy header %q", header)
	}
	h := &npyHeader{descr: d[1], dataOffset: off + hlen, fortran: f[1] == "True"}
	n := 1
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad .npy shape %q", s[1])
		}
		if v > 0 && n > maxNPYElements/v {
			return nil, fmt.Errorf(".npy shape (%s) is too large", s[1])
		}
		h.shape = append(h.shape, v)
		n *= v
	}
	if h.shape == nil {
		h.shape = []int{}
	}
	descr := d[1]
	if len(descr) != 3 || !strings.ContainsRune("<>|=", rune(descr[0])) {
		return nil, fmt.Errorf(".npy dtype %q is not supported", descr)
	}
	h.bigEndian = descr[0] == '>'
	kind := descr[1:]
	switch kind {
	case "f2":
		h.dtype = graph.Float16
	case "f4":
		h.dtype = graph.Float32
	case "f8":
		h.dtype = graph.Float64
	case "i1":
		h.dtype = graph.Int8
	case "u1":
		h.dtype = graph.Uint8
	case "b1":
		h.dtype = graph.Bool
	case "i2":
		h.dtype = graph.Int16
	case "u2":
		h.dtype = graph.Uint16
	case "i4":
		h.dtype = graph.Int32
	case "u4":
		h.dtype = graph.Uint32
	case "i8":
		h.dtype = graph.Int64
	case "u8":
		h.dtype = graph.Uint64
	default:
		return nil, fmt.Errorf(".npy dtype %q is not supported", descr)
	}
	h.elemSize = int(kind[1] - '0')
	return h, nil
}

// decode interprets the array bytes (exactly NumElements(shape) elements).
func (h *npyHeader) decode(b []byte) (*graph.Tensor, error) {
	if h.bigEndian && h.elemSize > 1 {
		// Swap to little-endian in a copy.
		c := make([]byte, len(b))
		for i := 0; i+h.elemSize <= len(b); i += h.elemSize {
			for j := 0; j < h.elemSize; j++ {
				c[i+j] = b[i+h.elemSize-1-j]
			}
		}
		b = c
	}
	if h.fortran && len(h.shape) > 1 {
		b = fortranToC(b, h.shape, h.elemSize)
	}
	return DecodeRaw(b, h.dtype, h.shape)
}

// fortranToC reorders column-major array bytes (the first index varying fastest)
// into row-major order.
func fortranToC(b []byte, shape []int, size int) []byte {
	r := len(shape)
	fstride := make([]int, r) // in elements
	st := 1
	for i := 0; i < r; i++ {
		fstride[i] = st
		st *= shape[i]
	}
	out := make([]byte, len(b))
	idx := make([]int, r)
	off := 0 // the Fortran offset of idx
	for c := 0; c < st; c++ {
		copy(out[c*size:(c+1)*size], b[off*size:(off+1)*size])
		// Advance idx in row-major order (the last index fastest).
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			off += fstride[i]
			if idx[i] < shape[i] {
				break
			}
			off -= idx[i] * fstride[i]
			idx[i] = 0
		}
	}
	return out
}

// DecodeRaw interprets little-endian bytes as a tensor of the given type and shape.
func DecodeRaw(b []byte, dt graph.DType, shape []int) (*graph.Tensor, error) {
	// The shape comes from the user (run --shape): its element count is checked for
	// overflow, so that a huge shape cannot wrap around to the file's size.
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > maxNPYElements/d {
			return nil, fmt.Errorf("shape %v has more than %d elements", shape, maxNPYElements)
		}
		n *= d
	}
	if dt.Size() <= 0 {
		return nil, fmt.Errorf("raw data of type %s is not supported", dt)
	}
	if len(b) != n*dt.Size() {
		return nil, fmt.Errorf("%d bytes, shape %v of %s needs %d", len(b), shape, dt, n*dt.Size())
	}
	t := graph.NewTensor(dt, shape)
	le := binary.LittleEndian
	switch x := t.Data.(type) {
	case []float32:
		for i := range x {
			x[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range x {
			x[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case []int8:
		for i := range x {
			x[i] = int8(b[i])
		}
	case []uint8:
		copy(x, b)
	case []int32:
		for i := range x {
			x[i] = int32(le.Uint32(b[4*i:]))
		}
	case []int64:
		for i := range x {
			x[i] = int64(le.Uint64(b[8*i:]))
		}
	case []int16:
		for i := range x {
			x[i] = int16(le.Uint16(b[2*i:]))
		}
	case []uint16: // also Float16 bits
		for i := range x {
			x[i] = le.Uint16(b[2*i:])
		}
	case []uint32:
		for i := range x {
			x[i] = le.Uint32(b[4*i:])
		}
	case []uint64:
		for i := range x {
			x[i] = le.Uint64(b[8*i:])
		}
	case []bool:
		for i := range x {
			x[i] = b[i] != 0
		}
	default:
		return nil, fmt.Errorf("raw %s data is not supported", dt)
	}
	return t, nil
}

// WriteNPY writes a tensor as a .npy file (format 1.0).
func WriteNPY(w io.Writer, t *graph.Tensor) error {
	// Every type ReadNPY reads is written back (bool and float16 outputs of
	// exported models: comparison masks, onnxconverter-common float16 models).
	descr := map[graph.DType]string{graph.Float32: "<f4", graph.Float64: "<f8", graph.Float16: "<f2",
		graph.Int8: "|i1", graph.Uint8: "|u1", graph.Int16: "<i2", graph.Uint16: "<u2", graph.Int32: "<i4",
		graph.Uint32: "<u4", graph.Int64: "<i8", graph.Uint64: "<u8", graph.Bool: "|b1"}[t.DType]
	if descr == "" {
		return fmt.Errorf("cannot write %s as .npy", t.DType)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	pad := 16 - (10+len(header)+1)%16
	header += strings.Repeat(" ", pad%16) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	tp, err := t.ToProto("")
	if err != nil {
		return err
	}
	buf.Write(tp.GetRawData())
	_, err = w.Write(buf.Bytes())
	return err
}

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

// ReadNPY reads a NumPy .npy file (format 1.0-3.0, C order, little-endian float32,
// float64, int8, uint8, int32 or int64).
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
	if len(data) < 10 || !bytes.Equal(data[:6], []byte("\x93NUMPY")) {
		return nil, fmt.Errorf("not a .npy file")
	}
	major := data[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, fmt.Errorf("truncated .npy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(data[8:12])), 12
	default:
		return nil, fmt.Errorf(".npy format version %d is not supported", major)
	}
	if off+hlen > len(data) {
		return nil, fmt.Errorf("truncated .npy header")
	}
	header := string(data[off : off+hlen])
	body := data[off+hlen:]
	d := npyDescr.FindStringSubmatch(header)
	f := npyFortran.FindStringSubmatch(header)
	s := npyShape.FindStringSubmatch(header)
	if d == nil || f == nil || s == nil {
		return nil, fmt.Errorf("bad .npy header %q", header)
	}
	if f[1] == "True" {
		return nil, fmt.Errorf("Fortran-order .npy arrays are not supported")
	}
	var shape []int
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
		if v > 0 && n > (1<<31)/v {
			return nil, fmt.Errorf(".npy shape %v is too large", s[1])
		}
		shape = append(shape, v)
		n *= v
	}
	var dt graph.DType
	switch d[1] {
	case "<f4":
		dt = graph.Float32
	case "<f8":
		dt = graph.Float64
	case "|i1", "<i1":
		dt = graph.Int8
	case "|u1", "<u1":
		dt = graph.Uint8
	case "<i4":
		dt = graph.Int32
	case "<i8":
		dt = graph.Int64
	default:
		return nil, fmt.Errorf(".npy dtype %q is not supported", d[1])
	}
	if len(body) < n*dt.Size() {
		return nil, fmt.Errorf(".npy data truncated: %d bytes for shape %v of %s", len(body), shape, dt)
	}
	return DecodeRaw(body[:n*dt.Size()], dt, shape)
}

// DecodeRaw interprets little-endian bytes as a tensor of the given type and shape.
func DecodeRaw(b []byte, dt graph.DType, shape []int) (*graph.Tensor, error) {
	n := graph.NumElements(shape)
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
	default:
		return nil, fmt.Errorf("raw %s data is not supported", dt)
	}
	return t, nil
}

// WriteNPY writes a tensor as a .npy file (format 1.0).
func WriteNPY(w io.Writer, t *graph.Tensor) error {
	descr := map[graph.DType]string{graph.Float32: "<f4", graph.Float64: "<f8", graph.Int8: "|i1", graph.Uint8: "|u1", graph.Int32: "<i4", graph.Int64: "<i8"}[t.DType]
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

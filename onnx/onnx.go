package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Limits bound what a model may declare, so that a corrupted or hostile file is refused
// with an error instead of exhausting memory.
type Limits struct {
	// MaxFileBytes is the largest model file accepted.
	MaxFileBytes int64
	// MaxTensorElements is the largest element count a single tensor may declare.
	MaxTensorElements int64
	// MaxTotalBytes is the largest total size of all initializers.
	MaxTotalBytes int64
}

// DefaultLimits accept models up to 2 GiB (protobuf's own limit) with tensors of at most
// 2^31 elements.
var DefaultLimits = Limits{
	MaxFileBytes:      2 << 30,
	MaxTensorElements: 1 << 31,
	MaxTotalBytes:     8 << 30,
}

// ErrMalformed is wrapped by every error caused by the content of a model file.
var ErrMalformed = errors.New("malformed ONNX model")

// LoadFile reads a model file and resolves its external data relative to the file's
// directory.
func LoadFile(path string) (*onnxpb.ModelProto, error) {
	return LoadFileWithLimits(path, DefaultLimits)
}

// LoadFileWithLimits is LoadFile with explicit limits.
func LoadFileWithLimits(path string, lim Limits) (*onnxpb.ModelProto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not an ONNX file", path)
	}
	if st.Size() > lim.MaxFileBytes {
		return nil, fmt.Errorf("%s: %w: file is %d bytes, limit %d", path, ErrMalformed, st.Size(), lim.MaxFileBytes)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	m, err := DecodeWithLimits(data, filepath.Dir(path), lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode parses a serialized model. baseDir is where external data files are looked up;
// an empty baseDir refuses external data.
func Decode(data []byte, baseDir string) (*onnxpb.ModelProto, error) {
	return DecodeWithLimits(data, baseDir, DefaultLimits)
}

// DecodeWithLimits is Decode with explicit limits.
func DecodeWithLimits(data []byte, baseDir string, lim Limits) (*onnxpb.ModelProto, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrMalformed)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%w: protobuf: %v", ErrMalformed, err)
	}
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("%w: no graph (not an ONNX model?)", ErrMalformed)
	}
	if err := CheckLimits(m, lim); err != nil {
		return nil, err
	}
	if err := resolveExternal(m.GetGraph(), baseDir, lim); err != nil {
		return nil, err
	}
	return m, nil
}

// Encode serializes a model with all tensors inline.
func Encode(m *onnxpb.ModelProto) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// SaveFile writes a model. Tensors larger than externalThreshold bytes are written to
// a data file next to the model (path + ".data") when externalThreshold > 0, which is
// needed for models above protobuf's 2 GiB limit.
func SaveFile(path string, m *onnxpb.ModelProto, externalThreshold int) error {
	if externalThreshold > 0 {
		m = proto.Clone(m).(*onnxpb.ModelProto)
		if err := externalize(m.GetGraph(), path, externalThreshold); err != nil {
			return err
		}
	}
	data, err := Encode(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data)
}

// ElemSize returns the byte size of one element of an ONNX data type, or 0 when the
// type has no fixed size (string, undefined).
func ElemSize(dataType int32) int {
	dt := onnxpb.TensorProto_DataType(dataType)
	switch dt {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_INT8, onnxpb.TensorProto_BOOL:
		return 1
	case onnxpb.TensorProto_UINT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return 2
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_COMPLEX64:
		return 8
	case onnxpb.TensorProto_COMPLEX128:
		return 16
	}
	return 0
}

// NumElements returns the element count of dims, or an error if a dimension is negative
// or the product exceeds max.
func NumElements(dims []int64, max int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		if d != 0 && n > max/d {
			return 0, fmt.Errorf("shape %v declares more than %d elements", dims, max)
		}
		n *= d
	}
	if n > max {
		return 0, fmt.Errorf("shape %v declares %d elements, limit %d", dims, n, max)
	}
	return n, nil
}

// CheckLimits verifies every tensor of the graph (initializers, Constant attributes,
// subgraphs) against the limits and against the size of the data it actually carries.
func CheckLimits(m *onnxpb.ModelProto, lim Limits) error {
	var total int64
	var walk func(g *onnxpb.GraphProto) error
	check := func(where string, t *onnxpb.TensorProto) error {
		n, err := NumElements(t.GetDims(), lim.MaxTensorElements)
		if err != nil {
			return fmt.Errorf("%w: tensor %q (%s): %v", ErrMalformed, t.GetName(), where, err)
		}
		es := int64(ElemSize(t.GetDataType()))
		total += n * es
		if total > lim.MaxTotalBytes {
			return fmt.Errorf("%w: tensors exceed %d bytes in total", ErrMalformed, lim.MaxTotalBytes)
		}
		if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		if raw := t.GetRawData(); raw != nil && es > 0 && int64(len(raw)) != n*es {
			return fmt.Errorf("%w: tensor %q (%s): raw_data has %d bytes, shape %v needs %d", ErrMalformed, t.GetName(), where, len(raw), t.GetDims(), n*es)
		}
		return nil
	}
	walk = func(g *onnxpb.GraphProto) error {
		for _, t := range g.GetInitializer() {
			if err := check("initializer", t); err != nil {
				return err
			}
		}
		for _, n := range g.GetNode() {
			for _, a := range n.GetAttribute() {
				if a.GetT() != nil {
					if err := check(fmt.Sprintf("attribute %s of node %q", a.GetName(), n.GetName()), a.GetT()); err != nil {
						return err
					}
				}
				for _, t := range a.GetTensors() {
					if err := check(fmt.Sprintf("attribute %s of node %q", a.GetName(), n.GetName()), t); err != nil {
						return err
					}
				}
				if a.GetG() != nil {
					if err := walk(a.GetG()); err != nil {
						return err
					}
				}
				for _, sg := range a.GetGraphs() {
					if err := walk(sg); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return walk(m.GetGraph())
}

// externalInfo is the parsed external_data of a tensor.
type externalInfo struct {
	location string
	offset   int64
	length   int64
}

func parseExternal(t *onnxpb.TensorProto) (externalInfo, error) {
	var e externalInfo
	e.length = -1
	for _, kv := range t.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			e.location = kv.GetValue()
		case "offset":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return e, fmt.Errorf("bad offset %q", kv.GetValue())
			}
			e.offset = v
		case "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return e, fmt.Errorf("bad length %q", kv.GetValue())
			}
			e.length = v
		}
	}
	if e.location == "" {
		return e, errors.New("external data without location")
	}
	return e, nil
}

func resolveExternal(g *onnxpb.GraphProto, baseDir string, lim Limits) error {
	for _, t := range g.GetInitializer() {
		if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			if len(t.GetExternalData()) > 0 && len(t.GetRawData()) == 0 {
				// ONNX reads external_data only with data_location EXTERNAL; the tensor
				// would be empty.
				return fmt.Errorf("%w: initializer %q: it has external_data entries but data_location DEFAULT, so no data "+
					"(set data_location to EXTERNAL, as onnx.external_data_helper does)", ErrMalformed, t.GetName())
			}
			continue
		}
		if err := loadExternal(t, baseDir, lim); err != nil {
			return fmt.Errorf("%w: initializer %q: external data: %v", ErrMalformed, t.GetName(), err)
		}
	}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			if t := a.GetT(); t != nil && t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
				if err := loadExternal(t, baseDir, lim); err != nil {
					return fmt.Errorf("%w: node %q attribute %s: external data: %v", ErrMalformed, n.GetName(), a.GetName(), err)
				}
			}
			if a.GetG() != nil {
				if err := resolveExternal(a.GetG(), baseDir, lim); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func loadExternal(t *onnxpb.TensorProto, baseDir string, lim Limits) error {
	if baseDir == "" {
		return errors.New("model was not loaded from a file, cannot resolve external data")
	}
	e, err := parseExternal(t)
	if err != nil {
		return err
	}
	// External data must stay inside the model's directory: a model file must not be able
	// to make us read arbitrary files.
	clean := filepath.Clean(e.location)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return fmt.Errorf("location %q escapes the model directory", e.location)
	}
	n, err := NumElements(t.GetDims(), lim.MaxTensorElements)
	if err != nil {
		return err
	}
	need := n * int64(ElemSize(t.GetDataType()))
	if e.length >= 0 && e.length != need {
		return fmt.Errorf("length %d, shape %v needs %d bytes", e.length, t.GetDims(), need)
	}
	f, err := os.Open(filepath.Join(baseDir, clean))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("data file %s (beside the model, in %s) does not exist", clean, baseDir)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("location %s is a directory, not a data file", clean)
	}
	// offset+need may overflow: compare without adding.
	if e.offset > st.Size() || need > st.Size()-e.offset {
		return fmt.Errorf("the tensor needs %d bytes at offset %d of %s, which has %d bytes (out of bounds: a data file of another export, or cut short)",
			need, e.offset, clean, st.Size())
	}
	buf := make([]byte, need)
	if _, err := f.ReadAt(buf, e.offset); err != nil {
		return err
	}
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = onnxpb.TensorProto_DEFAULT.Enum()
	return nil
}

func externalize(g *onnxpb.GraphProto, modelPath string, threshold int) error {
	dataName := filepath.Base(modelPath) + ".data"
	var blob []byte
	for _, t := range g.GetInitializer() {
		raw := t.GetRawData()
		if len(raw) < threshold {
			continue
		}
		// Align each tensor to 4 KiB so the file can be memory-mapped.
		for len(blob)%4096 != 0 {
			blob = append(blob, 0)
		}
		off := len(blob)
		blob = append(blob, raw...)
		t.RawData = nil
		t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(dataName)},
			{Key: proto.String("offset"), Value: proto.String(strconv.Itoa(off))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(raw)))},
		}
	}
	if len(blob) == 0 {
		return nil
	}
	return atomicfile.WriteFile(filepath.Join(filepath.Dir(modelPath), dataName), blob)
}

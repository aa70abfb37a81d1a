package graph

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// Tensor is a dense, row-major tensor. Data holds a typed slice whose element type
// follows DType: []float32, []float64, []int8, []uint8, []int16, []uint16, []int32,
// []uint32, []int64, []uint64, []bool or []string. Float16 and BFloat16 keep their raw
// bits in a []uint16.
type Tensor struct {
	DType DType
	Shape []int
	Data  any
}

// NumElements is the product of the shape (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// CheckNumElements returns the element count of shape, or an error when a dimension
// is negative or the count exceeds the limit a model file may declare
// (onnx.DefaultLimits.MaxTensorElements): a shape from the command line or a data
// file is checked before a tensor of it is allocated.
func CheckNumElements(shape []int) (int, error) {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	n, err := onnx.NumElements(dims, onnx.DefaultLimits.MaxTensorElements)
	return int(n), err
}

// Len is the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// NewTensor allocates a zero tensor.
func NewTensor(dt DType, shape []int) *Tensor {
	n := NumElements(shape)
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: makeSlice(dt, n)}
}

func makeSlice(dt DType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Int8:
		return make([]int8, n)
	case Uint8:
		return make([]uint8, n)
	case Int16:
		return make([]int16, n)
	case Uint16, Float16, BFloat16:
		return make([]uint16, n)
	case Int32:
		return make([]int32, n)
	case Uint32:
		return make([]uint32, n)
	case Int64:
		return make([]int64, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	}
	return nil
}

// FromFloat32 wraps data (not copied).
func FromFloat32(shape []int, data []float32) *Tensor {
	return wrapF32(shape, data)
}

// FromInt64 wraps data (not copied).
func FromInt64(shape []int, data []int64) *Tensor {
	return wrapI64(shape, data)
}

// FromInt8 wraps data (not copied).
func FromInt8(shape []int, data []int8) *Tensor {
	return wrapI8(shape, data)
}

// FromUint8 wraps data (not copied).
func FromUint8(shape []int, data []uint8) *Tensor {
	return wrapU8(shape, data)
}

// FromInt32 wraps data (not copied).
func FromInt32(shape []int, data []int32) *Tensor {
	return wrapI32(shape, data)
}

// Scalar helpers.
func ScalarFloat32(v float32) *Tensor { return FromFloat32(nil, []float32{v}) }

// F32 returns the float32 data, or nil if the tensor is not float32.
func (t *Tensor) F32() []float32 { v, _ := t.Data.([]float32); return v }

// I8 returns the int8 data, or nil.
func (t *Tensor) I8() []int8 { v, _ := t.Data.([]int8); return v }

// U8 returns the uint8 data, or nil.
func (t *Tensor) U8() []uint8 { v, _ := t.Data.([]uint8); return v }

// I32 returns the int32 data, or nil.
func (t *Tensor) I32() []int32 { v, _ := t.Data.([]int32); return v }

// I64 returns the int64 data, or nil.
func (t *Tensor) I64() []int64 { v, _ := t.Data.([]int64); return v }

// Clone deep-copies the tensor.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	switch d := t.Data.(type) {
	case []float32:
		c.Data = append([]float32(nil), d...)
	case []float64:
		c.Data = append([]float64(nil), d...)
	case []int8:
		c.Data = append([]int8(nil), d...)
	case []uint8:
		c.Data = append([]uint8(nil), d...)
	case []int16:
		c.Data = append([]int16(nil), d...)
	case []uint16:
		c.Data = append([]uint16(nil), d...)
	case []int32:
		c.Data = append([]int32(nil), d...)
	case []uint32:
		c.Data = append([]uint32(nil), d...)
	case []int64:
		c.Data = append([]int64(nil), d...)
	case []uint64:
		c.Data = append([]uint64(nil), d...)
	case []bool:
		c.Data = append([]bool(nil), d...)
	case []string:
		c.Data = append([]string(nil), d...)
	case Sequence:
		e := make(Sequence, len(d))
		for i, x := range d {
			e[i] = x.Clone()
		}
		c.Data = e
	}
	return c
}

// AsFloat64 returns the elements converted to float64 (for numeric types).
func (t *Tensor) AsFloat64() ([]float64, error) {
	n := t.Len()
	out := make([]float64, n)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []int8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint16:
		switch t.DType {
		case Float16:
			for i, v := range d {
				out[i] = float64(Float16ToFloat32(v))
			}
		case BFloat16:
			for i, v := range d {
				out[i] = float64(math.Float32frombits(uint32(v) << 16))
			}
		default:
			for i, v := range d {
				out[i] = float64(v)
			}
		}
	case []int32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("tensor of %s is not numeric", t.DType)
	}
	return out, nil
}

// AsInt64 returns integer-valued elements as int64 (used for shapes, axes, indices).
func (t *Tensor) AsInt64() ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return append([]int64(nil), d...), nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(f))
	for i, v := range f {
		out[i] = int64(v)
	}
	return out, nil
}

// Float16ToFloat32 converts IEEE half-precision bits.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// subnormal
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 converts to IEEE half-precision bits with round half to even.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if b&0x7fffffff >= 0x7f800000 { // inf or nan
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// TensorFromProto decodes an ONNX tensor (raw_data or typed fields).
func TensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	if tp == nil {
		// A TENSOR attribute whose tensor field is missing.
		return nil, fmt.Errorf("%w: missing tensor", onnx.ErrMalformed)
	}
	dims := tp.GetDims()
	n64, err := onnx.NumElements(dims, onnx.DefaultLimits.MaxTensorElements)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", tp.GetName(), err)
	}
	n := int(n64)
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	dt := DType(tp.GetDataType())
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("tensor %q: external data was not resolved", tp.GetName())
	}
	t := &Tensor{DType: dt, Shape: shape}
	raw := tp.GetRawData()
	hasRaw := tp.RawData != nil
	bad := func(have int) error {
		return fmt.Errorf("tensor %q: shape %v needs %d elements of %s, data has %d", tp.GetName(), dims, n, dt, have)
	}
	if dt == uint4Code || dt == int4Code {
		return decodeInt4(tp, dt, shape, n)
	}
	if hasRaw && dt != String {
		es := dt.Size()
		if es == 0 {
			return nil, fmt.Errorf("tensor %q: unsupported data type %s", tp.GetName(), dt)
		}
		if len(raw) != n*es {
			return nil, bad(len(raw) / es)
		}
		t.Data = decodeRaw(dt, raw, n)
		if t.Data == nil {
			return nil, fmt.Errorf("tensor %q: unsupported data type %s", tp.GetName(), dt)
		}
		return t, nil
	}
	switch dt {
	case Float32:
		if len(tp.FloatData) != n {
			return nil, bad(len(tp.FloatData))
		}
		t.Data = append([]float32(nil), tp.FloatData...)
	case Float64:
		if len(tp.DoubleData) != n {
			return nil, bad(len(tp.DoubleData))
		}
		t.Data = append([]float64(nil), tp.DoubleData...)
	case Int64:
		if len(tp.Int64Data) != n {
			return nil, bad(len(tp.Int64Data))
		}
		t.Data = append([]int64(nil), tp.Int64Data...)
	case Uint32, Uint64:
		if len(tp.Uint64Data) != n {
			return nil, bad(len(tp.Uint64Data))
		}
		if dt == Uint32 {
			d := make([]uint32, n)
			for i, v := range tp.Uint64Data {
				d[i] = uint32(v)
			}
			t.Data = d
		} else {
			t.Data = append([]uint64(nil), tp.Uint64Data...)
		}
	case String:
		if len(tp.StringData) != n {
			return nil, bad(len(tp.StringData))
		}
		d := make([]string, n)
		for i, v := range tp.StringData {
			d[i] = string(v)
		}
		t.Data = d
	case Int32, Int8, Uint8, Int16, Uint16, Bool, Float16, BFloat16:
		src := tp.Int32Data
		if len(src) != n {
			return nil, bad(len(src))
		}
		d := makeSlice(dt, n)
		switch dd := d.(type) {
		case []int32:
			copy(dd, src)
		case []int8:
			for i, v := range src {
				dd[i] = int8(v)
			}
		case []uint8:
			for i, v := range src {
				dd[i] = uint8(v)
			}
		case []int16:
			for i, v := range src {
				dd[i] = int16(v)
			}
		case []uint16:
			for i, v := range src {
				dd[i] = uint16(v)
			}
		case []bool:
			for i, v := range src {
				dd[i] = v != 0
			}
		}
		t.Data = d
	default:
		return nil, fmt.Errorf("tensor %q: unsupported data type %s", tp.GetName(), dt)
	}
	return t, nil
}

func decodeRaw(dt DType, raw []byte, n int) any {
	le := binary.LittleEndian
	switch dt {
	case Float32:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return d
	case Float64:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return d
	case Int8:
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(raw[i])
		}
		return d
	case Uint8:
		return append([]uint8(nil), raw[:n]...)
	case Bool:
		d := make([]bool, n)
		for i := range d {
			d[i] = raw[i] != 0
		}
		return d
	case Int16:
		d := make([]int16, n)
		for i := range d {
			d[i] = int16(le.Uint16(raw[2*i:]))
		}
		return d
	case Uint16, Float16, BFloat16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = le.Uint16(raw[2*i:])
		}
		return d
	case Int32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(raw[4*i:]))
		}
		return d
	case Uint32:
		d := make([]uint32, n)
		for i := range d {
			d[i] = le.Uint32(raw[4*i:])
		}
		return d
	case Int64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(raw[8*i:]))
		}
		return d
	case Uint64:
		d := make([]uint64, n)
		for i := range d {
			d[i] = le.Uint64(raw[8*i:])
		}
		return d
	}
	return nil
}

// ToProto encodes the tensor (raw_data for numeric types).
func (t *Tensor) ToProto(name string) (*onnxpb.TensorProto, error) {
	tp := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(t.DType))}
	for _, d := range t.Shape {
		tp.Dims = append(tp.Dims, int64(d))
	}
	le := binary.LittleEndian
	var raw []byte
	switch d := t.Data.(type) {
	case []float32:
		raw = make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case []float64:
		raw = make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case []int8:
		raw = make([]byte, len(d))
		for i, v := range d {
			raw[i] = byte(v)
		}
	case []uint8:
		raw = append([]byte{}, d...)
	case []bool:
		raw = make([]byte, len(d))
		for i, v := range d {
			if v {
				raw[i] = 1
			}
		}
	case []int16:
		raw = make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(raw[2*i:], uint16(v))
		}
	case []uint16:
		raw = make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(raw[2*i:], v)
		}
	case []int32:
		raw = make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(raw[4*i:], uint32(v))
		}
	case []uint32:
		raw = make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(raw[4*i:], v)
		}
	case []int64:
		raw = make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(raw[8*i:], uint64(v))
		}
	case []uint64:
		raw = make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(raw[8*i:], v)
		}
	case []string:
		for _, v := range d {
			tp.StringData = append(tp.StringData, []byte(v))
		}
		return tp, nil
	default:
		return nil, fmt.Errorf("tensor %q: cannot encode %T", name, t.Data)
	}
	tp.RawData = raw
	return tp, nil
}

package dataset

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// ConvertTo returns t as a tensor of type dt. Floating-point targets take any numeric
// data (float64 samples for a float32 input are rounded to float32, float32 samples
// for a float16 or bfloat16 input to those, as ONNX Runtime users do with astype). Integer and bool targets take only values they hold
// exactly: a fractional or out-of-range value is an error, never a silent cast.
func ConvertTo(t *graph.Tensor, dt graph.DType) (*graph.Tensor, error) {
	if t.DType == dt || dt == graph.Undefined {
		return t, nil
	}
	if t.DType == graph.String || dt == graph.String {
		return nil, fmt.Errorf("cannot convert %s data to %s", t.DType, dt)
	}
	var vals []float64
	if b, ok := t.Data.([]bool); ok {
		vals = make([]float64, len(b))
		for i, v := range b {
			if v {
				vals[i] = 1
			}
		}
	} else {
		var err error
		if vals, err = t.AsFloat64(); err != nil {
			return nil, fmt.Errorf("cannot convert %s data to %s: %w", t.DType, dt, err)
		}
	}
	out := graph.NewTensor(dt, t.Shape)
	if out.Data == nil {
		return nil, fmt.Errorf("cannot convert %s data to %s", t.DType, dt)
	}
	if dt == graph.Float16 || dt == graph.BFloat16 {
		// A float16 or bfloat16 input (twenty-third session): float32 images, IDX
		// and .npy data are rounded to nearest even (through float32), as
		// astype(np.float16) does for ONNX Runtime users.
		d := out.Data.([]uint16)
		for i, v := range vals {
			if dt == graph.Float16 {
				d[i] = graph.Float32ToFloat16(float32(v))
			} else {
				d[i] = graph.Float32ToBFloat16(float32(v))
			}
		}
		return out, nil
	}
	lo, hi, integer := intRange(dt)
	if integer {
		for i, v := range vals {
			if v != math.Trunc(v) || v < lo || v > hi {
				return nil, fmt.Errorf("the input takes %s; %s value %v (element %d) has no exact %s value", dt, t.DType, v, i, dt)
			}
		}
	}
	switch d := out.Data.(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	case []int8:
		for i, v := range vals {
			d[i] = int8(v)
		}
	case []uint8:
		for i, v := range vals {
			d[i] = uint8(v)
		}
	case []int16:
		for i, v := range vals {
			d[i] = int16(v)
		}
	case []uint16:
		for i, v := range vals {
			d[i] = uint16(v)
		}
	case []int32:
		for i, v := range vals {
			d[i] = int32(v)
		}
	case []uint32:
		for i, v := range vals {
			d[i] = uint32(v)
		}
	case []int64:
		if iv, ok := t.Data.([]int64); ok { // exact beyond 2^53
			copy(d, iv)
			break
		}
		for i, v := range vals {
			d[i] = int64(v)
		}
	case []uint64:
		for i, v := range vals {
			d[i] = uint64(v)
		}
	case []bool:
		for i, v := range vals {
			d[i] = v != 0
		}
	default:
		return nil, fmt.Errorf("cannot convert %s data to %s", t.DType, dt)
	}
	return out, nil
}

func intRange(dt graph.DType) (lo, hi float64, integer bool) {
	switch dt {
	case graph.Int8:
		return math.MinInt8, math.MaxInt8, true
	case graph.Uint8:
		return 0, math.MaxUint8, true
	case graph.Int16:
		return math.MinInt16, math.MaxInt16, true
	case graph.Uint16:
		return 0, math.MaxUint16, true
	case graph.Int32:
		return math.MinInt32, math.MaxInt32, true
	case graph.Uint32:
		return 0, math.MaxUint32, true
	case graph.Int64:
		return math.MinInt64, math.MaxInt64, true
	case graph.Uint64:
		return 0, math.MaxUint64, true
	case graph.Bool:
		return 0, 1, true
	}
	return 0, 0, false
}

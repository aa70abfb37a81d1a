package runtime

// Float forms of the ONNX quantization operators: QuantizeLinear, DequantizeLinear
// (per-tensor and per-axis, int8/uint8, round half to even, saturation) and
// DynamicQuantizeLinear. They make the float executor able to run QDQ graphs literally
// (simulated quantization) and give the quantizer a bit-exact reference: the arithmetic
// follows ONNX's reference implementation and ONNX Runtime (x / scale in float32,
// rounded half to even, then the zero point added and the result saturated).

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

type quantized interface{ ~int8 | ~uint8 }

// quantAxis resolves per-tensor or per-axis parameters: it returns the number of
// parameter entries (1 for per-tensor) and the inner block size over which one entry
// applies; entry index = (i / inner) % count.
func quantAxis(x *graph.Tensor, params []*graph.Tensor, axis int64) (count, inner int, err error) {
	count = 1
	for _, p := range params {
		if p == nil {
			continue
		}
		if len(p.Shape) > 1 {
			return 0, 0, fmt.Errorf("scale and zero point must be scalars or 1-D, got shape %v", p.Shape)
		}
		if n := p.Len(); n != 1 {
			if count != 1 && count != n {
				return 0, 0, fmt.Errorf("scale and zero point have different lengths (%d and %d)", count, n)
			}
			count = n
		}
	}
	if count == 1 {
		return 1, 1, nil
	}
	a, err := graph.NormalizeAxis(axis, len(x.Shape))
	if err != nil {
		return 0, 0, err
	}
	if x.Shape[a] != count {
		return 0, 0, fmt.Errorf("per-axis parameters have %d entries, axis %d of shape %v has size %d", count, a, x.Shape, x.Shape[a])
	}
	return count, graph.NumElements(x.Shape[a+1:]), nil
}

// paramAt returns entry i of a one-element or per-axis parameter.
func paramAt[T any](p []T, i int) T {
	if len(p) == 1 {
		return p[0]
	}
	return p[i]
}

// quantizeRange is the saturation range of Q.
func quantizeRange[Q quantized]() (float64, float64) {
	var z Q
	if any(z) == any(int8(0)) {
		return math.MinInt8, math.MaxInt8
	}
	return 0, math.MaxUint8
}

// quantizeFloat computes saturate(round_half_even(x / scale) + zp). The division is
// done in the input's precision: float32 for float32 inputs, as in ONNX's reference
// and ONNX Runtime, so that results match them bit for bit, and float64 for float64
// and int32 inputs, as numpy and ONNX Runtime do; NaN inputs quantize to the zero point. Parameters are per-tensor
// (count 1) or per block of inner elements cycling through count entries.
func quantizeFloat[F float32 | float64, Q quantized](x []F, scales []float32, zps []Q, count, inner int) []Q {
	lo, hi := quantizeRange[Q]()
	out := make([]Q, len(x))
	if count <= 1 {
		inner = len(x)
	}
	for start, c := 0, 0; start < len(x); start, c = start+inner, (c+1)%max(count, 1) {
		s, z := F(paramAt(scales, c)), float64(paramAt(zps, c))
		end := min(start+inner, len(x))
		o := out[start:end]
		for i, v := range x[start:end] {
			q := math.RoundToEven(float64(v / s))
			if q != q { // NaN
				q = 0
			}
			q += z
			if q < lo {
				q = lo
			} else if q > hi {
				q = hi
			}
			o[i] = Q(q)
		}
	}
	return out
}

func quantizeTyped[Q quantized](x *graph.Tensor, scales []float32, zps []Q, count, inner int) (any, error) {
	// float16 inputs are divided in float32, like float32 ones.
	if d, ok := widenHalf(x).Data.([]float32); ok {
		return quantizeFloat(d, scales, zps, count, inner), nil
	}
	f, err := x.AsFloat64()
	if err != nil {
		return nil, err
	}
	return quantizeFloat(f, scales, zps, count, inner), nil
}

// scaleValues returns scales as float32 (float16 scales are widened).
func scaleValues(t *graph.Tensor) ([]float32, error) {
	w := widenHalf(t)
	s, ok := w.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("scale must be float32 or float16, is %s", t.DType)
	}
	return s, nil
}

func buildQuantizeLinear(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 1)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, scale, zp := in[0], in[1], optInput(in, 2)
		switch x.DType {
		case graph.Float32, graph.Float64, graph.Float16, graph.Int32:
		default:
			return nil, fmt.Errorf("input must be float or int32, is %s", x.DType)
		}
		count, inner, err := quantAxis(x, []*graph.Tensor{scale, zp}, axis)
		if err != nil {
			return nil, err
		}
		scales, err := scaleValues(scale)
		if err != nil {
			return nil, err
		}
		var data any
		dt := graph.Uint8
		var zpData any = []uint8{0}
		if zp != nil {
			zpData = zp.Data
		}
		switch z := zpData.(type) {
		case []uint8:
			data, err = quantizeTyped(x, scales, z, count, inner)
		case []int8:
			dt = graph.Int8
			data, err = quantizeTyped(x, scales, z, count, inner)
		default:
			return nil, fmt.Errorf("zero point must be int8 or uint8, is %s", zp.DType)
		}
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{{DType: dt, Shape: append([]int{}, x.Shape...), Data: data}}, nil
	}), nil
}

func dequantizeTyped[Q quantized | ~int32](x []Q, scales []float32, zps []Q, count, inner int) []float32 {
	out := make([]float32, len(x))
	if count <= 1 {
		inner = len(x)
	}
	for start, c := 0, 0; start < len(x); start, c = start+inner, (c+1)%max(count, 1) {
		s, z := paramAt(scales, c), int64(paramAt(zps, c))
		end := min(start+inner, len(x))
		o := out[start:end]
		for i, v := range x[start:end] {
			// The integer difference is exact; one float32 product, as ONNX Runtime.
			o[i] = float32(int64(v)-z) * s
		}
	}
	return out
}

func buildDequantizeLinear(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 1)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, scale, zp := in[0], in[1], optInput(in, 2)
		if zp != nil && zp.DType != x.DType {
			return nil, fmt.Errorf("dtype mismatch: input is %s, zero point is %s", x.DType, zp.DType)
		}
		count, inner, err := quantAxis(x, []*graph.Tensor{scale, zp}, axis)
		if err != nil {
			return nil, err
		}
		scales, err := scaleValues(scale)
		if err != nil {
			return nil, err
		}
		var out []float32
		switch d := x.Data.(type) {
		case []uint8:
			z := []uint8{0}
			if zp != nil {
				z, _ = zp.Data.([]uint8)
			}
			out = dequantizeTyped(d, scales, z, count, inner)
		case []int8:
			z := []int8{0}
			if zp != nil {
				z, _ = zp.Data.([]int8)
			}
			out = dequantizeTyped(d, scales, z, count, inner)
		case []int32:
			z := []int32{0}
			if zp != nil {
				z, _ = zp.Data.([]int32)
				for _, v := range z {
					if v != 0 {
						return nil, fmt.Errorf("int32 inputs need a zero point of 0, got %d", v)
					}
				}
			}
			out = dequantizeTyped(d, scales, z, count, inner)
		default:
			return nil, fmt.Errorf("input must be int8, uint8 or int32, is %s", x.DType)
		}
		res := &graph.Tensor{DType: graph.Float32, Shape: append([]int{}, x.Shape...), Data: out}
		return []*graph.Tensor{narrowHalf(res, scale.DType)}, nil
	}), nil
}

// DynamicQuantizeParams computes DynamicQuantizeLinear's uint8 parameters for data
// whose range is [minX, maxX]: the range is widened to include 0, scale = range/255,
// zero point = saturate(round_half_even(-min/scale)). All-zero data gives scale 0 and
// zero point 0 (every value then quantizes to 0).
func DynamicQuantizeParams(minX, maxX float32) (scale float32, zp uint8) {
	minX = min(minX, 0)
	maxX = max(maxX, 0)
	scale = (maxX - minX) / 255
	if scale == 0 {
		return 0, 0
	}
	z := math.RoundToEven(float64(-minX / scale))
	return scale, uint8(math.Max(0, math.Min(255, z)))
}

func buildDynamicQuantizeLinear(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, ok := in[0].Data.([]float32)
		if !ok {
			return nil, fmt.Errorf("input must be float32, is %s", in[0].DType)
		}
		var lo, hi float32
		for _, v := range x {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		scale, zp := DynamicQuantizeParams(lo, hi)
		var y []uint8
		if scale == 0 {
			y = make([]uint8, len(x))
		} else {
			y = quantizeFloat(x, []float32{scale}, []uint8{zp}, 1, 1)
		}
		return []*graph.Tensor{
			{DType: graph.Uint8, Shape: append([]int{}, in[0].Shape...), Data: y},
			graph.ScalarFloat32(scale),
			graph.FromUint8(nil, []uint8{zp}),
		}, nil
	}), nil
}

func init() {
	Register(OpInfo{OpType: "QuantizeLinear", Build: buildQuantizeLinear})
	Register(OpInfo{OpType: "DequantizeLinear", Build: buildDequantizeLinear})
	Register(OpInfo{OpType: "DynamicQuantizeLinear", Build: buildDynamicQuantizeLinear})
}

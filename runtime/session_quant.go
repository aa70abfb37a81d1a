package runtime

import (
	"fmt"
	"sort"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// QuantInfo returns how the int8 executor represents a tensor: name may be a tensor
// of the source model (a QuantizeLinear output, a DequantizeLinear output, the float
// output of a fused operator, ...) or an int8 tensor of the executed graph. ok is false
// for tensors that have no int8 representation (float32 mode, or values computed in
// float32).
func (s *Session) QuantInfo(name string) (QuantInfo, bool) {
	q := s.quant[name]
	if q == nil {
		return QuantInfo{}, false
	}
	return *q, true
}

// QuantizedTensors lists the source tensors that have an int8 representation, sorted.
func (s *Session) QuantizedTensors() []string {
	out := make([]string, 0, len(s.quant))
	for k := range s.quant {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Dequantized returns the float32 value of tensor name in the source model's layout,
// from the results of RunTensors (run with WithAllTaps, or WithTaps naming either
// name or the int8 tensor that holds it). Float tensors present in results are
// returned as they are; int8 tensors are dequantized with their scale and zero point
// and converted back from channels-last. For a float value the int8 executor only
// has after requantization (QuantInfo.Exact false), the result is the dequantized
// quantized value.
func (s *Session) Dequantized(name string, results map[string]*graph.Tensor) (*graph.Tensor, error) {
	if t := results[name]; t != nil && t.DType == graph.Float32 {
		if q := s.quant[name]; q == nil || q.SourceType == graph.Float32 || q.Tensor == name {
			return t, nil
		}
	}
	q := s.quant[name]
	if q == nil {
		if t := results[name]; t != nil {
			return nil, fmt.Errorf("tensor %q is %s and has no known quantization parameters", name, t.DType)
		}
		return nil, fmt.Errorf("tensor %q is not computed by this session (not tapped, or folded away)", name)
	}
	t := results[q.Tensor]
	if t == nil {
		if r := results[name]; r != nil && (r.DType == graph.Int8 || r.DType == graph.Uint8) {
			return dequantizeTensor(r, q.Scale, q.ZeroPoint, nil, nil)
		}
		return nil, fmt.Errorf("tensor %q is held by %q, which was not tapped", name, q.Tensor)
	}
	var perm []int
	if q.Perm != nil {
		perm = qtensor.InvertPerm(q.Perm)
	}
	return dequantizeTensor(t, q.Scale, q.ZeroPoint, perm, q.Shape)
}

// dequantizeTensor dequantizes an int8 tensor (zero point in the int8 domain; a uint8
// tensor is read as int8 with its bytes XORed by 0x80), transposing by perm and
// reshaping by the template.
func dequantizeTensor(t *graph.Tensor, scale float32, zp int32, perm []int, tmpl []int64) (*graph.Tensor, error) {
	b, ok := qtensor.Int8Bytes(t)
	if !ok {
		return nil, fmt.Errorf("expected an int8 tensor, got %s", t.DType)
	}
	table := dequantTable(scale, zp)
	if t.DType == graph.Uint8 {
		var tu [256]float32
		for v := 0; v < 256; v++ {
			tu[v] = table[byte(v)^0x80]
		}
		table = &tu
	}
	shape := t.Shape
	if perm != nil {
		if err := qtensor.ValidPerm(perm, len(shape)); err != nil {
			return nil, err
		}
	}
	out := make([]float32, len(b))
	qtensor.TransposeTable(b, shape, perm, out, table, 1)
	if perm != nil {
		shape = qtensor.PermuteShape(shape, perm)
	}
	if tmpl != nil {
		var err error
		if shape, err = qtensor.ResolveShapeTemplate(shape, tmpl); err != nil {
			return nil, err
		}
	}
	return graph.FromFloat32(shape, out), nil
}

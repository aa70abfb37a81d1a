package qtensor

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// QuantizeRound is ONNX QuantizeLinear on one value (float32 division, saturation,
// round half to even), as ONNX Runtime's MLAS computes it.
func QuantizeRound(x, scale float32, zp, qmin, qmax int32) int32 {
	v := x / scale
	lo, hi := float32(qmin-zp), float32(qmax-zp)
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int32(math.RoundToEven(float64(v))) + zp
}

// QDQParams are the (possibly per-axis) parameters of a Quantize/Dequantize call.
type QDQParams struct {
	Scale  []float32
	ZP     []int32
	ZPType graph.DType // Uint8 (also when absent), Int8 or Int32
	Axis   int         // -1 for per-tensor
}

// ReadQDQParams reads and checks the scale and zero point of a QuantizeLinear
// (quantize) or DequantizeLinear node applied to x.
func ReadQDQParams(n *graph.Node, x *graph.Tensor, scale, zp *graph.Tensor, quantize bool) (*QDQParams, error) {
	if err := graph.CheckTensor("scale", scale); err != nil {
		return nil, err
	}
	sf, err := scale.AsFloat64()
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	p := &QDQParams{ZPType: graph.Uint8, Axis: -1}
	if quantize && n.HasAttr("output_dtype") {
		p.ZPType = graph.DType(n.AttrInt("output_dtype", int64(graph.Uint8)))
	}
	p.Scale = make([]float32, len(sf))
	for i, v := range sf {
		p.Scale[i] = float32(v)
	}
	if zp != nil {
		if err := graph.CheckTensor("zero point", zp); err != nil {
			return nil, err
		}
		p.ZPType = zp.DType
		zf, err := zp.AsInt64()
		if err != nil {
			return nil, fmt.Errorf("zero point: %w", err)
		}
		if len(zf) != len(sf) {
			return nil, fmt.Errorf("zero point has %d values, scale has %d", len(zf), len(sf))
		}
		p.ZP = make([]int32, len(zf))
		for i, v := range zf {
			p.ZP[i] = int32(v)
		}
	} else {
		p.ZP = make([]int32, len(sf))
	}
	switch p.ZPType {
	case graph.Uint8, graph.Int8:
	case graph.Int32:
		if quantize {
			return nil, fmt.Errorf("quantizing to int32 is not supported")
		}
	default:
		return nil, fmt.Errorf("unsupported quantized type %s", p.ZPType)
	}
	if scale.Len() != 1 {
		if len(scale.Shape) != 1 {
			return nil, fmt.Errorf("scale must be a scalar or 1-D, got shape %v", scale.Shape)
		}
		ax, err := graph.NormalizeAxis(n.AttrInt("axis", 1), len(x.Shape))
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != scale.Len() {
			return nil, fmt.Errorf("scale has %d values for axis %d of size %d", scale.Len(), ax, x.Shape[ax])
		}
		p.Axis = ax
	}
	for _, s := range p.Scale {
		if s == 0 || math.IsNaN(float64(s)) {
			if quantize {
				return nil, fmt.Errorf("scale %g is not usable", s)
			}
		}
	}
	return p, nil
}

// CeilExtra is the extra end padding that makes floor-mode output sizes equal the
// ceil-mode ones (ONNX: the last window must start inside the input or left padding).
func CeilExtra(in, k, s, d, pBegin, pEnd int) int {
	span := in + pBegin + pEnd - d*(k-1) - 1
	if span < 0 {
		if span > -s { // one window running past the end (graph.ResolveConvGeom)
			return -span
		}
		return 0
	}
	out := (span+s-1)/s + 1
	if (out-1)*s >= in+pBegin {
		out--
	}
	return max(0, (out-1)*s-span)
}

// DequantizeTo writes (vals - zero point) * scale into out, per tensor or per axis
// of a tensor of the given shape.
func (p *QDQParams) DequantizeTo(vals []int64, shape []int, out []float32) {
	inner, c := 1, 1
	if p.Axis >= 0 {
		inner = graph.NumElements(shape[p.Axis+1:])
		c = shape[p.Axis]
	}
	for i, v := range vals {
		ch := 0
		if p.Axis >= 0 {
			ch = (i / inner) % c
		}
		out[i] = float32(int32(v)-p.ZP[ch]) * p.Scale[ch]
	}
}

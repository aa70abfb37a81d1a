package runtime

// Reference kernels of Cast, CastLike, Identity and Dropout (with the Mersenne Twister
// its seeded masks use).

import (
	"fmt"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

func convertSlice[S, D number](src []S) []D {
	out := make([]D, len(src))
	for i, v := range src {
		out[i] = D(v)
	}
	return out
}

// castFrom converts numeric data to dtype to. Float-to-integer conversions truncate
// toward zero (out-of-range values are undefined in ONNX); conversions to bool test
// for non-zero; float16 and bfloat16 results are rounded to nearest even once.
func castFrom[S number](src []S, to graph.DType) (any, error) {
	switch to {
	case graph.Float32:
		return convertSlice[S, float32](src), nil
	case graph.Float64:
		return convertSlice[S, float64](src), nil
	case graph.Int8:
		return convertSlice[S, int8](src), nil
	case graph.Uint8:
		return convertSlice[S, uint8](src), nil
	case graph.Int16:
		return convertSlice[S, int16](src), nil
	case graph.Uint16:
		return convertSlice[S, uint16](src), nil
	case graph.Int32:
		return convertSlice[S, int32](src), nil
	case graph.Uint32:
		return convertSlice[S, uint32](src), nil
	case graph.Int64:
		return convertSlice[S, int64](src), nil
	case graph.Uint64:
		return convertSlice[S, uint64](src), nil
	case graph.Bool:
		out := make([]bool, len(src))
		for i, v := range src {
			out[i] = v != 0
		}
		return out, nil
	case graph.Float16:
		out := make([]uint16, len(src))
		for i, v := range src {
			out[i] = f64ToF16(float64(v))
		}
		return out, nil
	case graph.BFloat16:
		out := make([]uint16, len(src))
		for i, v := range src {
			out[i] = f32ToBF16(float32(v))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w cast to %s", graph.ErrUnsupported, to)
}

// castTensor converts t to dtype to (t itself when it already has that type).
func castTensor(t *graph.Tensor, to graph.DType) (*graph.Tensor, error) {
	if t.DType == to {
		return t, nil
	}
	src := widenHalf(t)
	var data any
	var err error
	if to == graph.Float32 {
		// image bytes: the vector conversion (x·1 + 0 is x exactly)
		switch d := src.Data.(type) {
		case []uint8:
			out := make([]float32, len(d))
			kernels.AffineMapU8(out, d, 1, 0)
			return &graph.Tensor{DType: to, Shape: append([]int{}, t.Shape...), Data: out}, nil
		case []int8:
			out := make([]float32, len(d))
			kernels.AffineMapI8(out, d, 1, 0)
			return &graph.Tensor{DType: to, Shape: append([]int{}, t.Shape...), Data: out}, nil
		}
	}
	switch d := src.Data.(type) {
	case []float32:
		data, err = castFrom(d, to)
	case []float64:
		data, err = castFrom(d, to)
	case []int8:
		data, err = castFrom(d, to)
	case []uint8:
		data, err = castFrom(d, to)
	case []int16:
		data, err = castFrom(d, to)
	case []uint16:
		data, err = castFrom(d, to)
	case []int32:
		data, err = castFrom(d, to)
	case []uint32:
		data, err = castFrom(d, to)
	case []int64:
		data, err = castFrom(d, to)
	case []uint64:
		data, err = castFrom(d, to)
	case []bool:
		u := make([]uint8, len(d))
		for i, v := range d {
			if v {
				u[i] = 1
			}
		}
		data, err = castFrom(u, to)
	default:
		return nil, fmt.Errorf("%w cast from %s", graph.ErrUnsupported, t.DType)
	}
	if err != nil {
		return nil, err
	}
	return &graph.Tensor{DType: to, Shape: append([]int{}, t.Shape...), Data: data}, nil
}

func buildCast(b *BuildContext) (Kernel, error) {
	n := b.Node
	var to graph.DType
	if n.OpType == "Cast" {
		if !n.HasAttr("to") {
			return nil, b.Errorf("attribute 'to' is required")
		}
		to = graph.DType(n.AttrInt("to", 0))
		if _, err := castFrom([]float32{}, to); err != nil {
			return nil, b.Errorf("%v", err)
		}
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		req := 1
		if n.OpType == "CastLike" {
			req = 2
		}
		if err := checkInputs(in, req); err != nil {
			return nil, err
		}
		target := to
		if n.OpType == "CastLike" {
			target = in[1].DType
		}
		out, err := castTensor(in[0], target)
		if err != nil {
			return nil, err
		}
		if out == in[0] {
			out = view(out, out.Shape)
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildIdentity(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) > 0 && in[0].IsSeq() {
			return []*graph.Tensor{in[0]}, nil // a sequence is immutable (op_sequence.go)
		}
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		return []*graph.Tensor{view(in[0], in[0].Shape)}, nil
	}), nil
}

// buildDropout implements Dropout. At inference (the default, and always before opset
// 12) the output is the input and the mask is all true. In training mode (opset 12+,
// training_mode input true) elements are dropped with probability ratio and the rest
// scaled by 1/(1-ratio); the mask comes from MT19937 seeded with the seed attribute,
// drawn like numpy's random.uniform, so that results are reproducible and match ONNX's
// reference implementation. Without a seed the generator is seeded from the clock.
func buildDropout(b *BuildContext) (Kernel, error) {
	n := b.Node
	opset := b.Opset
	attrRatio := n.AttrFloat("ratio", 0.5)
	hasSeed := n.HasAttr("seed")
	seed := n.AttrInt("seed", 0)
	nout := len(n.Outputs)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		ratio := float64(attrRatio)
		training := false
		if opset >= 12 {
			ratio = 0.5
			if r := optInput(in, 1); r != nil {
				f, err := widenHalf(r).AsFloat64()
				if err != nil || len(f) != 1 {
					return nil, fmt.Errorf("ratio must be a float scalar, got %s %v", r.DType, r.Shape)
				}
				ratio = f[0]
			}
			if tm := optInput(in, 2); tm != nil {
				v, ok := tm.Data.([]bool)
				if !ok || len(v) != 1 {
					return nil, fmt.Errorf("training_mode must be a bool scalar, got %s %v", tm.DType, tm.Shape)
				}
				training = v[0]
			}
		}
		if ratio < 0 || ratio >= 1 {
			return nil, fmt.Errorf("ratio %g must be in [0, 1)", ratio)
		}
		maskType := graph.Bool
		if opset < 10 {
			maskType = x.DType
		}
		if !training || ratio == 0 {
			outs := []*graph.Tensor{view(x, x.Shape)}
			if nout > 1 {
				m := graph.NewTensor(graph.Bool, x.Shape)
				for i := range m.Data.([]bool) {
					m.Data.([]bool)[i] = true
				}
				mt, err := castTensor(m, maskType)
				if err != nil {
					return nil, err
				}
				outs = append(outs, mt)
			}
			return outs, nil
		}
		s := uint32(seed)
		if !hasSeed {
			s = uint32(time.Now().UnixNano())
		}
		rng := newMT19937(s)
		mask := make([]bool, x.Len())
		for i := range mask {
			mask[i] = rng.float64() >= ratio
		}
		xf := widenHalf(x)
		var y *graph.Tensor
		switch d := xf.Data.(type) {
		case []float32:
			scale := float32(1 / (1 - ratio))
			out := make([]float32, len(d))
			for i, v := range d {
				if mask[i] {
					out[i] = v * scale
				}
			}
			y = &graph.Tensor{DType: graph.Float32, Shape: append([]int{}, x.Shape...), Data: out}
		case []float64:
			scale := 1 / (1 - ratio)
			out := make([]float64, len(d))
			for i, v := range d {
				if mask[i] {
					out[i] = v * scale
				}
			}
			y = &graph.Tensor{DType: graph.Float64, Shape: append([]int{}, x.Shape...), Data: out}
		default:
			return nil, fmt.Errorf("Dropout needs a float input, got %s", x.DType)
		}
		outs := []*graph.Tensor{narrowHalf(y, x.DType)}
		if nout > 1 {
			outs = append(outs, &graph.Tensor{DType: graph.Bool, Shape: append([]int{}, x.Shape...), Data: mask})
		}
		return outs, nil
	}), nil
}

// mt19937 is the Mersenne Twister as seeded by numpy's legacy np.random.seed(int).
type mt19937 struct {
	mt  [624]uint32
	idx int
}

func newMT19937(seed uint32) *mt19937 {
	r := &mt19937{idx: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

func (r *mt19937) uint32() uint32 {
	if r.idx >= 624 {
		for i := 0; i < 624; i++ {
			y := r.mt[i]&0x80000000 | r.mt[(i+1)%624]&0x7fffffff
			v := r.mt[(i+397)%624] ^ y>>1
			if y&1 == 1 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 draws a double in [0, 1) from 53 random bits (numpy's random_sample).
func (r *mt19937) float64() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

func init() {
	Register(OpInfo{OpType: "Cast", Build: buildCast})
	Register(OpInfo{OpType: "CastLike", Build: buildCast})
	Register(OpInfo{OpType: "Identity", Build: buildIdentity})
	Register(OpInfo{OpType: "Dropout", Build: buildDropout})
}

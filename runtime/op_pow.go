package runtime

// Pow by a constant exponent (twenty-first session). The general Pow widens
// both operands to float64, calls math.Pow per element through the broadcast
// loop and narrows the result back (PatchCore's torch.cdist: Pow(x,
// 0.49999976) over [256,200], 2.0 ms of a 7 ms run). When the exponent is an
// initializer holding one value and the base is float32 or float64, the
// kernel below runs one pass over the base:
//   - 2, 3 and −1 are x·x, x·x·x and 1/x in float64 rounded once to the
//     base's type: the bits of math.Pow for every input (for float32 bases
//     the float64 square is exact and the product and quotient are rounded
//     once more, which is harmless since 53 ≥ 2·24+2);
//   - 0.5 and −0.5 are Sqrt and 1/Sqrt, as math.Pow computes them, for x > 0
//     (the zeros, negative numbers, infinities and NaN take math.Pow);
//   - any other exponent on float32 runs kernels.PowF32: exp(e·log x) in
//     float64 lanes (AVX-512), within 1 ulp of float32 of math.Pow rounded to
//     float32 (in practice the same bits: the float64 result is off by a few
//     units of 2⁻⁵²), x ≤ 0, ±Inf and NaN recomputed with math.Pow;
//   - on float64 bases other exponents keep math.Pow (one pass, no copies).
// 0 and 1 are 1 and x, as math.Pow gives them.

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// powConstKernel is Pow whose exponent is one constant value e.
type powConstKernel struct {
	e       float64
	general Kernel
}

func buildPow(b *BuildContext) (Kernel, error) {
	general, err := buildPowGeneral(b)
	if err != nil {
		return nil, err
	}
	if e, ok := scalarExponent(b.Const(1)); ok {
		return &powConstKernel{e: e, general: general}, nil
	}
	return general, nil
}

// scalarExponent is the value of a one-element numeric tensor.
func scalarExponent(t *graph.Tensor) (float64, bool) {
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	switch t.DType {
	case graph.Float32, graph.Float64, graph.Int32, graph.Int64:
	default:
		return 0, false
	}
	v, err := t.AsFloat64()
	if err != nil || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

func (k *powConstKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil || in[1].Len() != 1 ||
		(in[0].DType != graph.Float32 && in[0].DType != graph.Float64) {
		return k.general.Run(ctx, in)
	}
	x := in[0]
	os, err := graph.BroadcastInts(x.Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	threads := func(n int) int { return min(ctx.Threads, max(1, n/parallelMinWork)) }
	if x.DType == graph.Float32 {
		src := x.F32()
		dst := ctx.AllocF32(len(src))
		nnParallel(threads(len(src)), len(src), func(lo, hi int) { powF32(dst[lo:hi], src[lo:hi], k.e) })
		return []*graph.Tensor{{DType: graph.Float32, Shape: os, Data: dst}}, nil
	}
	src := x.Data.([]float64)
	dst := make([]float64, len(src))
	nnParallel(threads(len(src)), len(src), func(lo, hi int) { powF64(dst[lo:hi], src[lo:hi], k.e) })
	return []*graph.Tensor{{DType: graph.Float64, Shape: os, Data: dst}}, nil
}

// powF32 writes float32(math.Pow(x, e)) for each x of src (within 1 ulp for
// exponents other than 0, 1, 2, 3, −1, ±0.5; exact for those).
func powF32(dst, src []float32, e float64) {
	switch e {
	case 0:
		for i := range dst {
			dst[i] = 1
		}
	case 1:
		copy(dst, src)
	case 2:
		for i, v := range src {
			dst[i] = v * v
		}
	case 3:
		for i, v := range src {
			f := float64(v)
			dst[i] = float32(f * f * f)
		}
	case -1:
		for i, v := range src {
			dst[i] = float32(1 / float64(v))
		}
	case 0.5:
		for i, v := range src {
			if v > 0 {
				dst[i] = float32(math.Sqrt(float64(v)))
			} else {
				dst[i] = float32(math.Pow(float64(v), 0.5))
			}
		}
	case -0.5:
		for i, v := range src {
			if v > 0 {
				dst[i] = float32(1 / math.Sqrt(float64(v)))
			} else {
				dst[i] = float32(math.Pow(float64(v), -0.5))
			}
		}
	default:
		kernels.PowF32(dst, src, e)
	}
}

// powF64 writes math.Pow(x, e) for each x of src (the same bits, but for 2:
// x·x, which differs from math.Pow only where the square is subnormal).
func powF64(dst, src []float64, e float64) {
	switch e {
	case 0:
		for i := range dst {
			dst[i] = 1
		}
	case 1:
		copy(dst, src)
	case 2:
		for i, v := range src {
			dst[i] = v * v
		}
	case 0.5:
		for i, v := range src {
			if v > 0 {
				dst[i] = math.Sqrt(v)
			} else {
				dst[i] = math.Pow(v, 0.5)
			}
		}
	case -0.5:
		for i, v := range src {
			if v > 0 {
				dst[i] = 1 / math.Sqrt(v)
			} else {
				dst[i] = math.Pow(v, -0.5)
			}
		}
	default:
		for i, v := range src {
			dst[i] = math.Pow(v, e)
		}
	}
}

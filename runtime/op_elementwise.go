package runtime

// Reference kernels of the unary elementwise operators (math, activations, Not, IsNaN,
// IsInf, Clip) and the helpers every elementwise family shares; the binary operators
// are in op_binary.go, Cast/Identity/Dropout in op_cast.go. Each operator is written once as a generic function over the element
// type; a type switch at run time picks the instantiation. float16 and bfloat16 inputs
// are widened to float32, computed, and rounded back once.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// mapSlice applies f to every element (in parallel for large inputs).
func mapSlice[T, U any](threads int, src []T, f func(T) U) []U {
	out := make([]U, len(src))
	parallelFor(threads, len(src), func(lo, hi int) {
		s, o := src[lo:hi], out[lo:hi]
		for i, v := range s {
			o[i] = f(v)
		}
	})
	return out
}

// floatFn lifts a float64 function to element type T (float32 results are the
// float64 result rounded once, which is at least as accurate as float32 arithmetic).
func floatFn[T number](g func(float64) float64) func(T) T {
	return func(x T) T { return T(g(float64(x))) }
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// unaryFn returns the typed function of a unary operator whose output has the input's
// type.
func unaryFn[T number](n *graph.Node) (func(T) T, error) {
	isFloat := isFloatType[T]()
	switch n.OpType {
	case "Relu":
		return func(x T) T {
			if x < 0 {
				return 0
			}
			return x
		}, nil
	case "Neg":
		return func(x T) T { return -x }, nil
	case "Abs":
		return func(x T) T {
			if x < 0 {
				return -x
			}
			return x
		}, nil
	case "Sign":
		return func(x T) T {
			switch {
			case x > 0:
				return 1
			case x < 0:
				var one T = 1
				return -one
			}
			return x // 0, -0 and NaN map to themselves
		}, nil
	case "Shrink":
		bias := float64(n.AttrFloat("bias", 0))
		lambd := float64(n.AttrFloat("lambd", 0.5))
		return func(x T) T {
			switch v := float64(x); {
			case v < -lambd:
				return T(v + bias)
			case v > lambd:
				return T(v - bias)
			}
			return 0
		}, nil
	}
	if !isFloat {
		return nil, fmt.Errorf("%s is not defined for %T inputs", n.OpType, *new(T))
	}
	switch n.OpType {
	case "Sigmoid":
		return floatFn[T](sigmoid), nil
	case "Tanh":
		return floatFn[T](math.Tanh), nil
	case "Sqrt":
		return floatFn[T](math.Sqrt), nil
	case "Exp":
		return floatFn[T](math.Exp), nil
	case "Log":
		return floatFn[T](math.Log), nil
	case "Sin":
		return floatFn[T](math.Sin), nil
	case "Cos":
		return floatFn[T](math.Cos), nil
	case "Tan":
		return floatFn[T](math.Tan), nil
	case "Asin":
		return floatFn[T](math.Asin), nil
	case "Acos":
		return floatFn[T](math.Acos), nil
	case "Atan":
		return floatFn[T](math.Atan), nil
	case "Sinh":
		return floatFn[T](math.Sinh), nil
	case "Cosh":
		return floatFn[T](math.Cosh), nil
	case "Asinh":
		return floatFn[T](math.Asinh), nil
	case "Acosh":
		return floatFn[T](math.Acosh), nil
	case "Atanh":
		return floatFn[T](math.Atanh), nil
	case "Reciprocal":
		return func(x T) T { return 1 / x }, nil
	case "Floor":
		return floatFn[T](math.Floor), nil
	case "Ceil":
		return floatFn[T](math.Ceil), nil
	case "Round":
		return floatFn[T](math.RoundToEven), nil
	case "Softplus":
		return floatFn[T](softplus), nil
	case "Softsign":
		return floatFn[T](func(x float64) float64 { return x / (1 + math.Abs(x)) }), nil
	case "Mish":
		return floatFn[T](func(x float64) float64 { return x * math.Tanh(softplus(x)) }), nil
	case "Gelu":
		switch a := n.AttrString("approximate", "none"); a {
		case "none":
			return floatFn[T](func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }), nil
		case "tanh":
			return floatFn[T](func(x float64) float64 {
				return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
			}), nil
		default:
			return nil, fmt.Errorf("%w approximate %q", graph.ErrUnsupported, a)
		}
	case "LeakyRelu":
		a := T(n.AttrFloat("alpha", 0.01))
		return func(x T) T {
			if x < 0 {
				return a * x
			}
			return x
		}, nil
	case "Elu":
		a := float64(n.AttrFloat("alpha", 1))
		return floatFn[T](func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * math.Expm1(x)
		}), nil
	case "Celu":
		a := float64(n.AttrFloat("alpha", 1))
		if a == 0 {
			return nil, fmt.Errorf("alpha must not be 0")
		}
		return floatFn[T](func(x float64) float64 {
			return math.Max(0, x) + math.Min(0, a*math.Expm1(x/a))
		}), nil
	case "Selu":
		a := float64(n.AttrFloat("alpha", 1.67326319217681884765625))
		g := float64(n.AttrFloat("gamma", 1.05070102214813232421875))
		return floatFn[T](func(x float64) float64 {
			if x > 0 {
				return g * x
			}
			return g * a * math.Expm1(x)
		}), nil
	case "ThresholdedRelu":
		a := T(n.AttrFloat("alpha", 1))
		return func(x T) T {
			if x > a {
				return x
			}
			return 0
		}, nil
	case "HardSigmoid":
		a := float64(n.AttrFloat("alpha", 0.2))
		b := float64(n.AttrFloat("beta", 0.5))
		return floatFn[T](func(x float64) float64 { return max(0, min(1, a*x+b)) }), nil
	case "HardSwish":
		return floatFn[T](func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) }), nil
	}
	return nil, fmt.Errorf("%w unary operator %s", graph.ErrUnsupported, n.OpType)
}

func runUnaryTyped[T number](n *graph.Node, threads int, x []T) (any, error) {
	if n.OpType == "Relu" {
		// The most common activation gets an inline loop.
		out := make([]T, len(x))
		parallelFor(threads, len(x), func(lo, hi int) {
			s, o := x[lo:hi], out[lo:hi]
			// Branch-free (max keeps NaN): a data-dependent branch mispredicts on
			// about half of the activations.
			for i, v := range s {
				o[i] = max(v, 0)
			}
		})
		return out, nil
	}
	f, err := unaryFn[T](n)
	if err != nil {
		return nil, err
	}
	return mapSlice(threads, x, f), nil
}

// applyUnary runs a same-type unary operator on any numeric tensor.
func applyUnary(n *graph.Node, threads int, t *graph.Tensor) (*graph.Tensor, error) {
	if t.DType == graph.Float16 || t.DType == graph.BFloat16 {
		r, err := applyUnary(n, threads, widenHalf(t))
		if err != nil {
			return nil, err
		}
		return narrowHalf(r, t.DType), nil
	}
	var data any
	var err error
	switch d := t.Data.(type) {
	case []float32:
		data, err = runUnaryTyped(n, threads, d)
	case []float64:
		data, err = runUnaryTyped(n, threads, d)
	case []int8:
		data, err = runUnaryTyped(n, threads, d)
	case []uint8:
		data, err = runUnaryTyped(n, threads, d)
	case []int16:
		data, err = runUnaryTyped(n, threads, d)
	case []uint16:
		data, err = runUnaryTyped(n, threads, d)
	case []int32:
		data, err = runUnaryTyped(n, threads, d)
	case []uint32:
		data, err = runUnaryTyped(n, threads, d)
	case []int64:
		data, err = runUnaryTyped(n, threads, d)
	case []uint64:
		data, err = runUnaryTyped(n, threads, d)
	default:
		return nil, fmt.Errorf("%s is not defined for %s inputs", n.OpType, t.DType)
	}
	if err != nil {
		return nil, err
	}
	return &graph.Tensor{DType: t.DType, Shape: append([]int{}, t.Shape...), Data: data}, nil
}

func buildUnary(b *BuildContext) (Kernel, error) {
	n := b.Node
	// Validate attributes once, at build time, with a float32 instantiation.
	if _, err := unaryFn[float32](n); err != nil {
		return nil, b.Errorf("%v", err)
	}
	vec := unaryVecF32(n) // elementwise_arena.go
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		if out, ok := unaryF32Arena(ctx, n, vec, in[0]); ok {
			return []*graph.Tensor{out}, nil
		}
		out, err := applyUnary(n, ctx.Threads, in[0])
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildNot(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, ok := in[0].Data.([]bool)
		if !ok {
			return nil, fmt.Errorf("Not needs a bool input, got %s", in[0].DType)
		}
		return []*graph.Tensor{{DType: graph.Bool, Shape: append([]int{}, in[0].Shape...), Data: mapSlice(1, x, func(v bool) bool { return !v })}}, nil
	}), nil
}

// floatPredicate builds IsNaN and IsInf (float in, bool out).
func buildFloatPredicate(b *BuildContext) (Kernel, error) {
	n := b.Node
	var pred func(float64) bool
	switch n.OpType {
	case "IsNaN":
		pred = math.IsNaN
	case "IsInf":
		neg, pos := n.AttrInt("detect_negative", 1) != 0, n.AttrInt("detect_positive", 1) != 0
		pred = func(x float64) bool { return (pos && math.IsInf(x, 1)) || (neg && math.IsInf(x, -1)) }
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := widenHalf(in[0])
		var out []bool
		switch d := x.Data.(type) {
		case []float32:
			out = mapSlice(ctx.Threads, d, func(v float32) bool { return pred(float64(v)) })
		case []float64:
			out = mapSlice(ctx.Threads, d, pred)
		default:
			return nil, fmt.Errorf("%s needs a float input, got %s", n.OpType, in[0].DType)
		}
		return []*graph.Tensor{{DType: graph.Bool, Shape: append([]int{}, in[0].Shape...), Data: out}}, nil
	}), nil
}

// Clip.

func clipTyped[T number](threads int, x []T, lo, hi *graph.Tensor, attrLo, attrHi float32, attrs bool) ([]T, error) {
	// Defaults are the type's range: a missing bound clips nothing.
	minV, maxV := typeRange[T]()
	if attrs {
		minV, maxV = T(attrLo), T(attrHi)
	}
	if lo != nil {
		v, ok := lo.Data.([]T)
		if !ok || len(v) != 1 {
			return nil, fmt.Errorf("min must be a one-element tensor of the input's type, got %s %v", lo.DType, lo.Shape)
		}
		minV = v[0]
	}
	if hi != nil {
		v, ok := hi.Data.([]T)
		if !ok || len(v) != 1 {
			return nil, fmt.Errorf("max must be a one-element tensor of the input's type, got %s %v", hi.DType, hi.Shape)
		}
		maxV = v[0]
	}
	return mapSlice(threads, x, func(v T) T {
		// ONNX Runtime applies min then max, so min > max yields max everywhere.
		if v < minV {
			v = minV
		}
		if v > maxV {
			v = maxV
		}
		return v
	}), nil
}

// typeRange returns the lowest and highest values of T (infinities for floats).
func typeRange[T number]() (T, T) {
	var lo, hi any
	switch any(*new(T)).(type) {
	case float32:
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	case float64:
		lo, hi = math.Inf(-1), math.Inf(1)
	case int8:
		lo, hi = int8(math.MinInt8), int8(math.MaxInt8)
	case uint8:
		lo, hi = uint8(0), uint8(math.MaxUint8)
	case int16:
		lo, hi = int16(math.MinInt16), int16(math.MaxInt16)
	case uint16:
		lo, hi = uint16(0), uint16(math.MaxUint16)
	case int32:
		lo, hi = int32(math.MinInt32), int32(math.MaxInt32)
	case uint32:
		lo, hi = uint32(0), uint32(math.MaxUint32)
	case int64:
		lo, hi = int64(math.MinInt64), int64(math.MaxInt64)
	case uint64:
		lo, hi = uint64(0), uint64(math.MaxUint64)
	}
	return lo.(T), hi.(T)
}

func buildClip(b *BuildContext) (Kernel, error) {
	attrs := b.Opset < 11
	lo := b.Node.AttrFloat("min", float32(math.Inf(-1)))
	hi := b.Node.AttrFloat("max", float32(math.Inf(1)))
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		minT, maxT := optInput(in, 1), optInput(in, 2)
		if out, ok := clipF32Arena(ctx, x, minT, maxT, lo, hi, attrs); ok { // elementwise_arena.go
			return []*graph.Tensor{out}, nil
		}
		half := x.DType == graph.Float16 || x.DType == graph.BFloat16
		if half {
			x, minT, maxT = widenHalf(x), widenHalf(minT), widenHalf(maxT)
		}
		var data any
		var err error
		switch d := x.Data.(type) {
		case []float32:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []float64:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []int8:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []uint8:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []int16:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []uint16:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []int32:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []uint32:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []int64:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		case []uint64:
			data, err = clipTyped(ctx.Threads, d, minT, maxT, lo, hi, attrs)
		default:
			return nil, fmt.Errorf("Clip is not defined for %s inputs", x.DType)
		}
		if err != nil {
			return nil, err
		}
		out := &graph.Tensor{DType: x.DType, Shape: append([]int{}, x.Shape...), Data: data}
		if half {
			out = narrowHalf(out, in[0].DType)
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

// Binary and variadic arithmetic.

// Pow: the exponent may have another numeric type than the base (opset 12+); the
// result has the base's type.

// Comparisons and logic.

// Where.

// Cast.

// Identity and Dropout.

func init() {
	for _, op := range []string{"Relu", "Sigmoid", "Tanh", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
		"Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
		"Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Shrink", "Elu", "Celu", "Selu",
		"LeakyRelu", "ThresholdedRelu", "HardSigmoid", "HardSwish", "Mish", "Gelu"} {
		Register(OpInfo{OpType: op, Build: buildUnary})
	}
	Register(OpInfo{OpType: "Not", Build: buildNot})
	Register(OpInfo{OpType: "IsNaN", Build: buildFloatPredicate})
	Register(OpInfo{OpType: "IsInf", Build: buildFloatPredicate})
	Register(OpInfo{OpType: "Clip", Build: buildClip})
}

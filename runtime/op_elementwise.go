package runtime

// Float32 reference kernels of the elementwise operators: unary math and activations,
// numpy-broadcasting arithmetic, comparisons and logic, Where, Cast/CastLike, Identity
// and Dropout. Each operator is written once as a generic function over the element
// type; a type switch at run time picks the instantiation. float16 and bfloat16 inputs
// are widened to float32, computed, and rounded back once.

import (
	"fmt"
	"math"
	"time"

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
		return floatFn[T](func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }), nil
	case "HardSwish":
		return floatFn[T](func(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) }), nil
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
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
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

// arithFn returns the typed function of a broadcasting arithmetic operator.
func arithFn[T number](n *graph.Node) (func(T, T) T, error) {
	switch n.OpType {
	case "Add", "Sum", "Mean":
		return func(x, y T) T { return x + y }, nil
	case "Sub":
		return func(x, y T) T { return x - y }, nil
	case "Mul":
		return func(x, y T) T { return x * y }, nil
	case "Div":
		// Integer division truncates toward zero, as in C and ONNX Runtime; zero
		// divisors are rejected before the loop runs.
		return func(x, y T) T { return x / y }, nil
	case "Max":
		return func(x, y T) T {
			// NaN propagates as in numpy's maximum (and ONNX Runtime).
			if x != x || x > y {
				return x
			}
			return y
		}, nil
	case "Min":
		return func(x, y T) T {
			if x != x || x < y {
				return x
			}
			return y
		}, nil
	case "PRelu":
		return func(x, slope T) T {
			if x < 0 {
				return slope * x
			}
			return x
		}, nil
	case "Mod":
		return modFn[T](n.AttrInt("fmod", 0) != 0)
	case "BitShift":
		return shiftFn[T](n.AttrString("direction", "") == "LEFT")
	}
	return nil, fmt.Errorf("%w operator %s", graph.ErrUnsupported, n.OpType)
}

// modFn returns Mod for T: fmod=1 is C's fmod (the dividend's sign), fmod=0 is
// integer modulo with the divisor's sign (Python's %), defined for integers only.
func modFn[T number](fmod bool) (func(T, T) T, error) {
	var f any
	switch any(*new(T)).(type) {
	case float32, float64:
		if !fmod {
			return nil, fmt.Errorf("floating-point Mod needs fmod=1")
		}
		return func(x, y T) T { return T(math.Mod(float64(x), float64(y))) }, nil
	case int8:
		f = intMod[int8](fmod)
	case uint8:
		f = intMod[uint8](fmod)
	case int16:
		f = intMod[int16](fmod)
	case uint16:
		f = intMod[uint16](fmod)
	case int32:
		f = intMod[int32](fmod)
	case uint32:
		f = intMod[uint32](fmod)
	case int64:
		f = intMod[int64](fmod)
	case uint64:
		f = intMod[uint64](fmod)
	}
	return f.(func(T, T) T), nil
}

func intMod[T integer](fmod bool) func(T, T) T {
	if fmod {
		return func(x, y T) T { return x % y }
	}
	return func(x, y T) T {
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	}
}

// shiftFn returns BitShift for an unsigned T (shifts of 64 or more give 0).
func shiftFn[T number](left bool) (func(T, T) T, error) {
	var f any
	switch any(*new(T)).(type) {
	case uint8:
		f = shift[uint8](left)
	case uint16:
		f = shift[uint16](left)
	case uint32:
		f = shift[uint32](left)
	case uint64:
		f = shift[uint64](left)
	default:
		return nil, fmt.Errorf("BitShift needs unsigned integers, got %T", *new(T))
	}
	return f.(func(T, T) T), nil
}

func shift[T integer](left bool) func(T, T) T {
	return func(x, y T) T {
		s := uint64(y)
		if s >= 64 {
			return 0
		}
		if left {
			return x << s
		}
		return x >> s
	}
}

// hasZero reports whether an integer divisor contains 0.
func hasZero[T number](d []T) bool {
	for _, v := range d {
		if v == 0 {
			return true
		}
	}
	return false
}

func arithTyped[T number](n *graph.Node, threads int, a []T, as []int, b []T, bs []int, os []int) (any, error) {
	f, err := arithFn[T](n)
	if err != nil {
		return nil, err
	}
	if (n.OpType == "Div" || n.OpType == "Mod") && !isFloatType[T]() && hasZero(b) {
		return nil, fmt.Errorf("integer %s by zero", n.OpType)
	}
	out := make([]T, graph.NumElements(os))
	if row := arithRow[T](n.OpType); row != nil {
		binaryBroadcastRows(threads, a, as, b, bs, out, os, row)
	} else {
		binaryBroadcast(threads, a, as, b, bs, out, os, f)
	}
	return out, nil
}

// arithRow returns inline row loops for the four basic operators, which dominate the
// elementwise work of real models (bias adds, residual adds, scaling); nil for others.
func arithRow[T number](op string) rowFunc[T, T] {
	switch op {
	case "Add", "Sum", "Mean":
		return func(o, x []T, sx int, y []T, sy int) {
			switch {
			case sx == 1 && sy == 1:
				x, y = x[:len(o)], y[:len(o)]
				for i := range o {
					o[i] = x[i] + y[i]
				}
			case sx == 1:
				x, v := x[:len(o)], y[0]
				for i := range o {
					o[i] = x[i] + v
				}
			case sy == 1:
				v, y := x[0], y[:len(o)]
				for i := range o {
					o[i] = v + y[i]
				}
			default:
				v := x[0] + y[0]
				for i := range o {
					o[i] = v
				}
			}
		}
	case "Sub":
		return func(o, x []T, sx int, y []T, sy int) {
			switch {
			case sx == 1 && sy == 1:
				x, y = x[:len(o)], y[:len(o)]
				for i := range o {
					o[i] = x[i] - y[i]
				}
			case sx == 1:
				x, v := x[:len(o)], y[0]
				for i := range o {
					o[i] = x[i] - v
				}
			case sy == 1:
				v, y := x[0], y[:len(o)]
				for i := range o {
					o[i] = v - y[i]
				}
			default:
				v := x[0] - y[0]
				for i := range o {
					o[i] = v
				}
			}
		}
	case "Mul":
		return func(o, x []T, sx int, y []T, sy int) {
			switch {
			case sx == 1 && sy == 1:
				x, y = x[:len(o)], y[:len(o)]
				for i := range o {
					o[i] = x[i] * y[i]
				}
			case sx == 1:
				x, v := x[:len(o)], y[0]
				for i := range o {
					o[i] = x[i] * v
				}
			case sy == 1:
				v, y := x[0], y[:len(o)]
				for i := range o {
					o[i] = v * y[i]
				}
			default:
				v := x[0] * y[0]
				for i := range o {
					o[i] = v
				}
			}
		}
	case "Div":
		return func(o, x []T, sx int, y []T, sy int) {
			switch {
			case sx == 1 && sy == 1:
				x, y = x[:len(o)], y[:len(o)]
				for i := range o {
					o[i] = x[i] / y[i]
				}
			case sx == 1:
				x, v := x[:len(o)], y[0]
				for i := range o {
					o[i] = x[i] / v
				}
			case sy == 1:
				v, y := x[0], y[:len(o)]
				for i := range o {
					o[i] = v / y[i]
				}
			default:
				v := x[0] / y[0]
				for i := range o {
					o[i] = v
				}
			}
		}
	}
	return nil
}

// arith applies a same-type broadcasting arithmetic operator.
func arith(n *graph.Node, threads int, a, b *graph.Tensor) (*graph.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("dtype mismatch: %s and %s", a.DType, b.DType)
	}
	if a.DType == graph.Float16 || a.DType == graph.BFloat16 {
		r, err := arith(n, threads, widenHalf(a), widenHalf(b))
		if err != nil {
			return nil, err
		}
		return narrowHalf(r, a.DType), nil
	}
	os, err := graph.BroadcastInts(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	var data any
	switch x := a.Data.(type) {
	case []float32:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]float32), b.Shape, os)
	case []float64:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]float64), b.Shape, os)
	case []int8:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]int8), b.Shape, os)
	case []uint8:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]uint8), b.Shape, os)
	case []int16:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]int16), b.Shape, os)
	case []uint16:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]uint16), b.Shape, os)
	case []int32:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]int32), b.Shape, os)
	case []uint32:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]uint32), b.Shape, os)
	case []int64:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]int64), b.Shape, os)
	case []uint64:
		data, err = arithTyped(n, threads, x, a.Shape, b.Data.([]uint64), b.Shape, os)
	default:
		return nil, fmt.Errorf("%s is not defined for %s inputs", n.OpType, a.DType)
	}
	if err != nil {
		return nil, err
	}
	return &graph.Tensor{DType: a.DType, Shape: os, Data: data}, nil
}

func buildArith(b *BuildContext) (Kernel, error) {
	n := b.Node
	if n.OpType == "BitShift" {
		if d := n.AttrString("direction", ""); d != "LEFT" && d != "RIGHT" {
			return nil, b.Errorf("attribute direction must be LEFT or RIGHT, is %q", d)
		}
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		if n.OpType == "BitShift" {
			switch in[0].DType {
			case graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64:
			default:
				return nil, fmt.Errorf("BitShift needs unsigned integers, got %s", in[0].DType)
			}
		}
		out, err := arith(n, ctx.Threads, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

// buildVariadic implements Sum, Mean, Max and Min over any number of inputs with
// multidirectional broadcasting, folding the inputs left to right.
func buildVariadic(b *BuildContext) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("%s needs at least one input", n.OpType)
		}
		if err := checkInputs(in, len(in)); err != nil {
			return nil, err
		}
		acc := in[0]
		for _, t := range in[1:] {
			var err error
			if acc, err = arith(n, ctx.Threads, acc, t); err != nil {
				return nil, err
			}
		}
		if n.OpType == "Mean" && len(in) > 1 {
			cnt := &graph.Tensor{DType: graph.Float64, Shape: nil, Data: []float64{float64(len(in))}}
			c, err := castTensor(cnt, acc.DType)
			if err != nil {
				return nil, err
			}
			div := &graph.Node{OpType: "Div"}
			if acc, err = arith(div, ctx.Threads, acc, c); err != nil {
				return nil, err
			}
		}
		if acc == in[0] {
			acc = view(acc, acc.Shape) // one input: output is the input
		}
		return []*graph.Tensor{acc}, nil
	}), nil
}

// Pow: the exponent may have another numeric type than the base (opset 12+); the
// result has the base's type.

func powInt[T integer](x, y T) T {
	if y < 0 {
		// Negative exponents only give integers for |x| == 1; follow float semantics
		// truncated toward zero, as ONNX Runtime does.
		return T(math.Pow(float64(x), float64(y)))
	}
	r, b, e := T(1), x, uint64(y)
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

func buildPow(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, y := in[0], in[1]
		os, err := graph.BroadcastInts(x.Shape, y.Shape)
		if err != nil {
			return nil, err
		}
		// Exact integer powers when both operands have the same integer type.
		if x.DType == y.DType {
			var data any
			switch xd := x.Data.(type) {
			case []int32:
				out := make([]int32, graph.NumElements(os))
				binaryBroadcast(ctx.Threads, xd, x.Shape, y.Data.([]int32), y.Shape, out, os, powInt[int32])
				data = out
			case []int64:
				out := make([]int64, graph.NumElements(os))
				binaryBroadcast(ctx.Threads, xd, x.Shape, y.Data.([]int64), y.Shape, out, os, powInt[int64])
				data = out
			case []float32:
				out := make([]float32, graph.NumElements(os))
				binaryBroadcast(ctx.Threads, xd, x.Shape, y.Data.([]float32), y.Shape, out, os, func(a, b float32) float32 {
					return float32(math.Pow(float64(a), float64(b)))
				})
				data = out
			}
			if data != nil {
				return []*graph.Tensor{{DType: x.DType, Shape: os, Data: data}}, nil
			}
		}
		xf, err := widenHalf(x).AsFloat64()
		if err != nil {
			return nil, err
		}
		yf, err := widenHalf(y).AsFloat64()
		if err != nil {
			return nil, err
		}
		out := make([]float64, graph.NumElements(os))
		binaryBroadcast(ctx.Threads, xf, x.Shape, yf, y.Shape, out, os, math.Pow)
		r, err := castTensor(&graph.Tensor{DType: graph.Float64, Shape: os, Data: out}, x.DType)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{r}, nil
	}), nil
}

func buildPRelu(b *BuildContext) (Kernel, error) {
	return buildArith(b)
}

// Comparisons and logic.

func compareFn[T number](op string) func(T, T) bool {
	switch op {
	case "Equal":
		return func(x, y T) bool { return x == y }
	case "Less":
		return func(x, y T) bool { return x < y }
	case "Greater":
		return func(x, y T) bool { return x > y }
	case "LessOrEqual":
		return func(x, y T) bool { return x <= y }
	case "GreaterOrEqual":
		return func(x, y T) bool { return x >= y }
	}
	return nil
}

func compareTyped[T number](op string, threads int, a []T, as []int, b []T, bs []int, os []int) []bool {
	out := make([]bool, graph.NumElements(os))
	binaryBroadcast(threads, a, as, b, bs, out, os, compareFn[T](op))
	return out
}

func compare(op string, threads int, a, b *graph.Tensor) (*graph.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("dtype mismatch: %s and %s", a.DType, b.DType)
	}
	if a.DType == graph.Float16 || a.DType == graph.BFloat16 {
		a, b = widenHalf(a), widenHalf(b)
	}
	os, err := graph.BroadcastInts(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	var out []bool
	switch x := a.Data.(type) {
	case []float32:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]float32), b.Shape, os)
	case []float64:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]float64), b.Shape, os)
	case []int8:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]int8), b.Shape, os)
	case []uint8:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]uint8), b.Shape, os)
	case []int16:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]int16), b.Shape, os)
	case []uint16:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]uint16), b.Shape, os)
	case []int32:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]int32), b.Shape, os)
	case []uint32:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]uint32), b.Shape, os)
	case []int64:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]int64), b.Shape, os)
	case []uint64:
		out = compareTyped(op, threads, x, a.Shape, b.Data.([]uint64), b.Shape, os)
	case []bool:
		if op != "Equal" {
			return nil, fmt.Errorf("%s is not defined for bool inputs", op)
		}
		out = make([]bool, graph.NumElements(os))
		binaryBroadcast(threads, x, a.Shape, b.Data.([]bool), b.Shape, out, os, func(p, q bool) bool { return p == q })
	case []string:
		if op != "Equal" {
			return nil, fmt.Errorf("%s is not defined for string inputs", op)
		}
		out = make([]bool, graph.NumElements(os))
		binaryBroadcast(threads, x, a.Shape, b.Data.([]string), b.Shape, out, os, func(p, q string) bool { return p == q })
	default:
		return nil, fmt.Errorf("%s is not defined for %s inputs", op, a.DType)
	}
	return &graph.Tensor{DType: graph.Bool, Shape: os, Data: out}, nil
}

func buildCompare(b *BuildContext) (Kernel, error) {
	op := b.Node.OpType
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		out, err := compare(op, ctx.Threads, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildLogical(b *BuildContext) (Kernel, error) {
	var f func(p, q bool) bool
	switch b.Node.OpType {
	case "And":
		f = func(p, q bool) bool { return p && q }
	case "Or":
		f = func(p, q bool) bool { return p || q }
	case "Xor":
		f = func(p, q bool) bool { return p != q }
	}
	op := b.Node.OpType
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, ok1 := in[0].Data.([]bool)
		y, ok2 := in[1].Data.([]bool)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s needs bool inputs, got %s and %s", op, in[0].DType, in[1].DType)
		}
		os, err := graph.BroadcastInts(in[0].Shape, in[1].Shape)
		if err != nil {
			return nil, err
		}
		out := make([]bool, graph.NumElements(os))
		binaryBroadcast(ctx.Threads, x, in[0].Shape, y, in[1].Shape, out, os, f)
		return []*graph.Tensor{{DType: graph.Bool, Shape: os, Data: out}}, nil
	}), nil
}

// Where.

func whereTyped[T any](cond []bool, x, y []T) []T {
	out := make([]T, len(cond))
	for i, c := range cond {
		if c {
			out[i] = x[i]
		} else {
			out[i] = y[i]
		}
	}
	return out
}

func buildWhere(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		c, x, y := in[0], in[1], in[2]
		if c.DType != graph.Bool {
			return nil, fmt.Errorf("condition must be bool, is %s", c.DType)
		}
		if x.DType != y.DType {
			return nil, fmt.Errorf("dtype mismatch: X is %s, Y is %s", x.DType, y.DType)
		}
		os, err := graph.BroadcastIntsN(c.Shape, x.Shape, y.Shape)
		if err != nil {
			return nil, err
		}
		var bc [3]*graph.Tensor
		for i, t := range []*graph.Tensor{c, x, y} {
			if bc[i], err = broadcastTo(t, os); err != nil {
				return nil, err
			}
		}
		cond := bc[0].Data.([]bool)
		var data any
		switch xd := bc[1].Data.(type) {
		case []float32:
			data = whereTyped(cond, xd, bc[2].Data.([]float32))
		case []float64:
			data = whereTyped(cond, xd, bc[2].Data.([]float64))
		case []int8:
			data = whereTyped(cond, xd, bc[2].Data.([]int8))
		case []uint8:
			data = whereTyped(cond, xd, bc[2].Data.([]uint8))
		case []int16:
			data = whereTyped(cond, xd, bc[2].Data.([]int16))
		case []uint16:
			data = whereTyped(cond, xd, bc[2].Data.([]uint16))
		case []int32:
			data = whereTyped(cond, xd, bc[2].Data.([]int32))
		case []uint32:
			data = whereTyped(cond, xd, bc[2].Data.([]uint32))
		case []int64:
			data = whereTyped(cond, xd, bc[2].Data.([]int64))
		case []uint64:
			data = whereTyped(cond, xd, bc[2].Data.([]uint64))
		case []bool:
			data = whereTyped(cond, xd, bc[2].Data.([]bool))
		case []string:
			data = whereTyped(cond, xd, bc[2].Data.([]string))
		default:
			return nil, fmt.Errorf("Where is not defined for %s inputs", x.DType)
		}
		return []*graph.Tensor{{DType: x.DType, Shape: os, Data: data}}, nil
	}), nil
}

// Cast.

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

// Identity and Dropout.

func buildIdentity(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
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
	for _, op := range []string{"Relu", "Sigmoid", "Tanh", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
		"Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
		"Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Shrink", "Elu", "Celu", "Selu",
		"LeakyRelu", "ThresholdedRelu", "HardSigmoid", "HardSwish"} {
		Register(OpInfo{OpType: op, Build: buildUnary})
	}
	Register(OpInfo{OpType: "Not", Build: buildNot})
	Register(OpInfo{OpType: "IsNaN", Build: buildFloatPredicate})
	Register(OpInfo{OpType: "IsInf", Build: buildFloatPredicate})
	Register(OpInfo{OpType: "Clip", Build: buildClip})
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Mod", "BitShift"} {
		Register(OpInfo{OpType: op, Build: buildArith})
	}
	Register(OpInfo{OpType: "PRelu", Build: buildPRelu})
	Register(OpInfo{OpType: "Pow", Build: buildPow})
	for _, op := range []string{"Sum", "Mean", "Max", "Min"} {
		Register(OpInfo{OpType: op, Build: buildVariadic})
	}
	for _, op := range []string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		Register(OpInfo{OpType: op, Build: buildCompare})
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		Register(OpInfo{OpType: op, Build: buildLogical})
	}
	Register(OpInfo{OpType: "Where", Build: buildWhere})
	Register(OpInfo{OpType: "Cast", Build: buildCast})
	Register(OpInfo{OpType: "CastLike", Build: buildCast})
	Register(OpInfo{OpType: "Identity", Build: buildIdentity})
	Register(OpInfo{OpType: "Dropout", Build: buildDropout})
}

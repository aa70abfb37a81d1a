package runtime

// Reference kernels of the numpy-broadcasting binary and variadic operators:
// arithmetic (Add, Sub, Mul, Div, Mod, BitShift, Pow, PRelu, Sum, Mean, Max, Min),
// comparisons, logic and Where. The unary operators and the shared helpers are in
// op_elementwise.go.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

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
	case "BitwiseAnd", "BitwiseOr", "BitwiseXor":
		return bitwiseFn[T](n.OpType)
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
	case "Max":
		return maxRow[T]
	case "Min":
		return minRow[T]
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

// maxOf and minOf are arithFn's Max and Min: a NaN in x propagates as in
// numpy's maximum and ONNX Runtime, a NaN in y gives y (the comparison is
// false).
func maxOf[T number](x, y T) T {
	if x != x || x > y {
		return x
	}
	return y
}

func minOf[T number](x, y T) T {
	if x != x || x < y {
		return x
	}
	return y
}

// maxRow and minRow are the row loops of Max and Min with the comparison
// inlined (the generic path called a function value per element: paddle2onnx's
// variadic Max over three [1,8,16,16] maps took 15 µs).
func maxRow[T number](o, x []T, sx int, y []T, sy int) {
	switch {
	case sx == 1 && sy == 1:
		x, y = x[:len(o)], y[:len(o)]
		for i := range o {
			o[i] = maxOf(x[i], y[i])
		}
	case sx == 1:
		x, v := x[:len(o)], y[0]
		for i := range o {
			o[i] = maxOf(x[i], v)
		}
	case sy == 1:
		v, y := x[0], y[:len(o)]
		for i := range o {
			o[i] = maxOf(v, y[i])
		}
	default:
		v := maxOf(x[0], y[0])
		for i := range o {
			o[i] = v
		}
	}
}

func minRow[T number](o, x []T, sx int, y []T, sy int) {
	switch {
	case sx == 1 && sy == 1:
		x, y = x[:len(o)], y[:len(o)]
		for i := range o {
			o[i] = minOf(x[i], y[i])
		}
	case sx == 1:
		x, v := x[:len(o)], y[0]
		for i := range o {
			o[i] = minOf(x[i], v)
		}
	case sy == 1:
		v, y := x[0], y[:len(o)]
		for i := range o {
			o[i] = minOf(v, y[i])
		}
	default:
		v := minOf(x[0], y[0])
		for i := range o {
			o[i] = v
		}
	}
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
		if isBitwise(n.OpType) && !isIntegerDType(in[0].DType) {
			return nil, fmt.Errorf("%s needs integers, got %s", n.OpType, in[0].DType)
		}
		if out, ok := arithF32Arena(ctx, n, in[0], in[1]); ok {
			return []*graph.Tensor{out}, nil
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
		if out, ok := variadicF32Arena(ctx, n, in); ok {
			return []*graph.Tensor{out}, nil
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

func buildPowGeneral(b *BuildContext) (Kernel, error) {
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

func init() {
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
}

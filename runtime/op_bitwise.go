package runtime

// BitwiseAnd, BitwiseOr, BitwiseXor (broadcasting, through buildArith) and
// BitwiseNot (opset 18) on the integer types.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func isBitwise(op string) bool {
	return op == "BitwiseAnd" || op == "BitwiseOr" || op == "BitwiseXor"
}

func isIntegerDType(d graph.DType) bool {
	switch d {
	case graph.Int8, graph.Uint8, graph.Int16, graph.Uint16, graph.Int32, graph.Uint32, graph.Int64, graph.Uint64:
		return true
	}
	return false
}

// bitwiseFn returns the typed function of a binary bitwise operator for an integer T.
func bitwiseFn[T number](op string) (func(T, T) T, error) {
	var f any
	switch any(*new(T)).(type) {
	case int8:
		f = bitwise[int8](op)
	case uint8:
		f = bitwise[uint8](op)
	case int16:
		f = bitwise[int16](op)
	case uint16:
		f = bitwise[uint16](op)
	case int32:
		f = bitwise[int32](op)
	case uint32:
		f = bitwise[uint32](op)
	case int64:
		f = bitwise[int64](op)
	case uint64:
		f = bitwise[uint64](op)
	default:
		return nil, fmt.Errorf("%s needs integers, got %T", op, *new(T))
	}
	return f.(func(T, T) T), nil
}

func bitwise[T integer](op string) func(T, T) T {
	switch op {
	case "BitwiseAnd":
		return func(x, y T) T { return x & y }
	case "BitwiseOr":
		return func(x, y T) T { return x | y }
	}
	return func(x, y T) T { return x ^ y }
}

func notAll[T integer](x []T) []T {
	return mapSlice(1, x, func(v T) T { return ^v })
}

func buildBitwiseNot(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		var data any
		switch x := in[0].Data.(type) {
		case []int8:
			data = notAll(x)
		case []uint8:
			data = notAll(x)
		case []int16:
			data = notAll(x)
		case []uint16:
			data = notAll(x)
		case []int32:
			data = notAll(x)
		case []uint32:
			data = notAll(x)
		case []int64:
			data = notAll(x)
		case []uint64:
			data = notAll(x)
		default:
			return nil, fmt.Errorf("BitwiseNot needs integers, got %s", in[0].DType)
		}
		return []*graph.Tensor{{DType: in[0].DType, Shape: append([]int{}, in[0].Shape...), Data: data}}, nil
	}), nil
}

func init() {
	for _, op := range []string{"BitwiseAnd", "BitwiseOr", "BitwiseXor"} {
		Register(OpInfo{OpType: op, Build: buildArith})
	}
	Register(OpInfo{OpType: "BitwiseNot", Build: buildBitwiseNot})
}

package runtime

// ArrayFeatureExtractor, Binarizer and OneHotEncoder (ai.onnx.ml; graph/ops_ml_features.go),
// as ONNX Runtime computes them: columns picked along the last axis (a 1-D input
// gives [1, K]), x > threshold as 1 or 0, and one float32 row of the categories
// per value (int64 categories; a float value compared after truncation to int64).

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

func pickColumns[T any](x []T, cols int, idx []int64) []T {
	rows := len(x) / cols
	out := make([]T, 0, rows*len(idx))
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		for _, i := range idx {
			out = append(out, row[i])
		}
	}
	return out
}

func buildArrayFeatureExtractor(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		if len(x.Shape) == 0 || it.DType != graph.Int64 {
			return nil, fmt.Errorf("X %v must have an axis and the indices %s must be int64", x.Shape, it.DType)
		}
		cols := x.Shape[len(x.Shape)-1]
		idx := it.I64()
		if len(idx) == 0 {
			return nil, fmt.Errorf("no indices")
		}
		for _, i := range idx {
			if i < 0 || i >= int64(cols) {
				return nil, fmt.Errorf("index %d is outside the %d columns of X %v", i, cols, x.Shape)
			}
		}
		shape := append(append([]int{}, x.Shape[:len(x.Shape)-1]...), len(idx))
		if len(x.Shape) == 1 {
			shape = []int{1, len(idx)}
		}
		var data any
		switch d := x.Data.(type) {
		case []float32:
			data = pickColumns(d, cols, idx)
		case []float64:
			data = pickColumns(d, cols, idx)
		case []int64:
			data = pickColumns(d, cols, idx)
		case []int32:
			data = pickColumns(d, cols, idx)
		default:
			return nil, fmt.Errorf("X of type %s (float32, float64, int64 or int32)", x.DType)
		}
		return []*graph.Tensor{{DType: x.DType, Shape: shape, Data: data}}, nil
	}), nil
}

func buildBinarizer(b *BuildContext) (Kernel, error) {
	th := b.Node.AttrFloat("threshold", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		if in[0].DType != graph.Float32 {
			return nil, fmt.Errorf("input of type %s (float32 only)", in[0].DType)
		}
		x := in[0].F32()
		out := make([]float32, len(x))
		for i, v := range x {
			if v > th {
				out[i] = 1
			}
		}
		return f32Out(in[0].Shape, out), nil
	}), nil
}

func buildOneHotEncoder(b *BuildContext) (Kernel, error) {
	cats := b.Node.AttrInts("cats_int64s", nil)
	if len(cats) == 0 || len(b.Node.AttrStrings("cats_strings", nil)) > 0 {
		return nil, fmt.Errorf("int64 categories (cats_int64s) are required; string categories are not supported")
	}
	pos := make(map[int64]int, len(cats))
	for i, c := range cats {
		if _, dup := pos[c]; !dup {
			pos[c] = i
		}
	}
	zeros := b.Node.AttrInt("zeros", 1) == 1
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		var vals []int64
		switch d := in[0].Data.(type) {
		case []int64:
			vals = d
		case []int32:
			vals = make([]int64, len(d))
			for i, v := range d {
				vals[i] = int64(v)
			}
		case []float32, []float64:
			f, err := in[0].AsFloat64()
			if err != nil {
				return nil, err
			}
			vals = make([]int64, len(f))
			for i, v := range f {
				if math.IsNaN(v) || math.Abs(v) > math.MaxInt64/2 {
					return nil, fmt.Errorf("value %g is not a category", v)
				}
				vals[i] = int64(v)
			}
		default:
			return nil, fmt.Errorf("input of type %s (int64, int32, float32 or float64)", in[0].DType)
		}
		k := len(cats)
		out := make([]float32, len(vals)*k)
		for i, v := range vals {
			j, ok := pos[v]
			if !ok {
				if !zeros {
					return nil, fmt.Errorf("value %d is not one of the %d categories (zeros=0)", v, k)
				}
				continue
			}
			out[i*k+j] = 1
		}
		return f32Out(append(append([]int{}, in[0].Shape...), k), out), nil
	}), nil
}

func init() {
	d := graph.MLDomain
	Register(OpInfo{OpType: "ArrayFeatureExtractor", Domain: d, Build: buildArrayFeatureExtractor})
	Register(OpInfo{OpType: "Binarizer", Domain: d, Build: buildBinarizer})
	Register(OpInfo{OpType: "OneHotEncoder", Domain: d, Build: buildOneHotEncoder})
}

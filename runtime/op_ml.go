package runtime

// The ai.onnx.ml operators of scikit-learn pipelines (graph/ops_ml.go): Scaler,
// Normalizer, Imputer, LinearClassifier, LinearRegressor, TreeEnsembleRegressor
// and TreeEnsembleClassifier, on [N, C] or [C] inputs of float32, float64, int32
// or int64, with float32 results as ONNX Runtime's. Labels are the argmax of the
// raw scores (the first on ties), post_transform applied to the scores after.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// mlFeatures returns the input as float32 rows: (data, rows, columns).
func mlFeatures(x *graph.Tensor) ([]float32, int, int, error) {
	var rows, cols int
	switch len(x.Shape) {
	case 1:
		rows, cols = 1, x.Shape[0]
	case 2:
		rows, cols = x.Shape[0], x.Shape[1]
	default:
		return nil, 0, 0, fmt.Errorf("input must be [N, C] or [C], has shape %v", x.Shape)
	}
	switch x.DType {
	case graph.Float32:
		return x.F32(), rows, cols, nil
	case graph.Float64, graph.Int64, graph.Int32:
		v, err := x.AsFloat64()
		if err != nil {
			return nil, 0, 0, err
		}
		out := make([]float32, len(v))
		for i, f := range v {
			out[i] = float32(f)
		}
		return out, rows, cols, nil
	}
	return nil, 0, 0, fmt.Errorf("input of type %s (float32, float64, int32 or int64)", x.DType)
}

// perColumn returns v as one value per column (a single value is repeated).
func perColumn(v []float32, cols int, def float32, what string) ([]float32, error) {
	out := make([]float32, cols)
	switch len(v) {
	case 0:
		for i := range out {
			out[i] = def
		}
	case 1:
		for i := range out {
			out[i] = v[0]
		}
	case cols:
		copy(out, v)
	default:
		return nil, fmt.Errorf("%s has %d values for %d columns", what, len(v), cols)
	}
	return out, nil
}

func f32Out(shape []int, data []float32) []*graph.Tensor {
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int{}, shape...), Data: data}}
}

func buildScaler(b *BuildContext) (Kernel, error) {
	off, scale := b.Node.AttrFloats("offset", nil), b.Node.AttrFloats("scale", nil)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, rows, cols, err := mlFeatures(in[0])
		if err != nil {
			return nil, err
		}
		o, err := perColumn(off, cols, 0, "offset")
		if err != nil {
			return nil, err
		}
		s, err := perColumn(scale, cols, 1, "scale")
		if err != nil {
			return nil, err
		}
		out := make([]float32, rows*cols)
		for i := range out {
			c := i % cols
			out[i] = (x[i] - o[c]) * s[c]
		}
		return f32Out(in[0].Shape, out), nil
	}), nil
}

func buildNormalizer(b *BuildContext) (Kernel, error) {
	norm := b.Node.AttrString("norm", "MAX")
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, rows, cols, err := mlFeatures(in[0])
		if err != nil {
			return nil, err
		}
		out := make([]float32, rows*cols)
		for r := 0; r < rows; r++ {
			row, o := x[r*cols:(r+1)*cols], out[r*cols:(r+1)*cols]
			var d float32
			switch norm {
			case "MAX":
				d = float32(math.Inf(-1))
				for _, v := range row {
					d = max(d, v)
				}
			case "L1":
				for _, v := range row {
					d += float32(math.Abs(float64(v)))
				}
			default:
				for _, v := range row {
					d += v * v
				}
				d = float32(math.Sqrt(float64(d)))
			}
			for i, v := range row {
				if d != 0 {
					v /= d
				}
				o[i] = v
			}
		}
		return f32Out(in[0].Shape, out), nil
	}), nil
}

func buildImputer(b *BuildContext) (Kernel, error) {
	n := b.Node
	fv, iv := n.AttrFloats("imputed_value_floats", nil), n.AttrInts("imputed_value_int64s", nil)
	rf, ri := n.AttrFloat("replaced_value_float", 0), n.AttrInt("replaced_value_int64", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 1 || len(x.Shape) > 2 {
			return nil, fmt.Errorf("input must be [N, C] or [C], has shape %v", x.Shape)
		}
		cols := x.Shape[len(x.Shape)-1]
		switch d := x.Data.(type) {
		case []float32:
			if len(fv) != 1 && len(fv) != cols {
				return nil, fmt.Errorf("imputed_value_floats has %d values for %d columns", len(fv), cols)
			}
			nan := math.IsNaN(float64(rf))
			out := make([]float32, len(d))
			for i, v := range d {
				if (nan && v != v) || (!nan && v == rf) {
					v = fv[min(i%cols, len(fv)-1)]
				}
				out[i] = v
			}
			return f32Out(x.Shape, out), nil
		case []int64:
			if len(iv) != 1 && len(iv) != cols {
				return nil, fmt.Errorf("imputed_value_int64s has %d values for %d columns", len(iv), cols)
			}
			out := make([]int64, len(d))
			for i, v := range d {
				if v == ri {
					v = iv[min(i%cols, len(iv)-1)]
				}
				out[i] = v
			}
			return []*graph.Tensor{{DType: graph.Int64, Shape: append([]int{}, x.Shape...), Data: out}}, nil
		}
		return nil, fmt.Errorf("input of type %s (float32 or int64)", x.DType)
	}), nil
}

// linear computes x·coefᵀ + intercepts for rows of x: [rows, k].
func linear(x []float32, rows, cols int, coef, icpt []float32, k int) ([]float32, error) {
	if len(coef) != k*cols {
		return nil, fmt.Errorf("%d coefficients for %d outputs and %d features", len(coef), k, cols)
	}
	out := make([]float32, rows*k)
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		for j := 0; j < k; j++ {
			var s float32
			for i, v := range row {
				s += v * coef[j*cols+i]
			}
			if icpt != nil {
				s += icpt[j]
			}
			out[r*k+j] = s
		}
	}
	return out, nil
}

// mlPostTransform applies post_transform to each row of k scores in place.
func mlPostTransform(p string, s []float32, k int) {
	for r := 0; r+k <= len(s); r += k {
		row := s[r : r+k]
		switch p {
		case "LOGISTIC":
			for i, v := range row {
				e := float32(1 / (1 + math.Exp(-math.Abs(float64(v)))))
				if v < 0 {
					e = 1 - e
				}
				row[i] = e
			}
		case "SOFTMAX", "SOFTMAX_ZERO":
			m := float32(math.Inf(-1))
			for _, v := range row {
				if p == "SOFTMAX" || v != 0 {
					m = max(m, v)
				}
			}
			var sum float32
			for i, v := range row {
				if p == "SOFTMAX_ZERO" && v == 0 {
					continue
				}
				row[i] = float32(math.Exp(float64(v - m)))
				sum += row[i]
			}
			for i, v := range row {
				if p == "SOFTMAX_ZERO" && v == 0 {
					continue
				}
				row[i] = v / sum
			}
		}
	}
}

// argmaxLabels returns labels[argmax] of each row of k scores (the first maximum).
func argmaxLabels(s []float32, k int, labels []int64) []int64 {
	out := make([]int64, len(s)/k)
	for r := range out {
		row, best := s[r*k:(r+1)*k], 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		out[r] = labels[best]
	}
	return out
}

func rowsShape(x *graph.Tensor, rows, k int) []int {
	if len(x.Shape) == 1 {
		return []int{1, k}
	}
	return []int{rows, k}
}

func buildLinearClassifier(b *BuildContext) (Kernel, error) {
	n := b.Node
	labels, coef, icpt := n.AttrInts("classlabels_ints", nil), n.AttrFloats("coefficients", nil), n.AttrFloats("intercepts", nil)
	post := n.AttrString("post_transform", "NONE")
	if err := graph.MLPostTransform(post); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Label(), err)
	}
	k := len(labels)
	if k < 2 || n.HasAttr("classlabels_strings") {
		return nil, fmt.Errorf("%s: %w classifier form (integer labels, one coefficient row per class, two classes or more)",
			n.Label(), graph.ErrUnsupported)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, rows, cols, err := mlFeatures(in[0])
		if err != nil {
			return nil, err
		}
		s, err := linear(x, rows, cols, coef, icpt, k)
		if err != nil {
			return nil, err
		}
		lab := argmaxLabels(s, k, labels)
		mlPostTransform(post, s, k)
		return []*graph.Tensor{{DType: graph.Int64, Shape: []int{len(lab)}, Data: lab},
			{DType: graph.Float32, Shape: rowsShape(in[0], rows, k), Data: s}}, nil
	}), nil
}

func buildLinearRegressor(b *BuildContext) (Kernel, error) {
	n := b.Node
	coef, icpt, k := n.AttrFloats("coefficients", nil), n.AttrFloats("intercepts", nil), int(n.AttrInt("targets", 1))
	if p := n.AttrString("post_transform", "NONE"); p != "NONE" {
		return nil, fmt.Errorf("%s: %w post_transform %q (NONE only)", n.Label(), graph.ErrUnsupported, p)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, rows, cols, err := mlFeatures(in[0])
		if err != nil {
			return nil, err
		}
		s, err := linear(x, rows, cols, coef, icpt, k)
		if err != nil {
			return nil, err
		}
		return f32Out(rowsShape(in[0], rows, k), s), nil
	}), nil
}

func buildTreeEnsemble(b *BuildContext) (Kernel, error) {
	n := b.Node
	te, err := graph.NewTreeEnsemble(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Label(), err)
	}
	post := n.AttrString("post_transform", "NONE")
	if err := graph.MLPostTransform(post); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Label(), err)
	}
	classifier := n.OpType == "TreeEnsembleClassifier"
	labels := n.AttrInts("classlabels_int64s", nil)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x, rows, cols, err := mlFeatures(in[0])
		if err != nil {
			return nil, err
		}
		k := te.Targets
		s := make([]float32, rows*k)
		for r := 0; r < rows; r++ {
			if err := te.Eval(x[r*cols:(r+1)*cols], s[r*k:(r+1)*k]); err != nil {
				return nil, err
			}
		}
		if !classifier {
			mlPostTransform(post, s, k)
			return f32Out(rowsShape(in[0], rows, k), s), nil
		}
		lab := argmaxLabels(s, k, labels)
		mlPostTransform(post, s, k)
		return []*graph.Tensor{{DType: graph.Int64, Shape: []int{len(lab)}, Data: lab},
			{DType: graph.Float32, Shape: rowsShape(in[0], rows, k), Data: s}}, nil
	}), nil
}

func init() {
	d := graph.MLDomain
	Register(OpInfo{OpType: "Scaler", Domain: d, Build: buildScaler})
	Register(OpInfo{OpType: "Normalizer", Domain: d, Build: buildNormalizer})
	Register(OpInfo{OpType: "Imputer", Domain: d, Build: buildImputer})
	Register(OpInfo{OpType: "LinearClassifier", Domain: d, Build: buildLinearClassifier})
	Register(OpInfo{OpType: "LinearRegressor", Domain: d, Build: buildLinearRegressor})
	Register(OpInfo{OpType: "TreeEnsembleRegressor", Domain: d, Build: buildTreeEnsemble})
	Register(OpInfo{OpType: "TreeEnsembleClassifier", Domain: d, Build: buildTreeEnsemble})
}

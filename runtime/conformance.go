package runtime

import (
	"fmt"
	"math"
	"os"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/onnx"
	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// LoadTensorFile reads a serialized ONNX TensorProto (the input_N.pb / output_N.pb
// files of ONNX's test data sets) and returns the tensor and its name.
func LoadTensorFile(path string) (*graph.Tensor, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(data, tp); err != nil {
		return nil, "", fmt.Errorf("%s: %w: protobuf: %v", path, onnx.ErrMalformed, err)
	}
	t, err := graph.TensorFromProto(tp)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return t, tp.GetName(), nil
}

// Tolerance is the float comparison used by CompareTensors: |got-want| <= Atol +
// Rtol*|want|, as numpy's assert_allclose.
type Tolerance struct {
	Rtol, Atol float64
}

// ONNXTolerance is what ONNX's backend test runner uses for float outputs (its atol is
// 1e-7; 1e-5 absorbs float32 rounding of results near zero, e.g. sin(pi)).
var ONNXTolerance = Tolerance{Rtol: 1e-3, Atol: 1e-5}

// CompareTensors checks that got equals want: same dtype and shape, floats within tol
// (NaN matches NaN, infinities must match exactly), integers, bools and strings exact.
// The error names the first mismatching element and counts all of them.
func CompareTensors(got, want *graph.Tensor, tol Tolerance) error {
	if got == nil {
		return fmt.Errorf("missing result")
	}
	if want.IsSeq() {
		return compareSequences(got, want, tol) // conformance_seq.go
	}
	if got.IsSeq() {
		return fmt.Errorf("got a sequence, want a tensor")
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if err := checkTensor("result", got); err != nil {
		return err
	}
	n := want.Len()
	bad, first := 0, -1
	var firstMsg string
	note := func(i int, g, w any) {
		bad++
		if first < 0 {
			first = i
			firstMsg = fmt.Sprintf("element %d (index %v): got %v, want %v", i, unravel(i, want.Shape), g, w)
		}
	}
	switch want.DType {
	case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16:
		g, err := got.AsFloat64()
		if err != nil {
			return err
		}
		w, err := want.AsFloat64()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if !floatClose(g[i], w[i], tol) {
				note(i, g[i], w[i])
			}
		}
	case graph.String:
		g, w := got.Data.([]string), want.Data.([]string)
		for i := range w {
			if g[i] != w[i] {
				note(i, g[i], w[i])
			}
		}
	case graph.Bool:
		g, w := got.Data.([]bool), want.Data.([]bool)
		for i := range w {
			if g[i] != w[i] {
				note(i, g[i], w[i])
			}
		}
	default:
		// Integers are compared exactly; int64 and uint64 may not fit in a float64, so
		// compare through their own types.
		switch w := want.Data.(type) {
		case []int64:
			g := got.Data.([]int64)
			for i := range w {
				if g[i] != w[i] {
					note(i, g[i], w[i])
				}
			}
		case []uint64:
			g := got.Data.([]uint64)
			for i := range w {
				if g[i] != w[i] {
					note(i, g[i], w[i])
				}
			}
		default:
			g, err := got.AsFloat64()
			if err != nil {
				return err
			}
			wf, err := want.AsFloat64()
			if err != nil {
				return err
			}
			for i := range wf {
				if g[i] != wf[i] {
					note(i, g[i], wf[i])
				}
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; first: %s", bad, n, firstMsg)
	}
	return nil
}

func floatClose(g, w float64, tol Tolerance) bool {
	switch {
	case math.IsNaN(w):
		return math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		return g == w
	}
	return math.Abs(g-w) <= tol.Atol+tol.Rtol*math.Abs(w)
}

func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] > 0 {
			idx[k] = i % shape[k]
			i /= shape[k]
		}
	}
	return idx
}

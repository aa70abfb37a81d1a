package runtime

// Multinomial (graph/ops_multinomial.go): sample_size draws with replacement per
// row of unnormalised log-probabilities, P(class i) = exp(x_i) / Σ exp(x_j)
// (a log-probability of -inf: never drawn). With a seed attribute the node's
// generator is seeded once when the session is built, so a session's sequence
// of draws is reproducible (as ONNX Runtime's kernel, whose sequence differs
// from this one: no other implementation's numbers are reproduced); without
// one it is seeded at random. A row with a NaN, +inf, or no finite
// log-probability is refused naming the row (there is no distribution to draw
// from). Draws are serialised per node, so concurrent runs stay safe.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/warboy-sim/warboy/graph"
)

// multinomialRow fills out with one class index per uniform draw in u (each in
// [0, 1)) from the row's log-probabilities; cum is scratch of the row's length.
func multinomialRow(logp []float64, u []float64, cum []float64, out []int64) error {
	m := math.Inf(-1)
	for i, v := range logp {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			return fmt.Errorf("log-probability %g at class %d", v, i)
		}
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return fmt.Errorf("no class has a finite log-probability")
	}
	total := 0.0
	for i, v := range logp {
		total += math.Exp(v - m)
		cum[i] = total
	}
	for k, r := range u {
		t := r * total
		// The first class whose cumulative weight exceeds t (classes of weight
		// 0 never do: their cumulative weight equals the one before).
		i := sort.Search(len(cum), func(j int) bool { return cum[j] > t })
		if i == len(cum) { // rounding at the top end: the last class of non-zero weight
			for i = len(cum) - 1; i > 0 && cum[i] == cum[i-1]; i-- {
			}
		}
		out[k] = int64(i)
	}
	return nil
}

func buildMultinomial(b *BuildContext) (Kernel, error) {
	n := b.Node
	dt, err := graph.MultinomialDType(n)
	if err != nil {
		return nil, err
	}
	samples, err := graph.MultinomialSamples(n)
	if err != nil {
		return nil, err
	}
	var src *rand.Rand
	if a := n.Attrs["seed"]; a != nil {
		s := uint64(math.Float32bits(a.F))
		src = rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
	} else {
		src = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	var mu sync.Mutex
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if x.DType != graph.Float32 && x.DType != graph.Float64 {
			return nil, fmt.Errorf("input type %s is not supported (float32 and float64 log-probabilities)", x.DType)
		}
		if len(x.Shape) != 2 {
			return nil, fmt.Errorf("input has shape %v, the operator takes [batch, classes]", x.Shape)
		}
		rows, classes := x.Shape[0], x.Shape[1]
		if classes == 0 && rows > 0 {
			return nil, fmt.Errorf("input has no classes (shape %v)", x.Shape)
		}
		vals, err := x.AsFloat64()
		if err != nil {
			return nil, err
		}
		u := make([]float64, rows*samples)
		mu.Lock()
		for i := range u {
			u[i] = src.Float64()
		}
		mu.Unlock()
		idx := make([]int64, rows*samples)
		cum := make([]float64, classes)
		for r := 0; r < rows; r++ {
			if err := multinomialRow(vals[r*classes:(r+1)*classes], u[r*samples:(r+1)*samples], cum,
				idx[r*samples:(r+1)*samples]); err != nil {
				return nil, fmt.Errorf("row %d: %w", r, err)
			}
		}
		out := graph.NewTensor(dt, []int{rows, samples})
		switch d := out.Data.(type) {
		case []int64:
			copy(d, idx)
		case []int32:
			for i, v := range idx {
				d[i] = int32(v)
			}
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func init() {
	Register(OpInfo{OpType: "Multinomial", Build: buildMultinomial})
}

package runtime

// RandomNormal, RandomUniform and their *Like forms (graph/ops_random.go):
// mean + scale·N(0, 1) or low + (high - low)·U[0, 1). With a seed attribute the
// node's generator is seeded once when the session is built, so a session's
// sequence of draws is reproducible (as ONNX Runtime's kernel, whose sequence
// differs from this one: no other implementation's numbers are reproduced);
// without one it is seeded at random. Draws are serialised per node, so
// concurrent runs of a session stay safe.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/warboy-sim/warboy/graph"
)

func buildRandom(b *BuildContext) (Kernel, error) {
	n := b.Node
	like := strings.HasSuffix(n.OpType, "Like")
	normal := strings.HasPrefix(n.OpType, "RandomNormal")
	var shape []int
	if !like {
		a := n.Attrs["shape"]
		if a == nil {
			return nil, fmt.Errorf("needs the shape attribute")
		}
		shape = graph.Int64sToInts(a.Ints)
	}
	var src *rand.Rand
	if a := n.Attrs["seed"]; a != nil {
		s := uint64(math.Float32bits(a.F))
		src = rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
	} else {
		src = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	mean, scale := float64(n.AttrFloat("mean", 0)), float64(n.AttrFloat("scale", 1))
	low, high := float64(n.AttrFloat("low", 0)), float64(n.AttrFloat("high", 1))
	var mu sync.Mutex
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		s, in0 := shape, graph.Undefined
		if like {
			if err := checkInputs(in, 1); err != nil {
				return nil, err
			}
			s, in0 = in[0].Shape, in[0].DType
		}
		dt, err := graph.RandomDType(n, in0)
		if err != nil {
			return nil, err
		}
		vals := make([]float64, graph.NumElements(s))
		mu.Lock()
		for i := range vals {
			if normal {
				vals[i] = mean + scale*src.NormFloat64()
			} else {
				vals[i] = low + (high-low)*src.Float64()
			}
		}
		mu.Unlock()
		out := graph.NewTensor(dt, append([]int(nil), s...))
		switch d := out.Data.(type) {
		case []float32:
			for i, v := range vals {
				d[i] = float32(v)
			}
		case []float64:
			copy(d, vals)
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func init() {
	for _, op := range []string{"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"} {
		Register(OpInfo{OpType: op, Build: buildRandom})
	}
}

package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func bnInits(rng *rand.Rand, prefix string, c int) map[string]*graph.Tensor {
	return map[string]*graph.Tensor{
		prefix + ".scale": randTensor(rng, []int{c}, 1),
		prefix + ".bias":  randTensor(rng, []int{c}, 1),
		prefix + ".mean":  randTensor(rng, []int{c}, 1),
		prefix + ".var":   randPositive(rng, []int{c}),
	}
}

func bnNode(x, y, prefix string) *graph.Node {
	return node("BatchNormalization", []string{x, prefix + ".scale", prefix + ".bias", prefix + ".mean", prefix + ".var"}, []string{y},
		floatAttr("epsilon", 1e-3))
}

func merge(ms ...map[string]*graph.Tensor) map[string]*graph.Tensor {
	out := map[string]*graph.Tensor{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Every optimization keeps the function: the optimized model's outputs equal the
// original's.
func TestOptimizeKeepsOutputs(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tests := []struct {
		name    string
		model   *graph.Model
		inShape []int
		gone    []string // op types that must disappear
	}{
		{
			name: "conv+bn",
			model: newModel("x", []int{2, 3, 6, 6}, []string{"y"}, []*graph.Node{
				node("Conv", []string{"x", "w", "b"}, []string{"c"}, ints("pads", 1, 1, 1, 1)),
				bnNode("c", "y", "bn"),
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 3, 3, 3}, 0.5), "b": randTensor(rng, []int{4}, 1)}, bnInits(rng, "bn", 4))),
			inShape: []int{2, 3, 6, 6},
			gone:    []string{"BatchNormalization"},
		},
		{
			name: "conv without bias+bn",
			model: newModel("x", []int{1, 2, 5, 5}, []string{"y"}, []*graph.Node{
				node("Conv", []string{"x", "w"}, []string{"c"}),
				bnNode("c", "y", "bn"),
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{3, 2, 3, 3}, 0.5)}, bnInits(rng, "bn", 3))),
			inShape: []int{1, 2, 5, 5},
			gone:    []string{"BatchNormalization"},
		},
		{
			name: "grouped convtranspose+bn",
			model: newModel("x", []int{1, 4, 4, 4}, []string{"y"}, []*graph.Node{
				node("ConvTranspose", []string{"x", "w", "b"}, []string{"c"}, intAttr("group", 2), ints("strides", 2, 2)),
				bnNode("c", "y", "bn"),
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 3, 2, 2}, 0.5), "b": randTensor(rng, []int{6}, 1)}, bnInits(rng, "bn", 6))),
			inShape: []int{1, 4, 4, 4},
			gone:    []string{"BatchNormalization"},
		},
		{
			name: "gemm transB+alpha/beta+bn",
			model: newModel("x", []int{3, 5}, []string{"y"}, []*graph.Node{
				node("Gemm", []string{"x", "w", "b"}, []string{"c"}, intAttr("transB", 1), floatAttr("alpha", 0.5), floatAttr("beta", 2)),
				bnNode("c", "y", "bn"),
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 5}, 0.5), "b": randTensor(rng, []int{4}, 1)}, bnInits(rng, "bn", 4))),
			inShape: []int{3, 5},
			gone:    []string{"BatchNormalization"},
		},
		{
			name: "gemm [K,N]+bn",
			model: newModel("x", []int{3, 5}, []string{"y"}, []*graph.Node{
				node("Gemm", []string{"x", "w"}, []string{"c"}),
				bnNode("c", "y", "bn"),
			}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{5, 4}, 0.5)}, bnInits(rng, "bn", 4))),
			inShape: []int{3, 5},
			gone:    []string{"BatchNormalization"},
		},
		{
			name: "identity and dropout",
			model: newModel("x", []int{2, 3}, []string{"y"}, []*graph.Node{
				node("Identity", []string{"x"}, []string{"a"}),
				node("Relu", []string{"a"}, []string{"b"}),
				node("Dropout", []string{"b"}, []string{"c"}),
				node("Identity", []string{"c"}, []string{"y"}),
			}, nil),
			inShape: []int{2, 3},
			gone:    []string{"Identity", "Dropout"},
		},
		{
			name: "constant folding",
			model: newModel("x", []int{2, 3, 4}, []string{"y"}, []*graph.Node{
				node("Constant", nil, []string{"k"}, func(n *graph.Node) { n.SetAttrTensor("value", graph.FromFloat32([]int{4}, []float32{1, 2, 3, 4})) }),
				node("Mul", []string{"k", "two"}, []string{"k2"}),
				node("Add", []string{"x", "k2"}, []string{"s"}),
				node("Shape", []string{"s"}, []string{"shape"}),
				node("Gather", []string{"shape", "zero"}, []string{"n"}),
				node("Unsqueeze", []string{"n", "axes0"}, []string{"n1"}),
				node("Concat", []string{"n1", "minus1"}, []string{"newshape"}, intAttr("axis", 0)),
				node("Reshape", []string{"s", "newshape"}, []string{"y"}),
			}, map[string]*graph.Tensor{
				"two":    graph.FromFloat32(nil, []float32{2}),
				"zero":   graph.FromInt64(nil, []int64{0}),
				"axes0":  graph.FromInt64([]int{1}, []int64{0}),
				"minus1": graph.FromInt64([]int{1}, []int64{-1}),
			}),
			inShape: []int{2, 3, 4},
			gone:    []string{"Constant", "Mul"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.model.Graph.Nodes)
			opt, err := Optimize(tt.model)
			require.NoError(t, err)
			assert.Len(t, tt.model.Graph.Nodes, before, "the input model is not modified")
			ops := countOps(opt)
			for _, op := range tt.gone {
				assert.Zero(t, ops[op], "%s left in %v", op, ops)
			}
			x := randTensor(rng, tt.inShape, 1)
			want := runFloat(t, tt.model, map[string]*graph.Tensor{"x": x})["y"]
			got := runFloat(t, opt, map[string]*graph.Tensor{"x": x})["y"]
			require.Equal(t, want.Shape, got.Shape)
			assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 1e-4)
			// Idempotent.
			again, err := Optimize(opt)
			require.NoError(t, err)
			assert.Equal(t, countOps(opt), countOps(again))
		})
	}
}

// A BatchNormalization whose input feeds something else cannot be folded: it becomes
// a depthwise 1x1 convolution computing the same function (so that it runs int8).
func TestOptimizeKeepsSharedBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	m := newModel("x", []int{1, 2, 4, 4}, []string{"y", "c"}, []*graph.Node{
		node("Conv", []string{"x", "w"}, []string{"c"}),
		bnNode("c", "y", "bn"),
	}, merge(map[string]*graph.Tensor{"w": randTensor(rng, []int{3, 2, 1, 1}, 1)}, bnInits(rng, "bn", 3)))
	opt, err := Optimize(m)
	require.NoError(t, err)
	assert.Zero(t, countOps(opt)["BatchNormalization"])
	assert.Equal(t, 2, countOps(opt)["Conv"])
	x := map[string]*graph.Tensor{"x": randTensor(rng, []int{2, 2, 4, 4}, 1)}
	want, got := runFloat(t, m, x), runFloat(t, opt, x)
	for _, o := range []string{"y", "c"} {
		assert.Less(t, maxAbsDiff(want[o].F32(), got[o].F32()), 1e-5, o)
	}
}

// The bundled CNN has explicit BatchNormalization: the optimized model gives the same
// logits on real images.
func TestOptimizeBundledModels(t *testing.T) {
	_, test := fmnist(t)
	for _, name := range bundledModels {
		t.Run(name, func(t *testing.T) {
			m := loadBundled(t, name)
			opt, err := Optimize(m)
			require.NoError(t, err)
			assert.Zero(t, countOps(opt)["BatchNormalization"])
			n := 200
			if testing.Short() {
				n = 20
			}
			in := map[string]*graph.Tensor{"input": test.Batch(0, n)}
			want := runFloat(t, m, in)["logits"]
			got := runFloat(t, opt, in)["logits"]
			assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 1e-4)
		})
	}
}

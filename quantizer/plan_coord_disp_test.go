package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// flowModel is a registration network as voxelmorph writes one, in 2-D: a Conv
// regresses a 2-channel displacement (small: weights of 0.02), moved
// channels-last and added to a constant base grid of pixel centres, and
// GridSample warps the image with the sum. kind "computed base" computes the
// base (a Mul of the flow by a constant) instead, "linear bias" regresses the
// grid by a Linear (MatMul + Add of a bias varying along the coordinates only):
// nothing is a displacement then.
func flowModel(rng *rand.Rand, kind string) *graph.Model {
	const h, w = 8, 8
	base := make([]float32, 0, h*w*2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			base = append(base, float32(2*x+1)/w-1, float32(2*y+1)/h-1)
		}
	}
	nodes := []*graph.Node{
		node("Conv", []string{"img", "w1", "b1"}, []string{"c1"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c1"}, []string{"r1"}),
		node("Conv", []string{"r1", "wf", "bf"}, []string{"flow"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		node("Transpose", []string{"flow"}, []string{"flow_l"}, ints("perm", 0, 2, 3, 1)),
	}
	inits := map[string]*graph.Tensor{
		"w1":   randTensor(rng, []int{4, 1, 3, 3}, 0.5),
		"b1":   randTensor(rng, []int{4}, 0.1),
		"wf":   randTensor(rng, []int{2, 4, 3, 3}, 0.02),
		"bf":   randTensor(rng, []int{2}, 0.01),
		"base": graph.FromFloat32([]int{1, h, w, 2}, base),
	}
	switch kind {
	case "constant base":
		nodes = append(nodes, node("Add", []string{"flow_l", "base"}, []string{"grid"}))
	case "linear bias":
		// the grid regressed by a Linear: MatMul, then Add of its bias [2]
		inits["lw"] = randTensor(rng, []int{2, 2}, 0.5)
		inits["lb"] = randTensor(rng, []int{2}, 0.1)
		nodes = append(nodes, node("MatMul", []string{"flow_l", "lw"}, []string{"lin"}),
			node("Add", []string{"lin", "lb"}, []string{"grid"}))
	default:
		inits["one"] = graph.FromFloat32(nil, []float32{1})
		nodes = append(nodes, node("Mul", []string{"flow_l", "one"}, []string{"scaled"}),
			node("Add", []string{"flow_l", "scaled"}, []string{"grid"}))
	}
	nodes = append(nodes, node("GridSample", []string{"img", "grid"}, []string{"moved"}))
	m := newModel("img", []int{1, 1, h, w}, []string{"moved"}, nodes, inits)
	m.Opsets[""] = 16
	return m
}

// The walk back from a grid stops at the Add of a constant base: the grid stays
// float32, the displacement and its Conv are quantized, and the warped image
// stays close to float32; a grid computed from two computed tensors, or by a
// Linear with its bias, keeps everything float32 as before, and so does the
// spatial transformer's (TestQuantizeKeepsSamplingGridFloat).
func TestQuantizeDisplacementBeforeBaseGrid(t *testing.T) {
	for _, tc := range []struct {
		kind      string
		coord     []string // kept float32
		quantized []string
	}{
		{"constant base", []string{"grid"}, []string{"flow"}},
		{"computed base", []string{"grid", "flow_l", "flow", "scaled"}, nil},
		{"linear bias", []string{"grid", "lin"}, nil},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			m := flowModel(rng, tc.kind)
			cv := coordValues(m.Graph)
			for _, name := range tc.coord {
				assert.True(t, cv[name], "%s is a sampling location", name)
			}
			for _, name := range tc.quantized {
				assert.False(t, cv[name], "%s is a displacement", name)
			}
			calib := randTensor(rng, []int{1, 1, 8, 8}, 1)
			q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"img": calib}), QuantOptions{})
			require.NoError(t, err)
			quantized := map[string]bool{}
			for _, n := range q.Graph.Nodes {
				if n.OpType == "QuantizeLinear" {
					quantized[n.Input(0)] = true
				}
			}
			q8 := func(name string) bool { return quantized[name] || quantized[name+"_QuantizeLinear_Input"] }
			assert.False(t, q8("grid"), "the grid stays float32")
			for _, name := range tc.quantized {
				assert.True(t, q8(name), "%s is quantized", name)
			}
			for _, name := range tc.coord {
				assert.False(t, q8(name), "%s stays float32", name)
			}
			s, err := runtime.NewSession(q)
			require.NoError(t, err)
			got, err := s.RunTensors(map[string]*graph.Tensor{"img": calib})
			require.NoError(t, err)
			ref := runFloat(t, m, map[string]*graph.Tensor{"img": calib})["moved"].F32()
			d := maxAbsDiff(ref, got["moved"].F32())
			t.Logf("max |int8 - float32| %.4f", d)
			assert.Less(t, d, 0.05)
		})
	}
}

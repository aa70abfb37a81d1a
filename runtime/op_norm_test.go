package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestNormOps(t *testing.T) {
	x := f32([]int{2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
	inv := func(v float64) float32 { return float32(1 / math.Sqrt(v)) }
	runNodeCases(t, []nodeCase{
		{name: "batchnorm inference", opset: 15, node: mk("BatchNormalization", 5, 1, aFloat("epsilon", 0)),
			inputs: []*graph.Tensor{x, f32([]int{2}, 1, 2), f32([]int{2}, 0, 1), f32([]int{2}, 1, 2), f32([]int{2}, 4, 1)},
			want:   []*graph.Tensor{f32([]int{2, 2, 2}, 0, 0.5, 3, 5, 2, 2.5, 11, 13)}},
		// Opset 7 with spatial=0: one parameter per element of an image.
		{name: "batchnorm per activation", opset: 7, node: mk("BatchNormalization", 5, 1, aFloat("epsilon", 0), aInt("spatial", 0)),
			inputs: []*graph.Tensor{f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{2}, 1, 1), f32([]int{2}, 0, 0), f32([]int{2}, 1, 2), f32([]int{2}, 1, 4)},
			want:   []*graph.Tensor{f32([]int{2, 2}, 0, 0, 2, 1)}},
		{name: "batchnorm training", opset: 15, node: mk("BatchNormalization", 5, 3, aFloat("epsilon", 0), aInt("training_mode", 1), aFloat("momentum", 0.5)),
			inputs: []*graph.Tensor{f32([]int{2, 1, 2}, 1, 3, 5, 7), f32([]int{1}, 1), f32([]int{1}, 0), f32([]int{1}, 0), f32([]int{1}, 1)},
			want: []*graph.Tensor{f32([]int{2, 1, 2}, -3*inv(5), -1*inv(5), 1*inv(5), 3*inv(5)),
				f32([]int{1}, 2), f32([]int{1}, 3)}},
		{name: "batchnorm wrong param size", opset: 15, node: mk("BatchNormalization", 5, 1),
			inputs:  []*graph.Tensor{x, f32([]int{3}, 1, 1, 1), f32([]int{2}, 0, 1), f32([]int{2}, 1, 2), f32([]int{2}, 4, 1)},
			wantErr: "input scale has 3 elements"},
		{name: "instancenorm", opset: 6, node: mk("InstanceNormalization", 3, 1, aFloat("epsilon", 0)),
			inputs: []*graph.Tensor{f32([]int{1, 2, 2}, 1, 3, 10, 12), f32([]int{2}, 2, 1), f32([]int{2}, 1, 5)},
			want:   []*graph.Tensor{f32([]int{1, 2, 2}, -1, 3, 4, 6)}},
		{name: "layernorm last axis", node: mk("LayerNormalization", 3, 3, aFloat("epsilon", 0)),
			inputs: []*graph.Tensor{f32([]int{2, 2}, 1, 3, 2, 4), f32([]int{2}, 1, 2), f32([]int{2}, 0, 1)},
			want:   []*graph.Tensor{f32([]int{2, 2}, -1, 3, -1, 3), f32([]int{2, 1}, 2, 3), f32([]int{2, 1}, 1, 1)}},
		{name: "layernorm broadcast scale", node: mk("LayerNormalization", 2, 1, aInt("axis", 0), aFloat("epsilon", 0)),
			inputs: []*graph.Tensor{f32([]int{2, 2}, 1, 3, 1, 3), f32([]int{1}, 2)},
			want:   []*graph.Tensor{f32([]int{2, 2}, -2, 2, -2, 2)}},
		{name: "layernorm stash type", node: mk("LayerNormalization", 2, 1, aInt("stash_type", 10)),
			inputs: []*graph.Tensor{f32([]int{1, 2}, 1, 2), f32([]int{2}, 1, 1)}, wantErr: "unsupported stash_type 10"},
		{name: "lrn", opset: 13, node: mk("LRN", 1, 1, aInt("size", 3), aFloat("alpha", 3), aFloat("beta", 1), aFloat("bias", 1)),
			inputs: []*graph.Tensor{f32([]int{1, 3, 1}, 1, 2, 3)},
			// sums of squares over neighbouring channels: 5, 14, 13; y = x / (1 + sum).
			want: []*graph.Tensor{f32([]int{1, 3, 1}, 1.0/6, 2.0/15, 3.0/14)}},
		{name: "softmax axis 1 opset 13", opset: 13, node: mk("Softmax", 1, 1, aInt("axis", 1)),
			inputs: []*graph.Tensor{f32([]int{1, 2, 2}, 0, 0, 0, float32(math.Log(3)))},
			want:   []*graph.Tensor{f32([]int{1, 2, 2}, 0.5, 0.25, 0.5, 0.75)}},
		// Before opset 13 the input is flattened to 2-D at axis.
		{name: "softmax axis 1 opset 11", opset: 11, node: mk("Softmax", 1, 1, aInt("axis", 1)),
			inputs: []*graph.Tensor{f32([]int{1, 2, 2}, 0, 0, 0, float32(math.Log(3)))},
			want:   []*graph.Tensor{f32([]int{1, 2, 2}, 1.0/6, 1.0/6, 1.0/6, 0.5)}},
		{name: "softmax large values", node: mk("Softmax", 1, 1),
			inputs: []*graph.Tensor{f32([]int{2}, 10000, 10000)}, want: []*graph.Tensor{f32([]int{2}, 0.5, 0.5)}},
		{name: "logsoftmax", node: mk("LogSoftmax", 1, 1),
			inputs: []*graph.Tensor{f32([]int{2}, 0, 0)}, want: []*graph.Tensor{f32([]int{2}, -float32(math.Ln2), -float32(math.Ln2))}},
		{name: "softmax scalar", node: mk("Softmax", 1, 1), inputs: []*graph.Tensor{f32(nil, 1)}, wantErr: "scalar"},
		{name: "erf", node: mk("Erf", 1, 1), inputs: []*graph.Tensor{f32([]int{3}, 0, 1, -2)},
			want: []*graph.Tensor{f32([]int{3}, 0, float32(math.Erf(1)), float32(math.Erf(-2)))}},
		{name: "erf float16", node: mk("Erf", 1, 1), inputs: []*graph.Tensor{f16([]int{1}, 0.5)},
			want: []*graph.Tensor{f16([]int{1}, float32(math.Erf(0.5)))}},
	})
}

// TestBatchNormFoldedConstants checks that the build-time folding of constant
// parameters (the deployed-model path) agrees with the run-time computation.
func TestBatchNormFoldedConstants(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	x := randF32(r, 2, 4, 3, 3)
	scale, bias, mean := randF32(r, 4), randF32(r, 4), randF32(r, 4)
	variance := randF32(r, 4)
	for i, v := range variance.F32() {
		variance.F32()[i] = v*v + 0.1
	}
	n := mk("BatchNormalization", 5, 1, aFloat("epsilon", 1e-3))
	dyn, err := runNodeWith(t, 15, 2, n, nil, x, scale, bias, mean, variance)
	require.NoError(t, err)
	folded, err := runNodeWith(t, 15, 2, n, []bool{false, true, true, true, true}, x, scale, bias, mean, variance)
	require.NoError(t, err)
	require.NoError(t, CompareTensors(folded[0], dyn[0], Tolerance{Rtol: 1e-6, Atol: 1e-6}))
	// And both agree with the formula.
	want := graph.NewTensor(graph.Float32, x.Shape)
	for i, v := range x.F32() {
		c := (i / 9) % 4
		want.F32()[i] = float32((float64(v)-float64(mean.F32()[c]))/math.Sqrt(float64(variance.F32()[c])+1e-3)*float64(scale.F32()[c]) + float64(bias.F32()[c]))
	}
	require.NoError(t, CompareTensors(dyn[0], want, Tolerance{Rtol: 1e-5, Atol: 1e-6}))
}

func TestNormKernelChecks(t *testing.T) {
	_, err := runNodeDynamic(t, mk("LayerNormalization", 2, 1), f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{3}, 1, 1, 1))
	require.ErrorContains(t, err, `LayerNormalization "n": input Scale: shape [3] does not broadcast to [2]`)
	_, err = runNodeDynamic(t, mk("InstanceNormalization", 3, 1), f32([]int{1, 2, 2}, 1, 2, 3, 4), f32([]int{1}, 1), f32([]int{2}, 1, 1))
	require.ErrorContains(t, err, "must have 2 values")
	_, err = runNodeDynamic(t, mk("Softmax", 1, 1, aInt("axis", 2)), f32([]int{2, 2}, 1, 2, 3, 4))
	require.ErrorContains(t, err, "axis 2 is out of range")
	_, err = runNodeDynamic(t, mk("BatchNormalization", 5, 1), f32([]int{2}, 1, 2), f32([]int{1}, 1), f32([]int{1}, 1), f32([]int{1}, 1), f32([]int{1}, 1))
	require.ErrorContains(t, err, "expected [N, C, ...]")
}

// TestBatchNormTrainingF32 checks the float32 training-mode statistics and
// scale-shift (the vector row sums, kernels.RowsMeanVarF32) against the
// float64 path of the same node on the same values: [4, 16, 16, 16] and
// [3, 5, 7, 9] (tails), channels of non-zero mean, 1 and 2 threads, the
// output and the running mean and variance.
func TestBatchNormTrainingF32(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	for _, shape := range [][]int{{4, 16, 16, 16}, {3, 5, 7, 9}, {2, 3, 1, 1}} {
		c := shape[1]
		x := graph.NewTensor(graph.Float32, shape)
		for i, d := 0, x.F32(); i < len(d); i++ {
			d[i] = r.Float32()*4 - 1 + float32(i%c)
		}
		params := make([]*graph.Tensor, 4)
		for i := range params {
			params[i] = graph.NewTensor(graph.Float32, []int{c})
			for j := range params[i].F32() {
				params[i].F32()[j] = r.Float32() + 0.5
			}
		}
		as64 := func(t32 *graph.Tensor) *graph.Tensor {
			t64 := graph.NewTensor(graph.Float64, t32.Shape)
			for i, v := range t32.F32() {
				t64.Data.([]float64)[i] = float64(v)
			}
			return t64
		}
		node := func() *graph.Node {
			return mk("BatchNormalization", 5, 3, aFloat("epsilon", 1e-5), aInt("training_mode", 1), aFloat("momentum", 0.9))
		}
		want, err := runNodeWith(t, 15, 1, node(), nil, as64(x), as64(params[0]), as64(params[1]), as64(params[2]), as64(params[3]))
		require.NoError(t, err)
		for _, th := range []int{1, 2} {
			got, err := runNodeWith(t, 15, th, node(), nil, x, params[0], params[1], params[2], params[3])
			require.NoError(t, err)
			require.Len(t, got, 3)
			for o := range got {
				w32 := graph.NewTensor(graph.Float32, want[o].Shape)
				for i, v := range want[o].Data.([]float64) {
					w32.F32()[i] = float32(v)
				}
				require.NoError(t, CompareTensors(got[o], w32, Tolerance{Rtol: 1e-5, Atol: 1e-5}), "%v output %d, %d threads", shape, o, th)
			}
		}
	}
}

// TestErfVector: the float32 Erf operator (the vector erf of kernels/trig.go)
// within 3e-7 relative of float64 math, NaN kept, and the same bits at 1 and
// 2 threads (any cut of the tensor gives the same element results).
func TestErfVector(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	x := randF32(r, 3, 37, 41)
	for i := range x.F32() {
		x.F32()[i] *= 3
	}
	x.F32()[5] = float32(math.NaN())
	var first []float32
	for _, th := range []int{1, 2} {
		got, err := runNodeWith(t, 13, th, mk("Erf", 1, 1), nil, x)
		require.NoError(t, err)
		y := got[0].F32()
		for i, v := range x.F32() {
			want := math.Erf(float64(v))
			if math.IsNaN(want) {
				require.True(t, math.IsNaN(float64(y[i])))
				continue
			}
			require.InDelta(t, want, y[i], 3e-7*math.Abs(want)+1e-44, "erf(%v)", v)
		}
		if first == nil {
			first = y
			continue
		}
		for i := range y {
			require.Equal(t, math.Float32bits(first[i]), math.Float32bits(y[i]), "element %d: 1 vs 2 threads", i)
		}
	}
}

package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

func TestOutputMatchLossGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	vec := func(n int, scale, off float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (rng.Float32()*2-1)*scale + off
		}
		return v
	}
	cases := []struct {
		name string
		s, t [][]float32
	}{
		{"one output", [][]float32{vec(12, 1, 0)}, [][]float32{vec(12, 1, 0)}},
		{"boxes in pixels and scores", [][]float32{vec(8, 50, 100), vec(6, 0.5, 0.5)}, [][]float32{vec(8, 50, 100), vec(6, 0.5, 0.5)}},
		{"a constant teacher output", [][]float32{vec(5, 1, 0), vec(4, 1, 3)}, [][]float32{vec(5, 1, 0), {3, 3, 3, 3}}},
		{"an all-zero teacher output", [][]float32{vec(4, 1, 0)}, [][]float32{{0, 0, 0, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			grad := make([][]float32, len(tc.s))
			for i := range grad {
				grad[i] = make([]float32, len(tc.s[i]))
			}
			loss, err := OutputMatchLoss(tc.s, tc.t, grad)
			require.NoError(t, err)
			require.False(t, math.IsNaN(loss) || math.IsInf(loss, 0))
			// the student equal to the teacher costs nothing
			same, err := OutputMatchLoss(tc.t, tc.t, nil)
			require.NoError(t, err)
			assert.Zero(t, same)
			const eps = 1e-3
			for i := range tc.s {
				for j := range tc.s[i] {
					old := tc.s[i][j]
					tc.s[i][j] = old + eps
					up, _ := OutputMatchLoss(tc.s, tc.t, nil)
					tc.s[i][j] = old - eps
					down, _ := OutputMatchLoss(tc.s, tc.t, nil)
					tc.s[i][j] = old
					num := (up - down) / (2 * eps)
					assert.InDelta(t, num, float64(grad[i][j]), 2e-3*math.Abs(num)+1e-4, "output %d value %d", i, j)
				}
			}
		})
	}
	// Scale-free: an output in pixels weighs as the same output in units.
	a, err := OutputMatchLoss([][]float32{{1, 2, 4}}, [][]float32{{1.5, 2, 3}}, nil)
	require.NoError(t, err)
	b, err := OutputMatchLoss([][]float32{{100, 200, 400}}, [][]float32{{150, 200, 300}}, nil)
	require.NoError(t, err)
	assert.InDelta(t, a, b, 1e-9)
	_, err = OutputMatchLoss([][]float32{{1}}, [][]float32{{1}, {2}}, nil)
	assert.ErrorContains(t, err, "1 outputs against 2 of the teacher")

	// A teacher output far below float32's resolution of the student's (a CTC
	// confidence, a product of probabilities near 1e-40): the gradient stays
	// finite (it overflowed float32 at the first step of ocr_ctc_greedy_op13).
	g := [][]float32{make([]float32, 2)}
	loss, err := OutputMatchLoss([][]float32{{1e-3, 0}}, [][]float32{{1e-40, 3e-40}}, g)
	require.NoError(t, err)
	assert.False(t, math.IsInf(loss, 0) || math.IsNaN(loss))
	for _, v := range g[0] {
		assert.False(t, math.IsInf(float64(v), 0) || math.IsNaN(float64(v)), "%v", g[0])
	}
	assert.InEpsilon(t, 2*1e-3/(2*outputVarMin), float64(g[0][0]), 1e-6)
}

// TestDistillKLGradient: the label-free distillation loss against central finite
// differences; it is DistillCrossEntropy at weight 1 (whose labels then do not
// count), and counts the rows whose top-1 class is the teacher's.
func TestDistillKLGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	logits, teacher := make([]float32, 4*5), make([]float32, 4*5)
	for i := range logits {
		logits[i] = rng.Float32()*4 - 2
		teacher[i] = rng.Float32()*6 - 3
	}
	for _, temp := range []float64{1, 4, 0.5} {
		grad := make([]float32, len(logits))
		loss, agree := DistillKL(logits, teacher, 5, temp, grad)
		ref, _ := DistillCrossEntropy(logits, teacher, 5, []int{0, 1, 2, 3}, 1, temp, nil)
		assert.InDelta(t, ref, loss, 1e-12)
		want := 0
		for r := 0; r < 4; r++ {
			if argmax(logits[r*5:(r+1)*5]) == argmax(teacher[r*5:(r+1)*5]) {
				want++
			}
		}
		assert.Equal(t, want, agree)
		const eps = 1e-3
		for i := range logits {
			old := logits[i]
			logits[i] = old + eps
			up, _ := DistillKL(logits, teacher, 5, temp, nil)
			logits[i] = old - eps
			down, _ := DistillKL(logits, teacher, 5, temp, nil)
			logits[i] = old
			require.InDelta(t, (up-down)/(2*eps), float64(grad[i]), 1e-3, "T %v logit %d", temp, i)
		}
	}
	l, agree := DistillKL(teacher, teacher, 5, 2, nil)
	assert.InDelta(t, 0, l, 1e-12)
	assert.Equal(t, 4, agree)
}

// twoHeads is a network with two outputs from one trunk, the second also read
// by a later layer (an output that is an intermediate tensor too: a detector's
// feature map it also returns).
func twoHeads(rng *rand.Rand) *graph.Model {
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	m := tinyModel{[]int{6}, []*graph.Node{
		node("Gemm", []string{"x", "w1", "b1"}, "h", intAttr("transB", 1)),
		node("Sigmoid", []string{"h"}, "r"),
		node("Gemm", []string{"r", "w2", "b2"}, "z", intAttr("transB", 1)),
		node("Gemm", []string{"z", "w3", "b3"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(8, 6), "b1": w(8), "w2": w(4, 8), "b2": w(4), "w3": w(3, 4), "b3": w(3)}}.model()
	m.Graph.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}, {Name: "z", DType: graph.Float32}}
	return m
}

// TestBackwardOutputs checks the gradients of L = sum(r1 * y) + sum(r2 * z) over
// both outputs of twoHeads with central finite differences.
func TestBackwardOutputs(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	n, err := New(twoHeads(rng), Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	require.Len(t, n.outputs, 2)
	const batch = 3
	x := make([]float32, batch*6)
	for i, p := range rng.Perm(len(x)) {
		x[i] = (float32(p)-float32(len(x)/2))*0.05 + 0.025
	}
	_, _, err = n.Forward(x, batch)
	require.NoError(t, err)
	shapes, _ := n.outputValues()
	assert.Equal(t, [][]int{{batch, 3}, {batch, 4}}, shapes)
	r := [][]float32{make([]float32, batch*3), make([]float32, batch*4)}
	for _, v := range r {
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
	}
	loss := func() float64 {
		_, _, err := n.Forward(x, batch)
		require.NoError(t, err)
		_, ys := n.outputValues()
		var s float64
		for k, y := range ys {
			for i, v := range y {
				s += float64(v) * float64(r[k][i])
			}
		}
		return s
	}
	loss()
	n.ZeroGrad()
	n.backwardOutputs(r)
	const eps = 1e-2
	for _, p := range n.params {
		g := append([]float32(nil), p.G...)
		for i := range p.W {
			old := p.W[i]
			p.W[i] = old + eps
			up := loss()
			p.W[i] = old - eps
			down := loss()
			p.W[i] = old
			num := (up - down) / (2 * eps)
			require.InDelta(t, num, float64(g[i]), 2e-2*math.Abs(num)+5e-3, "d/d %s[%d]", p.Name, i)
		}
	}
}

// TestFitOutputsLoss trains the fake-quantized twoHeads on unlabelled inputs to
// match its float model: the loss falls, and the int8 model it writes is closer
// to the float model (output SQNR) than the post-training start was.
func TestFitOutputsLoss(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	m := twoHeads(rng)
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	// ranges from 4 samples: the start clips what the others reach
	cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, randomBatches{"x", []int{6}, 4, 1}, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	data := randomLabelled{randomBatches{"x", []int{6}, 512, 3}, 1}
	ev, err := quantizer.NewEvaluator(m, randomBatches{"x", []int{6}, 400, 77}, quantizer.EvalOptions{Threads: 2})
	require.NoError(t, err)
	sqnr := func() float64 {
		q, err := n.Export(quantizer.QuantOptions{})
		require.NoError(t, err)
		sc, err := ev.Score(q)
		require.NoError(t, err)
		return float64(sc.SQNR)
	}
	before := sqnr()
	teacher, err := NewTeacher(m, Config{Threads: 2})
	require.NoError(t, err)
	stats, err := n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Epochs: 3, Batch: 32, LR: 0.01, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)
	require.Len(t, stats, 3)
	assert.Less(t, stats[2].Loss, stats[0].Loss, "training loss")
	after := sqnr()
	t.Logf("int8 output SQNR against float32 on other inputs: %.2f dB before, %.2f dB after", before, after)
	assert.Greater(t, after, before+1)

	_, err = n.Fit(data, Options{Loss: "outputs", Epochs: 1})
	assert.ErrorContains(t, err, "needs a teacher")
	_, err = n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Distill: 0.5})
	assert.ErrorContains(t, err, "the outputs loss is the teacher's alone")
	_, err = n.Fit(data, Options{Loss: "l2"})
	assert.ErrorContains(t, err, `unknown loss "l2" (ce, distill, outputs)`)
}

// TestIntegerOutputNotTrained: an integer output and the float branch that only it
// reads are left out of the training program; the written model keeps them, with the
// calibrated range where that branch is quantized.
func TestIntegerOutputNotTrained(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	m := tinyModel{[]int{6}, []*graph.Node{
		node("Gemm", []string{"x", "w", "b"}, "y", intAttr("transB", 1)),
		node("Gemm", []string{"x", "w2", "b2"}, "h2", intAttr("transB", 1)),
		node("Relu", []string{"h2"}, "r2"),
		node("Gemm", []string{"r2", "w3", "b3"}, "h3", intAttr("transB", 1)),
		node("ArgMax", []string{"h3"}, "label", intAttr("axis", 1), intAttr("keepdims", 0)),
	}, map[string]*graph.Tensor{"w": randTensor(rng, 0.5, 4, 6), "b": randTensor(rng, 0.5, 4), "w2": randTensor(rng, 0.5, 5, 6), "b2": randTensor(rng, 0.5, 5),
		"w3": randTensor(rng, 0.5, 3, 5), "b3": randTensor(rng, 0.5, 3)}}.model()
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "label", DType: graph.Int64})
	n, err := New(m, Config{Threads: 1})
	require.NoError(t, err, "ArgMax has no gradient, and is not trained")
	require.Len(t, n.outputs, 1)
	var names []string
	for _, p := range n.Params() {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"b", "w"}, names, "the label's branch is not in the program")
	cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, randomBatches{"x", []int{6}, 8, 1}, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	got := n.Ranges()
	require.Contains(t, got, "r2", "the branch's quantized activation")
	for name, v := range r {
		if _, planned := got[name]; planned {
			assert.Equal(t, v, got[name], name)
		}
	}
	for _, a := range n.Plan().Activations {
		if !a.IsFixed {
			assert.Contains(t, got, a.Name, "every quantized activation has a range")
		}
	}
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	require.Len(t, q.Graph.Outputs, 2)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": graph.FromFloat32([]int{2, 6}, make([]float32, 12))})
	require.NoError(t, err)
	assert.Equal(t, graph.Int64, out["label"].DType)
}

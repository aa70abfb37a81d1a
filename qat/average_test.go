package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// TestWeightAverage: with Average F the written weights are the mean of the weights
// after each of the last F of the steps (those the same run without averaging goes
// through), and the last checkpoint scores them; with Average 0 nothing changes.
func TestWeightAverage(t *testing.T) {
	base := Options{Epochs: 2, Batch: 2, Schedule: "constant", FreezeBNAfter: -1, LR: 0.05}
	n := gemmNet(t)
	var traj [][]float32
	opts := base
	opts.Progress = func(_, _, _ int, _, _ float64) { traj = append(traj, append([]float32(nil), n.Params()[0].W...)) }
	_, err := n.Fit(constData{10, 1}, opts) // 5 steps an epoch, 10 in all
	require.NoError(t, err)
	require.Len(t, traj, 10)
	assert.Equal(t, traj[9], n.Params()[0].W)

	for _, c := range []struct {
		frac float64
		from int
	}{{0.3, 7}, {0.5, 5}, {1, 0}, {0.01, 9}} {
		m := gemmNet(t)
		var last []float32
		opts := base
		opts.Average = c.frac
		opts.Checkpoint = func(e float64) error {
			last = append([]float32(nil), m.Params()[0].W...)
			return nil
		}
		_, err := m.Fit(constData{10, 1}, opts)
		require.NoError(t, err)
		want := make([]float32, len(traj[0]))
		for i := range want {
			var s float64
			for _, w := range traj[c.from:] {
				s += float64(w[i])
			}
			want[i] = float32(s / float64(10-c.from))
		}
		assert.Equal(t, want, m.Params()[0].W, "average over the last %v of the steps", c.frac)
		assert.Equal(t, want, last, "the last checkpoint scores the averaged weights")
	}
	_, err = Options{Average: 1.5}.WithDefaults()
	require.ErrorContains(t, err, "weight averaging")
	_, err = Options{Reestimate: -1}.WithDefaults()
	require.ErrorContains(t, err, "re-estimation")
	for _, o := range []Options{{LabelSmoothing: 1}, {LabelSmoothing: -0.1}, {LabelSmoothing: math.NaN()}} {
		_, err = o.WithDefaults()
		require.ErrorContains(t, err, "label smoothing", "%v", o.LabelSmoothing)
	}
	_, err = Options{LabelSmoothing: 0.1, Distill: 0.5}.WithDefaults()
	require.ErrorContains(t, err, "use one")
	_, err = Options{LabelSmoothing: 0.1, Loss: "outputs"}.WithDefaults()
	require.ErrorContains(t, err, "use one")
}

// samples is a data set of fixed samples, all of class 0.
type samples [][]float32

func (s samples) Len() int { return len(s) }
func (s samples) Sample(i int, dst []float32) (int, error) {
	copy(dst, s[i])
	return 0, nil
}

// TestReestimate: the re-estimation pass replaces the BatchNorm running statistics and
// the activation ranges by the mean of its batches' statistics: one batch sets them
// to that batch's (whatever they were before), two batches to the mean of the two.
func TestReestimate(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	m := tinyModel{[]int{2, 4, 4}, []*graph.Node{
		node("Conv", []string{"x", "w", "b"}, "c", ints("pads", 1, 1, 1, 1)),
		node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "y")},
		map[string]*graph.Tensor{"w": randTensor(rng, 0.5, 3, 2, 3, 3), "b": randTensor(rng, 0.5, 3), "g": graph.FromFloat32([]int{3}, []float32{1, 0.7, 1.3}),
			"be": randTensor(rng, 0.5, 3), "mu": randTensor(rng, 0.5, 3), "var": graph.FromFloat32([]int{3}, []float32{0.5, 1, 2})}}.model()
	// b is a shuffled: the same input range (so that neither batch is clipped by the
	// other's), different convolution outputs.
	a := make([]float32, 32)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	b := append([]float32(nil), a...)
	rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	type state struct {
		mean, vari []float32
		x, y       [2]float32
	}
	run := func(data samples, batches int) state {
		n, err := New(m, Config{Threads: 1})
		require.NoError(t, err)
		require.Len(t, n.convBNs, 1)
		for _, r := range n.ranges {
			r.lo, r.hi = -5, 5
		}
		n.training, n.emaRanges = true, true
		require.NoError(t, n.reestimate(data, batches, 1, rand.New(rand.NewSource(1))))
		o := n.convBNs[0]
		assert.Equal(t, float32(0.01), n.emaConst, "the moving averages are restored for training")
		assert.Zero(t, n.bnMomentum)
		return state{append([]float32(nil), o.mean...), append([]float32(nil), o.vari...),
			[2]float32{n.ranges["x"].lo, n.ranges["x"].hi}, [2]float32{n.ranges["y"].lo, n.ranges["y"].hi}}
	}
	sa, sb := run(samples{a}, 1), run(samples{b}, 1)
	lo, hi := minMax(a, 1)
	assert.Equal(t, [2]float32{lo, hi}, sa.x, "one batch: its own range")
	assert.NotEqual(t, sa.mean, sb.mean)
	both := run(samples{a, b}, 2)
	mid := func(p, q [2]float32) [2]float32 { return [2]float32{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2} }
	assert.InDeltaSlice(t, []float32{mid(sa.x, sb.x)[0], mid(sa.x, sb.x)[1]}, []float32{both.x[0], both.x[1]}, 1e-6)
	assert.InDeltaSlice(t, []float32{mid(sa.y, sb.y)[0], mid(sa.y, sb.y)[1]}, []float32{both.y[0], both.y[1]}, 1e-2)
	for c := range both.mean {
		// The weight's int8 grid depends on the running variance, so a batch's statistics
		// could depend a little on what came before.
		assert.InDelta(t, (sa.mean[c]+sb.mean[c])/2, both.mean[c], 1e-4, "channel %d mean", c)
		assert.InDelta(t, (sa.vari[c]+sb.vari[c])/2, both.vari[c], 1e-4, "channel %d variance", c)
	}
}

// TestDistillCrossEntropyGradient: the distillation loss's gradient against central
// finite differences, at several weights and temperatures; alpha 0 is the plain
// cross-entropy, and a student equal to its teacher at alpha 1 has zero loss and
// gradient.
func TestDistillCrossEntropyGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	logits, teacher := make([]float32, 4*5), make([]float32, 4*5)
	for i := range logits {
		logits[i] = rng.Float32()*4 - 2
		teacher[i] = rng.Float32()*6 - 3
	}
	labels := []int{0, 3, 4, 1}
	for _, c := range []struct{ alpha, temp float64 }{{0.5, 1}, {1, 1}, {0.3, 4}, {0.9, 0.5}} {
		grad := make([]float32, len(logits))
		DistillCrossEntropy(logits, teacher, 5, labels, c.alpha, c.temp, grad)
		const eps = 1e-3
		for i := range logits {
			old := logits[i]
			logits[i] = old + eps
			up, _ := DistillCrossEntropy(logits, teacher, 5, labels, c.alpha, c.temp, nil)
			logits[i] = old - eps
			down, _ := DistillCrossEntropy(logits, teacher, 5, labels, c.alpha, c.temp, nil)
			logits[i] = old
			require.InDelta(t, (up-down)/(2*eps), float64(grad[i]), 1e-3, "alpha %v T %v logit %d", c.alpha, c.temp, i)
		}
	}
	g0, g1 := make([]float32, len(logits)), make([]float32, len(logits))
	l0, c0 := DistillCrossEntropy(logits, teacher, 5, labels, 0, 2, g0)
	l1, c1 := SoftmaxCrossEntropy(logits, 5, labels, g1)
	assert.Equal(t, l1, l0)
	assert.Equal(t, c1, c0)
	assert.Equal(t, g1, g0)
	l, _ := DistillCrossEntropy(teacher, teacher, 5, labels, 1, 3, g0)
	assert.InDelta(t, 0, l, 1e-12)
	for _, g := range g0 {
		assert.InDelta(t, 0, g, 1e-7)
	}
}

// TestTeacherIsTheFloatModel: the teacher computes the float32 model's logits (the
// float runtime's, BatchNorm folded with its running statistics).
func TestTeacherIsTheFloatModel(t *testing.T) {
	m, err := graph.Load("../testdata/models/fmnist_cnn.onnx")
	require.NoError(t, err)
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	tc, err := NewTeacher(m, Config{Threads: 1})
	require.NoError(t, err)
	x := make([]float32, 8*784)
	d := dsData{train, 8}
	for i := 0; i < 8; i++ {
		_, err := d.Sample(i, x[i*784:(i+1)*784])
		require.NoError(t, err)
	}
	shape, got, err := tc.logits(x, 8)
	require.NoError(t, err)
	require.Equal(t, []int{8, 10}, shape)
	sess, err := runtime.NewSession(m, runtime.WithThreads(1))
	require.NoError(t, err)
	out, err := sess.RunTensors(map[string]*graph.Tensor{m.Graph.Inputs[0].Name: graph.FromFloat32([]int{8, 1, 28, 28}, x)})
	require.NoError(t, err)
	want := out[m.Graph.Outputs[0].Name].F32()
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-4, "logit %d", i)
	}
}

package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// calibratedNet builds the net of a bundled model with MIN_MAX_ASYM ranges from
// 100 training images.
func calibratedNet(t *testing.T, m *graph.Model, train *dataset.Dataset) *Net {
	t.Helper()
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	feed, err := dataset.NewFeed(train, n.Plan().Model.Graph.Inputs, 100)
	require.NoError(t, err)
	cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, feed, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	return n
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestMicroBatchMatchesWholeBatch: a batch run in parts, its gradients
// accumulated, takes the step the whole batch takes (the same weights to float
// rounding), for parts of one sample and for uneven parts (16 = 5+5+5+1), with
// the labels' cross-entropy, distillation and the label-free output match.
func TestMicroBatchMatchesWholeBatch(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	for _, tc := range []struct {
		model string
		loss  string
	}{
		{"fmnist_mlp", "ce"},
		{"fmnist_cnn", "ce"},
		{"fmnist_mlp", "distill"},
		{"fmnist_mlp", "outputs"}, // each part's error over the whole batch's variance
	} {
		t.Run(tc.model+"/"+tc.loss, func(t *testing.T) {
			m, err := graph.Load("../testdata/models/" + tc.model + ".onnx")
			require.NoError(t, err)
			run := func(micro int) (*Net, []EpochStats) {
				n := calibratedNet(t, m, train)
				freeze := 0.0 // BatchNorm's running statistics (parts of five have their own)
				if micro == 1 {
					freeze = -1 // never frozen, but one sample has no batch statistics: frozen all the same
				}
				opts := Options{Batch: 16, MicroBatch: micro, Epochs: 1, Ranges: "fixed", FreezeBNAfter: freeze, Seed: 5, Loss: tc.loss}
				if tc.loss != "ce" {
					opts.Teacher, err = NewTeacher(m, Config{Threads: 2})
					require.NoError(t, err)
				}
				st, err := n.Fit(dsData{train, 48}, opts)
				require.NoError(t, err)
				return n, st
			}
			whole, ws := run(0)
			for _, micro := range []int{1, 5} {
				parts, ps := run(micro)
				require.InDelta(t, ws[0].Loss, ps[0].Loss, 1e-5, "micro-batch %d", micro)
				require.Equal(t, ws[0].Accuracy, ps[0].Accuracy, "micro-batch %d", micro)
				for i, p := range whole.Params() {
					q := parts.Params()[i]
					require.Less(t, maxAbsDiff(p.W, q.W), 1e-5, "micro-batch %d, %s", micro, p.Name)
				}
			}
		})
	}
}

// TestMicroBatchRanges: with moving ranges, a batch run in parts moves each
// range once per step, toward the whole batch's min/max. Exactly so for the
// input, whose values the parts do not change (moved once per part instead, it
// would follow the parts' narrower extremes); within a small fraction of the
// range for the bundled MLP's activations, whose parts quantize with the
// ranges the step started with.
func TestMicroBatchRanges(t *testing.T) {
	m := tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, make([]float32, 12))}}.model()
	for _, micro := range []int{0, 1, 3} {
		n, err := New(m, Config{})
		require.NoError(t, err)
		require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 2}, "y": {-1, 1}}))
		// constData's sample i holds (i+j)/10: the batch of samples 0-7 spans [0, 1]
		_, err = n.Fit(constData{8, 1}, Options{Batch: 8, MicroBatch: micro, FreezeRangesAfter: -1})
		require.NoError(t, err)
		got := n.Ranges()["x"]
		require.InDelta(t, -1+0.01*(0-(-1)), got[0], 1e-7, "micro-batch %d", micro)
		require.InDelta(t, 2+0.01*(1-2), got[1], 1e-7, "micro-batch %d", micro)
	}

	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	mlp, err := graph.Load("../testdata/models/fmnist_mlp.onnx")
	require.NoError(t, err)
	run := func(micro int) quantizer.Ranges {
		n := calibratedNet(t, mlp, train)
		_, err := n.Fit(dsData{train, 64}, Options{Batch: 32, MicroBatch: micro, Epochs: 1, Seed: 2, FreezeRangesAfter: -1, FreezeBNAfter: -1})
		require.NoError(t, err)
		return n.Ranges()
	}
	whole, parts := run(0), run(4)
	for name, r := range whole {
		p := parts[name]
		tol := 1e-3 * float64(r[1]-r[0])
		require.InDelta(t, r[0], p[0], tol, name)
		require.InDelta(t, r[1], p[1], tol, name)
	}
}

// TestMicroBatchFixedBatchModel: a model that fixes its batch at one inside (a
// Reshape to [1, 4], as torch.onnx writes a flatten traced at batch 1) does not
// run two samples stacked; StacksSamples says so and why, and trained one
// sample at a time it takes the steps of the stacked batch: the same weights as
// the same net without the Reshape trained on whole batches.
func TestMicroBatchFixedBatchModel(t *testing.T) {
	w, fixed, free := reshapeGemm(1)
	build := func(m *graph.Model) *Net { return rangedNet(t, m) }
	data := constData{12, 1}

	n := build(fixed)
	stacks, why, err := n.StacksSamples(data)
	require.NoError(t, err)
	require.False(t, stacks)
	require.ErrorContains(t, why, "Reshape")
	_, err = n.Fit(data, Options{Batch: 4, Ranges: "fixed"})
	require.Error(t, err, "stacked, the Reshape fails")

	n = build(fixed)
	_, err = n.Fit(data, Options{Batch: 4, MicroBatch: 1, Ranges: "fixed", Seed: 1})
	require.NoError(t, err)
	ref := build(free)
	stacks, why, err = ref.StacksSamples(data)
	require.NoError(t, err)
	require.True(t, stacks)
	require.NoError(t, why)
	_, err = ref.Fit(data, Options{Batch: 4, Ranges: "fixed", Seed: 1})
	require.NoError(t, err)
	require.Less(t, maxAbsDiff(ref.Params()[0].W, n.Params()[0].W), 1e-6)
	require.NotEqual(t, w.F32(), n.Params()[0].W, "trained")
}

// TestMicroBatchOptions: a negative micro-batch is refused, one of the batch
// or more is the whole batch, and the re-estimation of statistics (which runs
// whole batches) is refused with parts.
func TestMicroBatchOptions(t *testing.T) {
	o, err := Options{Batch: 8, MicroBatch: 8}.WithDefaults()
	require.NoError(t, err)
	require.Zero(t, o.MicroBatch)
	_, err = Options{MicroBatch: -1}.WithDefaults()
	require.ErrorContains(t, err, "micro-batch of -1")
	_, err = Options{Batch: 8, MicroBatch: 2, Reestimate: 4}.WithDefaults()
	require.ErrorContains(t, err, "re-estimating")
}

// TestMicroBatchSequencesOfSeveralLengths: a transformer trained on sequences of
// three lengths (every batch of one length) takes, run in parts of 3, the steps
// of whole batches: the parts share their batch's sample shapes, and the output
// match divides by the whole batch's variance.
func TestMicroBatchSequencesOfSeveralLengths(t *testing.T) {
	m, err := graph.Load("../testdata/exported/transformer_opset13.onnx")
	require.NoError(t, err)
	data := seqData{lens: []int{5, 9, 12}, per: 8}
	run := func(micro int) *Net {
		n, err := New(m, Config{Threads: 2})
		require.NoError(t, err)
		setCalibratedRanges(t, n, data)
		teacher, err := NewTeacher(m, Config{Threads: 2})
		require.NoError(t, err)
		_, err = n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", LR: 1e-3, Batch: 8, MicroBatch: micro,
			Ranges: "fixed", Epochs: 1, Seed: 3})
		require.NoError(t, err)
		return n
	}
	whole, parts := run(0), run(3)
	for i, p := range whole.Params() {
		require.Less(t, maxAbsDiff(p.W, parts.Params()[i].W), 1e-5, p.Name)
	}
}

// nodeData is graphs of several sizes: sample i is a node list [nodes, 4], the
// whole input of a model without a batch axis (Config.WholeInputs), per/group.
type nodeData struct {
	sizes []int
	per   int
}

func (d nodeData) Len() int { return len(d.sizes) * d.per }

func (d nodeData) values(i int) []float32 {
	rng := rand.New(rand.NewSource(int64(i)))
	x := make([]float32, d.sizes[i/d.per]*4)
	for j := range x {
		x[j] = float32(rng.NormFloat64())
	}
	return x
}

func (d nodeData) Sample(i int, dst []float32) (int, error) {
	copy(dst, d.values(i))
	return -1, nil
}

func (d nodeData) Groups() ([]int, [][][]int) {
	var ends []int
	var shapes [][][]int
	for g, s := range d.sizes {
		ends = append(ends, (g+1)*d.per)
		shapes = append(shapes, [][]int{{s, 4}})
	}
	return ends, shapes
}

// Batch feeds the calibration one whole sample at a time (GroupEnd).
func (d nodeData) Batch(start, n int) (map[string]*graph.Tensor, error) {
	return map[string]*graph.Tensor{"x": graph.FromFloat32([]int{d.sizes[start/d.per], 4}, d.values(start))}, nil
}

func (d nodeData) GroupEnd(start int) int { return start + 1 }

// TestWholeInputsTrainAndExport: a graph network's readout (node features
// through a Gemm, averaged over the nodes) whose input x [nodes, 4] has no batch
// axis trains on graphs of two sizes, one whole graph at a time, and the
// written model computes on the int8 runtime what the fake-quantized net
// computes, at both sizes.
func TestWholeInputsTrainAndExport(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	m := tinyModel{[]int{4}, []*graph.Node{
		node("Gemm", []string{"x", "w1", "b1"}, "h", intAttr("transB", 1)),
		node("Relu", []string{"h"}, "r"),
		node("ReduceMean", []string{"r"}, "p", ints("axes", 0)),
		node("Gemm", []string{"p", "w2", "b2"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w1": randTensor(rng, 0.5, 6, 4), "b1": randTensor(rng, 0.5, 6),
			"w2": randTensor(rng, 0.5, 3, 6), "b2": randTensor(rng, 0.5, 3)}}.model()
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: -1, Param: "nodes"}
	cfg := Config{Threads: 2, WholeInputs: true}
	n, err := New(m, cfg)
	require.NoError(t, err)
	require.Equal(t, [][]int{{-1, 4}}, [][]int{n.inputs[0].declared}, "the node axis is part of the sample")
	data := nodeData{sizes: []int{5, 7}, per: 8}
	setCalibratedRanges(t, n, data)
	teacher, err := NewTeacher(m, cfg)
	require.NoError(t, err)
	before := append([]float32(nil), n.Params()[0].W...)
	_, err = n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", LR: 1e-2, Batch: 4, Epochs: 2, Seed: 1})
	require.NoError(t, err)
	require.False(t, equalF32(before, n.Params()[0].W), "trained")
	for _, size := range []int{5, 7} {
		require.NoError(t, n.SetSampleShapes([][]int{{size, 4}}))
		x := randomSamples(rng, size*4)
		sqnr := exportSQNR(t, n, x, 1, map[string]*graph.Tensor{"x": graph.FromFloat32([]int{size, 4}, x)}, "y")
		require.Greater(t, sqnr, 30.0, "%d nodes", size)
	}
	_, _, err = n.Forward(make([]float32, 2*7*4), 2)
	require.ErrorContains(t, err, "a sample of whole inputs runs alone")
}

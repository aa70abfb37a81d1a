package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// exportedClassifier is a torch.onnx export (opset 13) declaring its input
// [batch,3,height,width] (made by scripts/export_testmodels.py).
const exportedClassifier = "../testdata/exported/classifier_opset13.onnx"

func TestBindSampleShape(t *testing.T) {
	m, err := graph.Load(exportedClassifier)
	require.NoError(t, err)
	fixed := tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, make([]float32, 12))}}.model()
	for _, tc := range []struct {
		name  string
		model *graph.Model
		shape []int
		want  string // bound input declaration; "" = the model itself
		err   string
	}{
		{name: "nil keeps the model", model: m},
		{name: "symbolic height and width bound, batch kept", model: m, shape: []int{3, 64, 48}, want: "[batch,3,64,48]"},
		{name: "nothing symbolic to bind", model: fixed, shape: []int{4}},
		{name: "known channel contradicted", model: m, shape: []int{1, 64, 64}, err: `input "input" is declared [batch,3,height,width]; the training samples are [1,64,64]`},
		{name: "wrong rank", model: m, shape: []int{3, 64}, err: "must give its 3 dimensions after the batch"},
		{name: "zero size", model: m, shape: []int{3, 0, 64}, err: "has a dimension <= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bindSampleShape(tc.model, tc.shape, false)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.want == "" {
				assert.Same(t, tc.model, got)
				return
			}
			assert.Equal(t, tc.want, got.Graph.Inputs[0].Shape.String())
			assert.Equal(t, "[batch,3,height,width]", tc.model.Graph.Inputs[0].Shape.String(), "the model given is left as it was")
		})
	}
}

// randomBatches are n random samples of one shape (calibration data).
type randomBatches struct {
	input string
	shape []int
	n     int
	seed  int64
}

func (r randomBatches) Len() int { return r.n }

func (r randomBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	rng := rand.New(rand.NewSource(r.seed + int64(start)))
	shape := append([]int{n}, r.shape...)
	x := make([]float32, graph.NumElements(shape))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return map[string]*graph.Tensor{r.input: graph.FromFloat32(shape, x)}, nil
}

// randomLabelled is randomBatches as training data with labels below classes.
type randomLabelled struct {
	randomBatches
	classes int
}

func (r randomLabelled) Sample(i int, dst []float32) (int, error) {
	b, _ := r.Batch(i, 1)
	copy(dst, b[r.input].F32())
	return i % r.classes, nil
}

// trainAtSize fits the exported classifier for a few steps at the given sample
// shape and returns the net.
func trainAtSize(t *testing.T, shape []int) *Net {
	t.Helper()
	m, err := graph.Load(exportedClassifier)
	require.NoError(t, err)
	n, err := New(m, Config{SampleShape: shape})
	require.NoError(t, err)
	data := randomLabelled{randomBatches{"input", shape, 8, 1}, 100}
	cal, err := quantizer.Calibrate(m, quantizer.MinMaxAsym, data, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	_, err = n.Fit(data, Options{Batch: 4, LR: 1e-3, Seed: 1})
	require.NoError(t, err)
	return n
}

// TestExportKeepsSymbolicInput: a model declared [batch,3,height,width] trains at
// the data's size and is written as declared; at the training size it computes
// exactly what the model written at that size computes, and it runs at others.
func TestExportKeepsSymbolicInput(t *testing.T) {
	n := trainAtSize(t, []int{3, 96, 96})
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	require.NoError(t, n.BoundExport())
	assert.Equal(t, "[batch,3,height,width]", q.Graph.Inputs[0].Shape.String())

	fm, err := n.FloatModel()
	require.NoError(t, err)
	bound, err := quantizer.Quantize(fm, n.Ranges(), quantizer.QuantOptions{})
	require.NoError(t, err)
	assert.Equal(t, "[batch,3,96,96]", bound.Graph.Inputs[0].Shape.String())

	run := func(m *graph.Model, shape []int) []float32 {
		s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeInt8))
		require.NoError(t, err)
		in, err := randomBatches{"input", shape, 2, 7}.Batch(0, 2)
		require.NoError(t, err)
		out, err := s.RunTensors(in)
		require.NoError(t, err)
		return out["logits"].F32()
	}
	want := run(bound, []int{3, 96, 96})
	assert.Equal(t, want, run(q, []int{3, 96, 96}), "the declared export at the training size")
	assert.Len(t, run(q, []int{3, 64, 80}), 2*100, "the declared export at another size")
}

// TestExportAtTrainingSize: where the graph optimizer rewrites a layer for the
// training size (at 32x32 the last stage's 3x3 convolutions see 1x1 maps, so they
// are cut to their centre taps and the outer weights are never trained), the model
// is written at that size and BoundExport names the weight.
func TestExportAtTrainingSize(t *testing.T) {
	n := trainAtSize(t, []int{3, 32, 32})
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	assert.Equal(t, "[batch,3,32,32]", q.Graph.Inputs[0].Shape.String())
	require.Error(t, n.BoundExport())
	assert.Regexp(t, `the trained weight ".+_taps" exists only at this size`, n.BoundExport().Error())
}

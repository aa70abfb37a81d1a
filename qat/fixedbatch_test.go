package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestFixedBatchModel: a model that declares batch 3 on its input and fixes it
// inside (a Reshape to [3, 4], as torch.onnx writes a flatten traced at batch 3)
// runs in parts of exactly 3: its steps are those of the same net with a
// symbolic batch run in parts of 3 (the same weights), an epoch leaves out the
// samples that would make a part of another size, and batches, parts and data
// that cannot run are refused before training.
func TestFixedBatchModel(t *testing.T) {
	w, fixed, free := reshapeGemm(3)
	fixed.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 3}
	build := func(m *graph.Model) *Net { return rangedNet(t, m) }
	require.Equal(t, 3, build(fixed).FixedBatch())
	require.Zero(t, build(free).FixedBatch())

	// 12 samples: batches of 6 in parts of 3, as the free net's.
	n := build(fixed)
	_, err := n.Fit(constData{12, 1}, Options{Batch: 6, Ranges: "fixed", Seed: 1})
	require.NoError(t, err)
	ref := build(free)
	_, err = ref.Fit(constData{12, 1}, Options{Batch: 6, MicroBatch: 3, Ranges: "fixed", Seed: 1})
	require.NoError(t, err)
	require.Equal(t, ref.Params()[0].W, n.Params()[0].W)
	require.NotEqual(t, w.F32(), n.Params()[0].W, "trained")

	// 14 samples: the two an epoch's shuffle leaves last sit out that epoch
	// (a part of two could not run), with whole batches and with parts.
	for _, o := range []Options{{Batch: 6, Epochs: 2}, {Batch: 3, Epochs: 2}, {Batch: 3, Reestimate: 5}, {Batch: 12, MicroBatch: 3}} {
		o.Ranges, o.Seed = "ema", 2
		_, err = build(fixed).Fit(constData{14, 1}, o)
		require.NoError(t, err, "%+v", o)
	}

	for _, tc := range []struct {
		opts Options
		n    int
		want string
	}{
		{Options{Batch: 4}, 12, "give a multiple of 3"},
		{Options{Batch: 6, MicroBatch: 2}, 12, "micro-batches of 2"},
		{Options{Batch: 12, MicroBatch: 6}, 12, "micro-batches of 6"},
		{Options{Batch: 6, Reestimate: 1}, 12, "re-estimating"},
		{Options{Batch: 3}, 2, "2 training samples"},
	} {
		tc.opts.Ranges = "fixed"
		_, err := build(fixed).Fit(constData{tc.n, 1}, tc.opts)
		require.ErrorContains(t, err, tc.want, "%+v", tc.opts)
	}
}

// reshapeGemm returns a Gemm's weight, the Gemm after a Reshape of its input to
// [b, 4] (a flatten torch.onnx traced at batch b, which fixes that batch), and
// the same Gemm without the Reshape.
func reshapeGemm(b int64) (w *graph.Tensor, fixed, free *graph.Model) {
	w = graph.FromFloat32([]int{3, 4}, []float32{0.1, -0.2, 0.3, 0.05, -0.1, 0.2, 0.15, -0.3, 0.25, 0.1, -0.05, 0.2})
	fixed = tinyModel{[]int{4}, []*graph.Node{
		node("Reshape", []string{"x", "shape"}, "r"),
		node("Gemm", []string{"r", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": w, "shape": graph.FromInt64([]int{2}, []int64{b, 4})}}.model()
	free = tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": w}}.model()
	return w, fixed, free
}

// rangedNet builds the net of a reshapeGemm model with fixed ranges.
func rangedNet(t *testing.T, m *graph.Model) *Net {
	t.Helper()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 2}, "r": {-1, 2}, "y": {-2, 2}}))
	return n
}

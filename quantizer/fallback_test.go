package quantizer

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// heldBack serves training images [off, off+n) (held back from calibration).
type heldBack struct {
	dsBatches
	off, n int
}

func (h heldBack) Len() int { return h.n }
func (h heldBack) Batch(start, n int) (map[string]*graph.Tensor, error) {
	return h.dsBatches.Batch(h.off+start, n)
}

func validationEvaluator(t *testing.T, m *graph.Model, off, n int) *Evaluator {
	train, _ := fmnist(t)
	ev, err := NewEvaluator(m, heldBack{dsBatches{train, "input"}, off, n}, EvalOptions{Labels: train.Labels[off : off+n]})
	require.NoError(t, err)
	return ev
}

// The legacy ENTROPY ranges lose ~9 points on the ResNet; the fallback recovers to
// the budget by keeping the layers that lose most in float32, and the ranges of the
// plain calibration serve every exclusion it tries.
func TestFallbackRecoversLegacyEntropy(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates and evaluates the ResNet several times")
	}
	m := loadBundled(t, "fmnist_resnet")
	c := calibrate(t, m, EntropySym, 1000)
	r := legacyEntropyRanges(c, true)
	if os.Getenv("WARBOY_UPDATE_FIXTURES") != "" {
		require.NoError(t, r.SaveRanges(filepath.Join("testdata", "resnet_legacy_entropy_ranges.json")))
	}
	ev := validationEvaluator(t, m, 1000, 1000)
	b := Budget{UseAccuracy: true, MaxDrop: 0.5}
	res, err := Fallback(m, r, QuantOptions{}, ev, b, FallbackOptions{Progress: func(s string) { t.Log(s) }})
	require.NoError(t, err)
	t.Logf("float %.2f %%, start %.2f %%, final %.2f %%, islands %v", 100*res.Float.Accuracy, 100*res.Start.Accuracy, 100*res.Final.Accuracy, res.Islands)
	assert.Greater(t, 100*(res.Float.Accuracy-res.Start.Accuracy), 2.0, "the fixture must lose >= 2 points")
	assert.True(t, res.Met)
	assert.LessOrEqual(t, len(res.Islands), 3)
	// On the test set too.
	f, _, _ := evalAccuracy(t, m, 2000, runtime.ModeFloat)
	q, _, _ := evalAccuracy(t, res.Model, 2000, runtime.ModeAuto)
	t.Logf("test set (2000 images): float %.2f %%, with fallback %.2f %%", 100*f, 100*q)
	assert.Greater(t, q, f-0.01)
}

// A budget that already holds keeps everything quantized.
func TestFallbackNothingToDo(t *testing.T) {
	m := loadBundled(t, "fmnist_cnn")
	r, err := calibrate(t, m, PercentileAsym, 200).ComputeRanges()
	require.NoError(t, err)
	ev := validationEvaluator(t, m, 200, 200)
	res, err := Fallback(m, r, QuantOptions{}, ev, Budget{MinSQNR: 10}, FallbackOptions{})
	require.NoError(t, err)
	assert.True(t, res.Met)
	assert.Empty(t, res.Islands)
	_, err = Fallback(m, r, QuantOptions{}, ev, Budget{UseAccuracy: true, MaxDrop: 1}, FallbackOptions{})
	require.NoError(t, err)
	unlabelled, err := NewEvaluator(m, heldBack{dsBatches{trainSet, "input"}, 200, 100}, EvalOptions{})
	require.NoError(t, err)
	_, err = Fallback(m, r, QuantOptions{}, unlabelled, Budget{UseAccuracy: true, MaxDrop: 1}, FallbackOptions{})
	assert.ErrorContains(t, err, "labelled")
}

// AutoMethod scores all ten methods from one calibration and keeps the best.
func TestAutoMethod(t *testing.T) {
	m := loadBundled(t, "fmnist_cnn")
	c := calibrate(t, m, MinMaxAsym, 300)
	ev := validationEvaluator(t, m, 300, 300)
	res, err := AutoMethod(m, c, ev, QuantOptions{}, nil)
	require.NoError(t, err)
	require.Len(t, res.Scores, len(Methods()))
	for _, s := range res.Scores {
		require.Empty(t, s.Error)
		assert.True(t, s.Score.Classes)
		assert.Equal(t, 300, s.Score.Samples)
		assert.Greater(t, float64(s.Score.SQNR), 15.0, s.Method.String())
		assert.False(t, s.Score.Better(res.Scores[res.Best].Score), "%s beats the chosen %s", s.Method, res.Best)
	}
	assert.NotNil(t, res.Model)
	assert.NotEmpty(t, res.Ranges)
	assert.Equal(t, res.Best, res.Report.Method)
}

// MissingRanges lists what a ranges file of one plan lacks for other plans.
func TestMissingRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	m := smallCNN(rng)
	r := rangesFromData(t, m, map[string]*graph.Tensor{"x": randTensor(rng, []int{4, 2, 6, 6}, 1)})
	missing, err := MissingRanges(m, r)
	require.NoError(t, err)
	assert.Empty(t, missing, "a calibrator records every float activation")
	delete(r, "c") // the Conv output fused with its ReLU: only an exclusion quantizes it
	missing, err = MissingRanges(m, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, missing)
}

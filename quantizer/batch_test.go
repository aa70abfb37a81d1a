package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// fixBatch gives a model's inputs a static leading dimension, as torch.onnx exports
// them by default.
func fixBatch(m *graph.Model, b int) *graph.Model {
	for _, in := range m.Graph.Inputs {
		in.Shape[0] = graph.Dim{Size: b}
	}
	return m
}

func TestStaticBatch(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	assert.Equal(t, 0, StaticBatch(smallCNN(rng)), "symbolic batch")
	assert.Equal(t, 1, StaticBatch(fixBatch(smallCNN(rng), 1)))
	assert.Equal(t, 4, StaticBatch(fixBatch(smallCNN(rng), 4)))
	assert.Equal(t, 0, StaticBatch(nil))
}

// A model with a static batch is calibrated and compared in batches of its own size,
// whatever BatchSize asks for; samples beyond the last whole batch are left out with a
// warning, and too few samples is an error naming the batch.
func TestCalibrateStaticBatch(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	var xs []*graph.Tensor
	for i := 0; i < 7; i++ {
		xs = append(xs, randTensor(rng, []int{1, 2, 6, 6}, 1))
	}
	one := fixBatch(smallCNN(rng), 1)
	var seen []int
	c, err := Calibrate(one, MinMaxAsym, sliceBatches{xs}, CalibOptions{BatchSize: 4, Progress: func(done, total int) {
		seen = append(seen, done)
		assert.Equal(t, 7, total)
	}})
	require.NoError(t, err, "batch 1 model fed batches of 1, not 4")
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, seen)
	assert.Equal(t, 7, c.Samples())

	// The same ranges as the symbolic-batch model calibrated in batches of 4.
	dyn := smallCNN(rand.New(rand.NewSource(13)))
	one2 := fixBatch(smallCNN(rand.New(rand.NewSource(13))), 1)
	cd, err := Calibrate(dyn, MinMaxAsym, sliceBatches{xs}, CalibOptions{BatchSize: 4})
	require.NoError(t, err)
	c1, err := Calibrate(one2, MinMaxAsym, sliceBatches{xs}, CalibOptions{BatchSize: 4})
	require.NoError(t, err)
	rd, err := cd.ComputeRanges()
	require.NoError(t, err)
	r1, err := c1.ComputeRanges()
	require.NoError(t, err)
	assert.Equal(t, rd, r1)

	two := fixBatch(smallCNN(rng), 2)
	var warns []string
	c, err = Calibrate(two, MinMaxAsym, sliceBatches{xs}, CalibOptions{Warn: func(s string) { warns = append(warns, s) }})
	require.NoError(t, err)
	assert.Equal(t, 6, c.Samples())
	assert.Contains(t, warns, "the model has a static batch of 2: calibrating on 6 of the 7 samples")

	_, err = Calibrate(fixBatch(smallCNN(rng), 8), MinMaxAsym, sliceBatches{xs}, CalibOptions{})
	assert.ErrorContains(t, err, `static batch of 8 (input "x" is [8,2,6,6]) but there are only 7 samples`)
}

// TestStaticBatchWholeSamples: samples that are each the model's whole batch
// (a data set of whole inputs [4, ...] for a model fixed at batch 4) are
// calibrated and evaluated one at a time, none left out, however few.
func TestStaticBatchWholeSamples(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	m := fixBatch(smallCNN(rng), 4)
	xs := []*graph.Tensor{randTensor(rng, []int{4, 2, 6, 6}, 1), randTensor(rng, []int{4, 2, 6, 6}, 1), randTensor(rng, []int{4, 2, 6, 6}, 1)}
	bs, used, dropped, err := runBatches(m, sliceBatches{xs}, 100, 100, 3)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 3, 0}, []int{bs, used, dropped})
	c, err := Calibrate(m, MinMaxAsym, sliceBatches{xs}, CalibOptions{})
	require.NoError(t, err)
	assert.Equal(t, 12, c.Samples(), "every row of the three")
	// rows of one are batched at the model's size, the rest left out
	var rows []*graph.Tensor
	for range 6 {
		rows = append(rows, randTensor(rng, []int{1, 2, 6, 6}, 1))
	}
	bs, used, dropped, err = runBatches(m, sliceBatches{rows}, 100, 100, 6)
	require.NoError(t, err)
	assert.Equal(t, []int{4, 4, 2}, []int{bs, used, dropped})
}

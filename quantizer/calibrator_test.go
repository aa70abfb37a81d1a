package quantizer

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestCalibratorBadInput(t *testing.T) {
	m := loadBundled(t, "fmnist_cnn")
	train, _ := fmnist(t)
	tests := []struct {
		name  string
		batch map[string]*graph.Tensor
		want  string
	}{
		{"empty batch", map[string]*graph.Tensor{}, "empty batch"},
		{"missing input", map[string]*graph.Tensor{"image": train.Batch(0, 2)}, `no input "input"`},
		{"wrong shape", map[string]*graph.Tensor{"input": graph.FromFloat32([]int{2, 1, 14, 14}, make([]float32, 2*14*14))}, "shape"},
		{"wrong type", map[string]*graph.Tensor{"input": graph.FromUint8([]int{1, 1, 28, 28}, make([]uint8, 784))}, "uint8"},
		{"zero samples", map[string]*graph.Tensor{"input": graph.FromFloat32([]int{0, 1, 28, 28}, nil)}, "zero samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCalibrator(m, EntropySym, CalibOptions{})
			require.NoError(t, err)
			err = c.Collect(tt.batch)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			_, err = c.ComputeRanges()
			assert.True(t, errors.Is(err, ErrNoData), "no data after failed batches: %v", err)
		})
	}
	_, err := NewCalibrator(m, Method(42), CalibOptions{})
	assert.Error(t, err)
	_, err = NewCalibrator(m, PercentileSym, CalibOptions{Percentile: 120})
	assert.ErrorContains(t, err, "percentile")
}

func TestCalibratorNaN(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	m := smallCNN(rng)
	c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	x := randTensor(rng, []int{1, 2, 6, 6}, 1)
	x.F32()[3] = float32(nan())
	err = c.Collect(map[string]*graph.Tensor{"x": x})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tensor "x"`)
	assert.Contains(t, err.Error(), "non-finite")
}

// The calibrated tensors are exactly the activations Quantize quantizes, named as in
// the optimized model; every method produces a range for each from one pass.
func TestCalibratorAllMethodsOnePass(t *testing.T) {
	m := loadBundled(t, "fmnist_cnn")
	var progress []int
	var warnings []string
	train, _ := fmnist(t)
	c, err := NewCalibrator(m, EntropyAsym, CalibOptions{
		Progress: func(done, total int) { progress = append(progress, done); assert.Equal(t, 300, total) },
		Warn:     func(s string) { warnings = append(warnings, s) }, ExpectedSamples: 300,
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"input", "/relu1/Relu_output_0", "/pool1/MaxPool_output_0", "/relu2/Relu_output_0",
		"/pool2/MaxPool_output_0", "/flatten/Flatten_output_0", "/relu3/Relu_output_0", "logits"}, c.Tensors())
	for i := 0; i < 300; i += 100 {
		require.NoError(t, c.Collect(map[string]*graph.Tensor{"input": train.Batch(i, 100)}))
	}
	assert.Equal(t, []int{100, 200, 300}, progress)
	assert.Equal(t, 300, c.Samples())
	for _, meth := range Methods() {
		r, rep, err := c.ComputeRangesFor(meth)
		require.NoError(t, err)
		for _, name := range c.Tensors() {
			require.Contains(t, r, name)
		}
		require.Len(t, rep.Tensors, len(c.Tensors()))
		assert.Equal(t, meth, rep.Method)
		assert.Equal(t, 300, rep.Samples)
		for _, tr := range rep.Tensors {
			assert.LessOrEqual(t, tr.Min, float32(0))
			assert.GreaterOrEqual(t, tr.Max, float32(0))
			assert.LessOrEqual(t, tr.ObservedMin, tr.ObservedMax)
			if tr.Name == "input" {
				assert.Equal(t, float32(0), tr.ObservedMin)
				assert.Equal(t, float32(1), tr.ObservedMax)
			}
		}
		q, err := Quantize(m, r, QuantOptions{CalibMethod: meth.String()})
		require.NoError(t, err, meth.String())
		assert.True(t, len(q.Graph.Nodes) > len(m.Graph.Nodes))
	}
	// ENTROPY keeps the point masses of the ReLU activations and no tensor of this CNN
	// has a long tail, so no method's choice deserves a warning.
	assert.Empty(t, warnings)
}

// Batch boundaries do not matter: the histogram grid only depends on the final
// min/max, so every method gives the same ranges for one batch or many.
func TestCalibratorBatchingInvariance(t *testing.T) {
	m := loadBundled(t, "fmnist_mlp")
	train, _ := fmnist(t)
	one, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	require.NoError(t, one.Collect(map[string]*graph.Tensor{"input": train.Batch(0, 200)}))
	many, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	for i := 0; i < 200; i += 7 {
		require.NoError(t, many.Collect(map[string]*graph.Tensor{"input": train.Batch(i, min(7, 200-i))}))
	}
	for _, meth := range Methods() {
		a, _, err := one.ComputeRangesFor(meth)
		require.NoError(t, err)
		b, _, err := many.ComputeRangesFor(meth)
		require.NoError(t, err)
		assert.Equal(t, a, b, "%s", meth)
	}
}

func TestRangesJSON(t *testing.T) {
	dir := t.TempDir()
	r := Ranges{"a": {-1.5, 2.25}, "b/c:0": {0, 6}}
	path := filepath.Join(dir, "ranges.json")
	require.NoError(t, r.SaveRanges(path))
	back, err := LoadRanges(path)
	require.NoError(t, err)
	assert.Equal(t, r, back)

	tests := []struct {
		name, body, want string
	}{
		{"not json", "{", "not a ranges file"},
		{"three numbers", `{"a": [1, 2, 3]}`, "has 3 numbers"},
		{"inverted", `{"a": [2, 1]}`, "min > max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".json")
			require.NoError(t, os.WriteFile(p, []byte(tt.body), 0o644))
			_, err := LoadRanges(p)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	bad := Ranges{"x": {float32(nan()), 1}}
	assert.ErrorContains(t, bad.SaveRanges(filepath.Join(dir, "bad.json")), "not finite")
	assert.NoFileExists(t, filepath.Join(dir, "bad.json"))
}

type sliceBatches struct{ xs []*graph.Tensor }

func (s sliceBatches) Len() int { return len(s.xs) }
func (s sliceBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	if n != 1 {
		// The model's batch dimension is symbolic: concatenate along it.
		first := s.xs[start]
		shape := append([]int{n}, first.Shape[1:]...)
		var data []float32
		for _, x := range s.xs[start : start+n] {
			data = append(data, x.F32()...)
		}
		return map[string]*graph.Tensor{"x": graph.FromFloat32(shape, data)}, nil
	}
	return map[string]*graph.Tensor{"x": s.xs[start]}, nil
}

func TestCalibrate(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	m := smallCNN(rng)
	_, err := Calibrate(m, MinMaxAsym, sliceBatches{}, CalibOptions{})
	assert.True(t, errors.Is(err, ErrNoData))
	var xs []*graph.Tensor
	for i := 0; i < 7; i++ {
		xs = append(xs, randTensor(rng, []int{1, 2, 6, 6}, 1))
	}
	var seen []int
	c, err := Calibrate(m, SQNRAsym, sliceBatches{xs}, CalibOptions{BatchSize: 3, Progress: func(done, total int) {
		seen = append(seen, done)
		assert.Equal(t, 7, total)
	}})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 6, 7}, seen)
	assert.Equal(t, 7, c.Samples())
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	_, err = Quantize(m, r, QuantOptions{})
	require.NoError(t, err)
}

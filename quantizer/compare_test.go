package quantizer

import (
	"encoding/json"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func TestCompare(t *testing.T) {
	m, q := quantizedCNN(t)
	_, test := fmnist(t)
	n := 200
	if testing.Short() {
		n = 60
	}
	for _, mode := range []runtime.Mode{runtime.ModeFloat, runtime.ModeAuto} {
		t.Run(mode.String(), func(t *testing.T) {
			var calls int
			res, err := Compare(m, q, dsBatches{test, "input"}, n, CompareOptions{Mode: mode, BatchSize: 64,
				Progress: func(done, total int) { calls++; assert.Equal(t, n, total) }})
			require.NoError(t, err)
			assert.Equal(t, (n+63)/64, calls)
			assert.Equal(t, n, res.Samples)
			assert.NotEmpty(t, res.Mode)
			t.Logf("mode %s: quantized model ran as %s", mode, res.Mode)
			if mode == runtime.ModeFloat {
				assert.Contains(t, res.Mode, "simulated")
			}
			names := map[string]bool{}
			for i, l := range res.Layers {
				names[l.Tensor] = true
				if i > 0 {
					assert.LessOrEqual(t, float64(res.Layers[i-1].SQNR), float64(l.SQNR), "worst first")
				}
				assert.Greater(t, float64(l.SQNR), 15.0, l.Tensor)
				assert.Greater(t, l.Cosine, 0.98, l.Tensor)
				assert.Positive(t, l.Values)
			}
			for _, want := range []string{"input", "/relu1/Relu_output_0", "/pool2/MaxPool_output_0", "logits"} {
				assert.True(t, names[want], "%s compared", want)
			}
			require.Len(t, res.Top1, 1)
			assert.Greater(t, res.Top1[0].Agreement, 0.95)
			_, err = json.Marshal(res)
			require.NoError(t, err)
		})
	}
}

// Compare reads models whose input and output were made raw by the model editor.
func TestCompareEditedModel(t *testing.T) {
	m, q := quantizedCNN(t)
	e := q.Clone()
	require.NoError(t, ConvertInputType(e, "input", graph.Uint8, &PixelParams))
	require.NoError(t, ConvertOutputType(e, "logits", graph.Int8, nil))
	_, test := fmnist(t)
	a, err := Compare(m, q, dsBatches{test, "input"}, 50, CompareOptions{Mode: runtime.ModeFloat})
	require.NoError(t, err)
	b, err := Compare(m, e, dsBatches{test, "input"}, 50, CompareOptions{Mode: runtime.ModeFloat})
	require.NoError(t, err)
	assert.Equal(t, a.Top1, b.Top1)
	sqnr := map[string]DB{}
	for _, l := range a.Layers {
		sqnr[l.Tensor] = l.SQNR
	}
	for _, l := range b.Layers {
		if s, ok := sqnr[l.Tensor]; ok {
			assert.InDelta(t, float64(s), float64(l.SQNR), 1e-9, l.Tensor)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	m, q := quantizedCNN(t)
	_, test := fmnist(t)
	data := dsBatches{test, "input"}
	_, err := Compare(q, m, data, 10, CompareOptions{})
	assert.ErrorContains(t, err, "the models are swapped")
	_, err = Compare(m, m, data, 10, CompareOptions{})
	assert.ErrorContains(t, err, "not quantized")
	_, err = Compare(q, q, data, 10, CompareOptions{})
	assert.ErrorContains(t, err, "give the float32 model first")
	other := loadBundled(t, "fmnist_mlp") // same tensor names, different shapes
	_, err = Compare(other, q, data, 10, CompareOptions{})
	assert.ErrorContains(t, err, "has shape")
	_, err = Compare(smallCNN(rand.New(rand.NewSource(1))), q, data, 10, CompareOptions{})
	assert.ErrorContains(t, err, "no tensor")
}

func TestDBJSON(t *testing.T) {
	b, err := json.Marshal([]DB{DB(math.Inf(1)), 12.34567})
	require.NoError(t, err)
	assert.JSONEq(t, `[null, 12.346]`, string(b))
}

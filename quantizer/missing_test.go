package quantizer

import (
	"errors"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A partial ranges file: every missing tensor is named once, with how many are needed.
func TestQuantizeMissingRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	m := smallCNN(rng)
	full := rangesFromData(t, m, map[string]*graph.Tensor{"x": randTensor(rng, []int{4, 2, 6, 6}, 1)})
	_, err := Quantize(m, full, QuantOptions{})
	require.NoError(t, err)

	partial := Ranges{}
	var kept string
	for name, r := range full {
		if name != "x" {
			partial[name], kept = r, name
			break
		}
	}
	_, err = Quantize(m, partial, QuantOptions{})
	var miss *MissingRangesError
	require.True(t, errors.As(err, &miss), "%v", err)
	assert.True(t, sort.StringsAreSorted(miss.Missing))
	seen := map[string]bool{}
	for _, n := range miss.Missing {
		assert.False(t, seen[n], "%q listed twice", n)
		seen[n] = true
		_, inFull := full[n]
		assert.True(t, inFull, "%q is a calibrated tensor", n)
	}
	assert.NotContains(t, miss.Missing, kept)
	assert.Contains(t, miss.Missing, "x")
	assert.GreaterOrEqual(t, len(miss.Needed), len(miss.Missing)+1)
	assert.NotContains(t, err.Error(), "NewCalibrator")
}

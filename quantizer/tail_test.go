package quantizer

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLongTail(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	hist := func(f func(i int) float32) *histogram {
		h := newHistogram()
		d := make([]float32, 10000)
		for i := range d {
			d[i] = f(i)
		}
		require.NoError(t, h.add(d))
		return h
	}
	assert.False(t, longTail(hist(func(int) float32 { return rng.Float32() })), "uniform [0, 1): pixels")
	assert.False(t, longTail(hist(func(int) float32 { return float32(rng.NormFloat64()) })), "gaussian: logits")
	assert.True(t, longTail(hist(func(i int) float32 {
		if i == 7 {
			return 50
		}
		return rng.Float32()
	})), "one outlier sets the range")
	assert.True(t, longTail(hist(func(i int) float32 {
		if i == 7 {
			return -50
		}
		return rng.Float32()
	})), "on the negative side too")
	assert.False(t, longTail(newHistogram()), "empty")
}

// The "picked the MIN_MAX range" warning is only for tensors whose range outliers set;
// the others are a note for verbose output.
func TestCollapsedWarningOnlyWhereItMatters(t *testing.T) {
	rep := &CalibReport{Method: PercentileAsym, Percentile: 99.99, Tensors: []TensorReport{
		{Name: "input", Collapsed: true, Values: 100},
		{Name: "relu", Collapsed: true, LongTail: true, Values: 100},
		{Name: "conv", LongTail: true, Values: 100},
		{Name: "logits", Collapsed: true, Values: 100},
	}}
	w := rangeWarnings(rep, DefaultClipWarn)
	require.Len(t, w, 1)
	assert.Equal(t, "PERCENTILE_ASYM picked the MIN_MAX range on 1 of 4 tensors although a few outliers set their range "+
		"(it needs more than 20000 values per tensor to clip any at 99.99 %: calibrate on more samples or lower the percentile): [relu]", w[0])
	assert.Equal(t, "PERCENTILE_ASYM kept the MIN_MAX range (no outliers to clip) on 2 of 4 tensors: input, logits", rep.CollapsedNote())

	rep.Tensors[1].LongTail = false
	assert.Empty(t, rangeWarnings(rep, DefaultClipWarn))
	assert.True(t, strings.HasPrefix(rep.CollapsedNote(), "PERCENTILE_ASYM kept the MIN_MAX range (no outliers to clip) on 3 of 4 tensors"))
	rep.Method = MinMaxAsym
	assert.Empty(t, rep.CollapsedNote(), "MIN_MAX picks MIN_MAX by definition")
}

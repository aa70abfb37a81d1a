package quantizer

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassCount(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  int
	}{
		{[]int{4, 10}, 10},
		{[]int{4, 1000, 1, 1}, 1000},
		{[]int{4, 1}, 0},
		{[]int{4, 3, 8, 12, 9}, 0}, // a detector head
		{[]int{2, 11, 64}, 0},      // a sequence
		{[]int{5}, 0},
	} {
		assert.Equal(t, tc.want, classCount(tc.shape), "%v", tc.shape)
	}
}

func TestTopAgreement(t *testing.T) {
	// Three rows of 7 classes. Row 0: same argmax. Row 1: argmax differs, the float
	// class is second in the int8 scores. Row 2: the float class is last in int8.
	f := []float32{
		0, 9, 1, 2, 3, 4, 5,
		9, 0, 1, 2, 3, 4, 5,
		9, 0, 1, 2, 3, 4, 5,
	}
	q := []float32{
		0, 8, 1, 2, 3, 4, 5,
		5, 0, 1, 2, 3, 4, 6,
		-1, 0, 1, 2, 3, 4, 5,
	}
	t1, t5 := topAgreement(f, q, 7)
	assert.Equal(t, 1, t1)
	assert.Equal(t, 2, t5)
}

func TestErrAccOutputs(t *testing.T) {
	var a errAcc
	a.add([]float32{1, 2, 3, 4}, []float32{1, 2, 3, 3})
	assert.InDelta(t, 10*math.Log10(30.0/1), float64(a.sqnr()), 1e-9)
	assert.Equal(t, 1.0, a.maxAbs)
	assert.Equal(t, 0.25, a.sumAbs/float64(a.n))
	var same errAcc
	same.add([]float32{1, 2}, []float32{1, 2})
	assert.True(t, math.IsInf(float64(same.sqnr()), 1))
	assert.Equal(t, 1.0, same.cosine())
}

// Masked attention scores hold -inf in both runs (the mask stays float32): equal
// infinities agree; an infinity or NaN in one run only is counted apart. Before,
// every measure became NaN and `compare --json` of conformer_dynT's dynamic
// quantization (--unseen7) failed with "json: unsupported value: NaN".
func TestErrAccNonFinite(t *testing.T) {
	ninf, inf, nan := float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN())
	for _, tc := range []struct {
		name      string
		f, q      []float32
		nonFinite int64
	}{
		{"equal masks", []float32{1, ninf, 2, ninf}, []float32{1, ninf, 2, ninf}, 0},
		{"one-sided", []float32{1, ninf, 2, inf}, []float32{1, 0, 2, inf}, 1},
		{"nan", []float32{1, nan, 2, 0}, []float32{1, nan, 2, 0}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a errAcc
			a.add(tc.f, tc.q)
			assert.Equal(t, tc.nonFinite, a.nonFinite)
			assert.True(t, math.IsInf(float64(a.sqnr()), 1), "the finite values are equal")
			assert.Equal(t, 1.0, a.cosine())
			assert.Equal(t, 0.0, a.maxAbs)
			le := LayerError{SQNR: a.sqnr(), Cosine: a.cosine(), MaxAbsErr: a.maxAbs, NonFinite: a.nonFinite}
			_, err := json.Marshal(le)
			assert.NoError(t, err)
		})
	}
}

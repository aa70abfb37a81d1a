package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeRanges: a --ranges-in file is read or refused; what is read is finite and
// ordered.
func FuzzDecodeRanges(f *testing.F) {
	for _, s := range []string{`{"x": [0, 1]}`, `{"x": [1]}`, `{"x": [5, -5]}`, `{"x": [-1e39, 1e39]}`, `{"x": ["NaN", 1]}`,
		`{"x": [null, 1]}`, `nope`, `[]`, `{}`, `{"a": [0, 0], "b": [-3.5, 2e-45]}`, `{"x": [1, 2, 3]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRanges(b)
		if err != nil {
			return
		}
		for name, v := range r {
			for _, x := range v {
				require.False(t, math.IsNaN(float64(x)) || math.IsInf(float64(x), 0), name)
			}
			require.LessOrEqual(t, v[0], v[1], name)
		}
	})
}

// FuzzParseDetectionSpec: compare --detections never panics.
func FuzzParseDetectionSpec(f *testing.F) {
	for _, s := range []string{"auto", "off", "boxes=b,scores=s", "boxes=b,scores=s,labels=l", "rows=out:x1,y1,x2,y2,score,class",
		"rows=out:batch,cx,cy,w,h,-,score", "rows=:x1", "rows=out:", "boxes=,scores=", "bogus", "rows=a:b:c", "boxes=a,boxes=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = ParseDetectionSpec(s)
	})
}

// FuzzParseMethod: --method and --methods names.
func FuzzParseMethod(f *testing.F) {
	for _, s := range []string{"MIN_MAX_ASYM", "entropy_sym", "PERCENTILE", "", "auto", "SQNR_SYM ", "méthode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMethod(s)
		if err == nil {
			m2, err := ParseMethod(m.String())
			require.NoError(t, err)
			require.Equal(t, m, m2)
		}
	})
}

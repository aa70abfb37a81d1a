package quantizer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in      string
		want    Method
		wantErr string
	}{
		{"MIN_MAX_ASYM", MinMaxAsym, ""},
		{"min_max_sym", MinMaxSym, ""},
		{"minmax-asym", MinMaxAsym, ""},
		{"Entropy_Sym", EntropySym, ""},
		{"entropy_asym", EntropyAsym, ""},
		{" PERCENTILE_ASYM ", PercentileAsym, ""},
		{"percentile-sym", PercentileSym, ""},
		{"MSE_ASYM", MSEAsym, ""},
		{"mse_sym", MSESym, ""},
		{"SQNR_ASYM", SQNRAsym, ""},
		{"sqnr_sym", SQNRSym, ""},
		{"entropy", 0, "needs a suffix"},
		{"KL_SYM", 0, "unknown calibration method"},
		{"", 0, "unknown calibration method"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMethod(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMethodProperties(t *testing.T) {
	require.Len(t, Methods(), 10)
	for i, m := range Methods() {
		// FuriosaAI's numbering.
		assert.Equal(t, i, int(m))
		back, err := ParseMethod(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, back)
		assert.Equal(t, i%2 == 1, m.Symmetric())
	}
	assert.Equal(t, KindSQNR, SQNRSym.Kind())
	assert.False(t, Method(10).Valid())
	b, err := json.Marshal(map[string]Method{"m": EntropySym})
	require.NoError(t, err)
	assert.JSONEq(t, `{"m":"ENTROPY_SYM"}`, string(b))
	var back map[string]Method
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, EntropySym, back["m"])
}

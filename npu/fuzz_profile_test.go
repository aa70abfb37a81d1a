package npu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOverlayProfile: a --profile file, complete or partial, is applied or refused;
// what is applied validates.
func FuzzOverlayProfile(f *testing.F) {
	f.Add([]byte(`{"model": {"dram_efficiency": {"value": 0.9}}}`))
	f.Add([]byte(`{"chip": {"clock_ghz": {"value": -5}}}`))
	f.Add([]byte(`{"chip": {"clock_ghz": {"value": 0}, "pcie_lanes": {"value": 0}}}`))
	f.Add([]byte(`{"chip": {"clock_ghz": {"value": 1e308}, "pcie_bandwidth_gbs": {"value": 1e-308}}}`))
	f.Add([]byte(`{"frobnicate": 3}`))
	f.Add([]byte(`{{{`))
	f.Add([]byte(`{"format_version": 99}`))
	f.Add(defaultProfileJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := OverlayProfile(Default(), data, "fuzz")
		if err != nil {
			return
		}
		require.NoError(t, p.Validate())
	})
}

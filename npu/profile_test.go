package npu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaultProfileIsComplete(t *testing.T) {
	p := Default()
	require.NoError(t, p.Validate())
	params := p.Params()
	require.Greater(t, len(params), 60, "every constant of warboy.md section 1 is in the profile")
	kinds := map[Provenance]int{}
	for _, np := range params {
		require.NotEmpty(t, np.Source, np.Name)
		require.NotEmpty(t, np.Note, "%s: say how the simulator uses it", np.Name)
		kinds[np.Kind]++
	}
	for _, k := range []Provenance{Published, Derived, Fitted, Guessed} {
		require.Positive(t, kinds[k], "kind %s", k)
	}
	// At most five global parameters may be fitted (issue #12), each reproduced by
	// TestFitCalibration.
	require.LessOrEqual(t, kinds[Fitted], 5)
}

// The configuration file and the published specification must agree: the derived
// peak and SRAM figures are computed from the config and compared to the spec sheet.
func TestProfileCrossChecks(t *testing.T) {
	p := Default()
	chipMACs := float64(p.Config.NumPE.Int() * p.slicesPerPE() * p.macsPerSlice())
	tops := chipMACs * 2 * p.clockHz() / 1e12
	require.InEpsilon(t, p.Chip.PeakTOPSChip.Value, tops, 0.03, "2 PEs x 64 slices x 32x4 MACs x 2 GHz")
	sram := float64(p.Config.NumPE.Int()*p.slicesPerPE()) * float64(p.sramPerSlice())
	require.InEpsilon(t, p.Chip.SRAMTotalMB.Value, sram/(1<<20), 0.01)
	require.InEpsilon(t, p.Config.SizeDRAM.Value, p.Chip.DRAMCapacityGB.Value*(1<<30), 0.01)
}

func TestProfileJSONRoundTrip(t *testing.T) {
	p := Default()
	b, err := p.JSON()
	require.NoError(t, err)
	q, err := ParseProfile(b)
	require.NoError(t, err)
	require.Equal(t, p, q)
}

func TestOverlayProfileMarksUserValues(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fast-dram.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"chip": {"dram_bandwidth_gbs": {"value": 132}}}`), 0o644))
	p, err := LoadProfile(path)
	require.NoError(t, err)
	require.Equal(t, 132.0, p.Chip.DRAMBandwidthGBs.Value)
	require.Equal(t, User, p.Chip.DRAMBandwidthGBs.Kind)
	require.Contains(t, p.Chip.DRAMBandwidthGBs.Source, "fast-dram.json")
	// Everything else keeps the default and its provenance.
	require.Equal(t, Default().Model.DRAMEfficiency, p.Model.DRAMEfficiency)
}

func TestProfileRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown field", `{"chip": {"clock_hz": {"value": 1}}}`, "unknown field"},
		{"zero clock", `{"chip": {"clock_ghz": {"value": 0}}}`, "clock_ghz"},
		{"negative", `{"model": {"dram_latency_ns": {"value": -1}}}`, "non-negative"},
		{"efficiency above one", `{"model": {"dram_efficiency": {"value": 1.5}}}`, "at most 1"},
		{"fractional slices", `{"npu_config": {"num_slices": {"value": 64.5}}}`, "whole number"},
		{"bad kind", `{"model": {"dram_efficiency": {"value": 0.5, "kind": "magic"}}}`, "kind"},
		{"format version", `{"format_version": 2}`, "format_version"},
		{"not a bool", `{"model": {"pin_weights": {"value": 2}}}`, "0 or 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OverlayProfile(Default(), []byte(tc.json), "test")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSetParam(t *testing.T) {
	p := Default()
	require.NoError(t, p.SetParam("model.dram_efficiency", 0.8))
	require.Equal(t, 0.8, p.Model.DRAMEfficiency.Value)
	require.Equal(t, User, p.Model.DRAMEfficiency.Kind)
	require.ErrorContains(t, p.SetParam("model.nope", 1), "no parameter")
	// Default() hands out copies.
	require.NotEqual(t, 0.8, Default().Model.DRAMEfficiency.Value)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(defaultProfileJSON, &raw))
	require.Equal(t, "warboy", raw["name"])
}

// docs/npu.md lists every profile parameter with its current value; this keeps the
// table from drifting when the profile changes.
func TestDocsListEveryProfileParameter(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "npu.md"))
	if err != nil {
		t.Skip("docs/npu.md not found")
	}
	for _, np := range Default().Params() {
		row := "| `" + np.Name + "` | " + strconv.FormatFloat(np.Value, 'f', -1, 64) + " |"
		require.Contains(t, string(doc), row, "docs/npu.md profile table row of %s", np.Name)
	}
}

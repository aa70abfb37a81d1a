package npu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLayoutBytesPadsWidthAndChannels(t *testing.T) {
	h := newHW(Default(), ModeFused)
	tests := []struct {
		name  string
		shape []int
		want  int64
	}{
		{"aligned", []int{1, 64, 56, 64}, 64 * 56 * 64},
		{"width padded to 32 lanes", []int{1, 64, 56, 56}, 64 * 56 * 64},
		{"7 wide map uses a whole 32-lane vector", []int{1, 512, 7, 7}, 512 * 7 * 32},
		{"channels padded to 4", []int{1, 3, 224, 224}, 4 * 224 * 224},
		{"batch multiplies", []int{2, 3, 224, 224}, 2 * 4 * 224 * 224},
		{"matrix rows on lanes", []int{1, 1000}, 1000 * 32},
		{"vector", []int{10}, 4 * 32},
		{"scalar", []int{}, 4 * 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, layoutBytes(tc.shape, h))
		})
	}
}

func TestMACCyclesModel(t *testing.T) {
	h := newHW(Default(), ModeSingle) // 64 slices of 32x4 MACs
	eff := h.macEff
	fixed := h.warmup + h.passOverhead // warmup_base + broadcast restart per pass
	tests := []struct {
		name    string
		g       macGeom
		passes  int
		passCyc float64
	}{
		// 56x56x64 -> 256, 1x1: 56 rows x 2 lane chunks (56 -> 64) x 64 channel
		// groups = 7168 passes over 64 slices = 112 each.
		{"1x1 conv 56x56", macGeom{n: 1, cin: 64, cout: 256, group: 1, ho: 56, wo: 56, kh: 1, kw: 1, sh: 1, sw: 1}, 112, 64/eff + fixed},
		// A 7-wide map packs 4 rows into the 32 lanes: 2 row groups x 128 channel
		// groups over 64 slices.
		{"3x3 conv 7x7", macGeom{n: 1, cin: 512, cout: 512, group: 1, ho: 7, wo: 7, kh: 3, kw: 3, sh: 1, sw: 1}, 4, 4608/eff + fixed},
		// Depthwise: its own channel from local SRAM, no broadcast: warmup only.
		// Its requantisation (32 outputs of one array row at the vector engine's
		// 8 B/cycle: 4 cycles) hides behind the 9 taps.
		{"depthwise 3x3", macGeom{n: 1, cin: 128, cout: 128, group: 128, ho: 56, wo: 56, kh: 3, kw: 3, sh: 1, sw: 1, depthwise: true}, 224, 9 + h.warmup},
		// A short reduction waits for the epilogue: 32x4 outputs at 8 B/cycle = 16.
		{"1x1 conv, 4 input channels", macGeom{n: 1, cin: 4, cout: 64, group: 1, ho: 56, wo: 56, kh: 1, kw: 1, sh: 1, sw: 1}, 56 * 2 * 16 / 64, 16/eff + fixed},
		// A stride-2 tap reads two 48-wide windows for 32 lanes.
		{"stride 2 doubles taps", macGeom{n: 1, cin: 64, cout: 64, group: 1, ho: 28, wo: 28, kh: 3, kw: 3, sh: 2, sw: 2}, 7, 1152/eff + fixed},
		// A fused SiLU looks 128 outputs up in 2 table ports: 64 cycles a pass.
		{"SiLU epilogue", macGeom{n: 1, cin: 64, cout: 256, group: 1, ho: 56, wo: 56, kh: 1, kw: 1, sh: 1, sw: 1, tableEpilogue: true}, 112, 64/eff + 64 + fixed},
		// The FC maps rows (images) onto lanes: 250 channel groups over 64 slices.
		{"fc batch 1", macGeom{n: 1, cin: 2048, cout: 1000, group: 1, ho: 1, wo: 1, kh: 1, kw: 1, sh: 1, sw: 1}, 4, 2048/eff + fixed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := macCycles(&tc.g, h)
			require.Equal(t, tc.passes, p.passes)
			require.InDelta(t, tc.passCyc, p.passCycles, 1e-9)
			require.InDelta(t, float64(tc.g.n*p.passes)*p.passCycles+p.halo, p.cycles, 1e-6)
			require.LessOrEqual(t, p.hSplit*p.cSplit, h.slices)
			util := float64(macsOf(&tc.g)) / (h.peakMACsPerCycle() * p.cycles)
			require.LessOrEqual(t, util, 1.0)
		})
	}
}

// Fused mode: operands crossing between the PEs run at fetch_network_width /
// sram port = 16/32 of the local rate for half of them, so a pass sustains 2/3; a
// layer too small to gain from 128 slices stays on one PE's 64.
func TestMACCyclesFused(t *testing.T) {
	single, fused := newHW(Default(), ModeSingle), newHW(Default(), ModeFused)
	require.InDelta(t, 2.0/3, fused.fusedEff, 1e-12)
	require.Equal(t, 1.0, single.fusedEff)
	big := macGeom{n: 1, cin: 256, cout: 512, group: 1, ho: 80, wo: 80, kh: 3, kw: 3, sh: 1, sw: 1}
	s, f := macCycles(&big, single), macCycles(&big, fused)
	require.InDelta(t, 2*2.0/3, s.cycles/f.cycles, 0.05, "a large layer: fused is about 1.33x one PE")
	small := macGeom{n: 1, cin: 16, cout: 16, group: 1, ho: 8, wo: 20, kh: 1, kw: 1, sh: 1, sw: 1}
	require.Equal(t, macCycles(&small, single).cycles, macCycles(&small, fused).cycles, "a small layer stays on one PE")
}

// More slices or wider MAC arrays never make an operator slower.
func TestMACCyclesMonotone(t *testing.T) {
	geoms := []macGeom{
		{n: 1, cin: 64, cout: 256, group: 1, ho: 56, wo: 56, kh: 1, kw: 1, sh: 1, sw: 1},
		{n: 2, cin: 3, cout: 64, group: 1, ho: 112, wo: 112, kh: 7, kw: 7, sh: 2, sw: 2},
		{n: 1, cin: 512, cout: 512, group: 512, ho: 14, wo: 14, kh: 3, kw: 3, sh: 1, sw: 1, depthwise: true},
		{n: 1, cin: 256, cout: 1001, group: 1, ho: 1, wo: 3, kh: 1, kw: 1, sh: 1, sw: 1},
	}
	for _, g := range geoms {
		base := newHW(Default(), ModeSingle)
		prev := macCycles(&g, base).cycles
		for _, slices := range []int{96, 128, 256} {
			h := base
			h.slices = slices
			c := macCycles(&g, h).cycles
			require.LessOrEqual(t, c, prev, "slices %d", slices)
			prev = c
		}
		h := base
		h.lanes = 64
		require.LessOrEqual(t, macCycles(&g, h).cycles, macCycles(&g, base).cycles)
		h = base
		h.height = 8
		require.LessOrEqual(t, macCycles(&g, h).cycles, macCycles(&g, base).cycles)
	}
}

func TestLowerOnNPU(t *testing.T) {
	require.True(t, lowerOnNPU([]int{1, 3, 224, 224}, 32))
	require.False(t, lowerOnNPU([]int{1, 224, 224, 3}, 32), "NHWC: the last axis is not the width")
	require.False(t, lowerOnNPU([]int{1, 1, 28, 28}, 32))
	require.False(t, lowerOnNPU([]int{1, 1000}, 32))
}

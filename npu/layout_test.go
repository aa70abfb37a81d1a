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
	h := newHW(Default(), ModeFused) // 128 slices of 32x4 MACs, warmup 20
	tests := []struct {
		name     string
		g        macGeom
		passes   int
		passCyc  float64
		wantUtil float64 // useful MACs / (peak x cycles), to 1%
	}{
		// 56x56x64 -> 256, 1x1: 56 rows x 2 lane chunks (56 -> 64) x 64 channel
		// groups = 7168 passes over 128 slices = 56 each, 64+20 cycles per pass.
		{"1x1 conv 56x56", macGeom{n: 1, cin: 64, cout: 256, group: 1, ho: 56, wo: 56, kh: 1, kw: 1, sh: 1, sw: 1}, 56, 84, 0.875 * 64 / 84},
		// 7x7 maps waste 25 of 32 lanes.
		{"3x3 conv 7x7", macGeom{n: 1, cin: 512, cout: 512, group: 1, ho: 7, wo: 7, kh: 3, kw: 3, sh: 1, sw: 1}, 7, 4608 + 20, 7.0 / 32 * 4608 / 4628},
		// Depthwise uses one of the 4 MAC rows.
		{"depthwise 3x3", macGeom{n: 1, cin: 128, cout: 128, group: 128, ho: 56, wo: 56, kh: 3, kw: 3, sh: 1, sw: 1, depthwise: true}, 112, 9 + 20, 0.875 * 0.25 * 9 / 29},
		// A stride-2 tap reads two 48-wide windows for 32 lanes.
		{"stride 2 doubles taps", macGeom{n: 1, cin: 64, cout: 64, group: 1, ho: 28, wo: 28, kh: 3, kw: 3, sh: 2, sw: 2}, 4, 1152 + 20, 28.0 / 32 * 14 / 16 * 576 / 1172},
		// Batch multiplies the passes; the FC maps rows (images) onto lanes.
		{"fc batch 1", macGeom{n: 1, cin: 2048, cout: 1000, group: 1, ho: 1, wo: 1, kh: 1, kw: 1, sh: 1, sw: 1}, 2, 2068, 1000.0 / 32 / 1024 * 2048 / 2068},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := macCycles(&tc.g, h)
			require.Equal(t, tc.passes, p.passes)
			require.Equal(t, tc.passCyc, p.passCycles)
			require.LessOrEqual(t, p.hSplit*p.cSplit, h.slices)
			util := float64(macsOf(&tc.g)) / (h.peakMACsPerCycle() * p.cycles)
			require.InDelta(t, tc.wantUtil, util, 0.01)
			require.LessOrEqual(t, util, 1.0)
		})
	}
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

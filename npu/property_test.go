package npu_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// propertyModels are the models the invariants are checked on.
var propertyModels = []string{"tiny_cnn", "mobilenet_v1", "resnet50", "yolov5n"}

func sim(t *testing.T, m *graph.Model, cfg npu.Config) *npu.Report {
	t.Helper()
	cfg.AssumeInt8 = true
	r, err := npu.Simulate(m, cfg)
	require.NoError(t, err)
	return r
}

func withParams(t *testing.T, kv ...any) *npu.Profile {
	t.Helper()
	p := npu.Default()
	for i := 0; i < len(kv); i += 2 {
		require.NoError(t, p.SetParam(kv[i].(string), kv[i+1].(float64)))
	}
	return p
}

// Latency can never beat the roofline: all MACs at peak, or all DRAM bytes at the
// sustained bandwidth.
func TestPropertyLatencyAboveRoofline(t *testing.T) {
	p := npu.Default()
	for _, name := range propertyModels {
		for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused, npu.Mode2PE} {
			for _, batch := range []int{1, 4} {
				t.Run(fmt.Sprintf("%s/%s/b%d", name, mode, batch), func(t *testing.T) {
					r := sim(t, zooModel(t, name), npu.Config{Mode: mode, Batch: batch, InFlight: 1, Requests: 1, PreLowered: true})
					clock := p.Chip.ClockGHz.Value * 1e3 // cycles per us
					computeUS := float64(r.MACs) / float64(r.PeakMACsPerCycle) / clock
					dramUS := float64(r.DRAMBytes) / (p.Chip.DRAMBandwidthGBs.Value * p.Model.DRAMEfficiency.Value * 1e3)
					require.GreaterOrEqual(t, r.NPULatencyUS*(1+1e-9), computeUS)
					require.GreaterOrEqual(t, r.NPULatencyUS*(1+1e-9), dramUS)
					require.GreaterOrEqual(t, r.LatencyUS, r.NPULatencyUS)
					require.LessOrEqual(t, r.MACUtilization, 1.0)
					require.Positive(t, r.ThroughputIPS)
				})
			}
		}
	}
}

// A faster chip is never slower: more DRAM bandwidth, a higher efficiency, more
// slices, taller MAC arrays, a faster clock or a cheaper operator overhead.
func TestPropertyMoreResourcesNeverSlower(t *testing.T) {
	upgrades := []struct {
		name string
		kv   []any
	}{
		{"2x DRAM bandwidth", []any{"chip.dram_bandwidth_gbs", 132.0}},
		{"DRAM efficiency 0.9", []any{"model.dram_efficiency", 0.9}},
		{"2x slices", []any{"npu_config.num_slices", 128.0}},
		{"MAC height 8", []any{"npu_config.mac_height", 8.0}},
		{"3 GHz", []any{"chip.clock_ghz", 3.0}},
		{"no operator overhead", []any{"model.op_overhead_cycles", 0.0}},
		{"MAC efficiency 1", []any{"model.mac_efficiency", 1.0}},
		{"no pass overhead", []any{"model.pass_overhead_cycles", 0.0}},
		{"2x fetch network", []any{"npu_config.fetch_network_width", 32.0}},
		{"4 table ports", []any{"npu_config.num_table_ports", 4.0}},
		{"2x vector engine", []any{"model.vector_bytes_per_cycle_per_slice", 64.0}},
		{"2x PCIe", []any{"chip.pcie_bandwidth_gbs", 31.5}},
	}
	for _, name := range propertyModels {
		m := zooModel(t, name)
		for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused} {
			for _, batch := range []int{1, 2} {
				base := sim(t, m, npu.Config{Mode: mode, Batch: batch})
				for _, u := range upgrades {
					t.Run(fmt.Sprintf("%s/%s/b%d/%s", name, mode, batch, u.name), func(t *testing.T) {
						r := sim(t, m, npu.Config{Mode: mode, Batch: batch, Profile: withParams(t, u.kv...)})
						// End to end: the compiler may pick another batch schedule whose NPU
						// part is longer but overlaps better with the host.
						require.LessOrEqual(t, r.LatencyUS, base.LatencyUS*(1+1e-9))
						require.GreaterOrEqual(t, r.ThroughputIPS, base.ThroughputIPS*(1-1e-9))
					})
				}
			}
		}
	}
}

// The SRAM plan never exceeds the capacity, also when activations must spill.
func TestPropertySRAMWithinCapacity(t *testing.T) {
	ssd, err := zoo.Build("ssd_resnet34", zoo.Options{})
	require.NoError(t, err)
	models := map[string]*graph.Model{"ssd_resnet34": ssd}
	for _, n := range propertyModels {
		models[n] = zooModel(t, n)
	}
	for name, m := range models {
		for _, sramKiB := range []float64{256, 64, 16} {
			for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused} {
				t.Run(fmt.Sprintf("%s/%s/%.0fKiB-per-slice", name, mode, sramKiB), func(t *testing.T) {
					p := withParams(t, "npu_config.size_actual_sram_slice", sramKiB*1024)
					r := sim(t, m, npu.Config{Mode: mode, Batch: 2, Profile: p})
					require.LessOrEqual(t, r.SRAMPeakBytes, r.SRAMCapacity)
					require.Positive(t, r.SRAMPeakBytes)
				})
			}
		}
	}
}

// Fused mode (both PEs as one) is never slower than one PE.
func TestPropertyFusedNeverSlowerThanSingle(t *testing.T) {
	for _, name := range propertyModels {
		for _, batch := range []int{1, 2, 8} {
			t.Run(fmt.Sprintf("%s/b%d", name, batch), func(t *testing.T) {
				m := zooModel(t, name)
				single := sim(t, m, npu.Config{Mode: npu.ModeSingle, Batch: batch})
				fused := sim(t, m, npu.Config{Mode: npu.ModeFused, Batch: batch})
				require.LessOrEqual(t, fused.LatencyUS, single.LatencyUS*(1+1e-9))
				require.LessOrEqual(t, fused.NPULatencyUS, single.NPULatencyUS*(1+1e-9))
			})
		}
	}
}

// Batching never lowers throughput: weights are loaded once per batch.
func TestPropertyBatchThroughputNeverLower(t *testing.T) {
	for _, name := range propertyModels {
		for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused, npu.Mode2PE} {
			t.Run(fmt.Sprintf("%s/%s", name, mode), func(t *testing.T) {
				m := zooModel(t, name)
				b1 := sim(t, m, npu.Config{Mode: mode, Batch: 1, PreLowered: true})
				for _, batch := range []int{2, 4, 8} {
					r := sim(t, m, npu.Config{Mode: mode, Batch: batch, PreLowered: true})
					require.GreaterOrEqual(t, r.ThroughputIPS, b1.ThroughputIPS*(1-1e-9), "batch %d", batch)
				}
			})
		}
	}
}

// Two independent PEs serve more requests per second than one.
func TestProperty2PEThroughput(t *testing.T) {
	for _, name := range propertyModels {
		t.Run(name, func(t *testing.T) {
			m := zooModel(t, name)
			one := sim(t, m, npu.Config{Mode: npu.ModeSingle, InFlight: 2, PreLowered: true})
			two := sim(t, m, npu.Config{Mode: npu.Mode2PE, InFlight: 2, PreLowered: true})
			require.GreaterOrEqual(t, two.ThroughputIPS, one.ThroughputIPS*(1-1e-9))
		})
	}
}

// Pinning weights in SRAM across requests (a what-if) never slows a request and makes
// repeated requests of a model that fits faster.
func TestPropertyPinnedWeights(t *testing.T) {
	m := zooModel(t, "mobilenet_v1")
	cfg := npu.Config{PreLowered: true, Requests: 4}
	base := sim(t, m, cfg)
	cfg.Profile = withParams(t, "model.pin_weights", 1.0)
	pinned := sim(t, m, cfg)
	require.InDelta(t, base.LatencyUS, pinned.LatencyUS, 1e-6, "the first request loads the weights either way")
	require.Less(t, pinned.MeanLatencyUS, base.MeanLatencyUS)
	require.Greater(t, pinned.ThroughputIPS, base.ThroughputIPS)
	require.LessOrEqual(t, pinned.SRAMPeakBytes, pinned.SRAMCapacity)
}

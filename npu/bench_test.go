package npu_test

import (
	"testing"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// benchSimulate measures the simulator itself: compile and simulate one request,
// timing only. Goals (issue #6): ResNet-50 under 50 ms of wall time, a 1200x1200
// detection network under 1 s. It reports simulated NPU cycles per wall second.
func benchSimulate(b *testing.B, m *graph.Model, cfg npu.Config) {
	b.Helper()
	cfg.AssumeInt8 = true
	var cycles, events float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := npu.Simulate(m, cfg)
		if err != nil {
			b.Fatal(err)
		}
		cycles += r.LatencyUS * 1e3 * cfg.Profile.Chip.ClockGHz.Value
		events += float64(r.Sim.Events)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(cycles/sec, "simcycles/s")
	b.ReportMetric(events/sec, "events/s")
	b.ReportMetric(sec*1e3/float64(b.N), "wall-ms/op")
}

func BenchmarkSimulateResNet50(b *testing.B) {
	m, err := zoo.Build("resnet50", zoo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchSimulate(b, m, npu.Config{Mode: npu.ModeFused, PreLowered: true, Profile: npu.Default()})
}

func BenchmarkSimulateMobileNetV1(b *testing.B) {
	m, err := zoo.Build("mobilenet_v1", zoo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchSimulate(b, m, npu.Config{Mode: npu.ModeFused, Profile: npu.Default()})
}

func BenchmarkSimulateSSDResNet34x1200(b *testing.B) {
	m, err := zoo.Build("ssd_resnet34", zoo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchSimulate(b, m, npu.Config{Mode: npu.ModeSingle, Profile: npu.Default()})
}

// Throughput runs simulate many requests on both PEs.
func BenchmarkSimulateResNet50Throughput2PE(b *testing.B) {
	m, err := zoo.Build("resnet50", zoo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchSimulate(b, m, npu.Config{Mode: npu.Mode2PE, Batch: 4, InFlight: 4, Requests: 16, Profile: npu.Default()})
}

// BenchmarkSimulateZoo times one timing-only simulation of every zoo network in
// fused and single mode (the largest are the 1280x1280 YOLOv5 P6 models): the goal
// is under 50 ms of simulator wall time each. Weights are not built (timing needs
// only shapes). Run: go test ./npu -run '^$' -bench SimulateZoo -benchtime 3x
func BenchmarkSimulateZoo(b *testing.B) {
	for _, name := range zoo.Names() {
		m, err := zoo.Build(name, zoo.Options{ShapeOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []npu.Mode{npu.ModeFused, npu.ModeSingle} {
			b.Run(name+"/"+string(mode), func(b *testing.B) {
				benchSimulate(b, m, npu.Config{Mode: mode, PreLowered: true, Profile: npu.Default()})
			})
		}
	}
}

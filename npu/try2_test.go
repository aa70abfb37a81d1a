package npu_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/npu"
)

func TestTry2(t *testing.T) {
	name := os.Getenv("M")
	m, _ := zoo.Build(name, zoo.Options{})
	r, err := npu.Simulate(m, npu.Config{Mode: npu.ModeFused, AssumeInt8: true, PreLowered: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range r.Ops {
		fmt.Printf("%-34s %-24s %8.2f %8.2f comp %7.2f stall %7.2f ovh %5.2f tiles %3d dram %8d util %.2f h%d c%d %s\n", o.Name, o.Kind, o.StartUS, o.EndUS, o.ComputeUS, o.StallUS, o.OverheadUS, o.Tiles, o.DRAMBytes, o.Utilization, o.SlicesH, o.SlicesC, o.Bound)
	}
}

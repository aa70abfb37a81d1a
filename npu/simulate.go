package npu

import (
	"fmt"
	"time"

	"github.com/warboy-sim/warboy/graph"
)

// Simulate compiles an int8 model (QDQ or QOperator ONNX) for Warboy and simulates
// cfg.Requests requests. A float32 model is refused unless cfg.AssumeInt8 is set (see
// Prepare to quantize one). Operators the NPU cannot run are placed on the host with
// their cost, never rejected; errors are about malformed models.
func Simulate(m *graph.Model, cfg Config) (*Report, error) {
	wall := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := newHW(cfg.Profile, cfg.Mode)
	prog, err := compile(m, cfg, h)
	if err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	mp, err := planMemory(prog, h)
	if err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	costs := costSteps(prog, h, mp, cfg)
	pinWeights(prog, costs, mp, h)
	compiled := time.Now()
	s := newSchedule(prog, costs, mp, cfg, h)
	s.build()
	if err := s.e.run(); err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	rep := s.report()
	rep.Model = m.Graph.Name
	done := time.Now()
	rep.Sim = SimStats{
		CompileMS:  float64(compiled.Sub(wall).Microseconds()) / 1e3,
		SimulateMS: float64(done.Sub(compiled).Microseconds()) / 1e3,
		Tasks:      len(s.e.tasks),
		Events:     s.e.Events,
	}
	if cfg.Trace {
		rep.trace = s.traceData()
	}
	if cfg.Functional {
		fs := time.Now()
		outs, mode, err := runFunctional(m, cfg)
		if err != nil {
			return nil, fmt.Errorf("npu: functional run: %w", err)
		}
		rep.Outputs, rep.FunctionalMode = outs, mode
		rep.Sim.FunctionalMS = float64(time.Since(fs).Microseconds()) / 1e3
	}
	rep.Sim.WallMS = float64(time.Since(wall).Microseconds()) / 1e3
	simSec := done.Sub(wall).Seconds()
	if simSec > 0 {
		rep.Sim.EventsPerSec = float64(rep.Sim.Events) / simSec
		var makespan float64
		for _, id := range s.reqEnd {
			makespan = max(makespan, s.e.tasks[id].end)
		}
		rep.Sim.SimCyclesPerSec = makespan * cfg.Profile.Chip.ClockGHz.Value / simSec
	}
	return rep, nil
}

// pinWeights keeps every weight resident across requests when the profile asks for
// it and SRAM can hold them next to the activations and a working DMA ring.
func pinWeights(p *program, costs map[*lop]*stepCost, mp *memPlan, h hw) {
	if h.p.Model.PinWeights.Value != 1 {
		return
	}
	var total int64
	for _, l := range p.steps {
		if l.engine == EngineNPU {
			total += costs[l].wLoad
		}
	}
	if total > 0 && float64(total) <= mp.ringCap-4*h.p.Model.DMATileBytes.Value {
		mp.pinned = total
	}
}

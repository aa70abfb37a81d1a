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
	if cfg.Batch == 0 && m != nil && m.Graph != nil {
		// No batch asked for: a model exported with a static batch runs at it.
		cfg.Batch = staticBatch(m.Graph)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("npu: nil model")
	}
	m = graph.FoldQATWeights(m) // QAT exports: Q -> DQ of float weights become int8 constants, Conv-BN scaling folds into them
	h := newHW(cfg.Profile, cfg.Mode)
	// A batch runs layer-major (every operator over the whole batch, weights loaded
	// once) unless memory makes that slower than running the batch-1 program once per
	// image; the compiler picks the faster schedule, as FuriosaAI's does by measuring.
	best, err := simulateSchedule(m, cfg, h, cfg.Batch, 1)
	if err != nil {
		return nil, err
	}
	if cfg.Batch > 1 {
		if alt, err := simulateSchedule(m, cfg, h, 1, cfg.Batch); err == nil && alt.rep.ThroughputIPS > best.rep.ThroughputIPS*(1+1e-9) {
			best = alt
		}
	}
	rep := best.rep
	rep.Model = m.Graph.Name
	rep.Sim = SimStats{CompileMS: best.compileMS, SimulateMS: best.simulateMS, Tasks: len(best.s.e.tasks), Events: best.s.e.Events}
	if cfg.Trace {
		rep.trace = best.s.traceData()
	}
	simDone := time.Now()
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
	if simSec := simDone.Sub(wall).Seconds(); simSec > 0 {
		rep.Sim.EventsPerSec = float64(rep.Sim.Events) / simSec
		var makespan float64
		for _, id := range best.s.reqEnd {
			makespan = max(makespan, best.s.e.tasks[id].end)
		}
		rep.Sim.SimCyclesPerSec = makespan * cfg.Profile.Chip.ClockGHz.Value / simSec
	}
	return rep, nil
}

type simResult struct {
	s                     *schedule
	rep                   *Report
	compileMS, simulateMS float64
}

// simulateSchedule compiles the model for a batch of compileBatch images and runs
// every request's program images times.
func simulateSchedule(m *graph.Model, cfg Config, h hw, compileBatch, images int) (*simResult, error) {
	t0 := time.Now()
	ccfg := cfg
	ccfg.Batch = compileBatch
	prog, err := compile(m, ccfg, h)
	if err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	mp, err := planMemory(prog, h)
	if err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	costs := costSteps(prog, h, mp, ccfg)
	pinWeights(prog, costs, mp, h)
	t1 := time.Now()
	s := newSchedule(prog, costs, mp, cfg, h)
	s.images = images
	if err := s.build(); err != nil {
		return nil, fmt.Errorf("npu: %w", err)
	}
	if err := s.e.run(); err != nil {
		// Name the operator whose task never ran (a simulator defect, not a model one).
		for id := range s.e.tasks {
			if s.e.tasks[id].state != stDone {
				if st := s.meta[id].step; st >= 0 {
					return nil, fmt.Errorf("npu: %s: %w", prog.steps[st].name, err)
				}
				break
			}
		}
		return nil, fmt.Errorf("npu: %w", err)
	}
	rep := s.report()
	t2 := time.Now()
	return &simResult{s: s, rep: rep, compileMS: float64(t1.Sub(t0).Microseconds()) / 1e3, simulateMS: float64(t2.Sub(t1).Microseconds()) / 1e3}, nil
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

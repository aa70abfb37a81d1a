package npu

import (
	"math"
	"sort"
	"strconv"

	"github.com/warboy-sim/warboy/graph"
)

// Report is the result of a simulation. Times are in microseconds; JSON names are
// stable snake_case.
type Report struct {
	Model    string `json:"model"`
	Profile  string `json:"profile"`
	Mode     Mode   `json:"mode"`
	Batch    int    `json:"batch"`
	InFlight int    `json:"in_flight"`
	Requests int    `json:"requests"`
	// PreLowered is set when host layout conversion was outside the timed region.
	PreLowered bool `json:"pre_lowered"`
	// AssumeInt8 is set when a float model was timed as int8 without quantizing it.
	AssumeInt8 bool `json:"assume_int8"`
	// BatchSchedule is how the compiler runs a batch: "layer-major" (each operator
	// over all images, weights loaded once) or "image-major" (the batch-1 program once
	// per image, when memory makes layer-major slower).
	BatchSchedule string `json:"batch_schedule"`

	// LatencyUS is the end-to-end latency of the first request: host work, PCIe and
	// NPU. NPULatencyUS is its NPU part (first to last NPU operator, "NPU Run").
	LatencyUS     float64 `json:"latency_us"`
	NPULatencyUS  float64 `json:"npu_latency_us"`
	MeanLatencyUS float64 `json:"mean_latency_us"`
	// ThroughputIPS is inferences (images) per second in steady state.
	ThroughputIPS float64 `json:"throughput_ips"`
	// Cycles is NPULatencyUS in NPU cycles.
	Cycles int64 `json:"cycles"`
	// MACs counts the useful multiply-accumulates of the NPU operators per request.
	MACs int64 `json:"macs"`
	// MACUtilization is MACs over the MAC array's capacity during NPU latency.
	MACUtilization   float64 `json:"mac_utilization"`
	PeakMACsPerCycle int64   `json:"peak_macs_per_cycle"`
	DRAMReadBytes    int64   `json:"dram_read_bytes"`
	DRAMWriteBytes   int64   `json:"dram_write_bytes"`
	DRAMBytes        int64   `json:"dram_bytes"`
	WeightBytes      int64   `json:"weight_bytes"`
	PCIeBytes        int64   `json:"pcie_bytes"`
	SRAMPeakBytes    int64   `json:"sram_peak_bytes"`
	SRAMCapacity     int64   `json:"sram_capacity_bytes"`
	// SpilledTensors are activations that did not fit in SRAM and live in DRAM.
	SpilledTensors []string `json:"spilled_tensors"`

	// Split divides the first request's latency by what bounds it.
	Split TimeSplit `json:"time_split_us"`
	// Ops is the per-operator timeline of the first request, in program order.
	Ops []OpReport `json:"ops"`
	// Units is the busy time of every hardware unit over the whole simulation.
	Units []UnitReport `json:"units"`
	// HostFallbacks lists the operators that run on the host CPU and why.
	HostFallbacks []Fallback `json:"host_fallbacks"`
	Warnings      []string   `json:"warnings"`

	Sim SimStats `json:"sim"`

	// Outputs are the functional results (Config.Functional), keyed by output name.
	Outputs map[string]*graph.Tensor `json:"-"`
	// FunctionalMode says how the outputs were computed (int8 or float32).
	FunctionalMode string `json:"functional_mode"`

	trace *traceData
}

// TimeSplit attributes latency to what bounds it.
type TimeSplit struct {
	// ComputeUS is MAC-array work, VectorUS vector-engine work (padding, copies,
	// pooling, elementwise, resize), DRAMUS NPU time stalled on DRAM transfers,
	// OverheadUS fixed per-operator costs and runtime overhead.
	ComputeUS  float64 `json:"compute"`
	VectorUS   float64 `json:"vector"`
	DRAMUS     float64 `json:"dram"`
	HostUS     float64 `json:"host"`
	PCIeUS     float64 `json:"pcie"`
	OverheadUS float64 `json:"overhead"`
}

// OpReport is one step of the first request.
type OpReport struct {
	Name   string   `json:"name"`
	OpType string   `json:"op_type"`
	Kind   string   `json:"kind"`
	Engine Engine   `json:"engine"`
	Unit   string   `json:"unit"`
	Fused  []string `json:"fused"`
	Nodes  []string `json:"nodes"`
	// StartUS and EndUS are relative to the request's start.
	StartUS     float64 `json:"start_us"`
	EndUS       float64 `json:"end_us"`
	Cycles      int64   `json:"cycles"`
	ComputeUS   float64 `json:"compute_us"`
	StallUS     float64 `json:"stall_us"`
	OverheadUS  float64 `json:"overhead_us"`
	MACs        int64   `json:"macs"`
	Utilization float64 `json:"utilization"`
	DRAMBytes   int64   `json:"dram_bytes"`
	PCIeBytes   int64   `json:"pcie_bytes"`
	Tiles       int     `json:"tiles"`
	SlicesH     int     `json:"slices_h"`
	SlicesC     int     `json:"slices_c"`
	// PassCycles is the cost of one 32x4 MAC pass of a MAC operator (reduction,
	// broadcast stalls, pipeline fill); HaloCycles the time its slices spend
	// receiving halo rows from their neighbours.
	PassCycles float64 `json:"pass_cycles"`
	HaloCycles float64 `json:"halo_cycles"`
	Bound      string  `json:"bound"`
	Reason     string  `json:"reason"`
}

// UnitReport is the busy time of one hardware unit.
type UnitReport struct {
	Name        string  `json:"name"`
	BusyUS      float64 `json:"busy_us"`
	Utilization float64 `json:"utilization"`
}

// Fallback is an operator placed on the host.
type Fallback struct {
	Name   string  `json:"name"`
	OpType string  `json:"op_type"`
	Reason string  `json:"reason"`
	CostUS float64 `json:"cost_us"`
}

// SimStats describes the simulation run itself.
type SimStats struct {
	CompileMS    float64 `json:"compile_ms"`
	SimulateMS   float64 `json:"simulate_ms"`
	WallMS       float64 `json:"wall_ms"`
	FunctionalMS float64 `json:"functional_ms"`
	Tasks        int     `json:"tasks"`
	Events       int     `json:"events"`
	EventsPerSec float64 `json:"events_per_sec"`
	// SimCyclesPerSec is simulated NPU cycles (all requests) per second of wall time.
	SimCyclesPerSec float64 `json:"sim_cycles_per_sec"`
}

// Bound names.
const (
	BoundCompute  = "compute"
	BoundVector   = "vector"
	BoundDRAM     = "dram"
	BoundOverhead = "overhead"
	BoundHost     = "host"
	BoundPCIe     = "pcie"
)

// OpAverage is the mean duration of the NPU operators of one kind.
type OpAverage struct {
	Kind   string  `json:"kind"`
	Count  int     `json:"count"`
	MeanNS float64 `json:"mean_ns"`
	SumNS  float64 `json:"sum_ns"`
}

// KindAverages groups the NPU operators by profiler name (LowLevelConv2d, ...), as
// FuriosaAI's profiler reports them.
func (r *Report) KindAverages() []OpAverage {
	idx := map[string]int{}
	var out []OpAverage
	for _, op := range r.Ops {
		if op.Engine != EngineNPU {
			continue
		}
		i, ok := idx[op.Kind]
		if !ok {
			i = len(out)
			idx[op.Kind] = i
			out = append(out, OpAverage{Kind: op.Kind})
		}
		out[i].Count++
		out[i].SumNS += (op.EndUS - op.StartUS) * 1e3
	}
	for i := range out {
		out[i].MeanNS = out[i].SumNS / float64(out[i].Count)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].SumNS > out[b].SumNS })
	return out
}

// report assembles the Report from a finished schedule.
func (s *schedule) report() *Report {
	p := s.h.p
	r := &Report{
		Mode: s.cfg.Mode, Batch: s.cfg.Batch, InFlight: s.cfg.InFlight, Requests: s.cfg.Requests, BatchSchedule: "layer-major",
		PreLowered: s.cfg.PreLowered, AssumeInt8: s.cfg.AssumeInt8,
		Profile:          p.Name + "-" + p.Version,
		SRAMCapacity:     s.mp.capacity,
		PeakMACsPerCycle: int64(s.h.peakMACsPerCycle()),
		SpilledTensors:   s.mp.spilled,
		Warnings:         s.prog.warnings,
	}
	e := s.e
	t0 := e.tasks[s.reqStart[0]].start
	r.LatencyUS = (e.tasks[s.reqEnd[0]].end - t0) / 1e3
	lo, hi := s.npuSpan(0)
	r.NPULatencyUS = (hi - lo) / 1e3
	r.Cycles = int64(math.Round((hi - lo) * p.Chip.ClockGHz.Value))
	var sumLat float64
	ends := make([]float64, len(s.reqEnd))
	for i := range s.reqEnd {
		sumLat += e.tasks[s.reqEnd[i]].end - e.tasks[s.reqStart[i]].start
		ends[i] = e.tasks[s.reqEnd[i]].end
	}
	r.MeanLatencyUS = sumLat / float64(len(s.reqEnd)) / 1e3
	sort.Float64s(ends)
	n := len(ends)
	k := s.cfg.InFlight
	switch {
	case n > k && ends[n-1] > ends[k-1]:
		r.ThroughputIPS = float64((n-k)*s.cfg.Batch) / ((ends[n-1] - ends[k-1]) / 1e9)
	case ends[n-1] > 0:
		r.ThroughputIPS = float64(n*s.cfg.Batch) / (ends[n-1] / 1e9)
	}
	// Per-operator timeline of request 0.
	var npuCompute, npuVector, npuStall, npuOverhead, hostT, pcieT float64
	for i, l := range s.prog.steps {
		c := s.costs[l]
		rg := s.ranges[0][i]
		op := OpReport{Name: l.name, OpType: l.opType, Kind: lowLevelNames[l.kind], Engine: l.engine, Fused: l.fused,
			Nodes: l.nodes, Reason: l.reason, Tiles: c.tiles, SlicesH: c.plan.hSplit, SlicesC: c.plan.cSplit}
		if l.engine == EngineHost && l.reason != "" {
			op.Kind = "Cpu" + l.opType
		}
		start, end := math.Inf(1), math.Inf(-1)
		var busy, setup float64
		for id := rg[0]; id < rg[1]; id++ {
			t := &e.tasks[id]
			switch s.meta[id].role {
			case roleSetup:
				setup += t.end - t.start
			case roleCompute, roleHost, rolePCIe:
				busy += t.end - t.start
			case roleWLoad, roleALoad, roleStore:
				op.DRAMBytes += int64(t.bytes)
				continue
			}
			start = math.Min(start, t.start)
			end = math.Max(end, t.end)
		}
		if math.IsInf(start, 1) {
			start, end = t0, t0
		}
		op.StartUS, op.EndUS = (start-t0)/1e3, (end-t0)/1e3
		span := end - start
		op.Cycles = int64(math.Round(span * p.Chip.ClockGHz.Value))
		switch l.engine {
		case EngineNPU:
			op.Unit = "vector"
			if c.mac {
				op.Unit = "mac"
				op.MACs = l.macs
				if span > 0 {
					op.Utilization = float64(l.macs) / (s.h.peakMACsPerCycle() * span * p.Chip.ClockGHz.Value)
				}
			}
			stall := math.Max(0, span-busy-setup)
			op.ComputeUS, op.StallUS, op.OverheadUS = busy/1e3, stall/1e3, setup/1e3
			op.Bound = BoundCompute
			if !c.mac {
				op.Bound = BoundVector
			}
			if stall > busy && stall >= setup {
				op.Bound = BoundDRAM
			} else if setup > busy && setup > stall {
				op.Bound = BoundOverhead
			}
			if c.mac {
				npuCompute += busy
				op.PassCycles = c.plan.passCycles
				op.HaloCycles = c.plan.halo
			} else {
				npuVector += busy
			}
			npuStall += stall
			npuOverhead += setup
			r.MACs += l.macs * int64(s.images)
			r.DRAMReadBytes += (c.wLoad + c.aLoad) * int64(s.images)
			r.DRAMWriteBytes += c.store * int64(s.images)
			r.WeightBytes += l.wBytes + l.cBytes
		case EngineHost:
			op.Unit = "cpu"
			op.Bound = BoundHost
			op.ComputeUS = busy / 1e3
			hostT += busy
			if l.reason != "" {
				r.HostFallbacks = append(r.HostFallbacks, Fallback{Name: l.name, OpType: l.opType, Reason: l.reason, CostUS: busy / 1e3})
			}
		case EnginePCIe:
			op.Unit = "pcie"
			op.Bound = BoundPCIe
			op.PCIeBytes = l.xferByte
			op.ComputeUS = busy / 1e3
			r.PCIeBytes += l.xferByte * int64(s.images)
			pcieT += busy
		}
		r.Ops = append(r.Ops, op)
	}
	r.DRAMBytes = r.DRAMReadBytes + r.DRAMWriteBytes
	if r.Cycles > 0 {
		r.MACUtilization = float64(r.MACs) / (s.h.peakMACsPerCycle() * float64(r.Cycles))
	}
	// Split the latency; overlapping work is scaled to fit, the rest is runtime
	// overhead (request submission, waiting on the host). Image-major batches repeat
	// the first image's split.
	f := float64(s.images)
	npuCompute, npuVector, npuStall, npuOverhead, hostT, pcieT = npuCompute*f, npuVector*f, npuStall*f, npuOverhead*f, hostT*f, pcieT*f
	total := r.LatencyUS * 1e3
	parts := npuCompute + npuVector + npuStall + npuOverhead + hostT + pcieT
	scale := 1.0
	if parts > total && parts > 0 {
		scale = total / parts
	}
	r.Split = TimeSplit{
		ComputeUS: npuCompute * scale / 1e3, VectorUS: npuVector * scale / 1e3, DRAMUS: npuStall * scale / 1e3, HostUS: hostT * scale / 1e3,
		PCIeUS: pcieT * scale / 1e3, OverheadUS: (npuOverhead*scale + math.Max(0, total-parts*scale)) / 1e3,
	}
	// SRAM peak: resident activations plus the most the DMA ring ever held.
	var ringPeak float64
	for _, u := range s.pes {
		ringPeak = math.Max(ringPeak, e.rings[u.ring].peak)
	}
	r.SRAMPeakBytes = s.mp.actPeak + s.mp.pinned + int64(ringPeak)
	r.Units = s.unitReports()
	if s.images > 1 {
		r.BatchSchedule = "image-major"
	}
	return r
}

// unitReports sums the busy time of every unit over all requests.
func (s *schedule) unitReports() []UnitReport {
	e := s.e
	makespan := 0.0
	for _, id := range s.reqEnd {
		makespan = math.Max(makespan, e.tasks[id].end)
	}
	busy := map[string]float64{}
	var names []string
	addBusy := func(name string, d float64) {
		if _, ok := busy[name]; !ok {
			names = append(names, name)
		}
		busy[name] += d
	}
	for id := range e.tasks {
		t := &e.tasks[id]
		if n := s.unitName(int32(id)); n != "" {
			addBusy(n, t.freed-t.start)
		}
	}
	var out []UnitReport
	for _, n := range names {
		u := UnitReport{Name: n, BusyUS: busy[n] / 1e3}
		if makespan > 0 {
			u.Utilization = busy[n] / makespan
			if n == "host cpu" {
				u.Utilization /= float64(len(e.pools[s.cpu].servers))
			}
		}
		out = append(out, u)
	}
	return out
}

// unitName names the hardware unit a task occupies ("" for markers).
func (s *schedule) unitName(id int32) string {
	t := &s.e.tasks[id]
	m := s.meta[id]
	pe := "PE" + strconv.Itoa(int(m.pe))
	if s.cfg.Mode == ModeFused {
		pe = "PE0+1"
	}
	switch {
	case t.queue >= 0:
		u := s.pes[m.pe]
		switch t.queue {
		case u.mac:
			return pe + " MAC array"
		case u.ve:
			return pe + " vector engine"
		case u.dmaIn:
			return pe + " DMA in"
		case u.dmaOut:
			return pe + " DMA out"
		}
	case t.pool == s.cpu:
		return "host cpu"
	case t.pool == s.h2d:
		return "PCIe H2D"
	case t.pool == s.d2h:
		return "PCIe D2H"
	}
	return ""
}

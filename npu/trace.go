package npu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// TraceEvent is one Chrome trace event ("X" complete events with ts/dur in
// microseconds, "M" metadata naming processes and threads).
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

type traceData struct {
	events []TraceEvent
}

// Trace process ids and thread ids: one thread per hardware unit, plus one thread
// per PE with the operator spans (as FuriosaAI's profiler shows low-level operators)
// and one with the request spans.
const (
	pidNPU  = 1
	pidHost = 2

	tidOps    = 1
	tidMAC    = 2
	tidVE     = 3
	tidDMAIn  = 4
	tidDMAOut = 5
	tidPEStep = 10 // tids of PE k are k*tidPEStep + the above

	tidRequests = 1
	tidH2D      = 2
	tidD2H      = 3
	tidCore0    = 10
)

// TraceEvents returns the trace (nil unless Config.Trace was set).
func (r *Report) TraceEvents() []TraceEvent {
	if r.trace == nil {
		return nil
	}
	return r.trace.events
}

// WriteTrace writes the timeline as Chrome trace JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open. The simulation must have been run
// with Config.Trace.
func (r *Report) WriteTrace(w io.Writer) error {
	if r.trace == nil {
		return errors.New("npu: no trace recorded (set Config.Trace)")
	}
	doc := struct {
		TraceEvents     []TraceEvent   `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}{r.trace.events, "ns", map[string]any{
		"model": r.Model, "mode": r.Mode, "batch": r.Batch, "profile": r.Profile,
		"latency_us": r.LatencyUS, "npu_latency_us": r.NPULatencyUS,
	}}
	enc := json.NewEncoder(w)
	return enc.Encode(doc)
}

func (s *schedule) traceData() *traceData {
	e := s.e
	var ev []TraceEvent
	meta := func(pid, tid int, name string, sort int) {
		if tid == 0 {
			ev = append(ev, TraceEvent{Name: "process_name", Ph: "M", Pid: pid, Args: map[string]any{"name": name}})
			ev = append(ev, TraceEvent{Name: "process_sort_index", Ph: "M", Pid: pid, Args: map[string]any{"sort_index": sort}})
			return
		}
		ev = append(ev, TraceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": name}})
		ev = append(ev, TraceEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"sort_index": sort}})
	}
	meta(pidNPU, 0, "Warboy NPU ("+string(s.cfg.Mode)+")", 1)
	meta(pidHost, 0, "Host", 2)
	for pe := range s.pes {
		name := fmt.Sprintf("PE%d", pe)
		if s.cfg.Mode == ModeFused {
			name = "PE0+1 (fused)"
		}
		base := pe * tidPEStep
		meta(pidNPU, base+tidOps, name+" operators", base+tidOps)
		meta(pidNPU, base+tidMAC, name+" MAC array", base+tidMAC)
		meta(pidNPU, base+tidVE, name+" vector engine", base+tidVE)
		meta(pidNPU, base+tidDMAIn, name+" DMA in (DRAM->SRAM)", base+tidDMAIn)
		meta(pidNPU, base+tidDMAOut, name+" DMA out (SRAM->DRAM)", base+tidDMAOut)
	}
	meta(pidHost, tidRequests, "requests", tidRequests)
	meta(pidHost, tidH2D, "PCIe H2D", tidH2D)
	meta(pidHost, tidD2H, "PCIe D2H", tidD2H)
	for c := range e.pools[s.cpu].servers {
		meta(pidHost, tidCore0+c, fmt.Sprintf("host core %d", c), tidCore0+c)
	}
	us := func(ns float64) float64 { return math.Round(ns) / 1e3 }
	steps := s.prog.steps
	for r := range s.reqStart {
		st, en := e.tasks[s.reqStart[r]], e.tasks[s.reqEnd[r]]
		ev = append(ev, TraceEvent{Name: fmt.Sprintf("request %d", r), Cat: "request", Ph: "X", Ts: us(st.start),
			Dur: us(en.end - st.start), Pid: pidHost, Tid: tidRequests,
			Args: map[string]any{"latency_us": (en.end - st.start) / 1e3, "pe": s.reqPE[r]}})
		if st.dur > 0 {
			ev = append(ev, TraceEvent{Name: "runtime overhead", Cat: "host", Ph: "X", Ts: us(st.start), Dur: us(st.dur),
				Pid: pidHost, Tid: tidRequests + 0, Args: map[string]any{"request": r}})
		}
		for i, l := range steps {
			rg := s.ranges[r][i]
			start, end := math.Inf(1), math.Inf(-1)
			var busy, setup float64
			for id := rg[0]; id < rg[1]; id++ {
				t := &e.tasks[id]
				m := s.meta[id]
				base := int(m.pe) * tidPEStep
				args := map[string]any{"op": l.name, "request": r}
				x := TraceEvent{Ph: "X", Ts: us(t.start), Dur: us(t.end - t.start), Args: args}
				switch m.role {
				case roleSetup:
					x.Name, x.Cat, x.Pid, x.Tid = lowLevelNames[l.kind]+" setup", "overhead", pidNPU, base+tidMAC
					if !s.costs[l].mac {
						x.Tid = base + tidVE
					}
				case roleCompute:
					x.Name, x.Cat, x.Pid, x.Tid = lowLevelNames[l.kind], "compute", pidNPU, base+tidMAC
					if !s.costs[l].mac {
						x.Tid = base + tidVE
					}
				case roleWLoad, roleALoad:
					x.Name, x.Cat, x.Pid, x.Tid = "load weights", "dma", pidNPU, base+tidDMAIn
					if m.role == roleALoad {
						x.Name = "load activations"
					}
					args["bytes"] = int64(t.bytes)
				case roleStore:
					x.Name, x.Cat, x.Pid, x.Tid = "store", "dma", pidNPU, base+tidDMAOut
					args["bytes"] = int64(t.bytes)
				case roleHost:
					x.Name, x.Cat, x.Pid, x.Tid = lowLevelNames[l.kind], "host", pidHost, tidCore0+int(t.server)
					if l.reason != "" {
						x.Name = "Cpu" + l.opType
						args["reason"] = l.reason
					}
				case rolePCIe:
					x.Name, x.Cat, x.Pid, x.Tid = lowLevelNames[l.kind], "pcie", pidHost, tidH2D
					if l.kind == kD2H {
						x.Tid = tidD2H
					}
					args["bytes"] = l.xferByte
				default:
					continue
				}
				if m.role == roleSetup || m.role == roleCompute {
					start = math.Min(start, t.start)
					end = math.Max(end, t.end)
					if m.role == roleSetup {
						setup += t.end - t.start
					} else {
						busy += t.end - t.start
					}
				}
				ev = append(ev, x)
			}
			if l.engine == EngineNPU && !math.IsInf(start, 1) {
				pe := s.reqPE[r]
				c := s.costs[l]
				unit := "vector"
				if c.mac {
					unit = "mac"
				}
				// Where the operator's time goes: work on its unit, waiting for DRAM
				// transfers, fixed overhead.
				args := map[string]any{"node": l.name, "op_type": l.opType, "request": r, "macs": l.macs, "unit": unit,
					"compute_us": busy / 1e3, "dram_stall_us": math.Max(0, end-start-busy-setup) / 1e3, "overhead_us": setup / 1e3}
				if c.mac {
					args["pass_cycles"] = c.plan.passCycles
					args["halo_cycles"] = c.plan.halo
					args["slices_h"], args["slices_c"] = c.plan.hSplit, c.plan.cSplit
				}
				if len(l.fused) > 0 {
					args["fused"] = l.fused
				}
				ev = append(ev, TraceEvent{Name: lowLevelNames[l.kind], Cat: "operator", Ph: "X", Ts: us(start),
					Dur: us(end - start), Pid: pidNPU, Tid: pe*tidPEStep + tidOps, Args: args})
			}
		}
	}
	// Sort complete events by start so viewers nest them predictably.
	sort.SliceStable(ev, func(i, j int) bool {
		if (ev[i].Ph == "M") != (ev[j].Ph == "M") {
			return ev[i].Ph == "M"
		}
		return ev[i].Ts < ev[j].Ts
	})
	return &traceData{events: ev}
}

package npu

import (
	"fmt"
	"math"
)

// taskRole says what a task does, for the report and the trace.
type taskRole uint8

const (
	roleMarker  taskRole = iota // request start (runtime overhead) and end
	roleSetup                   // NPU operator fixed overhead
	roleCompute                 // MAC array or vector engine tile
	roleWLoad                   // weight tile DRAM -> SRAM
	roleALoad                   // activation tile DRAM -> SRAM
	roleStore                   // tile SRAM -> DRAM
	roleHost                    // host CPU operator
	rolePCIe                    // PCIe transfer
)

type taskMeta struct {
	req  int32
	step int32 // -1 for markers
	role taskRole
	pe   int8
}

// peUnits are the queues and SRAM ring of one PE.
type peUnits struct {
	mac, ve, dmaIn, dmaOut int32
	ring                   int32
	lastNPU                int32 // last NPU compute task of the previous request on this PE
	pinnedLoaded           bool
}

// schedule builds the engine: the program's tasks, instantiated once per request.
type schedule struct {
	e        *engine
	meta     []taskMeta
	pes      []peUnits
	cpu      int32
	h2d      int32
	d2h      int32
	prog     *program
	costs    map[*lop]*stepCost
	mp       *memPlan
	cfg      Config
	h        hw
	reqStart []int32
	reqEnd   []int32
	reqPE    []int
	// images is how many times a request runs the program: the batch for an
	// image-major schedule (a batch-1 program repeated), else 1.
	images int
	// ranges[r][s] is the task id range [lo, hi) of step s in request r's first image.
	ranges [][][2]int32
}

func newSchedule(prog *program, costs map[*lop]*stepCost, mp *memPlan, cfg Config, h hw) *schedule {
	p := h.p
	s := &schedule{e: &engine{dramBW: p.dramBytesPerNS()}, prog: prog, costs: costs, mp: mp, cfg: cfg, h: h, images: 1}
	ringCap := mp.ringCap - float64(mp.pinned)
	for i := 0; i < h.pes; i++ {
		s.pes = append(s.pes, peUnits{
			mac: s.e.addQueue(), ve: s.e.addQueue(), dmaIn: s.e.addQueue(), dmaOut: s.e.addQueue(),
			ring: s.e.addRing(ringCap), lastNPU: -1,
		})
	}
	s.cpu = s.e.addPool(max(1, p.Host.Cores.Int()))
	s.h2d = s.e.addPool(1)
	s.d2h = s.e.addPool(1)
	return s
}

func (s *schedule) add(t task, m taskMeta) int32 {
	id := s.e.add(t)
	s.meta = append(s.meta, m)
	return id
}

// build instantiates every request. Request r runs on PE r mod PEs and starts when
// request r - InFlight has finished (a closed loop with InFlight workers).
func (s *schedule) build() error {
	// Size the task table once: growing it by appending copies every task.
	n := s.taskCount()
	if n > maxTasks {
		return fmt.Errorf("%d requests of %d image(s) need about %.3g scheduler tasks, more than the simulator's limit of %d (some %d GiB of memory): give fewer --requests or a smaller --batch",
			s.cfg.Requests, s.images, n, maxTasks, maxTasks*taskBytes>>30)
	}
	s.e.tasks = make([]task, 0, int(n))
	s.meta = make([]taskMeta, 0, int(n))
	for r := 0; r < s.cfg.Requests; r++ {
		s.request(r)
	}
	return nil
}

// maxTasks bounds the task table of one simulation (each task takes taskBytes or so
// with its edges): a request count or batch that would need more is refused with an
// error instead of exhausting memory. The largest documented runs (YOLOv5x6, batch
// 4, 8 requests) need about 216k tasks.
const (
	maxTasks  = 1 << 24
	taskBytes = 256
)

// taskCount is the number of tasks build creates, in float64 so that a huge request
// count or batch cannot overflow it.
func (s *schedule) taskCount() float64 {
	perImage := 0.0
	for _, l := range s.prog.steps {
		c := s.costs[l]
		perImage += 2 + 4*float64(max(c.tiles, 1))
	}
	return float64(s.cfg.Requests) * (2 + float64(s.images)*perImage)
}

func (s *schedule) request(r int) {
	p := s.h.p
	pe := r % len(s.pes)
	u := &s.pes[pe]
	none := task{queue: -1, pool: -1, ring: -1}
	startT := none
	startT.dur = p.Host.RequestOverheadUS.Value * 1e3
	meta := func(step int, role taskRole) taskMeta {
		return taskMeta{req: int32(r), step: int32(step), role: role, pe: int8(pe)}
	}
	first := int32(len(s.e.tasks))
	start := s.add(startT, meta(-1, roleMarker))
	if r >= s.cfg.InFlight {
		s.e.dep(s.reqEnd[r-s.cfg.InFlight], start)
	}
	var ranges [][2]int32
	var prevHost []int32 // the previous image's host tasks, in order
	for img := 0; img < s.images; img++ {
		rg, hostTasks := s.image(r, pe, u, start, meta, prevHost)
		if img == 0 {
			ranges = rg
		}
		prevHost = hostTasks
	}
	if s.mp.pinned > 0 {
		u.pinnedLoaded = true
	}
	end := s.add(none, meta(-1, roleMarker))
	for id := first + 1; id < end; id++ {
		if s.e.tasks[id].npred == 0 {
			s.e.dep(start, id)
		}
		if len(s.e.tasks[id].succ) == 0 {
			s.e.dep(id, end)
		}
	}
	if end == start+1 {
		s.e.dep(start, end)
	}
	s.reqStart = append(s.reqStart, start)
	s.reqEnd = append(s.reqEnd, end)
	s.reqPE = append(s.reqPE, pe)
	s.ranges = append(s.ranges, ranges)
}

// npuSpan returns the first start and last end of request r's NPU operators (all
// its images).
func (s *schedule) npuSpan(r int) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for id := s.reqStart[r]; id <= s.reqEnd[r]; id++ {
		m := s.meta[id]
		if m.role != roleSetup && m.role != roleCompute {
			continue
		}
		t := &s.e.tasks[id]
		lo = math.Min(lo, t.start)
		hi = math.Max(hi, t.end)
	}
	if math.IsInf(lo, 1) {
		return 0, 0
	}
	return lo, hi
}

// image instantiates the program once within request r. Images of one request run
// back to back on the PE; the host steps of image k follow those of image k-1.
func (s *schedule) image(r, pe int, u *peUnits, start int32, meta func(int, taskRole) taskMeta, prevHost []int32) ([][2]int32, []int32) {
	p := s.h.p
	none := task{queue: -1, pool: -1, ring: -1}
	steps := s.prog.steps
	ranges := make([][2]int32, len(steps))
	lastCompute := make([]int32, len(steps))
	final := make([]int32, len(steps))
	stepOf := map[*lop]int{}
	for i, l := range steps {
		stepOf[l] = i
	}
	finalOf := func(l *lop) int32 {
		if l == nil {
			return -1
		}
		return final[stepOf[l]]
	}
	// devAvail: the task after which tensor t can be read by an NPU step.
	devAvail := func(t *vt, fromDRAM bool) int32 {
		if t.prod == nil || t.prod.engine != EngineNPU {
			return finalOf(t.devAvail)
		}
		if fromDRAM {
			return final[stepOf[t.prod]]
		}
		return lastCompute[stepOf[t.prod]]
	}
	hostAvail := func(t *vt) int32 {
		if t.prod != nil && t.prod.engine == EngineNPU {
			return finalOf(t.hostAvail)
		}
		return finalOf(t.prod)
	}
	dep := func(a, b int32) {
		if a >= 0 {
			s.e.dep(a, b)
		}
	}
	latency := p.Model.DRAMLatencyNS.Value
	rateCap := p.Model.DMABandwidthGBs.Value
	pinnedSkip := s.mp.pinned > 0 && u.pinnedLoaded
	progStart := int32(-1)
	var hostTasks []int32
	for i, l := range steps {
		lo := int32(len(s.e.tasks))
		c := s.costs[l]
		switch l.engine {
		case EngineHost:
			t := none
			t.pool, t.dur = s.cpu, c.hostNS
			id := s.add(t, meta(i, roleHost))
			for _, in := range l.in {
				dep(hostAvail(in), id)
			}
			for _, d := range l.deps {
				dep(finalOf(d), id)
			}
			if len(hostTasks) < len(prevHost) {
				dep(prevHost[len(hostTasks)], id)
			}
			hostTasks = append(hostTasks, id)
			final[i], lastCompute[i] = id, id
		case EnginePCIe:
			t := none
			t.pool, t.dur = s.h2d, c.pcieNS
			if l.kind == kD2H {
				t.pool = s.d2h
			}
			id := s.add(t, meta(i, rolePCIe))
			for _, d := range l.deps {
				dep(finalOf(d), id)
			}
			if len(hostTasks) < len(prevHost) {
				dep(prevHost[len(hostTasks)], id)
			}
			hostTasks = append(hostTasks, id)
			final[i], lastCompute[i] = id, id
		default:
			q := u.ve
			if c.mac {
				q = u.mac
			}
			if progStart < 0 {
				// The runtime launches the NPU program once its inputs are on the
				// device (FuriosaAI's profiler counts that wait as "NPU IoWait", not
				// as run time); the program's DMA prefetching starts with it.
				progStart = s.add(none, meta(i, roleMarker))
				s.e.dep(start, progStart)
				dep(u.lastNPU, progStart)
				for _, in := range l.in {
					if in.prod == nil || in.prod.engine != EngineNPU {
						dep(devAvail(in, true), progStart)
					}
				}
			}
			setup := none
			setup.queue, setup.dur = q, p.cyclesToNS(c.overhead)
			sid := s.add(setup, meta(i, roleSetup))
			dep(u.lastNPU, sid)
			s.e.dep(progStart, sid)
			for _, in := range l.in {
				if in.prod == nil || in.prod.engine != EngineNPU {
					dep(devAvail(in, true), sid)
				}
			}
			for _, d := range l.deps {
				dep(finalOf(d), sid)
			}
			tiles := max(c.tiles, 1)
			computeNS := p.cyclesToNS(c.compute) / float64(tiles)
			// Whole bytes per tile, the remainder on the first tiles, so that ring
			// accounting is exact.
			part := func(total int64, k int) float64 {
				q, rem := total/int64(tiles), total%int64(tiles)
				if int64(k) < rem {
					q++
				}
				return float64(q)
			}
			var comp, st int32 = -1, -1
			for k := 0; k < tiles; k++ {
				var loads []int32
				if c.wLoad > 0 && !pinnedSkip {
					t := none
					t.queue, t.dram, t.bytes, t.latency, t.rateCap = u.dmaIn, true, part(c.wLoad, k), latency, rateCap
					if s.mp.pinned == 0 {
						t.ring, t.acquire = u.ring, t.bytes
					}
					id := s.add(t, meta(i, roleWLoad))
					s.e.dep(progStart, id)
					loads = append(loads, id)
				}
				if c.aLoad > 0 {
					t := none
					t.queue, t.dram, t.bytes, t.latency, t.rateCap = u.dmaIn, true, part(c.aLoad, k), latency, rateCap
					t.ring, t.acquire = u.ring, t.bytes
					id := s.add(t, meta(i, roleALoad))
					if k == 0 {
						for _, in := range l.in {
							if in.dram {
								dep(devAvail(in, true), id)
							}
						}
					}
					loads = append(loads, id)
				}
				ct := none
				ct.queue, ct.dur, ct.releases = q, computeNS, loads
				cid := s.add(ct, meta(i, roleCompute))
				dep(sid, cid)
				for _, ld := range loads {
					dep(ld, cid)
				}
				if k == 0 {
					for _, in := range l.in {
						if !in.dram {
							dep(devAvail(in, false), cid)
						}
					}
				}
				comp = cid
				if c.store > 0 {
					t := none
					t.queue, t.dram, t.bytes, t.latency, t.rateCap = u.dmaOut, true, part(c.store, k), latency, rateCap
					st = s.add(t, meta(i, roleStore))
					dep(cid, st)
				}
			}
			lastCompute[i] = comp
			final[i] = comp
			if st >= 0 {
				final[i] = st
			}
			u.lastNPU = comp
		}
		ranges[i] = [2]int32{lo, int32(len(s.e.tasks))}
	}
	return ranges, hostTasks
}

package npu

import (
	"container/heap"
	"fmt"
	"math"
)

// The engine is a discrete-event simulator of tasks on resources:
//
//   - queues execute their tasks one at a time in program order (a PE's MAC array,
//     vector engine and DMA queues): the head starts when its dependencies are done;
//   - pools are groups of identical servers taken first come, first served (host
//     cores, each PCIe direction);
//   - DRAM is a fluid resource: transfers in progress share its bandwidth equally,
//     each capped by its DMA engine, and are re-timed whenever one starts or ends;
//   - rings are SRAM byte budgets: a load holds its bytes from its start until the
//     compute task that consumes it finishes, which is what double buffering means.
//
// Time is in nanoseconds. Nothing advances cycle by cycle: a task costs one or two
// events, so a ResNet-50 request is a few thousand events.

type taskState uint8

const (
	stWaiting taskState = iota
	stReady
	stRunning
	stDone
)

// task is one unit of simulated work.
type task struct {
	queue    int32 // in-order queue, -1 for none
	pool     int32 // server pool, -1 for none
	ring     int32 // SRAM ring whose bytes a load holds, -1 for none
	dram     bool  // a DRAM transfer (bytes over the shared bandwidth)
	dur      float64
	bytes    float64
	latency  float64 // fixed time before a DRAM transfer starts moving data
	rateCap  float64 // bytes/ns cap of a DRAM transfer
	acquire  float64 // ring bytes held by a load
	releases []int32 // loads whose ring bytes are returned when this task finishes
	npred    int32
	succ     []int32
	state    taskState
	start    float64
	end      float64
	freed    float64 // when the task released its queue or server (before end for pipelined DRAM transfers)
	server   int32   // pool server index (for the trace)
	// DRAM fluid state.
	remaining float64
	rate      float64
	lastT     float64
	version   uint32
	inFlow    bool
}

type queue struct {
	tasks []int32
	head  int
	busy  bool
}

type pool struct {
	servers []bool // busy flags
	waiters []int32
}

type ring struct {
	capacity float64
	used     float64
	peak     float64
	waiters  []int32
}

type event struct {
	t       float64
	seq     uint64
	task    int32
	version uint32
	phase   uint8 // 0: work done; 1: a DRAM transfer starts moving data; 2: a transfer's data has arrived
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// engine holds the tasks and resources of one simulation.
type engine struct {
	tasks  []task
	queues []queue
	pools  []pool
	rings  []ring
	dramBW float64 // bytes per ns
	flows  []int32 // DRAM transfers moving data
	events eventHeap
	seq    uint64
	now    float64
	// Events counts processed events (for the report's events per second).
	Events int
}

func (e *engine) addQueue() int32 {
	e.queues = append(e.queues, queue{})
	return int32(len(e.queues) - 1)
}

func (e *engine) addPool(servers int) int32 {
	e.pools = append(e.pools, pool{servers: make([]bool, servers)})
	return int32(len(e.pools) - 1)
}

func (e *engine) addRing(capacity float64) int32 {
	e.rings = append(e.rings, ring{capacity: capacity})
	return int32(len(e.rings) - 1)
}

// add appends a task; tasks on a queue run in the order they are added.
func (e *engine) add(t task) int32 {
	id := int32(len(e.tasks))
	e.tasks = append(e.tasks, t)
	if t.queue >= 0 {
		e.queues[t.queue].tasks = append(e.queues[t.queue].tasks, id)
	}
	return id
}

// dep makes task b wait for task a.
func (e *engine) dep(a, b int32) {
	e.tasks[a].succ = append(e.tasks[a].succ, b)
	e.tasks[b].npred++
}

func (e *engine) push(t float64, id int32, phase uint8) {
	e.seq++
	heap.Push(&e.events, event{t: t, seq: e.seq, task: id, version: e.tasks[id].version, phase: phase})
}

// run simulates until every task is done.
func (e *engine) run() error {
	for i := range e.tasks {
		if e.tasks[i].npred == 0 {
			e.ready(int32(i))
		}
	}
	for e.events.Len() > 0 {
		ev := heap.Pop(&e.events).(event)
		t := &e.tasks[ev.task]
		if ev.version != t.version || t.state != stRunning {
			continue
		}
		e.Events++
		e.now = ev.t
		switch ev.phase {
		case 1:
			e.flowStart(ev.task)
		case 2:
			e.complete(ev.task)
		default:
			if t.dram {
				// The data has left DRAM: the DMA queue may issue its next transfer
				// while this one is still in flight to SRAM (latency is pipelined).
				e.flowEnd(ev.task)
				e.release(ev.task)
				if t.latency > 0 {
					e.push(e.now+t.latency, ev.task, 2)
					continue
				}
				e.complete(ev.task)
				continue
			}
			e.release(ev.task)
			e.complete(ev.task)
		}
	}
	for i := range e.tasks {
		if e.tasks[i].state != stDone {
			return fmt.Errorf("simulation stalled: task %d never ran (state %d, %d unfinished predecessors)", i, e.tasks[i].state, e.tasks[i].npred)
		}
	}
	return nil
}

func (e *engine) ready(id int32) {
	t := &e.tasks[id]
	t.state = stReady
	if t.queue >= 0 {
		e.tryQueue(t.queue)
		return
	}
	e.tryStart(id)
}

func (e *engine) tryQueue(q int32) {
	qu := &e.queues[q]
	if qu.busy || qu.head >= len(qu.tasks) {
		return
	}
	id := qu.tasks[qu.head]
	if e.tasks[id].state != stReady {
		return
	}
	e.tryStart(id)
}

// tryStart starts a ready task if its pool has a free server and its ring has room;
// otherwise it waits on the first missing resource.
func (e *engine) tryStart(id int32) bool {
	t := &e.tasks[id]
	server := int32(-1)
	if t.pool >= 0 {
		p := &e.pools[t.pool]
		for i, busy := range p.servers {
			if !busy {
				server = int32(i)
				break
			}
		}
		if server < 0 {
			p.waiters = append(p.waiters, id)
			return false
		}
	}
	if t.ring >= 0 && t.acquire > 0 {
		r := &e.rings[t.ring]
		if r.used+t.acquire > r.capacity*(1+1e-9) && r.used > 0 {
			r.waiters = append(r.waiters, id)
			return false
		}
		r.used += t.acquire
		r.peak = math.Max(r.peak, r.used)
	}
	if server >= 0 {
		e.pools[t.pool].servers[server] = true
	}
	t.server = server
	t.state = stRunning
	t.start = e.now
	if t.queue >= 0 {
		e.queues[t.queue].busy = true
	}
	if t.dram {
		t.remaining = t.bytes
		e.flowStart(id)
		return true
	}
	e.push(e.now+t.dur, id, 0)
	return true
}

// flowStart puts a transfer on the DRAM bus and re-times every transfer in flight.
func (e *engine) flowStart(id int32) {
	e.advanceFlows()
	e.tasks[id].inFlow = true
	e.tasks[id].lastT = e.now
	e.flows = append(e.flows, id)
	e.retimeFlows()
}

func (e *engine) flowEnd(id int32) {
	e.advanceFlows()
	for i, f := range e.flows {
		if f == id {
			e.flows = append(e.flows[:i], e.flows[i+1:]...)
			break
		}
	}
	e.tasks[id].inFlow = false
	e.retimeFlows()
}

func (e *engine) advanceFlows() {
	for _, f := range e.flows {
		t := &e.tasks[f]
		t.remaining = math.Max(0, t.remaining-t.rate*(e.now-t.lastT))
		t.lastT = e.now
	}
}

func (e *engine) retimeFlows() {
	if len(e.flows) == 0 {
		return
	}
	share := e.dramBW / float64(len(e.flows))
	for _, f := range e.flows {
		t := &e.tasks[f]
		rate := share
		if t.rateCap > 0 && t.rateCap < rate {
			rate = t.rateCap
		}
		if rate == t.rate && t.version > 0 {
			continue
		}
		t.rate = rate
		t.version++
		e.push(e.now+t.remaining/rate, f, 0)
	}
}

// release frees the task's queue and pool server.
func (e *engine) release(id int32) {
	t := &e.tasks[id]
	t.freed = e.now
	if t.pool >= 0 && t.server >= 0 {
		p := &e.pools[t.pool]
		p.servers[t.server] = false
		for len(p.waiters) > 0 {
			w := p.waiters[0]
			p.waiters = p.waiters[1:]
			if e.resume(w) {
				break
			}
		}
	}
	if t.queue >= 0 {
		q := &e.queues[t.queue]
		q.busy = false
		q.head++
		e.tryQueue(t.queue)
	}
}

// complete marks the task done: its ring bytes return and its successors may start.
func (e *engine) complete(id int32) {
	t := &e.tasks[id]
	t.state = stDone
	t.end = e.now
	for _, l := range t.releases {
		lt := &e.tasks[l]
		if lt.ring < 0 || lt.acquire == 0 {
			continue
		}
		r := &e.rings[lt.ring]
		r.used = math.Max(0, r.used-lt.acquire)
		waiters := r.waiters
		r.waiters = nil
		for _, w := range waiters {
			e.resume(w)
		}
	}
	for _, s := range t.succ {
		st := &e.tasks[s]
		st.npred--
		if st.npred == 0 {
			e.ready(s)
		}
	}
}

// resume retries a task that waited for a server or ring space.
func (e *engine) resume(id int32) bool {
	t := &e.tasks[id]
	if t.state != stReady {
		return false
	}
	if t.queue >= 0 {
		q := &e.queues[t.queue]
		if q.busy || q.tasks[q.head] != id {
			return false
		}
	}
	return e.tryStart(id)
}

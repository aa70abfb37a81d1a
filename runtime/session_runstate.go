package runtime

import "github.com/warboy-sim/warboy/graph"

// Per-run state reused across runs (twenty-second session). A run made its
// slot slices (values and arena holds, one entry per slot: hundreds on an
// int8 graph, whose scales and zero points are slots), its context and arena
// records and its scratch afresh: nine allocations a run, 5-6 KB on a
// decoder step of 15 µs. A session keeps the states of finished runs in its
// pool; concurrent runs take one each.

// runState is one run's scratch: vals and held have one entry per slot and
// are cleared when the run gives the state back (so that it keeps no tensor
// alive), the rest is reset by the run.
type runState struct {
	vals     []*graph.Tensor
	held     []*arenaBuf
	args     []*graph.Tensor
	inRanges []memRange
	owned    []memRange
	arena    runArena
	ctx      ExecContext
}

// takeRun returns a state with vals and held of nslots nil entries.
func (p *bufPool) takeRun(nslots int) *runState {
	p.mu.Lock()
	var rs *runState
	if k := len(p.runStates); k > 0 {
		rs = p.runStates[k-1]
		p.runStates[k-1] = nil
		p.runStates = p.runStates[:k-1]
	}
	p.mu.Unlock()
	if rs == nil || len(rs.vals) != nslots {
		rs = &runState{vals: make([]*graph.Tensor, nslots), held: make([]*arenaBuf, nslots), args: make([]*graph.Tensor, 0, 8)}
	}
	return rs
}

// putRun gives a finished run's state back, emptied of its references.
func (p *bufPool) putRun(rs *runState) {
	clear(rs.vals)
	clear(rs.held)
	clear(rs.args[:cap(rs.args)])
	clear(rs.arena.bufs[:cap(rs.arena.bufs)])
	rs.arena = runArena{bufs: rs.arena.bufs[:0]}
	rs.ctx.arena, rs.ctx.views = nil, nil
	rs.inRanges, rs.owned = rs.inRanges[:0], rs.owned[:0]
	p.mu.Lock()
	if len(p.runStates) < 4 {
		p.runStates = append(p.runStates, rs)
	}
	p.mu.Unlock()
}

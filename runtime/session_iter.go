package runtime

// A session run once per iteration: the body of a Loop or Scan (op_control.go,
// op_scan.go). Running it through RunTensors cost, per iteration, a feed map, the
// slot and hold tables, a fresh arena whose buffers went back to the pool only at
// the end and, below minArenaLen, a zeroed make() for every intermediate, a result
// map built by walking every slot name, and clones of outputs that alias an input.
// On mamba's selective scan (48 iterations of 12 operators on [2,32,8] tensors)
// that overhead, and the GC cycles the garbage brought, was most of the run.
//
// An iterRun keeps one slot table and one arena for all the iterations of one
// Loop or Scan execution. Every float32 intermediate comes from the body session's
// pool, whatever its size (the sizes repeat every iteration, so the pool always
// has them), and goes back when its last reader has run. An output of iteration i
// that iteration i+1 reads as an input (a loop-carried value) keeps its buffer:
// the input slot takes over the hold, so the value is passed without a copy, and
// the body may write over it in place where it dies (residual_inplace.go), which
// is the swap of buffers a recurrence wants. The outputs that leave the loop are
// detached from the arena (never recycled while the caller holds them).

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// iterRun is one execution of a body session over several iterations. It is not
// safe for concurrent use; concurrent executions of the same body each have their
// own (they share the session's buffer pool, which is).
type iterRun struct {
	s        *Session
	arena    *runArena
	vals     []*graph.Tensor
	held     []*arenaBuf
	inSlots  []int
	outs     []*graph.Tensor
	prev     []*arenaBuf
	inRanges []memRange
	args     []*graph.Tensor
	wake     func()
}

// startIter begins an execution of s over iterations.
func (s *Session) startIter() *iterRun {
	s.bufs.beginRun()
	it := &iterRun{
		s:       s,
		arena:   &runArena{pool: &s.bufs, all: true},
		vals:    make([]*graph.Tensor, s.nslots),
		held:    make([]*arenaBuf, s.nslots),
		inSlots: make([]int, len(s.inputs)),
		outs:    make([]*graph.Tensor, len(s.outSlots)),
		args:    make([]*graph.Tensor, 0, 8),
		wake:    keepPoolAwake(s.cfg.threads),
	}
	copy(it.vals, s.constVals)
	for k, in := range s.inputs {
		it.inSlots[k] = s.slots[in.Name]
	}
	return it
}

// allocF32 returns a buffer of n floats of this execution's arena (contents
// undefined); a tensor on it that is fed to run is held by its input slot and
// recycled after its last reader.
func (it *iterRun) allocF32(n int) []float32 {
	p := it.arena.pool.get(n)
	if p == nil {
		b := make([]float32, n)
		p = &b
	}
	it.arena.bufs = append(it.arena.bufs, &arenaBuf{data: p, r: rangeOfF32(*p)})
	return *p
}

// run runs one iteration on in (one tensor per session input, in order) and
// returns the outputs in order. They stay valid until the next run or finish;
// an output fed back to the next run as an input is passed on without a copy.
func (it *iterRun) run(in []*graph.Tensor) ([]*graph.Tensor, error) {
	s := it.s
	if len(in) != len(s.inputs) {
		return nil, fmt.Errorf("got %d inputs, want %d", len(in), len(s.inputs))
	}
	// The last iteration's holds on the input and output slots are let go once
	// the new inputs hold what they carry over.
	prev := it.prev[:0]
	for _, ids := range [2][]int{s.outSlots, it.inSlots} {
		for _, id := range ids {
			if b := it.held[id]; b != nil {
				prev = append(prev, b)
				it.held[id] = nil
			}
			it.vals[id] = nil
		}
	}
	it.inRanges = it.inRanges[:0]
	for k, v := range s.inputs {
		t := in[k]
		if err := checkInput(v, t); err != nil {
			return nil, err
		}
		id := it.inSlots[k]
		it.vals[id] = t
		if it.held[id] = it.arena.hold(rangeOf(t.Data)); it.held[id] == nil {
			it.inRanges = append(it.inRanges, rangeOf(t.Data))
		}
	}
	for _, b := range prev {
		it.arena.release(b)
	}
	it.prev = prev[:0]
	ctx := &ExecContext{Threads: s.cfg.threads, arena: it.arena}
	if err := s.execSteps(ctx, it.vals, it.held, it.inRanges, it.args); err != nil {
		return nil, err
	}
	for k, id := range s.outSlots {
		if it.outs[k] = it.vals[id]; it.outs[k] == nil {
			return nil, fmt.Errorf("subgraph output %q was not computed", s.outputs[k].Name)
		}
	}
	return it.outs, nil
}

// keep hands t, an output of the last iteration, to the caller for good: its
// buffer leaves the arena (it is never recycled), and a tensor on the body's
// constants is copied, as RunTensors does, so that nobody writes into them.
func (it *iterRun) keep(t *graph.Tensor) *graph.Tensor {
	if t == nil {
		return nil
	}
	r := rangeOf(t.Data)
	if r.lo == r.hi {
		return t
	}
	a := it.arena
	for i, b := range a.bufs {
		if r.lo < b.r.hi && b.r.lo < r.hi {
			a.bufs = slices.Delete(a.bufs, i, i+1)
			for id, h := range it.held {
				if h == b {
					it.held[id] = nil
				}
			}
			return t
		}
	}
	if overlapsAny(r, it.s.constRanges) {
		return t.Clone()
	}
	return t
}

// finish ends the execution: the buffers the caller did not keep go back to the
// pool. After an error the arena is dropped instead (a failed step may have left
// a buffer in use).
func (it *iterRun) finish(ok bool) {
	if it.wake != nil {
		it.wake()
		it.wake = nil
	}
	if ok {
		for _, b := range it.arena.bufs {
			it.arena.pool.put(b.data)
		}
	}
	it.arena.bufs = nil
	clear(it.vals)
	clear(it.held)
}

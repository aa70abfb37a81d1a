package runtime

// Activation buffer reuse. Without it every run allocates each intermediate tensor
// afresh: the Go allocator zeroes the memory (or the kernel maps fresh pages) only
// for the kernel to overwrite all of it, about 10 % of a float32 ResNet-50 run. A
// kernel may instead take its output buffer from the session (ExecContext.AllocF32,
// contents undefined); the session gives the buffer back once no live tensor can
// see it any more: tensors are tracked by the memory range they point into, so
// views (Reshape, Flatten, Slice...) keep their source buffer alive, and graph
// outputs and taps are never recycled.

import (
	"sync"
	"unsafe"
)

// bufPool holds free float32 buffers by length, for the session's lifetime.
//
// It was a sync.Pool per length, which missed buffers at two threads: a Put
// goes to the current P's private slot, which a Get on the other P cannot
// see, and the run's goroutine moves between Ps whenever it blocks on a pool
// job; a GC cycle also empties it (its victim cache survives one).
// BenchmarkExportedFloat on EfficientNet-B0 at two threads allocated 1.09 MB
// a run with sync.Pool (after the sweep of arena_sweep.go), 0.59-0.68 MB
// with these lists, the rest being small scratch. Every miss was a fresh, zeroed,
// page-faulted allocation, and the allocations brought GC cycles, which took
// one of the two cores for their mark phase (docs/runtime.md, "Run-to-run
// spread"). A session now keeps the buffers its runs use, as ONNX Runtime's
// arena does; the buffers of a length no run has asked for in the last
// keepRuns runs are dropped (inputs of changing shapes would otherwise pile
// them up), and the rest go with the session.
type bufPool struct {
	mu   sync.Mutex
	runs uint64 // runs begun
	free map[int]*freeBufs
	// spare are bookkeeping records given back with their buffers (recycle),
	// reused by take: one fewer heap object per arena tensor and run.
	spare []*arenaBuf
	// slabs are the spare small-tensor blocks, slabNeed the most floats a
	// run has asked for in them (arena_slab.go).
	slabs    []*slab
	slabNeed int
	// runStates are finished runs' scratch (session_runstate.go).
	runStates []*runState
}

type freeBufs struct {
	bufs []*[]float32
	last uint64 // the run that last asked for this length
}

const keepRuns = 4

// beginRun counts a run and drops the lengths unused for keepRuns runs.
func (p *bufPool) beginRun() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs++
	for n, f := range p.free {
		if p.runs-f.last > keepRuns {
			delete(p.free, n)
		}
	}
}

// get returns a free buffer of length n, or nil.
func (p *bufPool) get(n int) *[]float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.getLocked(n)
}

func (p *bufPool) getLocked(n int) *[]float32 {
	if p.free == nil {
		p.free = map[int]*freeBufs{}
	}
	f := p.free[n]
	if f == nil {
		f = &freeBufs{}
		p.free[n] = f
	}
	f.last = p.runs
	if len(f.bufs) == 0 {
		return nil
	}
	b := f.bufs[len(f.bufs)-1]
	f.bufs[len(f.bufs)-1] = nil
	f.bufs = f.bufs[:len(f.bufs)-1]
	return b
}

// take returns a record for a buffer of length n: a free one, or a new one.
func (p *bufPool) take(n int) *arenaBuf {
	p.mu.Lock()
	d := p.getLocked(n)
	var b *arenaBuf
	if k := len(p.spare); k > 0 {
		b = p.spare[k-1]
		p.spare[k-1] = nil
		p.spare = p.spare[:k-1]
	}
	p.mu.Unlock()
	if d == nil {
		s := make([]float32, n)
		d = &s
	}
	if b == nil {
		b = &arenaBuf{}
	}
	*b = arenaBuf{data: d, r: rangeOfF32(*d)}
	return b
}

// rangeOfF32 is rangeOf for a float32 slice, without boxing it in an
// interface (an allocation per call).
func rangeOfF32(d []float32) memRange {
	if len(d) == 0 {
		return memRange{}
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	return memRange{lo, lo + uintptr(len(d))*4}
}

// recycle gives b's buffer back (put) and keeps the record for take. No slot
// may hold b any more.
func (p *bufPool) recycle(b *arenaBuf) {
	d := b.data
	*b = arenaBuf{}
	p.mu.Lock()
	p.putLocked(d)
	p.spare = append(p.spare, b)
	p.mu.Unlock()
}

// put makes b available to later get calls.
func (p *bufPool) put(b *[]float32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.putLocked(b)
}

func (p *bufPool) putLocked(b *[]float32) {
	if p.free == nil {
		p.free = map[int]*freeBufs{}
	}
	f := p.free[len(*b)]
	if f == nil {
		f = &freeBufs{last: p.runs}
		p.free[len(*b)] = f
	}
	f.bufs = append(f.bufs, b)
}

// runArena is the per-run bookkeeping of the buffers a run took from the pool.
type runArena struct {
	pool *bufPool
	bufs []*arenaBuf // outstanding: taken and not yet given back
	// all takes every float32 buffer from the pool, whatever its size: a
	// Loop or Scan body asks for the same sizes every iteration
	// (session_iter.go).
	all bool
	// slab holds the run's small tensors (arena_slab.go; nil: allocated).
	slab *slab
}

type arenaBuf struct {
	data *[]float32
	r    memRange
	refs int // slots holding a tensor that points into the buffer
}

// AllocF32 returns a float32 slice of length n with undefined contents, recycled
// from earlier runs when possible. Kernels use it for outputs they overwrite
// completely.
func (c *ExecContext) AllocF32(n int) []float32 { return c.allocF32(n, n >= minArenaLen) }

// allocF32 is AllocF32 with the caller deciding whether the tensor is large
// enough for the arena (AllocI8 counts int8 elements, not float32 words).
func (c *ExecContext) allocF32(n int, large bool) []float32 {
	a := c.arena
	if a == nil || n == 0 {
		return make([]float32, n)
	}
	if !large && !a.all {
		if a.slab != nil && !c.noSlab {
			c.mu.Lock()
			d := a.slab.carve(n)
			c.mu.Unlock()
			if d != nil {
				return d
			}
		}
		return make([]float32, n)
	}
	b := a.pool.take(n)
	c.mu.Lock()
	a.bufs = append(a.bufs, b)
	c.mu.Unlock()
	return *b.data
}

// minArenaLen keeps small tensors on the ordinary allocator, which is cheaper
// for them than the bookkeeping. It was 4096: on models that take 0.05-0.15
// ms, where every intermediate is a few thousand values (paddle2onnx's
// [1,8,16,16] maps, a T5 encoder's [1,20,64] rows), the zeroed make() of each
// and the GC cycles it brought were the largest per-run cost (16 % of a T5
// encoder run in makeslice). At 1024 the minimum 1-thread run went 85 -> 80
// µs (paddle_op9) and 172 -> 150-157 µs (t5_relbias), unchanged within noise
// on the others and on EfficientNet-B0 (docs/runtime.md, "Small models:
// per-step overhead (thirteenth session)").
const minArenaLen = 1024

// hold records that a slot now holds a tensor with data range r; it returns the
// buffer it points into, if it is one of the run's.
func (a *runArena) hold(r memRange) *arenaBuf {
	if r.lo == r.hi {
		return nil
	}
	for _, b := range a.bufs {
		if r.lo < b.r.hi && b.r.lo < r.hi {
			b.refs++
			return b
		}
	}
	return nil
}

// release drops a slot's hold on b and gives b back to the pool when nothing
// holds it any more.
func (a *runArena) release(b *arenaBuf) {
	b.refs--
	if b.refs > 0 {
		return
	}
	for i, o := range a.bufs {
		if o == b {
			a.bufs[i] = a.bufs[len(a.bufs)-1]
			a.bufs = a.bufs[:len(a.bufs)-1]
			break
		}
	}
	a.pool.recycle(b)
}

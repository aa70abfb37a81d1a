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
)

// bufPool holds free float32 buffers by length. sync.Pool lets the garbage
// collector drop buffers a session no longer needs.
type bufPool struct {
	mu    sync.Mutex
	sizes map[int]*sync.Pool
}

func (p *bufPool) pool(n int) *sync.Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sizes == nil {
		p.sizes = map[int]*sync.Pool{}
	}
	sp := p.sizes[n]
	if sp == nil {
		sp = &sync.Pool{}
		p.sizes[n] = sp
	}
	return sp
}

// runArena is the per-run bookkeeping of the buffers a run took from the pool.
type runArena struct {
	pool *bufPool
	bufs []*arenaBuf // outstanding: taken and not yet given back
}

type arenaBuf struct {
	data *[]float32
	r    memRange
	refs int // slots holding a tensor that points into the buffer
}

// AllocF32 returns a float32 slice of length n with undefined contents, recycled
// from earlier runs when possible. Kernels use it for outputs they overwrite
// completely.
func (c *ExecContext) AllocF32(n int) []float32 {
	a := c.arena
	if a == nil || n < minArenaLen {
		return make([]float32, n)
	}
	sp := a.pool.pool(n)
	p, _ := sp.Get().(*[]float32)
	if p == nil {
		s := make([]float32, n)
		p = &s
	}
	c.mu.Lock()
	a.bufs = append(a.bufs, &arenaBuf{data: p, r: rangeOf(*p)})
	c.mu.Unlock()
	return *p
}

// minArenaLen keeps small tensors on the ordinary allocator, which is cheaper
// for them than the bookkeeping.
const minArenaLen = 4096

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
	a.pool.pool(len(*b.data)).Put(b.data)
}

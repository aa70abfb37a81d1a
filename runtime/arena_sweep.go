package runtime

// Buffers a step took from the arena and did not return. A fused kernel that
// runs its parts apart (at one thread, or when a band plan does not fit) takes
// each part's output from the arena, and only the last one becomes the step's
// output: the intermediates are never held by a slot, so release never gave
// them back, and they stayed outstanding until the run ended, when they were
// dropped. Every run then allocated them afresh. On EfficientNet-B0 at one
// thread these were the expanded tensors of its 11 fused squeeze-excite
// expansion steps, 4.4 MB a run: zeroed by the allocator, page-faulted in
// (the slow half of the runs took 250-280 minor faults each), and a GC cycle
// every dozen runs, which spread the run times (docs/runtime.md, "Run-to-run
// spread").
//
// sweep gives those buffers back after each step. A buffer nobody holds once
// the step's outputs are held can only be such an intermediate: kernels keep
// no state across calls, and the one buffer a step may take for a later step,
// a Concat's shared buffer (concat_view.go), is reached through ctx.views and
// is skipped here.

// sweep returns to the pool the run's buffers that no slot holds, except
// Concat view buffers. It runs on the run's goroutine between steps.
func (c *ExecContext) sweep() {
	a := c.arena
	if a == nil {
		return
	}
	for i := 0; i < len(a.bufs); {
		b := a.bufs[i]
		if b.refs > 0 || c.isViewBuffer(b) {
			i++
			continue
		}
		a.bufs[i] = a.bufs[len(a.bufs)-1]
		a.bufs = a.bufs[:len(a.bufs)-1]
		a.pool.recycle(b)
	}
}

// isViewBuffer reports whether b is one of the run's Concat buffers.
func (c *ExecContext) isViewBuffer(b *arenaBuf) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.views {
		if len(v) > 0 && rangeOf(v) == b.r {
			return true
		}
	}
	return false
}

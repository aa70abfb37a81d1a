package kernels

// Weight prefetch for the int8 GEMM tiles.
//
// On small maps a layer's weights are read from beyond L2 (ResNet-50's
// layer4: 1-2.4 MB per layer, each weight used by 49 output pixels), and
// they are read in bursts: the first row tile of a panel pair misses on
// every line of the pair, the other tiles of the pair hit. Measured at one
// thread, a 1×1 stride-2 layer of 2 MB took 443 µs with its weights in
// memory against 269 µs in cache. The VNNI micro-kernels therefore prefetch
// (qEpi.pf: two lines per step of 4 k, into L2) the pairs the next tiles
// will read, while they compute on the current one: the loads of a pair are
// spread over the tiles of the pairs before it.

// weightPrefetch switches the prefetch on (tests and benchmarks compare
// both).
var weightPrefetch = true

// pfCursor places the prefetch of the tiles of one walk over the weight
// panels: a tile of the pair at byte offset cur prefetches the next bytes
// not yet prefetched of the next pair, and nothing further (two and three
// pairs ahead measured alike on the 1×1 layers; further ahead the 3×3
// layers of 2.4 MB slowed). A walk whose pairs have one tile each (a
// GEMV: the fc layer) is given none (newPFCursor with tiles 1): its own
// loads stream the panels, and a second stream beside them slowed it.
type pfCursor struct {
	data       []int8
	pair, step int // bytes of a panel pair; bytes a tile prefetches
	next, last int
}

// newPFCursor is the cursor of a walk over w's panels in pairs of nv
// panels by tiles of nseg segments of k4 steps, tiles per pair.
func newPFCursor(w *QGemmWeights, nv, k4, nseg, tiles int) pfCursor {
	c := pfCursor{data: w.data, pair: nv * qPanel * w.kp, step: 128 * k4 * nseg, last: -1}
	if tiles < 2 || !weightPrefetch {
		c.data = nil
	}
	return c
}

// at returns the prefetch address of a tile of the pair at byte offset
// cur, or nil. A walk that starts again (cur below the last) starts its
// prefetch again.
func (c *pfCursor) at(cur int) *int8 {
	if cur < c.last {
		c.next = 0
	}
	c.last = cur
	c.next = max(c.next, cur+c.pair)
	if c.next >= len(c.data) || c.next >= cur+2*c.pair {
		return nil
	}
	p := &c.data[c.next]
	c.next += c.step
	return p
}

package kernels

// Weight prefetch for the int8 GEMM tiles.
//
// On small maps a layer's weights are read from beyond L2 (ResNet-50's
// layer4: 1-2.4 MB per layer, each weight used by 49 output pixels), and
// they are read in bursts: the first row tile of a panel pair misses on
// every line of the pair, the other tiles of the pair hit. Measured at one
// thread, a 1×1 stride-2 layer of 2 MB took 410 µs with its weights in
// memory against 268 µs in cache (BenchmarkQConvSmallMapsCold). The VNNI
// micro-kernels therefore prefetch (qEpi.pf, one line per step of 4 k,
// into L2) the next panel pair while they compute on the current one, each
// tile of the pair a share of it: the loads of a pair are spread over the
// tiles of the pair before it instead of falling on its own first tile.

// weightPrefetch switches the prefetch on (tests and benchmarks compare
// both).
var weightPrefetch = true

// weightsStream reports whether w's panels do not stay in L2 (1 MB per
// core here, shared with the activations): their walks read them from L3
// or memory, so the drivers walk them once per block or band and prefetch
// them. Smaller weights are neither (the prefetch's extra loads slowed the
// layers whose weights stay in cache by 1-2 %).
func weightsStream(w *QGemmWeights) bool {
	return w.panels*qPanel*w.kp > 512*1024
}

// pfPlan places the prefetches of a walk over the panels in pairs of nv
// panels with tiles row tiles per pair, each tile running steps steps of 4
// k: tile t of the pair at byte offset cur prefetches share t of the next
// pair.
type pfPlan struct {
	data              []int8
	pair, share, step int
}

// newPFPlan is the plan of such a walk over w, or an empty one (no
// prefetch) when w's panels stay in cache or a pair has a single tile (a
// GEMV: its own loads stream the panels, and a second stream beside them
// slowed the fc layer).
func newPFPlan(w *QGemmWeights, nv, steps, tiles int) pfPlan {
	if !weightPrefetch || !weightsStream(w) || tiles < 2 || steps < 1 {
		return pfPlan{}
	}
	pair := nv * qPanel * w.kp
	share := (pair/tiles + 63) &^ 63
	return pfPlan{data: w.data, pair: pair, share: share, step: max(1, share/steps)}
}

// at sets ep's prefetch for tile t of the pair at byte offset cur.
func (p *pfPlan) at(ep *qEpi, cur, t int) {
	ep.pf = nil
	if off := cur + p.pair + t*p.share; p.data != nil && off < len(p.data) {
		ep.pf, ep.pfStep = &p.data[off], int64(p.step)
	}
}

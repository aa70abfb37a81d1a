package runtime

// Body sessions planned for the shapes a Loop, Scan or If actually runs with.
// The body's formal inputs are declared with their rank only (a carried value may
// change shape: op_control.go), so the session planned at build time sees
// symbolic sizes everywhere: Shape -> Gather -> Slice chains run every iteration
// (ConvLSTM's chunk into four gates), and the rewrites that need static sizes
// (channels-last convolutions, fused elementwise chains) do not apply. As the
// Replanner does for a model's inputs (replan.go), the first execution with a
// given set of input shapes (formal inputs and outer values) plans a session for
// exactly those shapes, and later executions with the same shapes reuse it (the
// last DefaultReplanCache sets are kept). A body whose shapes change from one
// iteration to the next (Mask R-CNN's paste_masks appends to a carried value) runs
// the rest of that execution on the rank-only session, and every later execution
// of the node starts there: such a body is never planned per iteration. Nothing is
// guessed: a plan is made only from the shapes of tensors actually fed, and a
// shape that does not match leaves that plan. A node whose executions keep
// bringing new shapes (an If around a detector's NMS, whose outer values have
// as many rows as boxes were found) stops planning after maxBodyPlans plans and
// runs on the rank-only session from then on, so a stream of sizes costs at most
// that many plans.

import (
	"sync"
	"sync/atomic"

	"github.com/warboy-sim/warboy/graph"
)

// bodyPlansOff makes every body run on its rank-only session (tests compare the
// two).
var bodyPlansOff atomic.Bool

// maxBodyPlans bounds the plans one body makes in a session's life.
const maxBodyPlans = 2 * DefaultReplanCache

// bodyPlans caches the sessions of one body planned per input shapes.
type bodyPlans struct {
	mu sync.Mutex
	// plans, most recently used first, at most DefaultReplanCache.
	plans []*bodyPlan
	// varying is set once an execution saw the shapes change between iterations.
	varying atomic.Bool
	// made counts the plans made, failed those that failed (under mu).
	made   atomic.Int64
	failed int64
}

// bodyPlan is the session of one set of input shapes; sess is nil when planning
// failed (the rank-only session runs those shapes).
type bodyPlan struct {
	shapes [][]int
	sess   *Session
}

// planFor returns the session planned for the shapes of in (the body session's
// inputs, in order), planning it with plan on first use; nil when the body's
// shapes vary or planning failed.
func (p *bodyPlans) planFor(in []*graph.Tensor, plan func(shapes map[string][]int) (*Session, error), names []string) *Session {
	if p.varying.Load() || bodyPlansOff.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.plans {
		if shapesMatch(c.shapes, in) {
			copy(p.plans[1:i+1], p.plans[:i])
			p.plans[0] = c
			return c.sess
		}
	}
	if p.made.Load()+p.failed >= maxBodyPlans {
		p.varying.Store(true)
		return nil
	}
	c := &bodyPlan{shapes: make([][]int, len(in))}
	shapes := make(map[string][]int, len(in))
	for i, t := range in {
		c.shapes[i] = append([]int{}, t.Shape...)
		if !t.IsSeq() { // a sequence's elements are not bound (op_sequence.go)
			shapes[names[i]] = c.shapes[i]
		}
	}
	if s, err := plan(shapes); err == nil {
		c.sess = s
		p.made.Add(1)
	} else {
		p.failed++
	}
	if len(p.plans) == DefaultReplanCache {
		p.plans = p.plans[:len(p.plans)-1]
	}
	p.plans = append([]*bodyPlan{c}, p.plans...)
	return c.sess
}

// shapesMatch reports whether the tensors of in have the given shapes.
func shapesMatch(shapes [][]int, in []*graph.Tensor) bool {
	if len(shapes) != len(in) {
		return false
	}
	for i, t := range in {
		if t == nil || !sameDims(shapes[i], t.Shape) {
			return false
		}
	}
	return true
}

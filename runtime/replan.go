package runtime

import (
	"fmt"
	"strings"
	"sync"

	"github.com/warboy-sim/warboy/graph"
)

// HasSymbolicInputs reports whether an input of m (initializers excluded)
// declares a dimension that is not a number (a symbolic height, width or
// sequence length), or no shape at all.
func HasSymbolicInputs(m *graph.Model) bool {
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializers[in.Name] != nil {
			continue
		}
		if !in.HasShape {
			return true
		}
		if _, ok := in.Shape.Concrete(); !ok {
			return true
		}
	}
	return false
}

// DefaultReplanCache is how many sessions a Replanner keeps, one per input
// shape, least recently used evicted. Four covers the streams seen in
// practice without re-planning: images of two or three aspect ratios
// (landscape, portrait, square) plus the shorter last batch of a data set;
// each session holds the model's packed weights, so the bound is also the
// memory bound (four times a session's weights and arena at most).
const DefaultReplanCache = 4

// Replanner runs a model whose inputs have symbolic dimensions on sessions
// planned for the shapes actually fed: the first run of a shape binds the
// input shapes (graph.Model.WithInputShapes), so that shape subgraphs fold
// to constants and the shape-dependent rewrites (channels-last chains, dead
// convolution taps, fusions needing static sizes) apply as for a static
// export. The sessions of the last few shapes are kept (DefaultReplanCache,
// or Keep), so a stream alternating between a few input sizes plans each
// once. A model with static inputs is planned once, as NewSession does.
//
// Safe for concurrent use: a shape is planned once even when several
// goroutines ask for it at the same time (the others wait for that plan),
// planning one shape does not block runs of shapes already planned, and a
// session handed out stays usable after it is evicted.
type Replanner struct {
	model *graph.Model
	opts  []Option

	mu sync.Mutex
	// cache holds the planned (or being planned) sessions, most recently
	// used first, at most keep of them.
	cache []*planEntry
	keep  int
	plans int
}

// planEntry is the session of one set of input shapes; ready is closed once
// sess or err is set.
type planEntry struct {
	key   string
	ready chan struct{}
	sess  *Session
	err   error
}

// NewReplanner prepares m to be planned per input shape with the given
// session options. Nothing is planned before the first Session or RunTensors.
func NewReplanner(m *graph.Model, opts ...Option) *Replanner {
	return &Replanner{model: m, opts: opts, keep: DefaultReplanCache}
}

// Keep sets how many sessions (input shapes) r keeps, at least 1, evicting
// the least recently used ones beyond it; it returns r. A caller whose data
// comes grouped by shape (a data set's shape groups) keeps 1: an evicted
// shape never comes back, and each session kept holds the model's weights.
func (r *Replanner) Keep(n int) *Replanner {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keep = max(n, 1)
	if len(r.cache) > r.keep {
		clear(r.cache[r.keep:])
		r.cache = r.cache[:r.keep]
	}
	return r
}

// Plans returns how many sessions have been planned so far.
func (r *Replanner) Plans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.plans
}

// Held returns how many sessions r holds now (at most the Keep bound).
func (r *Replanner) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}

// Session returns the session planned for the shapes of inputs, planning it
// when no kept session has them. Shapes that do not fit the model's
// declaration are an error naming the input (graph.CheckInputShape).
func (r *Replanner) Session(inputs map[string]*graph.Tensor) (*Session, error) {
	shapes := map[string][]int{}
	var key strings.Builder
	for _, in := range r.model.Graph.Inputs {
		t, ok := inputs[in.Name]
		if !ok || r.model.Graph.Initializers[in.Name] != nil {
			continue
		}
		if t.IsSeq() {
			// A sequence's elements are not bound (op_sequence.go): the
			// plan does not depend on them.
			continue
		}
		shapes[in.Name] = t.Shape
		key.WriteString(in.Name + "=" + graph.FormatDims(t.Shape) + ";")
	}
	if !HasSymbolicInputs(r.model) {
		key.Reset() // one plan whatever is fed: the session checks the shapes
	}
	e, planNow := r.entry(key.String())
	if planNow {
		func() {
			// A panic while planning still releases the waiters, with an error.
			e.err = fmt.Errorf("planning for %s did not finish", key.String())
			defer r.finish(e)
			e.sess, e.err = r.plan(key.Len() > 0, shapes)
		}()
	}
	<-e.ready
	return e.sess, e.err
}

// entry returns the cache entry of key, moved to the front, or a new one
// (planNow) that the caller must plan and finish.
func (r *Replanner) entry(key string) (e *planEntry, planNow bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.cache {
		if c.key == key {
			copy(r.cache[1:i+1], r.cache[:i])
			r.cache[0] = c
			return c, false
		}
	}
	e = &planEntry{key: key, ready: make(chan struct{})}
	if len(r.cache) == r.keep {
		r.cache[len(r.cache)-1] = nil
		r.cache = r.cache[:len(r.cache)-1]
	}
	r.cache = append([]*planEntry{e}, r.cache...)
	return e, true
}

// finish publishes a planned entry; a failed plan leaves the cache, so that
// the next call with those shapes tries again.
func (r *Replanner) finish(e *planEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.err == nil {
		r.plans++
	} else if i := indexOf(r.cache, e); i >= 0 {
		r.cache = append(r.cache[:i], r.cache[i+1:]...)
	}
	close(e.ready)
}

func indexOf(list []*planEntry, e *planEntry) int {
	for i, c := range list {
		if c == e {
			return i
		}
	}
	return -1
}

func (r *Replanner) plan(bind bool, shapes map[string][]int) (*Session, error) {
	m := r.model
	if bind {
		var err error
		if m, err = r.model.WithInputShapes(shapes); err != nil {
			return nil, err
		}
	}
	return NewSession(m, r.opts...)
}

// RunTensors runs inputs on the session planned for their shapes.
func (r *Replanner) RunTensors(inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	s, err := r.Session(inputs)
	if err != nil {
		return nil, err
	}
	return s.RunTensors(inputs)
}

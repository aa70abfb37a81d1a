package runtime

import (
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

// Replanner runs a model whose inputs have symbolic dimensions on sessions
// planned for the shapes actually fed: the first run binds the input shapes
// (graph.Model.WithInputShapes), so that shape subgraphs fold to
// constants and the shape-dependent rewrites (channels-last chains, dead
// convolution taps, fusions needing static sizes) apply as for a static
// export; a run with other input shapes plans again. The session of the
// last shapes is kept, so a stream of same-sized inputs plans once. A model
// with static inputs is planned once, as NewSession does. Safe for
// concurrent use; the sessions themselves run concurrently.
type Replanner struct {
	model *graph.Model
	opts  []Option

	mu    sync.Mutex
	key   string
	sess  *Session
	plans int
}

// NewReplanner prepares m to be planned per input shape with the given
// session options. Nothing is planned before the first Session or RunTensors.
func NewReplanner(m *graph.Model, opts ...Option) *Replanner {
	return &Replanner{model: m, opts: opts}
}

// Plans returns how many sessions have been planned so far.
func (r *Replanner) Plans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.plans
}

// Session returns the session planned for the shapes of inputs, planning it
// when they differ from the previous call's. Shapes that do not fit the
// model's declaration are an error naming the input (graph.CheckInputShape).
func (r *Replanner) Session(inputs map[string]*graph.Tensor) (*Session, error) {
	shapes := map[string][]int{}
	var key strings.Builder
	for _, in := range r.model.Graph.Inputs {
		t, ok := inputs[in.Name]
		if !ok || r.model.Graph.Initializers[in.Name] != nil {
			continue
		}
		shapes[in.Name] = t.Shape
		key.WriteString(in.Name + "=" + graph.FormatDims(t.Shape) + ";")
	}
	if !HasSymbolicInputs(r.model) {
		key.Reset() // one plan whatever is fed: the session checks the shapes
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sess != nil && r.key == key.String() {
		return r.sess, nil
	}
	m := r.model
	if key.Len() > 0 {
		var err error
		if m, err = r.model.WithInputShapes(shapes); err != nil {
			return nil, err
		}
	}
	s, err := NewSession(m, r.opts...)
	if err != nil {
		return nil, err
	}
	r.sess, r.key = s, key.String()
	r.plans++
	return s, nil
}

// RunTensors runs inputs on the session planned for their shapes.
func (r *Replanner) RunTensors(inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	s, err := r.Session(inputs)
	if err != nil {
		return nil, err
	}
	return s.RunTensors(inputs)
}

package runtime

import "github.com/warboy-sim/warboy/graph"

// Streaming taps. WithTaps keeps every tapped tensor until the run returns, so a
// caller that only reduces them (calibration statistics) holds all activations of a
// batch at once: several times the executor's own peak on a detector at 640x640.
// With WithTapFunc each tapped tensor is handed to a callback as soon as it is
// produced and is then freed after its last reader like any intermediate, so its
// buffer returns to the arena. The tapped tensors still constrain the plan exactly
// as WithTaps does (they are not fused away and keep their layout), so the callback
// sees the same values, in the same element order, that RunTensors would return.

// TapFunc receives a tapped tensor during a run. It must not modify t nor keep it
// (or its data) after returning: the buffer may be reused by the rest of the run.
// It is called on the goroutine that called Run/RunTensors, once per tapped tensor
// per run: first for tapped graph inputs and constants, then in execution order as
// the tensors are produced. Concurrent runs of one session call it concurrently. An
// error stops the run, and RunTensors returns it unchanged.
type TapFunc func(name string, t *graph.Tensor) error

// WithTapFunc streams the tapped tensors (WithTaps names, or every tensor with
// WithAllTaps) to f instead of returning them from RunTensors, which then returns
// the graph outputs only.
func WithTapFunc(f TapFunc) Option { return func(c *config) { c.tapFunc = f } }

// planTapStream records which slots are streamed and lets each be freed after its
// last reader (or right after it is produced when nothing reads it), unless it is
// a graph output. It runs after plan has computed the free lists with the taps kept.
func (s *Session) planTapStream() {
	if s.cfg.tapFunc == nil {
		return
	}
	outs := map[int]bool{}
	for _, id := range s.outSlots {
		outs[id] = true
	}
	s.tapNames = map[int]string{}
	for name, id := range s.slots {
		if s.cfg.tapAll || s.cfg.taps[name] {
			s.tapNames[id] = name
		}
	}
	last := map[int]int{}
	for i, st := range s.steps {
		for _, id := range st.out {
			if id >= 0 {
				if _, ok := last[id]; !ok {
					last[id] = i
				}
			}
		}
		for _, id := range st.in {
			if id >= 0 {
				last[id] = i
			}
		}
	}
	for id := range s.tapNames {
		i, ok := last[id]
		if !ok || outs[id] || s.consts[id] != nil {
			continue
		}
		delete(s.keep, id)
		s.steps[i].free = append(s.steps[i].free, id)
	}
}

// tapStreamStart streams the tapped graph inputs and constants.
func (s *Session) tapStreamStart(vals []*graph.Tensor) error {
	for id, name := range s.tapNames {
		if t := vals[id]; t != nil {
			if err := s.cfg.tapFunc(name, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// tapStreamStep streams the tapped outputs of one step.
func (s *Session) tapStreamStep(st *step, vals []*graph.Tensor) error {
	for _, id := range st.out {
		if id < 0 || vals[id] == nil {
			continue
		}
		if name, ok := s.tapNames[id]; ok {
			if err := s.tapTensor(id, name, vals[id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// RunTensorsOwned is RunTensors for a caller that hands its inputs over: it empties
// the map and drops each input after its last reader, like any intermediate, so the
// input of a batch is collected while the rest of the batch runs (39 MB for a batch
// of eight 640x640 images in calibration). The caller must not use the tensors
// afterwards: an output may share an input's memory only as a copy, as in RunTensors.
func (s *Session) RunTensorsOwned(inputs map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	return s.run(inputs, true)
}

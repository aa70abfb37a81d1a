package runtime

import "github.com/warboy-sim/warboy/graph"

// Per-run slot set-up without map iteration. A run used to range over
// s.consts to put the constants into its slots and over s.slots to collect
// the kept tensors: on an int8 encoder of 0.06 ms (hundreds of scale and
// zero-point constants) the two map walks were 4 % of the run
// (docs/runtime.md, "int8 attention, fifth round (twenty-first session)").
// Both are fixed once the session is planned, so they become slices.

// keptSlot is a slot whose tensor a run hands back (an output or a tap).
type keptSlot struct {
	name string
	id   int
}

// planSlotLists fills s.constVals and s.keptSlots; it runs last in plan, after
// every pass that adds constants (fold_const_steps.go).
func (s *Session) planSlotLists() {
	s.constVals = make([]*graph.Tensor, s.nslots)
	for id, t := range s.consts {
		s.constVals[id] = t
	}
	s.keptSlots = s.keptSlots[:0]
	for name, id := range s.slots {
		if s.keep[id] {
			s.keptSlots = append(s.keptSlots, keptSlot{name: name, id: id})
		}
	}
	// Steps writing a kept slot take their outputs from the allocator, not
	// from the run's small-tensor block, which the run would copy them out
	// of (arena_slab.go).
	s.keptStep = make([]bool, len(s.steps))
	for i, st := range s.steps {
		for _, id := range st.out {
			if id >= 0 && s.keep[id] {
				s.keptStep[i] = true
			}
		}
	}
}

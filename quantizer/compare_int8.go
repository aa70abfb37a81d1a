package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// compareKeep is how many sessions per input shape each model of Compare
// keeps: one when the data comes in shape groups (a data set: a group, once
// left, never comes back, and each session holds the model's weights),
// runtime.DefaultReplanCache for any other source.
func compareKeep(data Batches) int {
	if _, ok := data.(ShapeGroups); ok {
		return 1
	}
	return runtime.DefaultReplanCache
}

// int8Runner runs the quantized model of Compare on sessions planned for the
// shapes fed (runtime.Replanner), as the float model is: a model with
// symbolic height/width runs the static-shape paths of the int8 executor.
// The mode (ModeAuto: the int8 executor when it plans, else simulated
// quantization) is decided by the first plan.
type int8Runner struct {
	model *graph.Model
	taps  []string
	opts  CompareOptions
	keep  int

	plan *runtime.Replanner
	mode string
}

func (q *int8Runner) replanner(mode runtime.Mode) *runtime.Replanner {
	return runtime.NewReplanner(q.model, runtime.WithMode(mode), runtime.WithTaps(q.taps...),
		runtime.WithThreads(q.opts.Threads)).Keep(q.keep)
}

// session returns the session for the shapes of in (nil for a model with
// static inputs).
func (q *int8Runner) session(in map[string]*graph.Tensor) (*runtime.Session, error) {
	if q.plan != nil {
		s, err := q.plan.Session(in)
		if err == nil && q.mode == "int8" && s.Mode() != runtime.ModeInt8 {
			// ModeAuto planned another shape without the int8 executor.
			q.mode = "int8 (float32 simulated quantization for the input shapes the int8 executor does not take)"
		}
		return s, err
	}
	switch q.opts.Mode {
	case runtime.ModeFloat:
		return q.first(runtime.ModeFloat, in, "float32 (simulated quantization)")
	case runtime.ModeInt8:
		return q.first(runtime.ModeInt8, in, "int8")
	}
	r := q.replanner(runtime.ModeAuto)
	s, err := r.Session(in)
	if err == nil {
		q.plan, q.mode = r, "int8"
		if s.Mode() != runtime.ModeInt8 {
			q.mode = "float32 (simulated quantization: the int8 executor is not available)"
		}
		return s, nil
	}
	return q.first(runtime.ModeFloat, in, fmt.Sprintf("float32 (simulated quantization; the int8 executor failed: %v)", err))
}

func (q *int8Runner) first(mode runtime.Mode, in map[string]*graph.Tensor, desc string) (*runtime.Session, error) {
	r := q.replanner(mode)
	s, err := r.Session(in)
	if err != nil {
		return nil, err
	}
	q.plan, q.mode = r, desc
	return s, nil
}

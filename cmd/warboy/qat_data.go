package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/qat"
)

// trainShapes are the training samples' shapes, each input's without its batch
// dimension, in the model's input order: the size a model declared with symbolic
// dimensions (height and width, a sequence length) trains at. Sequences of several
// lengths (groups > 1) train at all of them: the model keeps its symbolic
// dimensions and every batch holds samples of one shape.
type trainShapes struct {
	names  []string
	shapes map[string][]int // the first sample's
	groups int              // distinct sample shapes
	last   map[string][]int // the last group's (groups > 1)
	// whole: each sample is every input whole, first axis included (qat.Config
	// WholeInputs): a sample whose first axis is not a batch of one (a graph's
	// nodes, a point cloud, a time-major sequence, a request of several rows)
	whole bool
}

// first is the first input's shape (the report's sample_shape).
func (t trainShapes) first() []int { return t.shapes[t.names[0]] }

// configure gives the shapes to the training program: one shape binds the
// model's symbolic dimensions to it; several leave them symbolic.
func (t trainShapes) configure(cfg *qat.Config) {
	cfg.WholeInputs = t.whole
	switch {
	case t.groups > 1:
	case len(t.names) == 1:
		cfg.SampleShape = t.first()
	default:
		cfg.SampleShapes = t.shapes
	}
}

func (t trainShapes) String() string {
	show := func(m map[string][]int) string {
		if len(t.names) == 1 {
			return graph.FormatDims(m[t.names[0]])
		}
		parts := make([]string, len(t.names))
		for i, n := range t.names {
			parts[i] = n + " " + graph.FormatDims(m[n])
		}
		return strings.Join(parts, ", ")
	}
	if t.groups > 1 {
		return fmt.Sprintf("%d input sizes (%s to %s)", t.groups, show(t.shapes), show(t.last))
	}
	return show(t.shapes)
}

// trainingSampleShape checks that the training data can train m and returns the
// samples' shapes. Images must be of one size (--preprocess gives it); tensors of
// several shapes train at each (the data set has checked that they differ only in
// dimensions the model declares symbolic).
func trainingSampleShape(ds *dataset.Set, m *graph.Model) (trainShapes, error) {
	ins := modelInputs(m.Graph)
	if ds.Len() == 0 {
		return trainShapes{}, fmt.Errorf("training data %s is empty", ds.Name)
	}
	if end := ds.GroupEnd(0); end < ds.Len() && ds.Preprocess != nil {
		first, other := ds.SampleShapes(0), ds.SampleShapes(end)
		name := ins[0].Name
		return trainShapes{}, fmt.Errorf("training data %s: sample %d is %s, sample 0 is %s; training runs at one input size: "+
			"give --preprocess a size (resize=H,W, crop=H,W, letterbox=H,W or the imagenet preset)",
			ds.Name, end, graph.FormatDims(other[name]), graph.FormatDims(first[name]))
	}
	t := trainShapes{}
	// A sample is fed as a batch of one; when an input's first axis is not one
	// (or it has none), the sample is the input whole.
	for start := 0; start < ds.Len() && !t.whole; start = ds.GroupEnd(start) {
		for _, in := range ins {
			if sh := ds.SampleShapes(start)[in.Name]; len(sh) < 1 || sh[0] != 1 {
				t.whole = true
			}
		}
	}
	shapesAt := func(start int) (map[string][]int, error) {
		out := map[string][]int{}
		for _, in := range ins {
			sh := ds.SampleShapes(start)[in.Name]
			if !t.whole {
				sh = sh[1:]
			}
			out[in.Name] = append([]int{}, sh...)
		}
		return out, nil
	}
	for _, in := range ins {
		t.names = append(t.names, in.Name)
	}
	var err error
	if t.shapes, err = shapesAt(0); err != nil {
		return trainShapes{}, err
	}
	for start := 0; start < ds.Len(); start = ds.GroupEnd(start) {
		t.groups++
		if t.last, err = shapesAt(start); err != nil {
			return trainShapes{}, err
		}
	}
	return t, nil
}

// siblingSplit returns the validation or test folder beside a training folder
// (DATA/val beside DATA/train, as class-folder data sets come), or "".
func siblingSplit(dir string) string {
	clean := filepath.Clean(dir)
	for _, name := range []string{"val", "valid", "validation", "test"} {
		other := filepath.Join(filepath.Dir(clean), name)
		if other == clean {
			continue
		}
		if dirExists(other) {
			return other
		}
	}
	return ""
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// sampleNoun names a data set's samples in the report: images, or samples for
// tensors (token ids, sequences, features).
func sampleNoun(ds *dataset.Set) string {
	if ds.Kind == "tensors" {
		return "samples"
	}
	return "images"
}

// preprocessSpec is the image preprocessing of an image set ("" for others).
func preprocessSpec(ds *dataset.Set) string {
	if ds.Preprocess == nil {
		return ""
	}
	return ds.Preprocess.Spec
}

// writtenInputShape is the declared shape of the written model's input, as the
// report prints it ("[batch,3,height,width]").
func writtenInputShape(q *graph.Model) string {
	for _, in := range modelInputs(q.Graph) {
		if !in.HasShape {
			return "?"
		}
		return in.Shape.String()
	}
	return ""
}

// hasSymbolicSample reports whether m's input declares a symbolic dimension after
// the batch (trained at the data's size).
func hasSymbolicSample(m *graph.Model) bool {
	for _, in := range modelInputs(m.Graph) {
		for i, d := range in.Shape {
			if i > 0 && !d.Known() {
				return true
			}
		}
	}
	return false
}

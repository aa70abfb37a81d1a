package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/qat"
)

// trainShapes are the training samples' shapes, each input's without its batch
// dimension, in the model's input order: the size a model declared with symbolic
// dimensions (height and width, a sequence length) trains at.
type trainShapes struct {
	names  []string
	shapes map[string][]int
}

// first is the first input's shape (the report's sample_shape).
func (t trainShapes) first() []int { return t.shapes[t.names[0]] }

// configure gives the shapes to the training program.
func (t trainShapes) configure(cfg *qat.Config) {
	if len(t.names) == 1 {
		cfg.SampleShape = t.first()
		return
	}
	cfg.SampleShapes = t.shapes
}

func (t trainShapes) String() string {
	if len(t.names) == 1 {
		return graph.FormatDims(t.first())
	}
	parts := make([]string, len(t.names))
	for i, n := range t.names {
		parts[i] = n + " " + graph.FormatDims(t.shapes[n])
	}
	return strings.Join(parts, ", ")
}

// trainingSampleShape checks that the training data can train m (every sample one
// shape: the training program is static) and returns the samples' shapes.
func trainingSampleShape(ds *dataset.Set, m *graph.Model) (trainShapes, error) {
	ins := modelInputs(m.Graph)
	if ds.Len() == 0 {
		return trainShapes{}, fmt.Errorf("training data %s is empty", ds.Name)
	}
	if end := ds.GroupEnd(0); end < ds.Len() {
		// Images are resized by --preprocess; tensors are read as they are, so the
		// remedy is in the files.
		first, other := ds.SampleShapes(0), ds.SampleShapes(end)
		name := ins[0].Name
		for _, in := range ins {
			if !slices.Equal(first[in.Name], other[in.Name]) {
				name = in.Name
				break
			}
		}
		what := ""
		if len(ins) > 1 {
			what = fmt.Sprintf(" (input %q)", name)
		}
		fix := "give --preprocess a size (resize=H,W, crop=H,W, letterbox=H,W or the imagenet preset)"
		if ds.Preprocess == nil {
			fix = fmt.Sprintf("the .npy/.npz samples are read as they are: give samples of one shape (sequences cut or padded to one length in the files, "+
				"or a folder of the %d samples of shape %s alone)", end, graph.FormatDims(first[name]))
		}
		return trainShapes{}, fmt.Errorf("training data %s: sample %d is %s, sample 0 is %s%s; training runs at one input size: %s",
			ds.Name, end, graph.FormatDims(other[name]), graph.FormatDims(first[name]), what, fix)
	}
	t := trainShapes{shapes: map[string][]int{}}
	for _, in := range ins {
		sh := ds.SampleShapes(0)[in.Name]
		if len(sh) < 1 {
			return trainShapes{}, fmt.Errorf("training data %s: input %q samples have no batch dimension", ds.Name, in.Name)
		}
		t.names = append(t.names, in.Name)
		t.shapes[in.Name] = append([]int(nil), sh[1:]...)
	}
	return t, nil
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

package main

import (
	"fmt"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// trainingSampleShape checks that the training data can train m (one input, every
// sample one shape: the training program is static) and returns the
// sample shape without its batch dimension, the size a model declared with
// symbolic height and width trains at.
func trainingSampleShape(ds *dataset.Set, m *graph.Model) ([]int, error) {
	ins := modelInputs(m.Graph)
	if len(ins) != 1 {
		return nil, fmt.Errorf("qat trains single-input models; %s has %d inputs", m.Graph.Name, len(ins))
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("training data %s is empty", ds.Name)
	}
	name := ins[0].Name
	first := ds.SampleShapes(0)[name]
	if end := ds.GroupEnd(0); end < ds.Len() {
		// Images are resized by --preprocess; tensors are read as they are, so the
		// remedy is in the files.
		fix := "give --preprocess a size (resize=H,W, crop=H,W, letterbox=H,W or the imagenet preset)"
		if ds.Preprocess == nil {
			fix = fmt.Sprintf("the .npy/.npz samples are read as they are: give samples of one shape (sequences cut or padded to one length in the files, "+
				"or a folder of the %d samples of shape %s alone)", end, graph.FormatDims(first))
		}
		return nil, fmt.Errorf("training data %s: sample %d is %s, sample 0 is %s; training runs at one input size: %s",
			ds.Name, end, graph.FormatDims(ds.SampleShapes(end)[name]), graph.FormatDims(first), fix)
	}
	if len(first) < 1 {
		return nil, fmt.Errorf("training data %s: input %q samples have no batch dimension", ds.Name, name)
	}
	return append([]int(nil), first[1:]...), nil
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

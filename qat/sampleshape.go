package qat

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// bindSampleShape returns m with the symbolic dimensions after the batch of its
// single input fixed to shape (Config.SampleShape), the batch left as declared so
// that shape arithmetic does not fold a batch of one into the graph; m itself when
// shape is nil. A shape that contradicts a known dimension, or is given for a model
// with nothing symbolic to bind, is an error naming the input.
func bindSampleShape(m *graph.Model, shape []int) (*graph.Model, error) {
	if shape == nil {
		return m, nil
	}
	var ins []*graph.Value
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializers[in.Name] == nil {
			ins = append(ins, in)
		}
	}
	if len(ins) != 1 || !ins[0].HasShape || len(ins[0].Shape) < 1 {
		return nil, fmt.Errorf("qat: a sample shape binds the single input of a model with a declared rank; this model has %d inputs", len(ins))
	}
	in := ins[0]
	if len(shape) != len(in.Shape)-1 {
		return nil, fmt.Errorf("qat: input %q is declared %s; the sample shape %s must give its %d dimensions after the batch",
			in.Name, in.Shape, graph.FormatDims(shape), len(in.Shape)-1)
	}
	symbolic := false
	dims := slices.Clone(in.Shape)
	for i, s := range shape {
		d := in.Shape[i+1]
		switch {
		case s <= 0:
			return nil, fmt.Errorf("qat: input %q: sample shape %s has a dimension <= 0", in.Name, graph.FormatDims(shape))
		case d.Known() && d.Size != s:
			return nil, fmt.Errorf("qat: input %q is declared %s; the training samples are %s", in.Name, in.Shape, graph.FormatDims(shape))
		case !d.Known():
			symbolic = true
			dims[i+1] = graph.Dim{Size: s}
		}
	}
	if !symbolic {
		return m, nil
	}
	c := m.Clone()
	g := c.Graph
	for i, v := range g.Inputs {
		if v.Name != in.Name {
			continue
		}
		nv := *v
		nv.Shape = dims
		g.Inputs[i] = &nv
		if g.Values != nil {
			g.Values[in.Name] = &nv
		}
	}
	return c, nil
}

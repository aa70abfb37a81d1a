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
func bindSampleShape(m *graph.Model, shape []int, whole bool) (*graph.Model, error) {
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
		return nil, fmt.Errorf("qat: a sample shape binds the single input of a model with a declared rank; this model has %d inputs (give Config.SampleShapes by input name)", len(ins))
	}
	return bindSampleShapes(m, map[string][]int{ins[0].Name: shape}, whole)
}

// bindSampleShapes is bindSampleShape for models with several inputs: shapes gives,
// by input name, the sizes after the batch (Config.SampleShapes), or with whole
// every size (Config.WholeInputs); inputs it does not name are left as declared.
func bindSampleShapes(m *graph.Model, shapes map[string][]int, whole bool) (*graph.Model, error) {
	if shapes == nil {
		return m, nil
	}
	bound := map[string]graph.Shape{}
	for name, shape := range shapes {
		in := m.Graph.Input(name)
		if in == nil || m.Graph.Initializers[name] != nil {
			return nil, fmt.Errorf("qat: a sample shape is given for %q, not an input of the model", name)
		}
		if !in.HasShape || (len(in.Shape) < 1 && !whole) {
			return nil, fmt.Errorf("qat: input %q has no declared rank to bind a sample shape to", name)
		}
		lead := 1 // the batch, left as declared
		if whole {
			lead = 0
		}
		if len(shape) != len(in.Shape)-lead {
			what := "after the batch"
			if whole {
				what = "(a whole input)"
			}
			return nil, fmt.Errorf("qat: input %q is declared %s; the sample shape %s must give its %d dimensions %s",
				in.Name, in.Shape, graph.FormatDims(shape), len(in.Shape)-lead, what)
		}
		symbolic := false
		dims := slices.Clone(in.Shape)
		for i, s := range shape {
			d := in.Shape[i+lead]
			switch {
			case s <= 0:
				return nil, fmt.Errorf("qat: input %q: sample shape %s has a dimension <= 0", in.Name, graph.FormatDims(shape))
			case d.Known() && d.Size != s:
				return nil, fmt.Errorf("qat: input %q is declared %s; the training samples are %s", in.Name, in.Shape, graph.FormatDims(shape))
			case !d.Known():
				symbolic = true
				dims[i+lead] = graph.Dim{Size: s}
			}
		}
		if symbolic {
			bound[name] = dims
		}
	}
	if len(bound) == 0 {
		return m, nil
	}
	c := m.Clone()
	g := c.Graph
	for i, v := range g.Inputs {
		dims, ok := bound[v.Name]
		if !ok {
			continue
		}
		nv := *v
		nv.Shape = dims
		g.Inputs[i] = &nv
		if g.Values != nil {
			g.Values[v.Name] = &nv
		}
	}
	return c, nil
}

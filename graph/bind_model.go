package graph

import (
	"fmt"
	"maps"
	"slices"
)

// BindInputShapes fixes the declared shapes of the given inputs (NAME -> concrete
// shape, e.g. from --input-shape) so that shape inference, constant folding and
// tools reading the model see concrete dimensions: Shape -> Gather -> Concat chains
// become constants. Every shape must fit the input's declaration (CheckInputShape).
// The model then takes exactly these shapes.
func (m *Model) BindInputShapes(shapes map[string][]int) error {
	g := m.Graph
	for name, s := range shapes {
		in := g.Input(name)
		if in == nil || g.Initializers[name] != nil {
			return fmt.Errorf("bind input shapes: %q is not an input of the model", name)
		}
		if err := CheckInputShape(in, s); err != nil {
			return err
		}
	}
	for i, in := range g.Inputs {
		s, ok := shapes[in.Name]
		if !ok {
			continue
		}
		v := *in
		v.Shape, v.HasShape = ShapeOf(s...), true
		g.Inputs[i] = &v
		if g.Values != nil {
			g.Values[in.Name] = &v
		}
	}
	return nil
}

// WithInputShapes returns m with the given input shapes bound (BindInputShapes)
// on a copy of its graph's inputs and values, or m itself when there is
// nothing to bind. The nodes and initializers are shared, so the copy is cheap
// and m is left as it was: a session planned for one input size does not fix
// the model's declaration for the next.
func (m *Model) WithInputShapes(shapes map[string][]int) (*Model, error) {
	if m == nil || len(shapes) == 0 {
		return m, nil
	}
	g := *m.Graph
	g.Inputs = slices.Clone(g.Inputs)
	g.Values = maps.Clone(g.Values)
	c := *m
	c.Graph = &g
	if err := c.BindInputShapes(shapes); err != nil {
		return nil, err
	}
	return &c, nil
}

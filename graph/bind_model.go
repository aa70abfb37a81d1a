package graph

import "fmt"

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

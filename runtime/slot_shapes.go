package runtime

import "github.com/warboy-sim/warboy/graph"

// float32Shapes returns a lookup of the declared shape of a slot's value:
// nil unless the value is float32 with a shape. The layout passes that match
// Reshape/Transpose patterns on static dimensions share it; the slot → name
// map is built once instead of scanning s.slots per query (nameOf).
func (s *Session) float32Shapes() func(id int) []graph.Dim {
	g := s.model.Graph
	names := make(map[int]string, len(s.slots))
	for name, id := range s.slots {
		names[id] = name
	}
	return func(id int) []graph.Dim {
		v := g.Values[names[id]]
		if v == nil || !v.HasShape || v.DType != graph.Float32 {
			return nil
		}
		return v.Shape
	}
}

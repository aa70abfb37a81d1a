package graph

// Clone returns a structural copy of g: nodes, values, shapes and maps are copied,
// tensors are shared (every pass replaces tensors instead of writing into them, and
// the executors never write them).
func (g *Graph) Clone() *Graph {
	ng := &Graph{
		Name:         g.Name,
		Initializers: make(map[string]*Tensor, len(g.Initializers)),
		Values:       make(map[string]*Value, len(g.Values)),
	}
	for k, v := range g.Initializers {
		ng.Initializers[k] = v
	}
	cloneValue := func(v *Value) *Value {
		cp := *v
		cp.Shape = append(Shape(nil), v.Shape...)
		return &cp
	}
	for k, v := range g.Values {
		ng.Values[k] = cloneValue(v)
	}
	for _, v := range g.Inputs {
		ng.Inputs = append(ng.Inputs, cloneValue(v))
	}
	for _, v := range g.Outputs {
		ng.Outputs = append(ng.Outputs, cloneValue(v))
	}
	for _, n := range g.Nodes {
		ng.Nodes = append(ng.Nodes, n.Clone())
	}
	return ng
}

// Clone returns a structural copy of m (see Graph.Clone) that can be edited without
// changing m; tensors are shared and must not be written in place.
func (m *Model) Clone() *Model {
	nm := *m
	nm.Graph = m.Graph.Clone()
	nm.Opsets = make(map[string]int64, len(m.Opsets))
	for k, v := range m.Opsets {
		nm.Opsets[k] = v
	}
	nm.Metadata = make(map[string]string, len(m.Metadata))
	for k, v := range m.Metadata {
		nm.Metadata[k] = v
	}
	return &nm
}

package graph

import (
	"fmt"
	"sort"
	"strings"
)

// Producers maps each value name to the node that produces it.
func (g *Graph) Producers() map[string]*Node {
	p := make(map[string]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				p[o] = n
			}
		}
	}
	return p
}

// Consumers maps each value name to the nodes that read it, in graph order.
func (g *Graph) Consumers() map[string][]*Node {
	c := map[string][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				c[in] = append(c[in], n)
			}
		}
		for _, in := range n.ImplicitInputs() {
			c[in] = append(c[in], n) // read inside a subgraph (subgraph.go)
		}
	}
	return c
}

// IsGraphOutput reports whether name is one of the graph outputs.
func (g *Graph) IsGraphOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// Input returns the graph input with the given name, or nil.
func (g *Graph) Input(name string) *Value {
	for _, v := range g.Inputs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// TopoSort orders the nodes so that every node comes after the producers of its
// inputs, keeping the file order where possible. It fails on a cycle, naming the nodes
// involved, and on an input that nothing produces.
func (g *Graph) TopoSort() error {
	avail := map[string]bool{"": true}
	for _, v := range g.Inputs {
		avail[v.Name] = true
	}
	for k := range g.Initializers {
		avail[k] = true
	}
	prod := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := prod[o]; dup {
				return fmt.Errorf("value %q is produced twice: by %s and by %s", o, g.Nodes[j].Label(), n.Label())
			}
			if avail[o] && o != "" {
				return fmt.Errorf("%s: output %q shadows a graph input or initializer", n.Label(), o)
			}
			prod[o] = i
		}
	}
	reads := make([][]string, len(g.Nodes)) // explicit and implicit (subgraph) inputs
	for i, n := range g.Nodes {
		reads[i] = n.Inputs
		if imp := n.ImplicitInputs(); len(imp) > 0 {
			reads[i] = append(append([]string(nil), n.Inputs...), imp...)
		}
		for _, in := range reads[i] {
			if !avail[in] {
				if _, ok := prod[in]; !ok {
					return fmt.Errorf("%s: input %q is not produced by any node, nor a graph input or initializer (dangling input)", n.Label(), in)
				}
			}
		}
	}
	// Kahn's algorithm over node indices; a min-heap on the index keeps file order.
	indeg := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i := range g.Nodes {
		seen := map[int]bool{}
		for _, in := range reads[i] {
			if j, ok := prod[in]; ok && !avail[in] && !seen[j] {
				seen[j] = true
				indeg[i]++
				users[j] = append(users[j], i)
			}
		}
	}
	var ready []int
	for i := range g.Nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for len(ready) > 0 {
		sort.Ints(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		var stuck []string
		for i, d := range indeg {
			if d > 0 {
				stuck = append(stuck, g.Nodes[i].Label())
				if len(stuck) == 5 {
					stuck = append(stuck, "...")
					break
				}
			}
		}
		return fmt.Errorf("graph has a cycle through %s", strings.Join(stuck, ", "))
	}
	g.Nodes = order
	return nil
}

// RemoveUnused drops nodes whose outputs nobody reads (and that are not graph outputs),
// and initializers that no node reads.
func (g *Graph) RemoveUnused() {
	needed := map[string]bool{}
	for _, o := range g.Outputs {
		needed[o.Name] = true
	}
	keep := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if needed[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				needed[in] = true
			}
			for _, in := range n.ImplicitInputs() {
				needed[in] = true
			}
		}
	}
	var nodes []*Node
	for i, n := range g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	for k := range g.Initializers {
		if !needed[k] {
			delete(g.Initializers, k)
		}
	}
	for k := range g.Values {
		if !needed[k] && g.Input(k) == nil {
			produced := false
			for _, n := range g.Nodes {
				for _, o := range n.Outputs {
					if o == k {
						produced = true
					}
				}
			}
			if !produced {
				delete(g.Values, k)
			}
		}
	}
}

// ReplaceInput rewires every use of old (node inputs and graph outputs) to new.
func (g *Graph) ReplaceInput(old, new string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		n.RenameImplicit(func(s string) string {
			if s == old {
				return new
			}
			return s
		})
	}
}

// UniqueName returns base, or base with a numeric suffix, that no value or node uses.
func (g *Graph) UniqueName(base string) string {
	used := func(s string) bool {
		if _, ok := g.Values[s]; ok {
			return true
		}
		if _, ok := g.Initializers[s]; ok {
			return true
		}
		for _, n := range g.Nodes {
			if n.Name == s {
				return true
			}
			for _, o := range n.Outputs {
				if o == s {
					return true
				}
			}
		}
		return false
	}
	if !used(base) {
		return base
	}
	for i := 1; ; i++ {
		s := fmt.Sprintf("%s_%d", base, i)
		if !used(s) {
			return s
		}
	}
}

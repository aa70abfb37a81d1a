package graph

import (
	"slices"
	"sort"
)

// Control flow (If, Loop, Scan) carries subgraphs as graph attributes. A subgraph's
// nodes may read any value of the enclosing graphs by name (ONNX's outer scope);
// those reads are the node's implicit inputs. Every pass that reasons about who
// reads a value (topological order, dead code, renaming, buffer lifetimes) must
// count them, which is what the helpers of this file are for.

// Subgraphs returns the node's graph attributes, in attribute-name order.
func (n *Node) Subgraphs() []*Graph {
	var names []string
	for k, a := range n.Attrs {
		if a.Type == AttrGraph && a.G != nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]*Graph, len(names))
	for i, k := range names {
		out[i] = n.Attrs[k].G
	}
	return out
}

// HasSubgraphs reports whether the node carries a subgraph.
func (n *Node) HasSubgraphs() bool {
	for _, a := range n.Attrs {
		if a.Type == AttrGraph && a.G != nil {
			return true
		}
	}
	return false
}

// ImplicitInputs lists, in first-use order, the values of the enclosing scopes that
// the node's subgraphs (and theirs, recursively) read. Nil for nodes without
// subgraphs.
func (n *Node) ImplicitInputs() []string {
	if !n.HasSubgraphs() {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, sg := range n.Subgraphs() {
		for _, name := range sg.OuterReads() {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// Defines reports whether the graph itself defines name (an input, an
// initializer or a node output).
func (g *Graph) Defines(name string) bool {
	if _, ok := g.Initializers[name]; ok {
		return true
	}
	if g.Input(name) != nil {
		return true
	}
	for _, n := range g.Nodes {
		if slices.Contains(n.Outputs, name) {
			return true
		}
	}
	return false
}

// OuterReads lists, in first-use order, the names the graph reads (node inputs,
// nested subgraphs' reads, graph outputs) without defining them: the values it
// takes from its enclosing scopes.
func (g *Graph) OuterReads() []string {
	local := map[string]bool{"": true}
	for k := range g.Initializers {
		local[k] = true
	}
	for _, v := range g.Inputs {
		local[v.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			local[o] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if !local[name] && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			add(in)
		}
		for _, in := range n.ImplicitInputs() {
			add(in)
		}
	}
	for _, o := range g.Outputs {
		add(o.Name)
	}
	return out
}

// RenameImplicit renames, through f, every value of the enclosing scopes that the
// node's subgraphs read (a value defined inside a subgraph is left alone: ONNX
// forbids a subgraph to shadow an outer name). Passes that rewire readers of a
// value (Identity removal, ReplaceInput) call it so subgraphs follow.
func (n *Node) RenameImplicit(f func(string) string) {
	for _, sg := range n.Subgraphs() {
		sg.renameOuter(f)
	}
}

func (g *Graph) renameOuter(f func(string) string) {
	outer := map[string]bool{}
	for _, name := range g.OuterReads() {
		outer[name] = true
	}
	if len(outer) == 0 {
		return
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if outer[in] {
				n.Inputs[i] = f(in)
			}
		}
		n.RenameImplicit(func(s string) string {
			if outer[s] {
				return f(s)
			}
			return s
		})
	}
	for _, o := range g.Outputs {
		if outer[o.Name] {
			o.Name = f(o.Name)
		}
	}
}

// cloneSubgraphs gives a cloned node its own copies of its subgraphs, so that shape
// inference (which records the subgraphs' value types) and passes on the copy
// leave the original model untouched.
func (n *Node) cloneSubgraphs() {
	for k, a := range n.Attrs {
		if a.Type == AttrGraph && a.G != nil {
			cp := *a
			cp.G = a.G.Clone()
			n.Attrs[k] = &cp
		}
	}
}

package bench

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// indexCarriers pass integer values through unchanged (or only rearranged): token ids
// reach their Gather through them (Cast to int32/int64, Reshape/Flatten of a
// [batch, seq] tensor, Unsqueeze, Transpose to time-major, Identity).
var indexCarriers = map[string]bool{
	"Cast": true, "Identity": true, "Reshape": true, "Flatten": true, "Unsqueeze": true,
	"Squeeze": true, "Transpose": true, "Expand": true, "Slice": true, "Concat": true, "Tile": true,
}

// IndexBounds returns, for each integer input of g that a Gather (or GatherElements)
// reads as its indices (directly or through indexCarriers), the number of entries
// along the gathered axis of the smallest table it indexes: ids drawn from
// [0, bound) are valid for every such table. Embedding lookups (token ids into an
// nn.Embedding weight) are the case synthetic benchmark inputs need: a random int64
// would index far outside the table and the run would fail, or time a different
// path. Inputs with no such Gather, or whose table has no known size, are left out.
func IndexBounds(g *graph.Graph) map[string]int {
	prod, cons := g.Producers(), g.Consumers()
	bounds := map[string]int{}
	for _, in := range g.Inputs {
		if !isIntType(in.DType) {
			continue
		}
		seen := map[string]bool{}
		stack := []string{in.Name}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[v] {
				continue
			}
			seen[v] = true
			for _, n := range cons[v] {
				switch {
				case n.Domain == "" && (n.OpType == "Gather" || n.OpType == "GatherElements") && n.Input(1) == v:
					if rows := tableRows(g, prod, n); rows > 0 {
						if b, ok := bounds[in.Name]; !ok || rows < b {
							bounds[in.Name] = rows
						}
					}
				case n.Domain == "" && indexCarriers[n.OpType] && n.Input(0) == v:
					for _, o := range n.Outputs {
						if o != "" {
							stack = append(stack, o)
						}
					}
				}
			}
		}
	}
	return bounds
}

// tableRows is the size of the gathered axis of a Gather's data, from its declared
// or inferred shape, or from the initializer behind a DequantizeLinear/Identity/Cast
// (an int8 embedding table is an int8 initializer dequantized before the Gather); 0
// when unknown.
func tableRows(g *graph.Graph, prod map[string]*graph.Node, n *graph.Node) int {
	axis := int(n.AttrInt("axis", 0))
	name := n.Input(0)
	for range 8 {
		var shape []int
		if t := g.Initializers[name]; t != nil {
			shape = t.Shape
		} else if v := g.Values[name]; v != nil && v.HasShape {
			shape = make([]int, len(v.Shape))
			for i, d := range v.Shape {
				shape[i] = d.Size // -1 when symbolic
			}
		}
		if len(shape) > 0 {
			a := axis
			if a < 0 {
				a += len(shape)
			}
			if a >= 0 && a < len(shape) && shape[a] > 0 {
				return shape[a]
			}
		}
		p := prod[name]
		if p == nil || p.Domain != "" || (p.OpType != "DequantizeLinear" && p.OpType != "Identity" && p.OpType != "Cast") {
			return 0
		}
		name = p.Input(0)
	}
	return 0
}

func isIntType(t graph.DType) bool {
	switch t {
	case graph.Int64, graph.Int32:
		return true
	}
	return false
}

// indexBound is v's bound in bounds, or an error naming v when it has none.
func indexBound(bounds map[string]int, v *graph.Value) (int, error) {
	b, ok := bounds[v.Name]
	if !ok {
		return 0, fmt.Errorf("input %q: synthetic %s data is drawn only for indices into a table of known size (a Gather reads them); this input indexes none", v.Name, v.DType)
	}
	return b, nil
}

package optimize

import "github.com/warboy-sim/warboy/graph"

// padAxesToFull rewrites Pad-18's pads over an axes input (the spelling of the
// newer exporters at opset 18: F.pad of the last two axes is pads [l, t, r, b]
// over axes [2, 3]) into pads over every axis, the form every later pass reads
// (pad folding into Conv, the int8 and NPU lowerings, the conv1d lift), when
// the pads, the axes and the data's rank are known. Others stay as they are;
// the Pad kernel expands their axes at run time and the passes leave a Pad
// with an axes input alone. It returns the number of Pads rewritten (for tests).
func padAxesToFull(g *graph.Graph) int {
	count := 0
	for _, n := range g.Nodes {
		if !isOp(n, "Pad") || n.Input(3) == "" || n.Input(1) == "" || n.HasAttr("pads") {
			continue
		}
		pt, at, x := g.Initializers[n.Input(1)], g.Initializers[n.Input(3)], g.Values[n.Input(0)]
		if pt == nil || at == nil || x == nil || !x.HasShape {
			continue
		}
		p, err := pt.AsInt64()
		if err != nil {
			continue
		}
		a, err := at.AsInt64()
		if err != nil {
			continue
		}
		full, err := graph.ExpandPadAxes(p, a, len(x.Shape))
		if err != nil {
			continue // shape inference names the node and the error
		}
		name := g.UniqueName(n.Outputs[0] + "_pads")
		g.Initializers[name] = graph.FromInt64([]int{len(full)}, full)
		g.Values[name] = &graph.Value{Name: name, DType: graph.Int64, Shape: graph.ShapeOf(len(full)), HasShape: true}
		n.Inputs[1] = name
		n.Inputs = n.Inputs[:3]
		for len(n.Inputs) > 2 && n.Inputs[len(n.Inputs)-1] == "" {
			n.Inputs = n.Inputs[:len(n.Inputs)-1]
		}
		count++
	}
	return count
}

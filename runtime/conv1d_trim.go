package runtime

// A causal convolution in PyTorch is usually written as a Conv padded by
// (k-1)·d on both sides followed by a Slice that drops the right padding's
// outputs (the TCN reference code's Chomp1d, x[:, :, :-pad]): the convolution
// computes outputs that are thrown away, and the Slice copies the rest. Those
// outputs are exactly the ones the end padding produces, so the Slice folds
// into the Conv as asymmetric pads: dropping c outputs at the end of an axis of
// stride s is padding c·s less at that end (and dropping b at the start, b·s
// less at the start). Quantize/Dequantize pairs between the Conv and the Slice
// (a QDQ graph) are elementwise and stay, on the shorter tensor.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// foldConvTrims folds Slices that trim a Conv's output along spatial axes into
// its pads. It returns the number of Slices folded.
func foldConvTrims(m *graph.Model, keep map[string]bool) (int, error) {
	g := m.Graph
	cons := g.Consumers()
	prod := g.Producers()
	dead := map[*graph.Node]bool{}
	count := 0
	for _, sl := range g.Nodes {
		if !isDefaultOp(sl, "Slice") || len(sl.Outputs) != 1 || m.Opset() < 10 {
			continue
		}
		// Walk back over single-reader Quantize/Dequantize to the Conv.
		var chain []*graph.Node
		x := sl.Input(0)
		conv := prod[x]
		for conv != nil && (isDefaultOp(conv, "QuantizeLinear") || isDefaultOp(conv, "DequantizeLinear")) {
			if !trimmable(g, conv.Outputs[0], cons, keep) || conv.Input(0) == "" || valueRank(g, conv.Input(1)) > 1 {
				conv = nil
				break
			}
			if a, r := conv.AttrInt("axis", 1), int64(valueRank(g, x)); valueRank(g, conv.Input(1)) == 1 && a != 1 && a != 1-r {
				conv = nil // per-axis along a spatial axis
				break
			}
			chain = append(chain, conv)
			conv = prod[conv.Input(0)]
		}
		if conv == nil || !isDefaultOp(conv, "Conv") || len(conv.Outputs) != 1 || !trimmable(g, conv.Outputs[0], cons, keep) {
			continue
		}
		if ap := conv.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" {
			continue
		}
		y := g.Values[conv.Outputs[0]]
		if y == nil || !y.HasShape || len(y.Shape) < 3 {
			continue
		}
		pads, ok := convTrimPads(g, conv, sl, y.Shape)
		if !ok {
			continue
		}
		conv.SetAttrInts("pads", pads)
		// The Slice's output is now the last node of the chain's.
		last := conv
		if len(chain) > 0 {
			last = chain[0]
		}
		last.Outputs[0] = sl.Outputs[0]
		dead[sl] = true
		count++
	}
	if count == 0 {
		return 0, nil
	}
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		if !dead[n] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	if _, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()}); err != nil {
		return 0, fmt.Errorf("runtime: Slices folded into Conv pads: %w", err)
	}
	return count, nil
}

// trimmable reports whether name is read by one node only and is not kept.
func trimmable(g *graph.Graph, name string, cons map[string][]*graph.Node, keep map[string]bool) bool {
	return len(cons[name]) == 1 && !keep[name] && !g.IsGraphOutput(name)
}

// convTrimPads returns the Conv's pads with the Slice folded in, if the Slice
// trims spatial axes only, with step 1, by no more than the padding there.
func convTrimPads(g *graph.Graph, conv, sl *graph.Node, shape graph.Shape) ([]int64, bool) {
	r := len(shape)
	nsp := r - 2
	ints := func(i int) ([]int64, bool) {
		t := g.Initializers[sl.Input(i)]
		if t == nil {
			return nil, sl.Input(i) == ""
		}
		v, err := t.AsInt64()
		return v, err == nil
	}
	starts, ok1 := ints(1)
	ends, ok2 := ints(2)
	axes, ok3 := ints(3)
	steps, ok4 := ints(4)
	if !ok1 || !ok2 || !ok3 || !ok4 || starts == nil || ends == nil || len(starts) != len(ends) {
		return nil, false
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
		return nil, false
	}
	pads := conv.AttrInts("pads", nil)
	if pads == nil {
		pads = make([]int64, 2*nsp)
	}
	strides := conv.AttrInts("strides", nil)
	if len(pads) != 2*nsp || (strides != nil && len(strides) != nsp) {
		return nil, false
	}
	out := append([]int64(nil), pads...)
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 2 || a >= int64(r) || (steps != nil && steps[i] != 1) {
			return nil, false
		}
		sp := int(a) - 2
		s := int64(1)
		if strides != nil {
			s = strides[sp]
		}
		n := int64(shape[a].Size) // -1 when symbolic
		b, e := starts[i], ends[i]
		// What is dropped at each end, without guessing a symbolic length.
		var drop0, drop1 int64
		switch {
		case b >= 0:
			drop0 = b
		case n >= 0:
			drop0 = max(0, n+b)
		default:
			return nil, false
		}
		switch {
		case e < 0:
			drop1 = -e
		case e >= math.MaxInt32:
			drop1 = 0
		case n >= 0:
			drop1 = max(0, n-e)
		default:
			return nil, false
		}
		if n >= 0 && drop0+drop1 >= n {
			return nil, false
		}
		if drop0*s > out[sp] || drop1*s > out[sp+nsp] {
			return nil, false
		}
		out[sp] -= drop0 * s
		out[sp+nsp] -= drop1 * s
	}
	return out, true
}

package qat

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// zeroGradOps are the operators whose output is piecewise constant: their
// derivative is zero almost everywhere (and undefined at the steps), and
// PyTorch's autograd passes nothing back through them. A model uses them beside
// its differentiable path (a duration predictor's Round in front of the length
// regulator, a Floor that makes an index, a Sign that picks a direction), so
// they train as PyTorch trains them: values forward, no gradient back. What then
// learns nothing is found before training (checkGradientPaths) and reported.
var zeroGradOps = map[string]bool{"Round": true, "Floor": true, "Ceil": true, "Sign": true}

// stepFunc returns the forward function of a zero-gradient operator, the
// runtime's (op_elementwise.go): Round rounds half to even, Sign keeps 0, -0
// and NaN.
func stepFunc(opType string) func(float64) float64 {
	switch opType {
	case "Round":
		return math.RoundToEven
	case "Floor":
		return math.Floor
	case "Ceil":
		return math.Ceil
	case "Sign":
		return func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x
		}
	}
	return nil
}

// buildStep builds a zero-gradient operator as an activation without a
// derivative: actOp's backward pass then adds nothing to its input's gradient.
func buildStep(b *builder, node *graph.Node) (built, error) {
	f := stepFunc(node.OpType)
	if f == nil {
		return built{}, fmt.Errorf("%w: %s", ErrNoGradient, node.OpType)
	}
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &actOp{node: node.Label(), in: in, out: b.slot(), f: f}
	return built{o, o.out}, nil
}

// NoGradient reports the parameters no gradient reaches: every path from them to
// the trained outputs passes through an operator whose gradient is zero almost
// everywhere (Through: Round, Floor, Ceil, Sign nodes) or that turns values into
// integers, indices or masks (a Cast to an integer type, ArgMax, a comparison).
// They keep their values (and are fake-quantized and written like the others).
type NoGradient struct {
	Params  []string
	Through []string
}

func (e *NoGradient) String() string {
	return fmt.Sprintf("%d parameters (%s) get no gradient: every path from them to the outputs passes through %s, which pass none back (a step function's gradient is zero almost everywhere, an integer or index has none); they keep their values",
		len(e.Params), abbreviate(e.Params, 4), abbreviate(e.Through, 4))
}

func abbreviate(names []string, k int) string {
	if len(names) <= k {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:k], ", "), len(names)-k)
}

// NoGradient returns the parameters training leaves as they are (nil when every
// parameter has a path to the outputs).
func (n *Net) NoGradient() *NoGradient { return n.noGrad }

// checkGradientPaths walks the graph back from the trained outputs along the
// paths a gradient takes: not into a zero-gradient operator's inputs, not into
// shape arithmetic. A parameter none of whose readers is reached learns nothing;
// when that is every parameter there is nothing to train and New says where the
// gradient stops, otherwise the net records them (Net.NoGradient).
func (b *builder) checkGradientPaths(outs []*graph.Value) error {
	g := b.g
	want := map[string]bool{}
	for _, o := range outs {
		want[o.Name] = true
	}
	reached := map[int]bool{}
	var stops []int
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		node := g.Nodes[i]
		for _, o := range node.Outputs {
			if o != "" && want[o] {
				reached[i] = true
				break
			}
		}
		if !reached[i] {
			continue
		}
		if zeroGradOps[node.OpType] && node.Domain == "" {
			stops = append(stops, i)
			continue
		}
		if b.shapeNodes[i] {
			continue
		}
		for _, in := range nodeReads(node) {
			if in != "" {
				want[in] = true
			}
		}
	}
	for i, node := range g.Nodes {
		if b.shapeNodes[i] && b.readsTrained(node) {
			// an integer, index or mask computed from an activation (ArgMax,
			// a Cast to int64, a comparison): no gradient passes
			stops = append(stops, i)
		}
	}
	if len(stops) == 0 {
		return nil
	}
	var dead []*Param
	deadNode := map[int]bool{}
	trained := 0
	for _, p := range b.n.params {
		nodes := b.paramNodes[p]
		live := len(nodes) == 0 // made outside a node's builder: not ours to judge
		for _, i := range nodes {
			live = live || reached[i]
		}
		if live {
			trained++
			continue
		}
		dead = append(dead, p)
		for _, i := range nodes {
			deadNode[i] = true
		}
	}
	if len(dead) == 0 {
		return nil
	}
	// the zero-gradient nodes that stand between those parameters and the
	// outputs: the reached ones with a dead reader of a parameter upstream
	var through []string
	for _, s := range stops {
		if b.upstreamOf(s, deadNode) {
			through = append(through, g.Nodes[s].Label())
		}
	}
	if len(through) == 0 { // not expected: every unreached reader is behind a stop
		for _, s := range stops {
			through = append(through, g.Nodes[s].Label())
		}
	}
	sort.Strings(through)
	names := make([]string, len(dead))
	for i, p := range dead {
		names[i] = p.Name
	}
	sort.Strings(names)
	if trained == 0 {
		return fmt.Errorf("qat: no parameter gets a gradient: every path from the weights to the outputs passes through %s, which pass none back: %w",
			abbreviate(through, 4), ErrNoGradient)
	}
	b.n.noGrad = &NoGradient{Params: names, Through: through}
	return nil
}

// upstreamOf reports whether a node of set is s or feeds it through anything
// but shape arithmetic.
func (b *builder) upstreamOf(s int, set map[int]bool) bool {
	g := b.g
	if set[s] {
		return true
	}
	want := map[string]bool{}
	for _, in := range nodeReads(g.Nodes[s]) {
		if in != "" {
			want[in] = true
		}
	}
	for i := s - 1; i >= 0; i-- {
		node := g.Nodes[i]
		hit := false
		for _, o := range node.Outputs {
			if o != "" && want[o] {
				hit = true
				break
			}
		}
		if !hit || b.shapeNodes[i] {
			continue
		}
		if set[i] {
			return true
		}
		for _, in := range nodeReads(node) {
			if in != "" {
				want[in] = true
			}
		}
	}
	return false
}

package qat

import (
	"fmt"
	"math"
	"slices"
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
// everywhere (Through: Round, Floor, Ceil, Sign nodes), that turns values into
// integers, indices or masks (a Cast to an integer type, ArgMax, a comparison),
// or that reads them as a roi pooling's boxes (RoiAlign, MaxRoiPool) or a
// nearest GridSample's grid.
// They keep their values (and are fake-quantized and written like the others).
//
// RaggedOnly are the weights that compute nothing but outputs whose length is set
// by the values (RaggedOutputs, ragged.go), which the outputs loss does not match.
type NoGradient struct {
	Params        []string
	Through       []string
	RaggedOnly    []string
	RaggedOutputs []string
}

func (e *NoGradient) String() string {
	var parts []string
	if len(e.Params) > 0 {
		parts = append(parts, fmt.Sprintf("%d parameters (%s) get no gradient: every path from them to the outputs passes through %s, which pass none back (a step function's gradient is zero almost everywhere, an integer or index has none, nor do a roi pooling's boxes or a nearest sampling's grid); they keep their values",
			len(e.Params), abbreviate(e.Params, 4), abbreviate(e.Through, 4)))
	}
	if len(e.RaggedOnly) > 0 {
		parts = append(parts, fmt.Sprintf("%d parameters (%s) get no gradient: they compute only %s, whose length is set by the values and which training does not match; they keep their values",
			len(e.RaggedOnly), abbreviate(e.RaggedOnly, 4), strings.Join(e.RaggedOutputs, ", ")))
	}
	return strings.Join(parts, "; ")
}

// All lists every parameter that gets no gradient.
func (e *NoGradient) All() []string {
	all := append(append([]string(nil), e.Params...), e.RaggedOnly...)
	sort.Strings(all)
	return all
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
func (b *builder) checkGradientPaths(starts []string, raggedOuts []string) error {
	g := b.g
	want := map[string]bool{}
	for _, o := range starts {
		want[o] = true
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
		for _, in := range gradReads(node) {
			if in != "" {
				want[in] = true
			}
		}
	}
	for i, node := range g.Nodes {
		if reached[i] {
			for _, k := range noGradOperands(node) {
				if k < len(node.Inputs) && b.trained[node.Inputs[k]] {
					// boxes or a nearest grid computed from the network (a
					// detector's proposals): what computes only them is trained
					// through nothing here
					stops = append(stops, i)
					break
				}
			}
		}
		if b.shapeNodes[i] && b.readsTrained(node) && node.OpType != "Shape" && node.OpType != "Size" {
			// (Shape and Size read no values: nothing was to pass there)
			// an integer, index or mask computed from an activation (ArgMax,
			// a Cast to int64, a comparison): no gradient passes
			stops = append(stops, i)
		}
	}
	if len(stops) == 0 && raggedOuts == nil {
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
	cut := map[int]bool{}
	for _, s := range stops {
		hit := false
		for i := range b.upstream(s) {
			if deadNode[i] {
				hit, cut[i] = true, true
			}
		}
		if hit {
			through = append(through, g.Nodes[s].Label())
		}
	}
	sort.Strings(through)
	var names, only []string
	for _, p := range dead {
		isCut := false
		for _, i := range b.paramNodes[p] {
			isCut = isCut || cut[i]
		}
		if isCut || raggedOuts == nil {
			names = append(names, p.Name)
		} else {
			// reached from the ragged outputs only, which the loss does not match
			only = append(only, p.Name)
		}
	}
	if len(through) == 0 && raggedOuts == nil { // not expected: every unreached reader is behind a stop
		for _, s := range stops {
			through = append(through, g.Nodes[s].Label())
		}
	}
	sort.Strings(names)
	sort.Strings(only)
	if trained == 0 {
		return fmt.Errorf("qat: no parameter gets a gradient: every path from the weights to what training matches passes through %s, which pass none back: %w",
			abbreviate(append(append([]string(nil), through...), raggedOuts...), 4), ErrNoGradient)
	}
	if len(names) == 0 && len(only) == 0 {
		return nil
	}
	b.n.noGrad = &NoGradient{Params: names, Through: through, RaggedOnly: only, RaggedOutputs: raggedOuts}
	for _, p := range dead {
		p.frozen = true
	}
	return nil
}

// noGradOperands are the operands of node that pass no gradient back whatever
// computes them: the boxes of the roi poolings (torchvision's roi_align and
// roi_pool return none for them) and RoiAlign's batch indices, and the grid of
// a nearest GridSample (PyTorch's grid_sampler returns zeros for it: a
// nearest pick is a step in the location).
func noGradOperands(node *graph.Node) []int {
	if node.Domain != "" {
		return nil
	}
	switch node.OpType {
	case "RoiAlign":
		return []int{1, 2}
	case "MaxRoiPool":
		return []int{1}
	case "GridSample":
		if node.AttrString("mode", "bilinear") == "nearest" {
			return []int{1}
		}
	}
	return nil
}

// gradReads is what node reads that a gradient can reach: nodeReads without its
// noGradOperands.
func gradReads(node *graph.Node) []string {
	skip := noGradOperands(node)
	if skip == nil {
		return nodeReads(node)
	}
	var out []string
	for i, in := range nodeReads(node) {
		if !slices.Contains(skip, i) {
			out = append(out, in)
		}
	}
	return out
}

// upstream returns s and the nodes that feed it through anything but shape
// arithmetic.
func (b *builder) upstream(s int) map[int]bool {
	g := b.g
	up := map[int]bool{s: true}
	want := map[string]bool{}
	for _, in := range nodeReads(g.Nodes[s]) { // a roi pooling's boxes too
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
		up[i] = true
		for _, in := range gradReads(node) {
			if in != "" {
				want[in] = true
			}
		}
	}
	return up
}

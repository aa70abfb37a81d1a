package graph

// Einsum: the equation parser (shared by the shape schema and the runtime kernel) and
// the shape schema. torch.onnx writes Einsum for torch.einsum (MaxViT's relative
// attention: "B G H I D, B G H J D -> B G H I J"), with spaces in the equation.

import (
	"fmt"
	"sort"
	"strings"
)

// EinsumSpec is a parsed Einsum equation bound to operand ranks. Every subscript
// (letters, and one label per dimension an ellipsis covers) is numbered 0..Labels-1.
type EinsumSpec struct {
	Labels int
	// Operands[i][d] is the label of dimension d of operand i (a label repeated in one
	// operand takes its diagonal).
	Operands [][]int
	// Output[d] is the label of output dimension d.
	Output []int
}

// ParseEinsum parses equation for operands of the given ranks. Spaces are ignored;
// without "->" the output is the labels used once, in alphabetical order, after the
// ellipsis dimensions (numpy's implicit mode).
func ParseEinsum(equation string, ranks []int) (*EinsumSpec, error) {
	eq := strings.ReplaceAll(equation, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, fmt.Errorf("equation %q has %d operands, the node has %d inputs", equation, len(terms), len(ranks))
	}
	labels := map[rune]int{}
	label := func(r rune) (int, error) {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return 0, fmt.Errorf("equation %q: %q is not a subscript letter", equation, r)
		}
		if l, ok := labels[r]; ok {
			return l, nil
		}
		labels[r] = len(labels) + 64 // ellipsis dimensions take 0..63
		return labels[r], nil
	}
	ell := -1 // dimensions an ellipsis stands for (the largest over the operands)
	spec := &EinsumSpec{Operands: make([][]int, len(terms))}
	parse := func(term string, rank int) ([]int, error) {
		pre, post, hasEll := strings.Cut(term, "...")
		if strings.Contains(post, "...") {
			return nil, fmt.Errorf("equation %q: more than one ellipsis in %q", equation, term)
		}
		var out []int
		for _, r := range pre {
			l, err := label(r)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		n := 0
		if hasEll {
			n = rank - len([]rune(pre)) - len([]rune(post))
			if rank < 0 {
				n = ell // the output: as many as the operands
			}
			if n < 0 || n > 64 {
				return nil, fmt.Errorf("equation %q: term %q does not fit rank %d", equation, term, rank)
			}
			// Ellipsis dimensions are aligned to the right (numpy broadcasting).
			for d := 0; d < n; d++ {
				out = append(out, 64-n+d)
			}
			if rank >= 0 && n > ell {
				ell = n
			}
		}
		for _, r := range post {
			l, err := label(r)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		if rank >= 0 && len(out) != rank {
			return nil, fmt.Errorf("equation %q: term %q has %d subscripts, the input has rank %d", equation, term, len(out), rank)
		}
		return out, nil
	}
	for i, t := range terms {
		o, err := parse(t, ranks[i])
		if err != nil {
			return nil, err
		}
		spec.Operands[i] = o
	}
	if ell < 0 {
		ell = 0
	}
	if explicit {
		o, err := parse(rhs, -1)
		if err != nil {
			return nil, err
		}
		seen := map[int]bool{}
		for _, l := range o {
			if seen[l] {
				return nil, fmt.Errorf("equation %q: output subscript repeated", equation)
			}
			seen[l] = true
			if l >= 64 && !einsumUses(spec.Operands, l) {
				return nil, fmt.Errorf("equation %q: output subscript not in any input", equation)
			}
		}
		spec.Output = o
	} else {
		for d := 0; d < ell; d++ {
			spec.Output = append(spec.Output, 64-ell+d)
		}
		count := map[rune]int{}
		for _, t := range terms {
			for _, r := range strings.ReplaceAll(t, "...", "") {
				count[r]++
			}
		}
		var once []rune
		for r, c := range count {
			if c == 1 {
				once = append(once, r)
			}
		}
		sort.Slice(once, func(i, j int) bool { return once[i] < once[j] })
		for _, r := range once {
			spec.Output = append(spec.Output, labels[r])
		}
	}
	// Renumber the labels densely.
	dense := map[int]int{}
	renum := func(ls []int) {
		for i, l := range ls {
			if _, ok := dense[l]; !ok {
				dense[l] = len(dense)
			}
			ls[i] = dense[l]
		}
	}
	for _, o := range spec.Operands {
		renum(o)
	}
	renum(spec.Output)
	spec.Labels = len(dense)
	return spec, nil
}

func einsumUses(ops [][]int, l int) bool {
	for _, o := range ops {
		for _, x := range o {
			if x == l {
				return true
			}
		}
	}
	return false
}

// Sizes returns the size of every label for operands of these shapes (a size-1
// dimension broadcasts against a larger one), or an error naming the conflict.
func (s *EinsumSpec) Sizes(shapes [][]int) ([]int, error) {
	sz := make([]int, s.Labels)
	for i := range sz {
		sz[i] = 1
	}
	set := make([]bool, s.Labels)
	for i, o := range s.Operands {
		for d, l := range o {
			n := shapes[i][d]
			switch {
			case !set[l] || sz[l] == 1:
				sz[l], set[l] = n, true
			case n != sz[l] && n != 1:
				return nil, fmt.Errorf("input %d dimension %d is %d where another input has %d", i, d, n, sz[l])
			}
		}
	}
	return sz, nil
}

func inferEinsum(c *InferContext) ([]*Value, []*Tensor, error) {
	eq := c.Node.AttrString("equation", "")
	if eq == "" {
		return nil, nil, c.Errorf("missing attribute equation")
	}
	ranks := make([]int, len(c.Node.Inputs))
	var dt DType
	for i := range ranks {
		v := c.Input(i)
		if v == nil {
			return nil, nil, c.Errorf("input %d is missing", i)
		}
		if i == 0 {
			dt = v.DType
		} else if v.DType != dt && v.DType != Undefined && dt != Undefined {
			return nil, nil, c.Errorf("inputs are %s and %s (dtype mismatch)", dt, v.DType)
		}
		if !v.HasShape {
			return []*Value{{DType: dt}}, nil, nil
		}
		ranks[i] = len(v.Shape)
	}
	spec, err := ParseEinsum(eq, ranks)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	// A label's size: a known size other than 1 wins; a symbolic one is kept by name.
	dims := make([]Dim, spec.Labels)
	for i := range dims {
		dims[i] = Dim{Size: -2}
	}
	for i, o := range spec.Operands {
		for d, l := range o {
			x := c.Input(i).Shape[d]
			cur := dims[l]
			switch {
			case cur.Size == -2 || cur.Size == 1:
				dims[l] = x
			case x.Known() && cur.Known() && x.Size != cur.Size && x.Size != 1:
				return nil, nil, c.Errorf("equation %q: input %d dimension %d is %d where another input has %d", eq, i, d, x.Size, cur.Size)
			case x.Known() && x.Size != 1 && !cur.Known():
				dims[l] = x
			}
		}
	}
	out := make(Shape, len(spec.Output))
	for d, l := range spec.Output {
		out[d] = dims[l]
	}
	return []*Value{nnValue(dt, out)}, nil, nil
}

// einsumMACs counts a product of two or more operands as one multiply-accumulate per
// combination of label values (the product of every label's size); a one-operand
// Einsum (transpose, trace) multiplies nothing.
func (g *Graph) einsumMACs(n *Node) int64 {
	if len(n.Inputs) < 2 {
		return 0
	}
	shapes := make([][]int, len(n.Inputs))
	ranks := make([]int, len(n.Inputs))
	for i, in := range n.Inputs {
		s, ok := g.concreteShape(in)
		if !ok {
			return -1
		}
		shapes[i], ranks[i] = s, len(s)
	}
	spec, err := ParseEinsum(n.AttrString("equation", ""), ranks)
	if err != nil {
		return 0
	}
	sz, err := spec.Sizes(shapes)
	if err != nil {
		return 0
	}
	macs := int64(len(n.Inputs) - 1)
	for _, s := range sz {
		macs *= int64(s)
	}
	return macs
}

func init() {
	RegisterOp(OpSchema{OpType: "Einsum", SinceOpset: 12, Attrs: []string{"equation"}, Infer: inferEinsum})
}

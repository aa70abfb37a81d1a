package graph

import (
	"fmt"
	"sort"
	"strings"
)

// ShareSymbolicDims completes the user's input shapes (NAME -> concrete shape, the
// --input-shape flag) across inputs. A symbolic dimension's name (dim_param) means
// the same size wherever it appears in the model, so binding one input binds the
// names of its symbolic dimensions for every input: an input the user did not
// give whose dimensions are all either static or named and so bound is added to
// the result, so a transformer's attention_mask [batch,seq] follows from
// input_ids=1,128. Anonymous symbolic dimensions (no name) are never shared, and an
// input with a name still unbound is left out (ResolveInputShapes then names that
// dimension): nothing is guessed. Two given shapes that put different sizes on one
// name are an error naming both inputs and the dimension. given is not modified;
// each given shape must fit its declaration (CheckInputShape) and name an input.
func ShareSymbolicDims(g *Graph, given map[string][]int) (map[string][]int, error) {
	out, _, err := shareSymbolicDims(g, given)
	return out, err
}

// shareSymbolicDims is ShareSymbolicDims, also returning the bound names (for the
// example shape of an error about an input that stays incomplete).
func shareSymbolicDims(g *Graph, given map[string][]int) (map[string][]int, map[string]dimBinding, error) {
	names, err := boundDimNames(g, given)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]int, len(given))
	for n, s := range given {
		out[n] = s
	}
	if len(names) == 0 {
		return out, names, nil
	}
	for _, in := range g.Inputs {
		if _, ok := given[in.Name]; ok || g.Initializers[in.Name] != nil || !in.HasShape {
			continue
		}
		s, complete, symbolic := make([]int, len(in.Shape)), true, false
		for i, d := range in.Shape {
			if d.Known() {
				s[i] = d.Size
				continue
			}
			symbolic = true
			b, ok := names[d.Param]
			if d.Param == "" || !ok {
				complete = false
				break
			}
			s[i] = b.size
		}
		if complete && symbolic {
			out[in.Name] = s
		}
	}
	return out, names, nil
}

// dimBinding is the size a given input puts on a symbolic dimension name, and where.
type dimBinding struct {
	size  int
	input string
	axis  int
}

// boundDimNames maps each symbolic dimension name of the given inputs to the size
// given for it, checking that the shapes fit their declarations and agree.
func boundDimNames(g *Graph, given map[string][]int) (map[string]dimBinding, error) {
	if err := checkGivenNames(g, given); err != nil {
		return nil, err
	}
	names := map[string]dimBinding{}
	for _, in := range g.Inputs { // declaration order: errors do not depend on map order
		s, ok := given[in.Name]
		if !ok || g.Initializers[in.Name] != nil {
			continue
		}
		if err := CheckInputShape(in, s); err != nil {
			return nil, err
		}
		if !in.HasShape {
			continue
		}
		for i, d := range in.Shape {
			if d.Known() || d.Param == "" {
				continue
			}
			prev, ok := names[d.Param]
			if !ok {
				names[d.Param] = dimBinding{size: s[i], input: in.Name, axis: i}
				continue
			}
			if prev.size != s[i] {
				return nil, fmt.Errorf("symbolic dimension %q is %d in input %q (dimension %d) but %d in input %q (dimension %d); "+
					"a name is one size across the model's inputs", d.Param, prev.size, prev.input, prev.axis, s[i], in.Name, i)
			}
		}
	}
	return names, nil
}

// checkGivenNames refuses shapes given for names that are not inputs of g.
func checkGivenNames(g *Graph, given map[string][]int) error {
	var unknownNames []string
	for name := range given {
		if g.Input(name) == nil {
			unknownNames = append(unknownNames, name)
		}
	}
	if len(unknownNames) == 0 {
		return nil
	}
	sort.Strings(unknownNames)
	var names []string
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] == nil {
			names = append(names, in.Name)
		}
	}
	consts := ""
	for _, n := range unknownNames {
		if t := g.Initializers[n]; t != nil {
			// A graph input an initializer also gives (ONNX IR >= 4) is read as that
			// constant, so its shape is the initializer's.
			consts = fmt.Sprintf(" (%q is an initializer of shape %s, a constant: its shape cannot be bound)", n, FormatDims(t.Shape))
			break
		}
	}
	return fmt.Errorf("input shape given for %s, but the model's inputs are %s%s",
		strings.Join(quoteAll(unknownNames), ", "), strings.Join(quoteAll(names), ", "), consts)
}

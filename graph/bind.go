package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// ResolveInputShapes returns a concrete shape for every graph input that declares one.
// Dimensions are taken, in order of precedence, from given (the user's
// --input-shape NAME=d0,d1,...), from the model's declaration, and, for the leading
// dimension only, from batch when batch > 0 (the batch axis of an image or sequence
// model). A symbolic dimension name bound by one given shape binds it in every
// input (ShareSymbolicDims), ahead of batch. A dimension that is still unknown is an
// error naming the input and the dimension: a symbolic height or width is never
// silently replaced by a guess.
// Given shapes must match the declared rank and every declared size.
func ResolveInputShapes(g *Graph, batch int, given map[string][]int) (map[string][]int, error) {
	given, names, err := shareSymbolicDims(g, given)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] != nil {
			continue
		}
		if s, ok := given[in.Name]; ok {
			out[in.Name] = append([]int(nil), s...)
			continue
		}
		if !in.HasShape {
			return nil, fmt.Errorf("input %q declares no shape; give it with --input-shape %s=d0,d1,...", in.Name, in.Name)
		}
		s := make([]int, len(in.Shape))
		for i, d := range in.Shape {
			switch {
			case d.Known():
				s[i] = d.Size
			case d.Param != "" && names[d.Param].input != "":
				s[i] = names[d.Param].size
			case i == 0 && batch > 0:
				s[i] = batch
			default:
				return nil, fmt.Errorf("input %q: dimension %d (%s) of %s is symbolic; give it with --input-shape %s=%s",
					in.Name, i, d, in.Shape, in.Name, exampleShape(in.Shape, batch, names))
			}
		}
		out[in.Name] = s
	}
	return out, nil
}

// CheckInputShape reports whether the concrete shape s fits the declared shape of input
// in (same rank, same size wherever the declaration is concrete).
func CheckInputShape(in *Value, s []int) error {
	if !in.HasShape {
		return nil
	}
	if len(s) != len(in.Shape) {
		return fmt.Errorf("input %q: shape %s has rank %d, the model declares %s (rank %d)", in.Name, FormatDims(s), len(s), in.Shape, len(in.Shape))
	}
	for i, d := range in.Shape {
		if s[i] < 0 {
			return fmt.Errorf("input %q: dimension %d of %s is negative", in.Name, i, FormatDims(s))
		}
		if d.Known() && d.Size != s[i] {
			return fmt.Errorf("input %q: shape %s does not fit the declared %s (dimension %d is %d, not %d)", in.Name, FormatDims(s), in.Shape, i, s[i], d.Size)
		}
	}
	return nil
}

// ParseInputShape parses NAME=d0,d1,... (the --input-shape flag). Dimensions are
// non-negative integers, separated by commas or 'x'.
func ParseInputShape(s string) (string, []int, error) {
	name, dims, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.TrimSpace(dims) == "" {
		if i := strings.LastIndex(s, ":"); !ok && i > 0 && looksLikeDims(s[i+1:]) {
			// trtexec's NAME:DIMS form.
			return "", nil, fmt.Errorf("input shape %q: want NAME=d0,d1,...: write %s=%s (a name holding ':', as tf2onnx's input_ids:0, keeps it)",
				s, s[:i], s[i+1:])
		}
		return "", nil, fmt.Errorf("input shape %q: want NAME=d0,d1,... (e.g. images=1,3,640,640)", s)
	}
	if strings.Contains(dims, "=") {
		return "", nil, fmt.Errorf("input shape %q gives several inputs in one flag: give each its own, %s", s, severalShapes(s))
	}
	fields := strings.FieldsFunc(dims, func(r rune) bool { return r == ',' || r == 'x' })
	out := make([]int, len(fields))
	for i, f := range fields {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return "", nil, fmt.Errorf("input shape %q: dimension %q is not a non-negative integer", s, f)
		}
		out[i] = v
	}
	return name, out, nil
}

// FormatDims writes a concrete shape the way Shape.String writes a declared one, so an
// error that shows both uses one notation.
func FormatDims(s []int) string {
	return ShapeOf(s...).String()
}

func exampleShape(s Shape, batch int, names map[string]dimBinding) string {
	parts := make([]string, len(s))
	for i, d := range s {
		b, bound := names[d.Param]
		switch {
		case d.Known():
			parts[i] = strconv.Itoa(d.Size)
		case d.Param != "" && bound:
			parts[i] = strconv.Itoa(b.size)
		case i == 0 && batch > 0:
			parts[i] = strconv.Itoa(batch)
		default:
			parts[i] = strings.ToUpper(d.String())
			if d.Param == "" {
				parts[i] = "D" + strconv.Itoa(i)
			}
		}
	}
	return strings.Join(parts, ",")
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// looksLikeDims reports whether s is two or more numbers separated by commas or 'x'
// (not the ":0" of a tf2onnx name).
func looksLikeDims(s string) bool {
	if s == "" || strings.Trim(s, "0123456789,x") != "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	return strings.ContainsAny(s, ",x")
}

// severalShapes rewrites "a=1,2,b=3,4" (or with ';' or spaces between) as one flag
// per input: "--input-shape a=1,2 --input-shape b=3,4".
func severalShapes(s string) string {
	var flags []string
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if strings.Contains(tok, "=") || len(flags) == 0 {
			flags = append(flags, tok)
			continue
		}
		flags[len(flags)-1] += "," + tok
	}
	return "--input-shape " + strings.Join(flags, " --input-shape ")
}

package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// inputShapes is the repeatable --input-shape NAME=d0,d1,... flag shared by every
// command that runs or sizes a model: it binds symbolic dimensions (batch, height,
// width, sequence length) that neither the model nor the data fix.
type inputShapes map[string][]int

func (s inputShapes) String() string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		dims := make([]string, len(s[n]))
		for j, d := range s[n] {
			dims[j] = fmt.Sprint(d)
		}
		parts[i] = n + "=" + strings.Join(dims, ",")
	}
	return strings.Join(parts, " ")
}

func (s inputShapes) Set(v string) error {
	name, dims, err := graph.ParseInputShape(v)
	if err != nil {
		return err
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("input %q is given twice", name)
	}
	s[name] = dims
	return nil
}

// addInputShapeFlag registers --input-shape on fs and returns the map it fills.
func addInputShapeFlag(fs *flag.FlagSet) inputShapes {
	s := inputShapes{}
	fs.Var(s, "input-shape", "bind an input's symbolic dimensions: NAME=d0,d1,... (repeatable), e.g. images=1,3,640,640")
	return s
}

// share adds to s the shape of every input that the given shapes fix through the
// names of their symbolic dimensions (graph.ShareSymbolicDims): one binding of
// input_ids=1,128 also binds attention_mask [batch,seq]. Every command that takes
// --input-shape calls it once the model is loaded, so data loading, calibration,
// binding and simulation all see the same complete set of shapes.
func (s inputShapes) share(g *graph.Graph) error {
	if len(s) == 0 {
		return nil
	}
	all, err := graph.ShareSymbolicDims(g, s)
	if err != nil {
		return err
	}
	for name, dims := range all {
		s[name] = dims
	}
	return nil
}

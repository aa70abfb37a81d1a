package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// warnInitializerArrays says which arrays of a `run --input` .npz archive are named
// after an initializer that the model also lists as a graph input (ONNX IR >= 4: a
// default value a run may override). warboy reads such an input as its initializer,
// a constant (weights are quantized and folded), so the array is not used, where ONNX
// Runtime would use it (twenty-third session; before: ignored silently).
func warnInitializerArrays(path string, m *graph.Model, stderr io.Writer) {
	if !strings.HasSuffix(path, ".npz") || len(m.Graph.Initializers) == 0 {
		return
	}
	arrays, err := dataset.ReadNPZ(path)
	if err != nil {
		return // the data path reports it
	}
	var names []string
	for name := range arrays {
		if m.Graph.Initializers[name] != nil && m.Graph.Input(name) == nil {
			names = append(names, fmt.Sprintf("%q", name))
		}
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprintf(stderr, "warning: %s: array %s not used: %s initializer of the model, a constant (ONNX Runtime lets a run override "+
		"an initializer the model also lists as a graph input, ONNX IR >= 4; warboy runs the model's value)\n",
		path, strings.Join(names, ", "), plural(len(names), "it is an", "each is an"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

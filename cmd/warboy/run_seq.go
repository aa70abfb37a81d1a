package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// Sequence outputs of `run` (an ONNX sequence: a list of tensors of possibly
// different shapes). In .npz files they are spelled as bench/dataset/npzseq.go
// says (NAME.0, NAME.1, ...; NAME.empty for an empty one); in the report an
// output that is a sequence has "sequence": true, dtype its elements' type, no
// shape, and one entry per element in "elements" (name NAME.i, dtype, shape,
// data).

// runElement is one tensor of a sequence output.
type runElement struct {
	Name  string    `json:"name"`
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// seqOutputNames lists the model outputs that are sequences.
func seqOutputNames(outs []*graph.Value) []string {
	var names []string
	for _, o := range outs {
		if o.Seq {
			names = append(names, o.Name)
		}
	}
	return names
}

// seqRunOutput is the report entry of sequence output t named name; the
// elements' values are left out when they go to a file (withData false).
func seqRunOutput(name string, t *graph.Tensor, withData bool) (runOutput, error) {
	elems, _ := t.SeqElems()
	ro := runOutput{Name: name, DType: t.DType.String(), Sequence: true, Elements: []runElement{}}
	for i, e := range elems {
		eo := runElement{Name: dataset.SeqMemberName(name, i), DType: e.DType.String(), Shape: e.Shape}
		if withData {
			var err error
			if eo.Data, err = e.AsFloat64(); err != nil {
				return ro, fmt.Errorf("output %q element %d: %w", name, i, err)
			}
		}
		ro.Elements = append(ro.Elements, eo)
	}
	return ro, nil
}

// printValues prints a tensor's values (the first 64).
func printValues(w io.Writer, data []float64) {
	const maxShow = 64
	parts := make([]string, 0, maxShow)
	for i, v := range data {
		if i == maxShow {
			parts = append(parts, fmt.Sprintf("... (%d values)", len(data)))
			break
		}
		parts = append(parts, strconv.FormatFloat(v, 'g', 6, 64))
	}
	fmt.Fprintf(w, "  [%s]\n", strings.Join(parts, " "))
}

// printSeqOutput prints a sequence output: its element count, then each
// element's type, shape and (unless written to a file) values.
func printSeqOutput(w io.Writer, o runOutput, values bool) {
	fmt.Fprintf(w, "%s sequence of %d %s tensor(s)%s\n", o.Name, len(o.Elements), o.DType, map[bool]string{true: ":", false: ""}[values && len(o.Elements) > 0])
	for _, e := range o.Elements {
		if !values {
			fmt.Fprintf(w, "  %s %s%s\n", e.Name, e.DType, graph.FormatDims(e.Shape))
			continue
		}
		fmt.Fprintf(w, "%s %s%s:\n", e.Name, e.DType, graph.FormatDims(e.Shape))
		printValues(w, e.Data)
	}
}

package qat

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Outputs whose length depends on the values (ragged outputs): the points a
// threshold keeps (NonZero), the boxes NMS keeps, the frames a duration
// predictor asks for. The int8 net keeps other elements than the float model
// (a score a step above the threshold, a duration one frame longer), so such an
// output cannot be matched element by element with the float model's. Training
// matches what they are selected from instead: the float activations read by
// the selection (the scores NonZero thresholds and GatherND picks from, the
// durations a Range or Expand is sized by), which have the same shape in both
// nets, beside the outputs whose shape does not depend on the values. This is
// how detectors are quantization-aware trained in the frameworks too: on the
// head's dense outputs, before non-maximum suppression.

// raggedShapeInputs lists, by operator, the inputs that set its output's shape:
// a value computed from data there makes the output ragged.
var raggedShapeInputs = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0}, "Slice": {1, 2, 3, 4},
	"Pad": {1}, "Resize": {2, 3}, "Upsample": {1}, "Range": {0, 1, 2}, "OneHot": {1},
	"TopK": {1}, "Split": {1}, "Loop": {0, 1},
}

// raggedAlways are the operators whose output length is set by their data's
// values.
var raggedAlways = map[string]bool{"NonZero": true, "NonMaxSuppression": true, "Unique": true, "Compress": true}

// lossTargets decides what the outputs loss matches: the trained outputs when
// none is ragged (nil); else the others and the float activations the ragged
// ones are selected from, by name, with the ragged outputs and the reason.
func (b *builder) lossTargets(outs []*graph.Value, needed map[int]bool) (names, raggedOuts []string, why string) {
	g := b.g
	// val: the value may differ between the int8 net and the float model
	// (computed by a trained op, or from an input the plan quantizes), not
	// only in its shape: a shape computed from it may differ too; ragged: its
	// shape depends on such values. A size the model reads from an input it
	// keeps in float (SAM's original image size) is the same in both.
	val, ragged := map[string]bool{}, map[string]bool{}
	quantized := map[string]bool{}
	for _, a := range b.n.plan.Activations {
		quantized[a.Name] = true
	}
	for _, in := range g.Inputs {
		val[in.Name] = quantized[in.Name]
	}
	var seeds []*graph.Node
	for i, node := range g.Nodes {
		if !needed[i] {
			continue
		}
		reads := nodeReads(node)
		anyVal, anyRagged := false, false
		for _, in := range reads {
			anyVal = anyVal || val[in]
			anyRagged = anyRagged || ragged[in]
		}
		seed := raggedAlways[node.OpType] && anyVal
		for _, k := range raggedShapeInputs[node.OpType] {
			if in := node.Input(k); in != "" && val[in] {
				seed = true
			}
		}
		if node.Domain != "" {
			seed = false
		}
		for j, o := range node.Outputs {
			if o == "" {
				continue
			}
			outSeed := seed
			if node.OpType == "Loop" && j < len(node.Inputs)-2 {
				// a carried value keeps its shape however many times the body
				// runs (a recurrence's state); the scan outputs stack one slice
				// per iteration
				outSeed = false
			}
			switch {
			case node.OpType == "Shape" || node.OpType == "Size":
				val[o] = anyRagged
			case b.shapeNodes[i]:
				val[o] = anyVal
				ragged[o] = outSeed || anyRagged
			default:
				// a trained op: fake quantization moves its values
				val[o] = true
				ragged[o] = outSeed || anyRagged
			}
		}
		if seed {
			seeds = append(seeds, node)
		}
	}
	for _, o := range outs {
		if ragged[o.Name] {
			raggedOuts = append(raggedOuts, o.Name)
		}
	}
	if len(raggedOuts) == 0 {
		return nil, nil, ""
	}
	inputs := map[string]bool{}
	for _, in := range g.Inputs {
		inputs[in.Name] = true
	}
	isAct := func(name string) bool {
		s, ok := b.cur[name]
		// a graph input is data: matching it trains nothing
		return ok && !b.n.isConst[s] && !b.n.computedNames[name] && !inputs[name]
	}
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] && !ragged[name] && isAct(name) {
			seen[name] = true
			names = append(names, name)
		}
	}
	for _, o := range outs {
		if !ragged[o.Name] {
			add(o.Name)
		}
	}
	// the dense data a ragged value is selected from (GatherND's scores)
	for i, node := range g.Nodes {
		if !needed[i] {
			continue
		}
		rag := false
		for _, o := range node.Outputs {
			rag = rag || ragged[o]
		}
		if !rag || node.OpType == "Shape" || node.OpType == "Size" {
			continue
		}
		for _, in := range nodeReads(node) {
			add(in)
		}
	}
	// the activations the seeds' shapes are computed from (the durations a
	// Round, a Cast and a CumSum turn into a Range's limit), back through the
	// computed values
	producer := map[string]*graph.Node{}
	for i, node := range g.Nodes {
		if needed[i] {
			for _, o := range node.Outputs {
				producer[o] = node
			}
		}
	}
	var queue []string
	for _, s := range seeds {
		if raggedAlways[s.OpType] {
			queue = append(queue, s.Inputs...)
		}
		for _, k := range raggedShapeInputs[s.OpType] {
			queue = append(queue, s.Input(k))
		}
	}
	// stepped: values computed through a Round, Floor, Ceil or Sign (the
	// rounded durations): matching them passes no gradient back, so the walk
	// goes on to what was rounded
	stepped := map[string]bool{}
	for i, node := range g.Nodes {
		if !needed[i] {
			continue
		}
		st := zeroGradOps[node.OpType] && node.Domain == ""
		for _, in := range node.Inputs {
			st = st || stepped[in]
		}
		for _, o := range node.Outputs {
			stepped[o] = st
		}
	}
	walked := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if name == "" || walked[name] {
			continue
		}
		walked[name] = true
		if isAct(name) && !stepped[name] {
			add(name)
			continue
		}
		if p := producer[name]; p != nil && p.OpType != "Shape" && p.OpType != "Size" {
			queue = append(queue, nodeReads(p)...)
		}
	}
	seedNames := make([]string, len(seeds))
	for i, s := range seeds {
		seedNames[i] = s.Label()
	}
	why = fmt.Sprintf("outputs %s have a length set by the values (%s): the int8 net keeps other elements than the float model, so training matches what they are selected from: %s",
		strings.Join(raggedOuts, ", "), abbreviate(seedNames, 3), abbreviate(names, 6))
	return names, raggedOuts, why
}

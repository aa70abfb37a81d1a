package quantizer

import (
	"fmt"
	"math"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Values turned into integers (twenty-first session). FastSpeech 2's length
// regulator predicts log-durations (a MatMul), takes Exp, scales them, rounds them
// (Round), clamps them (Clip) and casts them to int64: the durations decide how
// many frames each phoneme gets (CumSum, Range, Expand, GatherElements), so one
// duration off by one changes the output's length and shifts every frame after
// it. Quantized, the prediction took int8 steps of 1/100 of its range before the
// Exp, and the rounded durations themselves were requantized for the Clip (an
// integer on a step of 0.08, then truncated by the Cast): fastspeech2_lenreg_op13
// of --unseen15 had 12 of its 64 durations off by one and all 4 samples' mel
// lengths wrong. The same holds for a selection: an ArgMax or TopK over int8
// scores takes another index when two candidates lie within the int8 error
// (scores 35-47 dB from float32, indices disagreeing: twentieth session), and
// everything gathered by that index is another element's. The rule: the float
// input of an operator that turns values into integers, indices or counts (Round,
// Floor, Ceil, a Cast to an integer or boolean type, ArgMax, ArgMin, TopK, the
// bounds of a Range, the scales of a Resize or Upsample), and, backwards from
// it, what computes it through elementwise arithmetic with constants and data
// movement (Exp, Mul by a constant, Squeeze, a bias Add, ...) up to the output of
// the operator that computes it (the MatMul regressing the log-duration, the Conv
// of a keypoint heatmap, the Gemm of class scores), stay float32; so do the
// integer-valued outputs of Round, Floor and Ceil. The operator
// that computes the value runs float32 on its dequantized int8 input, as the
// sampling-grid rule does (plan_coord.go); nothing upstream of it changes.
// Values computed from shapes alone (plan_shape.go) are left to the shape rule.

// integerRule is the stated rule of the values turned into integers.
const integerRule = "value turned into an integer or index (Round/Floor/Ceil/Cast to int/ArgMax/TopK/a count): 8 bits would move the integer"

// roundingOps give integer-valued float outputs.
var roundingOps = map[string]bool{"Round": true, "Floor": true, "Ceil": true}

// integerCarriers compute a value from values (and constants) without a weight:
// the walk back from an integer sink passes through them to the operator that
// computes the value.
var integerCarriers = map[string]bool{
	"Reshape": true, "Transpose": true, "Unsqueeze": true, "Squeeze": true, "Flatten": true, "Slice": true,
	"Expand": true, "Identity": true, "Gather": true, "Tile": true, "Split": true, "Concat": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Neg": true, "Abs": true, "Pow": true,
	"Clip": true, "Min": true, "Max": true, "Relu": true, "LeakyRelu": true, "Softplus": true,
	"Exp": true, "Log": true, "Sqrt": true, "Sigmoid": true, "Tanh": true, "Reciprocal": true,
	"Round": true, "Floor": true, "Ceil": true, "Cast": true,
}

// integerSinkInputs returns the float inputs of n that n turns into integers or
// counts (nil when there are none).
func integerSinkInputs(g *graph.Graph, n *graph.Node, isFloat func(string) bool, shapeVals map[string]bool) []string {
	if n.Domain != "" {
		return nil
	}
	var idx []int
	switch n.OpType {
	case "Round", "Floor", "Ceil":
		idx = []int{0}
	case "Cast":
		if integerType(graph.DType(n.AttrInt("to", 0))) {
			idx = []int{0}
		}
	case "Range":
		idx = []int{0, 1, 2}
	case "Resize":
		idx = []int{2}
	case "Upsample":
		idx = []int{1}
	case "ArgMax", "ArgMin", "TopK":
		idx = []int{0}
	case "Equal":
		idx = []int{0, 1} // plan_equal.go
	}
	var out []string
	for _, i := range idx {
		if in := n.Input(i); in != "" && g.Initializers[in] == nil && !shapeVals[in] && isFloat(in) {
			out = append(out, in)
		}
	}
	return out
}

// integerType reports whether t holds integers or booleans.
func integerType(t graph.DType) bool {
	switch t {
	case graph.Int8, graph.Uint8, graph.Int16, graph.Uint16, graph.Int32, graph.Uint32, graph.Int64, graph.Uint64, graph.Bool:
		return true
	}
	return false
}

// integerValues returns the float values the rule keeps float32 and the nodes that
// turn them into integers (the sinks).
func integerValues(g *graph.Graph, isFloat func(string) bool, shapeVals map[string]bool) (map[string]bool, map[*graph.Node]bool) {
	prod := g.Producers()
	vals := map[string]bool{}
	var walk func(t string)
	walk = func(t string) {
		if t == "" || vals[t] || shapeVals[t] || g.Initializers[t] != nil || !isFloat(t) {
			return
		}
		vals[t] = true
		n := prod[t]
		if n == nil || n.Domain != "" || !integerCarriers[n.OpType] {
			return
		}
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	sinks := map[*graph.Node]bool{}
	rounded := map[string]bool{}
	for _, n := range g.Nodes {
		ins := integerSinkInputs(g, n, isFloat, shapeVals)
		for _, in := range ins {
			walk(in)
		}
		if len(ins) == 0 {
			continue
		}
		sinks[n] = true
		if roundingOps[n.OpType] {
			walk(n.Outputs[0])
			rounded[n.Outputs[0]] = true
		}
	}
	for t := range integerValued(g, rounded, isFloat) {
		vals[t] = true
	}
	return vals, sinks
}

// Integer-valued values (twenty-second session). VITS (--unseen16's
// vits_piper_op15) rounds its durations up (Ceil), sums them (CumSum) and
// compares each frame's index with the sums (Less) to build the 0/1 alignment
// of frames to phonemes. The rounded durations stayed float32 (the rule above),
// but the sums, requantized for the Reshape and Unsqueeze before the Less (an
// integer on a step of 0.1), moved by a fraction of a frame, and the comparison
// gave frames to the wrong phoneme: the alignment 15 dB from float32 with every
// duration equal, the waveform 4.7 dB. The rule: the values computed from the
// outputs of Round, Floor and Ceil alone -- through sums (Add, Sub, CumSum,
// ReduceSum), Neg, Abs, Relu, Max, Min, Clip, ReduceMax/Min, products with
// integer constants and data movement -- hold integers too and stay float32.

// integerKeepers keep integer values integer: every output element is a sum,
// difference, selection or copy of input elements (Mul only with integer
// constants, checked by the caller).
var integerKeepers = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Neg": true, "Abs": true, "Relu": true, "Max": true, "Min": true, "Clip": true,
	"CumSum": true, "ReduceSum": true, "ReduceMax": true, "ReduceMin": true,
	"Reshape": true, "Transpose": true, "Unsqueeze": true, "Squeeze": true, "Flatten": true, "Slice": true,
	"Expand": true, "Identity": true, "Gather": true, "Tile": true, "Split": true, "Concat": true, "Pad": true,
}

// integerValued returns the float values computed from the integer-valued seeds
// alone (and integer constants), in graph order.
func integerValued(g *graph.Graph, seeds map[string]bool, isFloat func(string) bool) map[string]bool {
	out := map[string]bool{}
	if len(seeds) == 0 {
		return out
	}
	for t := range seeds {
		out[t] = true
	}
	for _, n := range g.Nodes {
		if n.Domain != "" || !integerKeepers[n.OpType] {
			continue
		}
		reads, ok := false, true
		for i, in := range n.Inputs {
			switch {
			case in == "" || !isFloat(in):
				// an index, a shape, axes: not a value
			case out[in]:
				reads = true
			case g.Initializers[in] != nil:
				if (n.OpType == "Mul" || n.OpType == "Add" || n.OpType == "Sub" || n.OpType == "Max" || n.OpType == "Min" ||
					n.OpType == "Clip" || n.OpType == "Concat" || (n.OpType == "Pad" && i == 2)) && !integerConst(g.Initializers[in]) {
					ok = false
				}
			default:
				ok = false
			}
		}
		if !reads || !ok {
			continue
		}
		for _, o := range n.Outputs {
			if o != "" && isFloat(o) {
				out[o] = true
			}
		}
	}
	return out
}

// integerConst reports whether every element of a float constant is an integer.
func integerConst(t *graph.Tensor) bool {
	f := t.F32()
	if f == nil {
		return false
	}
	for _, v := range f {
		if v != float32(math.Trunc(float64(v))) {
			return false
		}
	}
	return true
}

// turnsInteger reports whether n writes, or reads as data, a value the integer
// rule keeps float32 (a quantized reader would put a Q/DQ pair on it for every
// reader).
func (p *plan) turnsInteger(n *graph.Node) bool {
	for _, o := range n.Outputs {
		if p.intVals[o] {
			return true
		}
	}
	if _, known := opRoles[n.OpType]; !known || n.Domain != "" {
		return false
	}
	for _, i := range dataInputs(n) {
		if p.intVals[n.Input(i)] {
			return true
		}
	}
	return false
}

// noteIntegerRule records the rule's nodes (the sinks, the nodes that compute the
// values it keeps and those that read them) in the notes and the metadata.
func (p *plan) noteIntegerRule(sinks map[*graph.Node]bool) {
	var names []string
	for _, n := range p.g.Nodes {
		if sinks[n] || p.turnsInteger(n) {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	p.ruled = append(p.ruled, FloatRule{Rule: integerRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32: %s", strings.Join(names, " "), integerRule))
}

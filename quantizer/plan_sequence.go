package quantizer

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Sequence values (twenty-second session; graph/seq_value.go). The sequence
// operators (SplitToSequence, SequenceInsert, SequenceAt, ConcatFromSequence,
// ...) move whole tensors in and out of lists on the host: they have no int8
// form and their values are not calibrated. A tensor a sequence operator reads
// or writes is a plain float32 activation: the quantizer may quantize it where
// its producer or reader is quantized (a Q/DQ pair, exact as any other), so the
// sequence always holds float32 elements. The rule is stated (notes, the
// metadata and `warboy inspect`'s execution[].why).

// seqRule is the stated rule of the sequence operators.
const seqRule = "sequence operator (a list of tensors, torch.jit.script or repeat_interleave): moves data on the host, runs float32; its elements are float32 tensors"

// noteSequenceRule records the graph's sequence operators, and the Identity
// nodes passing a sequence on, in the notes and metadata.
func (p *plan) noteSequenceRule() {
	var names []string
	for _, n := range p.g.Nodes {
		if graph.IsSeqOp(n) || p.readsSequence(n) {
			names = append(names, n.Name)
			delete(p.quantOp, n)
		}
	}
	if len(names) == 0 {
		return
	}
	p.ruled = append(p.ruled, FloatRule{Rule: seqRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32: %s", strings.Join(names, " "), seqRule))
}

// readsSequence reports whether a node reads or writes a sequence value.
func (p *plan) readsSequence(n *graph.Node) bool {
	for _, names := range [][]string{n.Inputs, n.Outputs} {
		for _, s := range names {
			if v := p.g.Values[s]; s != "" && v != nil && v.Seq {
				return true
			}
		}
	}
	return false
}

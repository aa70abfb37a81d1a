package graph

import "fmt"

// Sequence is the Data of a Tensor holding an ONNX sequence value: its elements,
// in order. A sequence Tensor has DType the elements' type and a nil Shape; its
// elements are plain tensors (a sequence never holds a sequence). Sequence values
// come only from the sequence operators (ops_sequence.go) and pass through
// Identity, Loop and If; every other kernel sees a Data it does not hold and
// refuses it (CheckTensor), and shape inference refuses them earlier, naming the
// node (inferNodes).
type Sequence []*Tensor

// NewSequence makes a sequence value of elements of type dt (the elements are
// not copied).
func NewSequence(dt DType, elems []*Tensor) *Tensor {
	return &Tensor{DType: dt, Data: Sequence(elems)}
}

// SeqElems returns the elements of a sequence value, and whether t is one.
func (t *Tensor) SeqElems() ([]*Tensor, bool) {
	if t == nil {
		return nil, false
	}
	s, ok := t.Data.(Sequence)
	return s, ok
}

// IsSeq reports whether t is a sequence value.
func (t *Tensor) IsSeq() bool { _, ok := t.SeqElems(); return ok }

func (v *Value) elemString() string {
	if !v.HasShape {
		return fmt.Sprintf("%s[?]", v.DType)
	}
	return fmt.Sprintf("%s%s", v.DType, v.Shape)
}

// SeqOps are the operators that read or write sequence values; Identity, Loop
// and If pass them through. Shape inference refuses a sequence read by any other
// operator, naming the node.
var SeqOps = map[string]bool{
	"SequenceConstruct": true, "SequenceEmpty": true, "SequenceInsert": true, "SequenceErase": true,
	"SequenceAt": true, "SequenceLength": true, "SplitToSequence": true, "ConcatFromSequence": true,
	"SequenceMap": true, // seq_map.go
}

// readsSequences reports whether op may take a sequence input.
func readsSequences(n *Node) bool {
	if n.Domain != "" {
		return false
	}
	return SeqOps[n.OpType] || n.OpType == "Identity" || n.OpType == "Loop" || n.OpType == "If"
}

// IsSeqOp reports whether n is one of the sequence operators.
func IsSeqOp(n *Node) bool { return n.Domain == "" && SeqOps[n.OpType] }

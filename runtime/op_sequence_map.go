package runtime

// SequenceMap (ONNX opset 17): the body runs once per element of the first
// input; a further input that is a sequence gives its element at the same
// position (it must be as long), a tensor input is given whole every time. Each
// body output becomes a sequence of the iterations' values, copied into memory
// of their own (op_sequence.go: a sequence is immutable and outlives the body's
// buffers). The body runs as a Loop's does (op_control.go): a float32
// sub-session planned for the first element's shapes, falling back to the
// rank-only plan when a later element's shapes differ.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	Register(OpInfo{OpType: "SequenceMap", Build: buildSequenceMap})
}

func buildSequenceMap(b *BuildContext) (Kernel, error) {
	n := b.Node
	implicit, vals := implicitValues(b)
	body, err := newSubSession(b, "body", implicit, vals)
	if err != nil {
		return nil, err
	}
	if len(body.formal) != len(n.Inputs) {
		return nil, b.Errorf("body has %d inputs, want %d (one per input of the node)", len(body.formal), len(n.Inputs))
	}
	if len(n.Outputs) > len(body.outs) {
		return nil, b.Errorf("has %d outputs, its body %d", len(n.Outputs), len(body.outs))
	}
	outTypes := make([]graph.DType, len(n.Outputs))
	for k := range outTypes {
		if v := body.sess.model.Graph.Values[body.outs[k]]; v != nil {
			outTypes[k] = v.DType
		}
	}
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		decl, outer, err := splitImplicit(n, implicit, in)
		if err != nil {
			return nil, err
		}
		_, first, err := seqArg(decl, 0)
		if err != nil {
			return nil, err
		}
		count := len(first)
		seqs := make([][]*graph.Tensor, len(decl))
		for j, t := range decl {
			if t == nil {
				return nil, fmt.Errorf("input %d is missing", j)
			}
			if e, ok := t.SeqElems(); ok {
				if len(e) != count {
					return nil, fmt.Errorf("input %d is a sequence of %d elements, input 0 of %d: sequences are mapped element by element", j, len(e), count)
				}
				seqs[j] = e
			}
		}
		elems := make([][]*graph.Tensor, len(n.Outputs))
		if count > 0 {
			formal := make([]*graph.Tensor, len(decl))
			at := func(i int) []*graph.Tensor {
				for j, t := range decl {
					if seqs[j] != nil {
						formal[j] = seqs[j][i]
					} else {
						formal[j] = t
					}
				}
				return formal
			}
			e, err := body.start(at(0), outer)
			if err != nil {
				return nil, err
			}
			for i := 0; i < count; i++ {
				outs, err := e.iterate(at(i))
				if err != nil {
					e.finish(false)
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				for k := range elems {
					t := outs[k]
					if t == nil || t.IsSeq() {
						e.finish(false)
						return nil, fmt.Errorf("element %d: body output %d is not a tensor", i, k)
					}
					if i > 0 && t.DType != elems[k][0].DType {
						e.finish(false)
						return nil, fmt.Errorf("element %d: body output %d is %s, element 0 gave %s", i, k, t.DType, elems[k][0].DType)
					}
					elems[k] = append(elems[k], ownCopy(t))
				}
			}
			e.finish(true)
		}
		res := make([]*graph.Tensor, len(n.Outputs))
		for k := range res {
			dt := outTypes[k]
			if len(elems[k]) > 0 {
				dt = elems[k][0].DType
			}
			res[k] = graph.NewSequence(dt, elems[k])
		}
		return res, nil
	}), nil
}

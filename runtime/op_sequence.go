package runtime

// ONNX sequence values (graph/seq_value.go): SequenceEmpty, SequenceConstruct,
// SequenceInsert, SequenceErase, SequenceAt, SequenceLength, SplitToSequence and
// ConcatFromSequence, on the float32 executor (the int8 lowering leaves them as
// they are: they move data, on the host). A sequence is immutable: each
// operator that changes one makes a new one, sharing the elements it keeps.
// The elements never live in a run's arena: a tensor put into a sequence is
// copied into memory of its own (an arena buffer is recycled after its slot's
// last reader, while the sequence may live on, carried through a Loop), and an
// element read back by SequenceAt is not held by the arena either, so no step
// writes over it in place (residual_inplace.go needs a held buffer).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func init() {
	for op, b := range map[string]Builder{
		"SequenceEmpty":      buildSequenceEmpty,
		"SequenceConstruct":  buildSequenceConstruct,
		"SequenceInsert":     buildSequenceInsert,
		"SequenceErase":      buildSequenceErase,
		"SequenceAt":         buildSequenceAt,
		"SequenceLength":     buildSequenceLength,
		"SplitToSequence":    buildSplitToSequence,
		"ConcatFromSequence": buildConcatFromSequence,
	} {
		Register(OpInfo{OpType: op, Build: b})
	}
}

// checkSeqInput checks a sequence fed to a session (or a body) input.
func checkSeqInput(v *graph.Value, t *graph.Tensor) error {
	elems, ok := t.SeqElems()
	if !ok {
		return fmt.Errorf("input %q: got a tensor, the model expects a sequence", v.Name)
	}
	if !v.Seq {
		return fmt.Errorf("input %q: got a sequence, the model expects a tensor", v.Name)
	}
	// An empty sequence read from a file has no element type (SequenceProto
	// says only "tensors"): any sequence type takes it.
	if v.DType != graph.Undefined && t.DType != v.DType && (len(elems) > 0 || t.DType != graph.Undefined) {
		return fmt.Errorf("input %q: got a sequence of %s, the model expects %s", v.Name, t.DType, v.DType)
	}
	for i, e := range elems {
		if err := checkTensor(fmt.Sprintf("input %q element %d", v.Name, i), e); err != nil {
			return err
		}
		if e.DType != t.DType {
			return fmt.Errorf("input %q: element %d is %s in a sequence of %s", v.Name, i, e.DType, t.DType)
		}
	}
	return nil
}

// seqArg returns input i as a sequence.
func seqArg(in []*graph.Tensor, i int) (*graph.Tensor, []*graph.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, nil, fmt.Errorf("input %d (a sequence) is missing", i)
	}
	e, ok := in[i].SeqElems()
	if !ok {
		return nil, nil, fmt.Errorf("input %d is a tensor, want a sequence", i)
	}
	return in[i], e, nil
}

// tensorArg returns input i as a tensor.
func tensorArg(in []*graph.Tensor, i int) (*graph.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %d (a tensor) is missing", i)
	}
	if in[i].IsSeq() {
		return nil, fmt.Errorf("input %d is a sequence, want a tensor", i)
	}
	if err := checkTensor(fmt.Sprintf("input %d", i), in[i]); err != nil {
		return nil, err
	}
	return in[i], nil
}

// seqPos reads a position (one int32 or int64) into a sequence of n elements:
// -n..n-1, or -n..n for an insert (n: after the last).
func seqPos(t *graph.Tensor, n int, insert bool) (int, error) {
	if t.IsSeq() {
		return 0, fmt.Errorf("the position is a sequence")
	}
	var p int64
	switch d := t.Data.(type) {
	case []int64:
		if len(d) != 1 {
			return 0, fmt.Errorf("the position has %d elements, want 1", len(d))
		}
		p = d[0]
	case []int32:
		if len(d) != 1 {
			return 0, fmt.Errorf("the position has %d elements, want 1", len(d))
		}
		p = int64(d[0])
	default:
		return 0, fmt.Errorf("the position is %s, want int32 or int64", t.DType)
	}
	hi := int64(n) - 1
	if insert {
		hi = int64(n)
	}
	if p < -int64(n) || p > hi {
		return 0, fmt.Errorf("position %d is out of range for a sequence of %d elements", p, n)
	}
	if p < 0 {
		p += int64(n)
	}
	return int(p), nil
}

// ownCopy copies t into memory of its own (see the file comment).
func ownCopy(t *graph.Tensor) *graph.Tensor {
	c := t.Clone()
	c.Shape = append([]int{}, t.Shape...)
	return c
}

func buildSequenceEmpty(b *BuildContext) (Kernel, error) {
	dt := graph.DType(b.Node.AttrInt("dtype", int64(graph.Float32)))
	return KernelFunc(func(_ *ExecContext, _ []*graph.Tensor) ([]*graph.Tensor, error) {
		return []*graph.Tensor{graph.NewSequence(dt, nil)}, nil
	}), nil
}

func buildSequenceConstruct(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("needs at least one input")
		}
		elems := make([]*graph.Tensor, len(in))
		for i := range in {
			t, err := tensorArg(in, i)
			if err != nil {
				return nil, err
			}
			if t.DType != in[0].DType {
				return nil, fmt.Errorf("input %d is %s, input 0 %s: a sequence holds one type", i, t.DType, in[0].DType)
			}
			elems[i] = ownCopy(t)
		}
		return []*graph.Tensor{graph.NewSequence(in[0].DType, elems)}, nil
	}), nil
}

func buildSequenceInsert(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		s, elems, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		t, err := tensorArg(in, 1)
		if err != nil {
			return nil, err
		}
		if s.DType != graph.Undefined && t.DType != s.DType {
			return nil, fmt.Errorf("inserts a %s tensor into a sequence of %s", t.DType, s.DType)
		}
		at := len(elems)
		if p := optInput(in, 2); p != nil {
			if at, err = seqPos(p, len(elems), true); err != nil {
				return nil, err
			}
		}
		out := make([]*graph.Tensor, 0, len(elems)+1)
		out = append(append(append(out, elems[:at]...), ownCopy(t)), elems[at:]...)
		return []*graph.Tensor{graph.NewSequence(t.DType, out)}, nil
	}), nil
}

func buildSequenceErase(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		s, elems, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, fmt.Errorf("erases from an empty sequence")
		}
		at := len(elems) - 1
		if p := optInput(in, 1); p != nil {
			if at, err = seqPos(p, len(elems), false); err != nil {
				return nil, err
			}
		}
		out := make([]*graph.Tensor, 0, len(elems)-1)
		out = append(append(out, elems[:at]...), elems[at+1:]...)
		return []*graph.Tensor{graph.NewSequence(s.DType, out)}, nil
	}), nil
}

func buildSequenceAt(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		_, elems, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		p := optInput(in, 1)
		if p == nil {
			return nil, fmt.Errorf("the position (input 1) is missing")
		}
		at, err := seqPos(p, len(elems), false)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{elems[at]}, nil
	}), nil
}

func buildSequenceLength(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		_, elems, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{graph.FromInt64([]int{}, []int64{int64(len(elems))})}, nil
	}), nil
}

// seqAxis places axis (negative from the end) in a rank.
func seqAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

func buildSplitToSequence(b *BuildContext) (Kernel, error) {
	axisAttr := b.Node.AttrInt("axis", 0)
	keep := b.Node.AttrInt("keepdims", 1) != 0
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		x, err := tensorArg(in, 0)
		if err != nil {
			return nil, err
		}
		axis, err := seqAxis(axisAttr, len(x.Shape))
		if err != nil {
			return nil, err
		}
		split := optInput(in, 1)
		if split != nil {
			if split, err = tensorArg(in, 1); err != nil {
				return nil, err
			}
		}
		sizes, err := graph.SeqSplitSizes(x.Shape[axis], split)
		if err != nil {
			return nil, err
		}
		drop := !keep && seqSplitDrops(split)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		outer := graph.NumElements(x.Shape[:axis])
		inner := graph.NumElements(x.Shape[axis+1:])
		dim := x.Shape[axis]
		elems := make([]*graph.Tensor, len(sizes))
		off := 0
		for i, k := range sizes {
			shape := append([]int{}, x.Shape...)
			shape[axis] = k
			if drop {
				shape = append(shape[:axis], shape[axis+1:]...)
			}
			dst := src.Make(outer * k * inner)
			for o := 0; o < outer; o++ {
				dst.Copy(o*k*inner, src, (o*dim+off)*inner, k*inner)
			}
			elems[i] = &graph.Tensor{DType: x.DType, Shape: shape, Data: dst.Data()}
			off += k
		}
		return []*graph.Tensor{graph.NewSequence(x.DType, elems)}, nil
	}), nil
}

// seqSplitDrops reports whether SplitToSequence with keepdims=0 drops the split
// axis: without a split (ONNX), and with a scalar split of 1 (torch's unbind
// writes it; ONNX Runtime drops the axis, graph/seq_split.go).
func seqSplitDrops(split *graph.Tensor) bool {
	if split == nil {
		return true
	}
	if len(split.Shape) != 0 {
		return false
	}
	v, err := split.AsInt64()
	return err == nil && len(v) == 1 && v[0] == 1
}

func buildConcatFromSequence(b *BuildContext) (Kernel, error) {
	axisAttr := b.Node.AttrInt("axis", 0)
	newAxis := b.Node.AttrInt("new_axis", 0) != 0
	return KernelFunc(func(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		s, elems, err := seqArg(in, 0)
		if err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, fmt.Errorf("concatenates an empty sequence")
		}
		first := elems[0]
		r := len(first.Shape)
		if newAxis {
			r++
		}
		axis, err := seqAxis(axisAttr, r)
		if err != nil {
			return nil, err
		}
		// Each element seen with the stacking axis made explicit.
		shapeOf := func(e *graph.Tensor) []int {
			if !newAxis {
				return e.Shape
			}
			sh := append([]int{}, e.Shape[:axis]...)
			return append(append(sh, 1), e.Shape[axis:]...)
		}
		base := shapeOf(first)
		total := 0
		for i, e := range elems {
			if e.DType != s.DType && s.DType != graph.Undefined || e.DType != first.DType {
				return nil, fmt.Errorf("element %d is %s, element 0 %s", i, e.DType, first.DType)
			}
			sh := shapeOf(e)
			if len(sh) != len(base) {
				return nil, fmt.Errorf("element %d has shape %v, element 0 %v: ranks differ", i, e.Shape, first.Shape)
			}
			for d := range sh {
				if d != axis && sh[d] != base[d] || newAxis && !sameDims(e.Shape, first.Shape) {
					return nil, fmt.Errorf("element %d has shape %v, element 0 %v", i, e.Shape, first.Shape)
				}
			}
			total += sh[axis]
		}
		outShape := append([]int{}, base...)
		outShape[axis] = total
		outer := graph.NumElements(base[:axis])
		inner := graph.NumElements(base[axis+1:])
		src0, err := bufferOf(first)
		if err != nil {
			return nil, err
		}
		dst := src0.Make(graph.NumElements(outShape))
		off := 0
		for _, e := range elems {
			src, err := bufferOf(e)
			if err != nil {
				return nil, err
			}
			k := shapeOf(e)[axis]
			for o := 0; o < outer; o++ {
				dst.Copy((o*total+off)*inner, src, o*k*inner, k*inner)
			}
			off += k
		}
		return []*graph.Tensor{{DType: first.DType, Shape: outShape, Data: dst.Data()}}, nil
	}), nil
}

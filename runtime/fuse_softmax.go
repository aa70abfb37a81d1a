package runtime

// Softmax over the last axis of x + b, where b broadcasts against x without
// being broadcast along that axis: the attention scores plus a relative
// position bias, or plus the shifted-window mask (Swin), or plus a padding
// mask (BERT-style encoders). The Add was a pass over the whole score tensor
// of its own, with its own buffer; fused, each row of x gets its row of b
// added in the Softmax's row pass (kernels.SoftmaxAddRowF32).

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

type softmaxAddKernel struct {
	xIdx    int
	n       int     // the row length
	xShape  []int   // x's static shape
	bLen    int     // b's element count
	bRow    []int32 // per row of x, the offset of b's row
	add     Kernel  // the Add and Softmax, for inputs of other shapes
	softmax Kernel
	addNode *graph.Node
}

func (k *softmaxAddKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, b := in[k.xIdx], in[1-k.xIdx]
	if x.DType != graph.Float32 || b.DType != graph.Float32 || !slices.Equal(x.Shape, k.xShape) || b.Len() != k.bLen {
		s, err := k.add.Run(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.addNode.Label(), err)
		}
		return k.softmax.Run(ctx, s)
	}
	xd, bd := x.F32(), b.F32()
	y := ctx.AllocF32(len(xd))
	th := ctx.Threads
	if len(xd) < parallelMinWork {
		th = 1
	}
	n := k.n
	nnParallel(th, len(k.bRow), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := int(k.bRow[r])
			kernels.SoftmaxAddRowF32(y[r*n:(r+1)*n], xd[r*n:(r+1)*n], bd[o:o+n])
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(x.Shape), Data: y}}, nil
}

// fuseSoftmaxAdd folds into each float32 Softmax over the last axis an Add
// that is the only producer-reader pair of its input (not kept, read by the
// Softmax alone). It runs with the other elementwise rewrites.
func (s *Session) fuseSoftmaxAdd() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		sk, ok := st.kernel.(softmaxKernel)
		if !ok || sk.log || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 {
			continue
		}
		t := st.in[0]
		i, ok := producer[t]
		if !ok || removed[i] || s.keep[t] || len(readers[t]) != 1 {
			continue
		}
		add := s.steps[i]
		if !isOp(add.node, "Add") || len(add.in) != 2 || len(add.out) != 1 || add.in[0] < 0 || add.in[1] < 0 {
			continue
		}
		ts := s.staticDims(st.node.Inputs[0])
		if len(ts) == 0 {
			continue
		}
		if ax, err := graph.NormalizeAxis(sk.axis, len(ts)); err != nil || ax != len(ts)-1 {
			continue
		}
		for xi := 0; xi < 2; xi++ {
			xs, bs := s.staticDims(add.node.Inputs[xi]), s.staticDims(add.node.Inputs[1-xi])
			if !slices.Equal(xs, ts) || bs == nil || len(bs) > len(xs) || len(bs) == 0 || bs[len(bs)-1] != ts[len(ts)-1] {
				continue
			}
			rows, ok := broadcastRows(xs, bs)
			if !ok {
				continue
			}
			k := &softmaxAddKernel{xIdx: xi, n: ts[len(ts)-1], xShape: xs, bLen: graph.NumElements(bs), bRow: rows,
				add: add.kernel, softmax: st.kernel, addNode: add.node}
			s.steps[j] = step{node: st.node, kernel: k, in: add.in, out: st.out}
			removed[i] = true
			break
		}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// broadcastRows returns, for each row (last axis) of a tensor of shape xs,
// the offset of the row of b (shape bs, right-aligned, broadcasting on its
// axes of size 1; its last axis equals xs's) that adds to it.
func broadcastRows(xs, bs []int) ([]int32, bool) {
	r := len(xs)
	n := xs[r-1]
	rows := graph.NumElements(xs) / max(n, 1)
	if n == 0 || graph.NumElements(bs) >= 1<<31 {
		return nil, false
	}
	// b's strides aligned to x's axes, 0 where b broadcasts.
	bst := make([]int, r)
	stride := n
	for a := r - 2; a >= 0; a-- {
		ba := a - (r - len(bs))
		if ba < 0 {
			continue
		}
		switch bs[ba] {
		case xs[a]:
			bst[a] = stride
		case 1:
		default:
			return nil, false
		}
		stride *= bs[ba]
	}
	out := make([]int32, rows)
	idx := make([]int, r-1)
	for q := range out {
		o := 0
		for a, v := range idx {
			o += v * bst[a]
		}
		out[q] = int32(o)
		for a := r - 2; a >= 0; a-- {
			if idx[a]++; idx[a] < xs[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out, true
}

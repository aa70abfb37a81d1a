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
	// view is set when the Add ran on a Reshape of x whose result was
	// reshaped back to x's shape (Swin's shifted-window mask: the scores
	// [B·nW, H, N, N] viewed as [B, nW, H, N, N] for a mask [nW, 1, N, N]).
	// A Reshape keeps the row-major order, so bRow is the same.
	view *addView
	// pre, when set, is an Add before the view (or before the Add above)
	// that adds a first bias to x: Swin's relative position bias, added to
	// the scores before the shifted-window mask. Its bias is the step's
	// third input; the row pass adds it first, as the graph does.
	pre *preBias
}

// preBias is a first bias Add folded into a softmaxAddKernel.
type preBias struct {
	xIdx int     // x's input index of the Add
	bLen int     // the bias's element count
	bRow []int32 // per row of x, the offset of the bias's row
	add  step
}

// addView holds the two Reshape steps around a folded Add (runUnfused).
type addView struct {
	in, out         step
	inShp, outShape *graph.Tensor // their constant shape inputs
}

func (k *softmaxAddKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, b := in[k.xIdx], in[1-k.xIdx]
	var b1 *graph.Tensor
	if k.pre != nil {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		b1 = in[2]
	}
	if x.DType != graph.Float32 || b.DType != graph.Float32 || !slices.Equal(x.Shape, k.xShape) || b.Len() != k.bLen ||
		b1 != nil && (b1.DType != graph.Float32 || b1.Len() != k.pre.bLen) {
		return k.runUnfused(ctx, in)
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
			if b1 != nil {
				o1 := int(k.pre.bRow[r])
				kernels.SoftmaxAdd2RowF32(y[r*n:(r+1)*n], xd[r*n:(r+1)*n], b1.F32()[o1:o1+n], bd[o:o+n])
				continue
			}
			kernels.SoftmaxAddRowF32(y[r*n:(r+1)*n], xd[r*n:(r+1)*n], bd[o:o+n])
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(x.Shape), Data: y}}, nil
}

// runUnfused runs the folded steps one by one: the Add (between its
// Reshapes) and the Softmax.
func (k *softmaxAddKernel) runUnfused(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	args := slices.Clone(in[:2])
	if p := k.pre; p != nil {
		pa := []*graph.Tensor{in[2], in[2]}
		pa[p.xIdx] = in[k.xIdx]
		t, err := p.add.kernel.Run(ctx, pa)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.add.node.Label(), err)
		}
		args[k.xIdx] = t[0]
	}
	if v := k.view; v != nil {
		t, err := v.in.kernel.Run(ctx, []*graph.Tensor{args[k.xIdx], v.inShp})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.in.node.Label(), err)
		}
		args[k.xIdx] = t[0]
	}
	s, err := k.add.Run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.addNode.Label(), err)
	}
	if v := k.view; v != nil {
		if s, err = v.out.kernel.Run(ctx, []*graph.Tensor{s[0], v.outShape}); err != nil {
			return nil, fmt.Errorf("%s: %w", v.out.node.Label(), err)
		}
	}
	return k.softmax.Run(ctx, s)
}

// preBiasAdd reports whether step i is a float32 Add of x (static shape ts)
// and a bias that broadcasts over x's rows (not along the last axis), and
// returns it folded and x's input index.
func (s *Session) preBiasAdd(i int, ts []int) (*preBias, int) {
	add := s.steps[i]
	if !isOp(add.node, "Add") || len(add.in) != 2 || len(add.out) != 1 || add.in[0] < 0 || add.in[1] < 0 {
		return nil, 0
	}
	if _, plain := add.kernel.(KernelFunc); !plain {
		return nil, 0
	}
	for xi := 0; xi < 2; xi++ {
		xs, bs := s.staticDims(add.node.Inputs[xi]), s.staticDims(add.node.Inputs[1-xi])
		if !slices.Equal(xs, ts) || len(bs) == 0 || len(bs) > len(xs) || bs[len(bs)-1] != ts[len(ts)-1] ||
			!slices.Equal(s.staticDims(add.node.Outputs[0]), ts) {
			continue
		}
		if rows, ok := broadcastRows(xs, bs); ok {
			return &preBias{xIdx: xi, bLen: graph.NumElements(bs), bRow: rows, add: add}, xi
		}
	}
	return nil, 0
}

// constReshape reports whether step i is a Reshape by a constant shape whose
// output only one step reads (and is not kept), and returns that constant.
func (s *Session) constReshape(i int, readers map[int][]int) (*graph.Tensor, bool) {
	st := s.steps[i]
	if !isOp(st.node, "Reshape") || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 {
		return nil, false
	}
	c := s.consts[st.in[1]]
	return c, c != nil && len(readers[st.out[0]]) == 1 && !s.keep[st.out[0]]
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
		ts := s.staticDims(st.node.Inputs[0])
		if len(ts) == 0 {
			continue
		}
		if ax, err := graph.NormalizeAxis(sk.axis, len(ts)); err != nil || ax != len(ts)-1 {
			continue
		}
		// Reshape → Add → Reshape back, the last axis kept (Swin's
		// shifted windows): the Add's rows are x's rows.
		var view *addView
		r2 := i
		if c, ok := s.constReshape(i, readers); ok && !removed[i] {
			a, ok := producer[s.steps[i].in[0]]
			if !ok || removed[a] || s.keep[s.steps[i].in[0]] || len(readers[s.steps[i].in[0]]) != 1 {
				continue
			}
			view = &addView{out: s.steps[i], outShape: c}
			i = a
		}
		add := s.steps[i]
		if !isOp(add.node, "Add") || len(add.in) != 2 || len(add.out) != 1 || add.in[0] < 0 || add.in[1] < 0 {
			continue
		}
		for xi := 0; xi < 2; xi++ {
			xs, bs := s.staticDims(add.node.Inputs[xi]), s.staticDims(add.node.Inputs[1-xi])
			in := add.in
			var r1 int
			if view != nil {
				// x reaches the Add through a Reshape of its own.
				var ok bool
				if r1, ok = producer[add.in[xi]]; !ok || removed[r1] {
					continue
				}
				c, ok := s.constReshape(r1, readers)
				as := s.staticDims(s.steps[r1].node.Inputs[0])
				if !ok || !slices.Equal(as, ts) || len(xs) == 0 || graph.NumElements(xs) != graph.NumElements(ts) ||
					!slices.Equal(s.staticDims(add.node.Outputs[0]), xs) {
					continue
				}
				view.in, view.inShp = s.steps[r1], c
				in = slices.Clone(add.in)
				in[xi] = s.steps[r1].in[0]
			} else if !slices.Equal(xs, ts) {
				continue
			}
			if bs == nil || len(bs) > len(xs) || len(bs) == 0 || bs[len(bs)-1] != ts[len(ts)-1] || xs[len(xs)-1] != ts[len(ts)-1] {
				continue
			}
			rows, ok := broadcastRows(xs, bs)
			if !ok {
				continue
			}
			k := &softmaxAddKernel{xIdx: xi, n: ts[len(ts)-1], xShape: ts, bLen: graph.NumElements(bs), bRow: rows,
				add: add.kernel, softmax: st.kernel, addNode: add.node, view: view}
			// A first bias added to x before (Swin: the position bias, then
			// the mask through the view).
			pa, hasPre := producer[in[xi]]
			if hasPre && !removed[pa] && !s.keep[in[xi]] && len(readers[in[xi]]) == 1 {
				if pre, px := s.preBiasAdd(pa, ts); pre != nil {
					k.pre = pre
					in = append(slices.Clone(in), s.steps[pa].in[1-px])
					in[xi] = s.steps[pa].in[px]
					removed[pa] = true
				}
			}
			s.steps[j] = step{node: st.node, kernel: k, in: in, out: st.out}
			removed[i] = true
			if view != nil {
				removed[r1] = true
				removed[r2] = true
			}
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

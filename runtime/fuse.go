package runtime

// Epilogue fusion of the float32 executor. A Conv with pre-packed weights whose
// output feeds only a residual Add and/or a Relu/Clip runs as one step: the GEMM
// adds the residual and clamps each output tile while it is still in cache, instead
// of two more passes over memory (ONNX Runtime's FusedConv does the same). The
// fused result is bit-identical to running the operators one by one, the graph
// (Session.Model, placement, taps) is unchanged, and a tensor the caller taps or a
// graph output is never fused away.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// fusedConvKernel is a Conv followed by an optional Add and an optional Relu/Clip.
type fusedConvKernel struct {
	conv    *convKernel
	nConvIn int // the step's first nConvIn inputs are the Conv's; then the residual
	// add is the Add's own kernel, used when the fast path does not apply (a
	// broadcasting residual, say); resFirst says the residual is its first input.
	add      Kernel
	addNode  *graph.Node
	resFirst bool
	// act is the Relu/Clip kernel with its constant extra inputs, for the same
	// reason; lo and hi are the clamp it amounts to.
	act     Kernel
	actNode *graph.Node
	actArgs []*graph.Tensor
	lo, hi  float32
	// more are the clamps after the first one (a Relu then a Clip: how
	// torch.onnx spells ReLU6 at every opset), folded into lo and hi.
	more []fusedClamp
	// post is the activation after the clamp (fuse_act.go).
	post kernels.Act
}

func (k *fusedConvKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nConvIn {
		return nil, fmt.Errorf("fused Conv: got %d inputs, want %d", len(in), k.nConvIn)
	}
	convIn := in[:k.nConvIn]
	var res *graph.Tensor
	if k.add != nil {
		res = in[k.nConvIn]
	}
	ep := &convEpilogue{residual: res, clip: k.act != nil, lo: k.lo, hi: k.hi}
	if out, ok, err := k.conv.runPacked(ctx, convIn, ep); ok || err != nil {
		if err == nil {
			applyPost(k.post, out[0])
		}
		return out, err
	}
	// The operators one after the other.
	y, err := k.conv.Run(ctx, convIn)
	if err != nil {
		return nil, err
	}
	if k.add != nil {
		args := []*graph.Tensor{y[0], res}
		if k.resFirst {
			args[0], args[1] = res, y[0]
		}
		if y, err = k.add.Run(ctx, args); err != nil {
			return nil, fmt.Errorf("%s: %w", k.addNode.Label(), err)
		}
	}
	if k.act != nil {
		if y, err = k.act.Run(ctx, append([]*graph.Tensor{y[0]}, k.actArgs...)); err != nil {
			return nil, fmt.Errorf("%s: %w", k.actNode.Label(), err)
		}
		for _, c := range k.more {
			if y, err = c.kernel.Run(ctx, append([]*graph.Tensor{y[0]}, c.args...)); err != nil {
				return nil, fmt.Errorf("%s: %w", c.node.Label(), err)
			}
		}
	}
	applyPost(k.post, y[0])
	return y, nil
}

// fuseConvEpilogues rewrites the plan's steps; it runs after s.keep is known and
// before buffer lifetimes are planned.
func (s *Session) fuseConvEpilogues(opset int64) {
	readers := s.stepReaders()
	// soleReader returns the only step that reads slot id, if the slot is not kept.
	soleReader := func(id int) (int, bool) {
		r := readers[id]
		if len(r) != 1 || s.keep[id] || id < 0 {
			return -1, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i := range s.steps {
		ck, ok := s.steps[i].kernel.(*convKernel)
		if !ok || removed[i] || len(s.steps[i].out) != 1 {
			continue
		}
		w3, _ := s.conv3DWeights(s.steps[i], ck) // layout_3d.go
		if ck.packed == nil && w3 == nil && !s.dwFusable(s.steps[i], ck) && !s.groupedFusable(s.steps[i], ck) &&
			!s.dw3DFusable(s.steps[i], ck) {
			continue
		}
		fk := &fusedConvKernel{conv: ck, nConvIn: len(s.steps[i].in)}
		in := append([]int(nil), s.steps[i].in...)
		out, at := s.steps[i].out[0], i
		j, ok := soleReader(out)
		if ok && (ck.packed != nil || w3 != nil) && isOp(s.steps[j].node, "Add") && len(s.steps[j].in) == 2 && len(s.steps[j].out) == 1 {
			a, b := s.steps[j].in[0], s.steps[j].in[1]
			if a != b && a >= 0 && b >= 0 {
				other := a
				if a == out {
					other = b
				}
				fk.add, fk.addNode, fk.resFirst = s.steps[j].kernel, s.steps[j].node, other == a
				in = append(in, other)
				removed[j] = true
				// The residual may be computed after the Conv: the fused step
				// takes the Add's place, where both are ready.
				out, at = s.steps[j].out[0], j
				j, ok = soleReader(out)
			}
		}
		// A chain of clamps (Relu then Clip(0, 6), Clip then Clip) is one
		// clamp to the intersection of their ranges.
		for ok && len(s.steps[j].out) == 1 {
			lo, hi, args, fusable := s.clampOf(s.steps[j], opset)
			if !fusable {
				break
			}
			if fk.act == nil {
				fk.act, fk.actNode, fk.actArgs, fk.lo, fk.hi = s.steps[j].kernel, s.steps[j].node, args, lo, hi
			} else {
				clo, chi, composable := composeClamps(fk.lo, fk.hi, lo, hi)
				if !composable {
					break
				}
				fk.more = append(fk.more, fusedClamp{kernel: s.steps[j].kernel, node: s.steps[j].node, args: args})
				fk.lo, fk.hi = clo, chi
			}
			removed[j] = true
			out = s.steps[j].out[0]
			j, ok = soleReader(out)
		}
		if post, used, res, found := s.activationAfter(out, readers, removed); found {
			fk.post, out = post, res
			for _, r := range used {
				removed[r] = true
			}
		}
		if fk.add == nil && fk.act == nil && fk.post == kernels.ActNone {
			continue
		}
		removed[i] = true
		s.steps[at] = step{node: s.steps[i].node, kernel: fk, in: in, out: []int{out}}
		removed[at] = false
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

// fusedClamp is a Relu or Clip step folded into a fusedConvKernel's clamp,
// with its constant extra inputs (run one by one when the fast path does not
// apply).
type fusedClamp struct {
	kernel Kernel
	node   *graph.Node
	args   []*graph.Tensor
}

// composeClamps returns the one clamp that clamp(clamp(x, lo1, hi1), lo2, hi2)
// amounts to: [max(lo1, lo2), min(hi1, hi2)] when that range is not empty (and
// neither bound is NaN). Disjoint ranges make the chain a constant, which one
// clamp does not express: then ok is false and the second stays a step.
func composeClamps(lo1, hi1, lo2, hi2 float32) (lo, hi float32, ok bool) {
	lo, hi = max(lo1, lo2), min(hi1, hi2)
	return lo, hi, lo1 <= hi1 && lo2 <= hi2 && lo <= hi
}

func isOp(n *graph.Node, op string) bool {
	return n.OpType == op && (n.Domain == "" || n.Domain == "ai.onnx")
}

// clampOf reports whether a step is a Relu or a Clip with constant float32 bounds,
// and the clamp it applies.
func (s *Session) clampOf(st step, opset int64) (lo, hi float32, args []*graph.Tensor, ok bool) {
	inf := float32(math.Inf(1))
	switch {
	case isOp(st.node, "Relu") && len(st.in) == 1:
		return 0, inf, nil, true
	case isOp(st.node, "Clip"):
		if opset < 11 {
			return st.node.AttrFloat("min", -inf), st.node.AttrFloat("max", inf), nil, len(st.in) == 1
		}
		lo, hi = -inf, inf
		for p, id := range st.in[1:] {
			if id < 0 {
				args = append(args, nil)
				continue
			}
			t := s.consts[id]
			if t == nil || t.DType != graph.Float32 || len(t.F32()) != 1 {
				return 0, 0, nil, false
			}
			args = append(args, t)
			if p == 0 {
				lo = t.F32()[0]
			} else {
				hi = t.F32()[0]
			}
		}
		return lo, hi, args, true
	}
	return 0, 0, nil, false
}

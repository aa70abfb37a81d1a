package runtime

// Outputs written over a dying input. A residual block's last convolution
// adds the shortcut to its output (the fused Conv + Add + Relu of
// fuse.go); when that shortcut tensor is read by nothing after it, the
// convolution can write its output into the shortcut's own buffer, reading
// each residual tile just before storing the result over it, as ONNX
// Runtime's fused Conv + Sum does. Otherwise the step reads the residual
// and writes a second buffer of the same size, last touched an inference
// earlier, whose lines each store first reads in from memory: at ResNet-50's
// 56x56x256 that is 3.2 MB of extra traffic (thirteenth session, step CPU
// time of /layer1/layer1.0/conv3 0.93-0.96 → 0.76-0.82 ms).
//
// The session marks, per step, the input positions whose slot dies at the
// step (planDying); at run time such an input may be overwritten only when
// it is the whole of an arena buffer of this run that no other slot holds
// (overwritable), which rules out graph inputs, initializers, views into
// other tensors and Concat buffers. A kernel asks ExecContext.mayOverwrite.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// planDying records each step's dying inputs: slots freed after the step,
// read once by it and never streamed to a tap function (which may keep the
// tensor).
func (s *Session) planDying() {
	for i := range s.steps {
		st := &s.steps[i]
		st.dying = st.dying[:0]
		for pos, id := range st.in {
			if id < 0 || pos >= 64 || !slices.Contains(st.free, id) || countInt(st.in, id) != 1 {
				continue
			}
			if _, tapped := s.tapNames[id]; tapped {
				continue
			}
			st.dying = append(st.dying, pos)
		}
	}
}

// overwritable returns the bits of the inputs of st that its kernel may
// write over in this run: dying inputs that are exactly an arena buffer
// held by their slot alone.
func (s *Session) overwritable(st *step, vals []*graph.Tensor, held []*arenaBuf, ctx *ExecContext) uint64 {
	var bits uint64
	for _, pos := range st.dying {
		id := st.in[pos]
		b, t := held[id], vals[id]
		if b == nil || t == nil || b.refs != 1 || rangeOf(t.Data) != b.r || ctx.isViewBuffer(b) {
			continue
		}
		bits |= 1 << uint(pos)
	}
	return bits
}

// mayOverwrite reports whether the running step may write over its input
// i (the tensor's memory is its own and nothing reads it afterwards).
func (c *ExecContext) mayOverwrite(i int) bool {
	return i >= 0 && i < 64 && c.overwrite&(1<<uint(i)) != 0
}

func countInt(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// residualInPlace reports whether the convolution may compute its output
// (size floats) in the buffer of its residual res: a dying channels-last
// residual of exactly the output's layout, on the pointwise GEMM, whose
// reduction is one block (kernels.SgemmRowsResidualInPlace: each output is
// written once, after its residual is read).
func (k *rowsConvKernel) residualInPlace(ctx *ExecContext, p *convPlan, res []float32, size int) bool {
	if res == nil || len(res) != size || !k.outNHWC || k.view != nil || !p.pointwise || !k.inNHWC || !ctx.mayOverwrite(k.nConvIn) {
		return false
	}
	for _, part := range k.mixed {
		if !kernels.SgemmRowsResidualInPlace(part.pb) {
			return false
		}
	}
	return kernels.SgemmRowsResidualInPlace(k.pb)
}

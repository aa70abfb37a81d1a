package runtime

// The bias Add after an int8 projection folded into the projection's step.
// torch.onnx writes nn.Linear on a sequence ([T, B, D] or [B, T, D]) as
// MatMul then Add(bias, ·); the quantizers put a QuantizeLinear on both, so the
// int8 lowering ran QGemm (requantized to the MatMul's int8 output) and then a
// QBinary Add of the int8 bias constant: a step, an output buffer and a pass
// over the tensor of its own, 6 of encoder_mask's 57 int8 steps. The Add is a
// function of one code per output column (the constant is fixed per column),
// so folded, the QGemm step applies the QBinary's own vector kernel in place
// to its output, block by block of rows against the constant repeated once
// at session creation (Add, Sub, Mul), or maps it through the per-column
// tables of chanConst (op_int8_qbinary_chan.go, built with the QBinary's
// arithmetic; the other operators), and its output is the Add's. Same codes
// as the two steps: the GEMM's requantized code is what the QBinary read, and
// the same arithmetic runs on it. (The per-column gather of
// kernels.ChanLUT.ApplyPixels was tried for Add too: 7 % of encoder_mask's
// int8 run, slower than the vector kernel it replaced.) Folding the bias into the GEMM's
// int32 bias instead would round once where the file rounds twice: not the
// same codes, and not what ONNX Runtime computes on the same file.
//
// A pair qualifies when the QBinary's constant operand has one value per
// column of the GEMM's output (its non-1 dimensions are its last ones and
// number the GEMM's n outputs) and the GEMM's output is read by the QBinary
// only and is not kept (an output or a tap).

import (
	"github.com/warboy-sim/warboy/kernels"
)

// int8BiasPost is the folded QBinary of a QGemm step.
type int8BiasPost struct {
	// fast is the QBinary's vector kernel (Add, Sub, Mul), run in place on
	// blocks of rows against block, the constant repeated for blockRows rows
	// (the arithmetic of the unfolded step); nil for the other operators,
	// which take the per-column tables luts.
	fast      *kernels.QBinary
	block     []int8
	blockRows int
	constIn   int // 0: the constant is the QBinary's A
	luts      *kernels.ChanLUT
	rank      int // the constant's rank: the Add's output has at least this many dimensions
}

// newInt8BiasPost is the folded form of QBinary qb whose constant operand
// (per-channel form cc) has values c, one per column of n.
func newInt8BiasPost(qb *qbinaryKernel, cc *chanConst, c []int8, n int) *int8BiasPost {
	p := &int8BiasPost{fast: qb.fast, constIn: cc.constIn, luts: cc.luts, rank: len(cc.shape)}
	if p.fast != nil {
		p.blockRows = max(1, minBlock/n)
		p.block = repeatI8(c, p.blockRows)
	}
	return p
}

// foldInt8BiasAdds runs after the int8 attention passes, before buffer lifetimes.
func (s *Session) foldInt8BiasAdds() {
	if s.mode != ModeInt8 {
		return
	}
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		qb, ok := st.kernel.(*qbinaryKernel)
		if !ok || qb.chans == nil || len(st.in) != 2 || len(st.out) != 1 || st.out[0] < 0 {
			continue
		}
		cc := qb.chans
		if cc.hi != len(cc.shape) {
			continue // the constant's channels are not its last dimensions
		}
		act := st.in[1-cc.constIn]
		if act < 0 || s.consts[act] != nil || s.keep[act] || len(readers[act]) != 1 {
			continue
		}
		p, ok := producer[act]
		if !ok || removed[p] || p > j || len(s.steps[p].out) != 1 {
			continue
		}
		g, ok := s.steps[p].kernel.(*qgemmKernel)
		if !ok || g.post != nil || cc.luts.Channels() != g.n {
			continue
		}
		c, ok := s.consts[st.in[cc.constIn]].Data.([]int8)
		if !ok || len(c) != g.n {
			continue
		}
		fused := *g
		fused.post = newInt8BiasPost(qb, cc, c, g.n)
		ns := s.steps[p]
		ns.kernel = &fused
		ns.out = st.out
		s.steps[p] = ns
		removed[j] = true
	}
	s.dropSteps(removed)
}

// apply runs the folded operator on the GEMM's output in place. The Add's
// output shape is the GEMM's with leading 1s up to the constant's rank
// (qgemmKernel.Run).
func (p *int8BiasPost) apply(out []int8) {
	if p.fast == nil {
		p.luts.ApplyPixels(out, out)
	} else {
		step := len(p.block)
		for lo := 0; lo < len(out); lo += step {
			o := out[lo:min(lo+step, len(out))]
			if p.constIn == 0 {
				p.fast.Apply(p.block[:len(o)], o, o)
			} else {
				p.fast.Apply(o, p.block[:len(o)], o)
			}
		}
	}
}

package runtime

// A QLUT and a Dequantize folded into the int8 projection before them
// (twenty-third session). A transformer's MLP runs its activation (GELU,
// SiLU, ...) as a QLUT on the first projection's int8 output, and a model's
// last projection is often dequantized into a float graph output (a decoder
// step's logits): each its own step, with an output buffer and a pass over a
// tensor of a few hundred values, where the step's fixed cost is most of the
// time (kv_cache_step: 15 steps of 0.3-0.6 µs on an int8 run of 9-10 µs).
// Folded, the QGemm step maps its requantized output through the table in
// place and, with a Dequantize, writes the float values from it: the table
// and kernels.DequantBytesF32 are what the two steps run, on the same codes,
// so the results are the same bits.
//
// A QLUT qualifies when it reads the GEMM's output only, which no other step
// reads and no run keeps (an output or a tap); a Dequantize when it
// dequantizes the GEMM's (or the folded QLUT's) output under the same
// condition, per tensor with constant parameters and no layout.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// gemmDeq is a folded Dequantize's per-tensor parameters.
type gemmDeq struct {
	scale float32
	zp    int32
}

// epilogue applies the folded QLUT and Dequantize to the GEMM's output.
func (k *qgemmKernel) epilogue(ctx *ExecContext, shape []int, out []int8) []*graph.Tensor {
	if k.lut != nil {
		k.lut.Apply(out, out)
	}
	if k.deq == nil {
		return []*graph.Tensor{graph.FromInt8(shape, out)}
	}
	f := ctx.AllocF32(len(out))
	b := qtensor.I8AsBytes(out)
	qtensor.ParallelChunks(len(b), ctx.Threads, 1<<15, func(lo, hi int) {
		kernels.DequantBytesF32(f[lo:hi], b[lo:hi], false, k.deq.zp, k.deq.scale)
	})
	return []*graph.Tensor{graph.FromFloat32(shape, f)}
}

// foldInt8GemmEpilogues runs after foldInt8BiasAdds (the QLUT comes after
// the folded bias).
func (s *Session) foldInt8GemmEpilogues() {
	if s.mode != ModeInt8 {
		return
	}
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	// next is the single reader of step i's only output, -1 when it has
	// others or is kept.
	next := func(st step) int {
		if len(st.out) != 1 || st.out[0] < 0 || s.keep[st.out[0]] || len(readers[st.out[0]]) != 1 {
			return -1
		}
		r := readers[st.out[0]][0]
		if removed[r] {
			return -1
		}
		return r
	}
	for i, st := range s.steps {
		g, ok := st.kernel.(*qgemmKernel)
		if !ok || removed[i] || g.lut != nil || g.deq != nil {
			continue
		}
		fused := *g
		ns := st
		if r := next(ns); r >= 0 {
			ls := s.steps[r]
			if lk, ok := ls.kernel.(*lutKernel); ok && len(ls.in) == 2 && ls.in[0] == ns.out[0] && ls.in[1] >= 0 && s.consts[ls.in[1]] != nil && len(ls.out) == 1 {
				fused.lut = lk.lut
				ns.out = ls.out
				removed[r] = true
			}
		}
		if r := next(ns); r >= 0 {
			if sc, zp, ok := s.plainDequantize(s.steps[r], ns.out[0]); ok {
				fused.deq = &gemmDeq{scale: sc, zp: zp}
				ns.out = s.steps[r].out
				removed[r] = true
			}
		}
		if fused.lut == nil && fused.deq == nil {
			continue
		}
		ns.kernel = &fused
		s.steps[i] = ns
	}
	s.dropSteps(removed)
}

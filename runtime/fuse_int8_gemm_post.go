package runtime

// Steps folded into the int8 projection before them (twenty-third session):
// a QLUT, a residual QBinary and a Dequantize. A transformer's MLP runs its
// activation (GELU, SiLU, ...) as a QLUT on the first projection's int8
// output, each block adds its second projection's output to the residual
// stream with a QBinary Add, and a model's last projection is often
// dequantized into a float graph output (a decoder step's logits): each its
// own step, with an output buffer and a pass over a tensor of a few hundred
// values, where the step's fixed cost is most of the time (kv_cache_step:
// 15 steps of 0.3-0.6 µs on an int8 run of 9-10 µs). Folded, the QGemm step
// maps its requantized output through the table in place, applies the
// QBinary's own elementwise kernel (qbinaryKernel.apply) in place against
// the residual operand, and, with a Dequantize, writes the float values from
// the result: the same table, kernel and kernels.DequantBytesF32 as the
// steps, on the same codes, so the results are the same bits.
//
// A step qualifies when it reads the previous one's output only, which no
// other step reads and no run keeps (an output or a tap): a QLUT with its
// constant table; a QBinary whose other operand is an int8 tensor of the
// output's static shape (no broadcasting) computed before the projection; a
// Dequantize per tensor with constant parameters and no layout (the last).

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// gemmEpi is a folded QLUT (lut) or residual QBinary (bin, reading the
// step's input arg as its operand other, 0 for A).
type gemmEpi struct {
	lut   *kernels.LUT
	bin   *qbinaryKernel
	arg   int
	other int
}

// gemmDeq is a folded Dequantize's per-tensor parameters.
type gemmDeq struct {
	scale float32
	zp    int32
}

// epilogue applies the folded steps to the GEMM's output.
func (k *qgemmKernel) epilogue(ctx *ExecContext, in []*graph.Tensor, shape []int, out []int8) ([]*graph.Tensor, error) {
	for _, e := range k.epi {
		if e.lut != nil {
			e.lut.Apply(out, out)
			continue
		}
		r := in[e.arg]
		rd, err := i8Data(r, "residual")
		if err != nil {
			return nil, err
		}
		if !slices.Equal(r.Shape, shape) {
			// The planned shapes do not hold: the QBinary as its step runs it.
			other := graph.FromInt8(shape, out)
			args := []*graph.Tensor{other, r}
			if e.other == 0 {
				args = []*graph.Tensor{r, other}
			}
			res, err := e.bin.Run(ctx, args)
			if err != nil {
				return nil, err
			}
			if out, err = i8Data(res[0], "residual sum"); err != nil {
				return nil, err
			}
			shape = res[0].Shape
			continue
		}
		a, b := out, rd
		if e.other == 0 {
			a, b = rd, out
		}
		if ctx.Threads <= 1 || len(out) < 2<<13 {
			e.bin.apply(a, b, out)
		} else {
			qtensor.ParallelChunks(len(out), ctx.Threads, 1<<13, func(lo, hi int) { e.bin.apply(a[lo:hi], b[lo:hi], out[lo:hi]) })
		}
	}
	if k.deq == nil {
		return []*graph.Tensor{graph.FromInt8(shape, out)}, nil
	}
	f := ctx.AllocF32(len(out))
	b := qtensor.I8AsBytes(out)
	qtensor.ParallelChunks(len(b), ctx.Threads, 1<<15, func(lo, hi int) {
		kernels.DequantBytesF32(f[lo:hi], b[lo:hi], false, k.deq.zp, k.deq.scale)
	})
	return []*graph.Tensor{graph.FromFloat32(shape, f)}, nil
}

// foldInt8GemmEpilogues runs after foldInt8BiasAdds (the folded steps come
// after the folded bias).
func (s *Session) foldInt8GemmEpilogues() {
	if s.mode != ModeInt8 {
		return
	}
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	// next is the single reader of st's only output, -1 when it has others
	// or is kept.
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
		if !ok || removed[i] || len(g.epi) > 0 || g.deq != nil || len(st.out) != 1 {
			continue
		}
		fused := *g
		ns := st
		ns.in = slices.Clone(st.in)
		shape := s.valueDims(s.nameOf(st.out[0]))
		for {
			r := next(ns)
			if r < 0 {
				break
			}
			rs := s.steps[r]
			if e, ok := s.gemmEpiOf(rs, ns.out[0], shape, i, producer); ok {
				if e.bin != nil {
					e.arg = len(ns.in)
					ns.in = append(ns.in, rs.in[e.other])
				}
				fused.epi = append(fused.epi, e)
				ns.out = rs.out
				removed[r] = true
				continue
			}
			if sc, zp, ok := s.plainDequantize(rs, ns.out[0]); ok {
				fused.deq = &gemmDeq{scale: sc, zp: zp}
				ns.out = rs.out
				removed[r] = true
			}
			break
		}
		if len(fused.epi) == 0 && fused.deq == nil {
			continue
		}
		ns.kernel = &fused
		s.steps[i] = ns
	}
	s.dropSteps(removed)
}

// gemmEpiOf reports whether step st (at reading slot x, the output of the
// projection step i, of static shape shape) folds into it, and how.
func (s *Session) gemmEpiOf(st step, x int, shape []int, i int, producer map[int]int) (gemmEpi, bool) {
	if len(st.out) != 1 || st.out[0] < 0 {
		return gemmEpi{}, false
	}
	switch k := st.kernel.(type) {
	case *lutKernel:
		if len(st.in) == 2 && st.in[0] == x && st.in[1] >= 0 && s.consts[st.in[1]] != nil {
			return gemmEpi{lut: k.lut}, true
		}
	case *qbinaryKernel:
		if len(st.in) != 2 || shape == nil || (st.in[0] == x) == (st.in[1] == x) {
			return gemmEpi{}, false
		}
		o := 0
		if st.in[0] == x {
			o = 1
		}
		id := st.in[o]
		if id < 0 || s.consts[id] != nil || s.valueType(id) != graph.Int8 || s.valueType(st.out[0]) != graph.Int8 {
			return gemmEpi{}, false
		}
		if p, ok := producer[id]; ok && p >= i {
			return gemmEpi{}, false // computed after the projection
		}
		if !slices.Equal(s.valueDims(s.nameOf(id)), shape) || !slices.Equal(s.valueDims(s.nameOf(st.out[0])), shape) {
			return gemmEpi{}, false
		}
		return gemmEpi{bin: k, other: o}, true
	}
	return gemmEpi{}, false
}

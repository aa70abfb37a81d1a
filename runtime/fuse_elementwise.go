package runtime

// Elementwise chains of exported transformers and ConvNeXt, rewritten at the
// step level (the graph, placement and taps are unchanged; a tapped tensor is
// never fused away):
//   - GELU as torch.onnx writes it below opset 20, Mul(Mul(x, Add(Erf(Div(x,
//     √2)), 1)), 0.5), becomes one pass of kernels.ActF32(ActGELU) instead of
//     five passes and a float64 erf per element;
//   - Mish as torch.onnx writes it below opset 18, Mul(x, Tanh(Softplus(x)))
//     (twelfth session), becomes one pass of ActF32(ActMish) where no
//     convolution took it as its epilogue;
//   - LogSigmoid as Log(Sigmoid(x)) and Softsign as Div(x, Add(Abs(x), 1))
//     (torch.onnx's spellings of F.logsigmoid and nn.Softsign; twelfth
//     session) become one pass of ActLogSigmoid / ActSoftsign;
//   - Pow(x, 2) (the variance of a decomposed LayerNorm) becomes x·x, which is
//     exactly what the float64 pow rounds to.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// actKernel applies a kernels.Act to a float32 tensor.
type actKernel struct{ act kernels.Act }

func (k *actKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x == nil || x.DType != graph.Float32 {
		return nil, fmt.Errorf("fused %s: input is not float32", k.act)
	}
	y := ctx.AllocF32(len(x.F32()))
	actParallel(ctx.Threads, k.act, y, x.F32()) // act_parallel.go
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// squareKernel is Pow(x, 2) on float32.
type squareKernel struct{ pow Kernel }

func (k *squareKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[0].DType != graph.Float32 {
		return k.pow.Run(ctx, in)
	}
	x := in[0].F32()
	y := ctx.AllocF32(len(x))
	nnParallel(min(ctx.Threads, max(1, len(x)/parallelMinWork)), len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = v * v
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), in[0].Shape...), Data: y}}, nil
}

// fuseElementwise rewrites the steps; it runs after the convolution epilogues
// are fused and before buffer lifetimes are planned.
func (s *Session) fuseElementwise() {
	readers, producer := s.stepReaders(), s.stepProducers()
	// sole returns the only reader of a step's single output, if it is of op
	// type op and the output is not kept.
	sole := func(i int, op string) (int, bool) {
		st := s.steps[i]
		if len(st.out) != 1 || st.out[0] < 0 || s.keep[st.out[0]] {
			return -1, false
		}
		r := readers[st.out[0]]
		if len(r) != 1 || !isOp(s.steps[r[0]].node, op) || len(s.steps[r[0]].out) != 1 {
			return -1, false
		}
		return r[0], true
	}
	removed := make([]bool, len(s.steps))
	for i, st := range s.steps {
		switch {
		case isOp(st.node, "Pow") && len(st.in) == 2 && s.scalarConst(st.in[1]) == 2 && s.isF32Slot(st.in[0]):
			s.steps[i].kernel = &squareKernel{pow: st.kernel}
		case isOp(st.node, "Erf") && len(st.in) == 1 && st.in[0] >= 0 && !removed[i]:
			d, ok := producer[st.in[0]]
			if !ok || len(s.steps[d].in) != 2 || len(s.steps[d].out) != 1 || s.keep[st.in[0]] || len(readers[st.in[0]]) != 1 {
				continue
			}
			x, c := s.steps[d].in[0], s.scalarConst(s.steps[d].in[1])
			scaled := isOp(s.steps[d].node, "Div") && geluConst(c, math.Sqrt2) ||
				isOp(s.steps[d].node, "Mul") && geluConst(c, 1/math.Sqrt2)
			if !scaled || x < 0 || !s.isF32Slot(x) {
				continue
			}
			a, ok := sole(i, "Add")
			if !ok || s.otherConst(s.steps[a], s.steps[i].out[0]) != 1 {
				continue
			}
			m1, ok := sole(a, "Mul")
			if !ok || !s.isPair(s.steps[m1], x, s.steps[a].out[0]) {
				continue
			}
			m2, ok := sole(m1, "Mul")
			if !ok || s.otherConst(s.steps[m2], s.steps[m1].out[0]) != 0.5 {
				continue
			}
			for _, r := range []int{d, i, a, m1} {
				removed[r] = true
			}
			s.steps[m2] = step{node: s.steps[m2].node, kernel: &actKernel{act: kernels.ActGELU}, in: []int{x}, out: s.steps[m2].out}
		case isOp(st.node, "Sigmoid") && len(st.in) == 1 && st.in[0] >= 0 && s.isF32Slot(st.in[0]) && !removed[i]:
			if l, ok := sole(i, "Log"); ok && !removed[l] {
				removed[i] = true
				s.steps[l] = step{node: s.steps[l].node, kernel: &actKernel{act: kernels.ActLogSigmoid}, in: []int{st.in[0]}, out: s.steps[l].out}
			}
		case isOp(st.node, "Abs") && len(st.in) == 1 && st.in[0] >= 0 && s.isF32Slot(st.in[0]) && !removed[i]:
			x := st.in[0]
			a, ok := sole(i, "Add")
			if !ok || removed[a] || s.otherConst(s.steps[a], st.out[0]) != 1 {
				continue
			}
			d, ok := sole(a, "Div")
			if !ok || removed[d] || len(s.steps[d].in) != 2 || s.steps[d].in[0] != x || s.steps[d].in[1] != s.steps[a].out[0] {
				continue
			}
			removed[i], removed[a] = true, true
			s.steps[d] = step{node: s.steps[d].node, kernel: &actKernel{act: kernels.ActSoftsign}, in: []int{x}, out: s.steps[d].out}
		case isOp(st.node, "Softplus") && len(st.in) == 1 && st.in[0] >= 0 && s.isF32Slot(st.in[0]) && !removed[i]:
			t, ok := s.mishTail(i, readers, removed)
			if !ok {
				continue
			}
			m := s.mishMul(t, readers)
			if m < 0 || removed[m] || !s.isPair(s.steps[m], st.in[0], s.steps[t].out[0]) {
				continue
			}
			removed[i], removed[t] = true, true
			s.steps[m] = step{node: s.steps[m].node, kernel: &actKernel{act: kernels.ActMish}, in: []int{st.in[0]}, out: s.steps[m].out}
		}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
	s.fuseSoftmaxAdd()   // fuse_softmax.go
	s.fuseAffineChains() // fuse_affine.go
}

// scalarConst is the value of a constant float32 scalar (or one-element)
// slot, NaN otherwise.
func (s *Session) scalarConst(id int) float64 {
	if id < 0 {
		return math.NaN()
	}
	t := s.consts[id]
	if t == nil || t.DType != graph.Float32 || len(t.F32()) != 1 {
		return math.NaN()
	}
	return float64(t.F32()[0])
}

// otherConst is, for a binary step with input id, the scalar constant of its
// other input (NaN if none).
func (s *Session) otherConst(st step, id int) float64 {
	if len(st.in) != 2 {
		return math.NaN()
	}
	switch id {
	case st.in[0]:
		return s.scalarConst(st.in[1])
	case st.in[1]:
		return s.scalarConst(st.in[0])
	}
	return math.NaN()
}

// isPair reports whether a binary step reads exactly a and b (either order).
func (s *Session) isPair(st step, a, b int) bool {
	return len(st.in) == 2 && (st.in[0] == a && st.in[1] == b || st.in[0] == b && st.in[1] == a)
}

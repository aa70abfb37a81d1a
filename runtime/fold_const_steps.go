package runtime

// Steps of an int8 session whose inputs are all constants (seventeenth
// session). The graph optimiser folds constant subgraphs before the int8
// lowering, but not through QuantizeLinear/DequantizeLinear (the QDQ
// structure is what the lowering reads), so a computation on quantized
// constants survives into the lowered graph and runs on every inference:
// the relative position bias of relpos_dynhw_op13 (a Gather from the
// dequantized bias table by a constant index, Quantize, Dequantize, a
// Transpose, a Where with a constant condition) cost 0.3 of its 0.93 ms in
// steps. Here each such step runs once at session creation and its outputs
// become constants; the passes after it (the Softmax's constant terms, the
// fused attention) see them as such.

import (
	"github.com/warboy-sim/warboy/graph"
)

// foldConstLimit bounds the elements a folded step may produce: a constant
// is kept for the session's life, a run's value only during the run.
const foldConstLimit = 1 << 22

// nonConstOps are operators whose result is not a function of their inputs.
var nonConstOps = map[string]bool{
	"RandomNormal": true, "RandomNormalLike": true, "RandomUniform": true, "RandomUniformLike": true,
	"Multinomial": true, "Bernoulli": true,
	"If": true, "Loop": true, "Scan": true, // subgraphs: left to their kernels
}

// foldConstSteps runs the int8 session's steps whose inputs are all
// constants and makes their outputs constants.
func (s *Session) foldConstSteps() {
	if s.mode != ModeInt8 {
		return
	}
	ctx := &ExecContext{Threads: 1}
	removed := make([]bool, len(s.steps))
	folded := false
	for i, st := range s.steps {
		if len(st.in) == 0 || nonConstOps[st.node.OpType] || graph.IsSeqOp(st.node) || len(st.out) == 0 {
			continue
		}
		args := make([]*graph.Tensor, len(st.in))
		ok := true
		for a, id := range st.in {
			if id < 0 {
				continue
			}
			if args[a] = s.consts[id]; args[a] == nil {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		outs, err := st.kernel.Run(ctx, args)
		if err != nil || len(outs) < len(st.out) {
			continue // the step reports it at run time
		}
		size := 0
		for j, id := range st.out {
			if id >= 0 {
				if outs[j] == nil {
					ok = false
					break
				}
				size += outs[j].Len()
			}
		}
		if !ok || size > foldConstLimit {
			continue
		}
		for j, id := range st.out {
			if id >= 0 {
				s.consts[id] = outs[j]
				s.constRanges = append(s.constRanges, rangeOf(outs[j].Data))
			}
		}
		removed[i] = true
		folded = true
	}
	if folded {
		s.dropSteps(removed)
	}
}

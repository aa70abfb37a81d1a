package runtime

// Activation epilogues of fused convolutions, recognised however the exporter
// spelled them: SiLU as Sigmoid(y) and Mul(y, sigmoid) (torch.onnx below
// opset 14 has no Swish), HardSwish as the operator or as HardSigmoid(1/6,
// 1/2) and Mul (torch.onnx at opset 13), a gating Sigmoid (squeeze-excite),
// Tanh (super-resolution nets such as ESPCN; tenth session), GELU as torch.onnx
// writes it below opset 20, x·(erf(x/√2)+1)·0.5 (MaxViT's MBConv, wav2vec's
// feature encoder, keyword-spotting Conv1d nets; tenth session).
// The activation is applied after the bias, the residual and the clamp, as
// the output is stored (kernels.SgemmRowsAct, kernels.DepthwiseF32).

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// activationAfter looks for an activation reading slot out (and nothing else
// reading it): the steps it consists of and the slot of its result.
func (s *Session) activationAfter(out int, readers map[int][]int, removed []bool) (act kernels.Act, used []int, result int, ok bool) {
	if out < 0 || s.keep[out] || !s.isF32Slot(out) {
		return kernels.ActNone, nil, -1, false
	}
	rs := readers[out]
	for _, r := range rs {
		if removed[r] || len(s.steps[r].out) != 1 || s.steps[r].out[0] < 0 {
			return kernels.ActNone, nil, -1, false
		}
	}
	switch len(rs) {
	case 1:
		st := s.steps[rs[0]]
		if len(st.in) != 1 {
			break
		}
		switch {
		case isOp(st.node, "Sigmoid"):
			return kernels.ActSigmoid, rs, st.out[0], true
		case isOp(st.node, "HardSwish"):
			return kernels.ActHardSwish, rs, st.out[0], true
		case isOp(st.node, "Tanh"):
			return kernels.ActTanh, rs, st.out[0], true
		}
	case 2:
		if used, res, ok := s.geluAfter(out, readers, removed); ok {
			return kernels.ActGELU, used, res, true
		}
		for g, m := range [2]int{1, 0} {
			gate, mul := s.steps[rs[g]], s.steps[rs[m]]
			a := gateAct(gate.node)
			if a == kernels.ActNone || len(gate.in) != 1 || !isOp(mul.node, "Mul") || len(mul.in) != 2 {
				continue
			}
			gv := gate.out[0]
			if s.keep[gv] || len(readers[gv]) != 1 || readers[gv][0] != rs[m] {
				continue
			}
			if (mul.in[0] == out && mul.in[1] == gv) || (mul.in[1] == out && mul.in[0] == gv) {
				return a, []int{rs[g], rs[m]}, mul.out[0], true
			}
		}
	}
	return kernels.ActNone, nil, -1, false
}

// gateAct is the activation x·gate(x) amounts to: SiLU for a Sigmoid gate,
// HardSwish for HardSigmoid(1/6, 1/2).
func gateAct(n *graph.Node) kernels.Act {
	switch {
	case isOp(n, "Sigmoid"):
		return kernels.ActSiLU
	case isOp(n, "HardSigmoid"):
		a, b := n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)
		if math.Abs(float64(a)-1.0/6) < 1e-6 && b == 0.5 {
			return kernels.ActHardSwish
		}
	}
	return kernels.ActNone
}

// isF32Slot reports whether a slot holds a float32 tensor (by the graph's
// inferred types).
func (s *Session) isF32Slot(id int) bool {
	v := s.model.Graph.Values[s.nameOf(id)]
	return v != nil && v.DType == graph.Float32
}

// applyPost applies a fused activation to a float32 output the fused step
// owns (the unfused fallback path).
func applyPost(a kernels.Act, y *graph.Tensor) {
	if a != kernels.ActNone && y != nil && y.DType == graph.Float32 {
		d := y.F32()
		kernels.ActF32(a, d, d)
	}
}

// dwFusable reports whether a Conv step runs on the depthwise kernel, which
// takes a clamp and an activation epilogue (not a residual).
func (s *Session) dwFusable(st step, ck *convKernel) bool {
	w, _ := s.depthwiseWeights(st, ck)
	return w != nil && channelsLastMode
}

// geluAfter matches the Erf GELU reading slot out, Mul(Mul(out, Add(Erf(
// Div(out, √2)), 1)), 0.5) (or Mul by 1/√2), every intermediate read once and
// not kept (the spelling fuseElementwise rewrites to one actKernel): its five
// steps and the slot of its result.
func (s *Session) geluAfter(out int, readers map[int][]int, removed []bool) (used []int, result int, ok bool) {
	sole := func(id int, op string) (int, bool) {
		r := readers[id]
		if id < 0 || s.keep[id] || len(r) != 1 || removed[r[0]] || !isOp(s.steps[r[0]].node, op) || len(s.steps[r[0]].out) != 1 {
			return -1, false
		}
		return r[0], true
	}
	rs := readers[out]
	for k, d := range rs {
		m1 := rs[1-k]
		c := s.otherConst(s.steps[d], out)
		scaled := isOp(s.steps[d].node, "Div") && s.steps[d].in[0] == out && math.Abs(c-math.Sqrt2) < 1e-6 ||
			isOp(s.steps[d].node, "Mul") && math.Abs(c-1/math.Sqrt2) < 1e-6
		if !scaled || len(s.steps[d].out) != 1 {
			continue
		}
		e, ok := sole(s.steps[d].out[0], "Erf")
		if !ok {
			continue
		}
		a, ok := sole(s.steps[e].out[0], "Add")
		if !ok || s.otherConst(s.steps[a], s.steps[e].out[0]) != 1 {
			continue
		}
		if r := readers[s.steps[a].out[0]]; len(r) != 1 || r[0] != m1 || s.keep[s.steps[a].out[0]] ||
			!isOp(s.steps[m1].node, "Mul") || !s.isPair(s.steps[m1], out, s.steps[a].out[0]) {
			continue
		}
		m2, ok := sole(s.steps[m1].out[0], "Mul")
		if !ok || s.otherConst(s.steps[m2], s.steps[m1].out[0]) != 0.5 {
			continue
		}
		return []int{d, e, a, m1, m2}, s.steps[m2].out[0], true
	}
	return nil, -1, false
}

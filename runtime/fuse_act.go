package runtime

// Activation epilogues of fused convolutions, recognised however the exporter
// spelled them: SiLU as Sigmoid(y) and Mul(y, sigmoid) (torch.onnx below
// opset 14 has no Swish), HardSwish as the operator or as HardSigmoid(1/6,
// 1/2) and Mul (torch.onnx at opset 13), a gating Sigmoid (squeeze-excite),
// Tanh (super-resolution nets such as ESPCN; tenth session), GELU as torch.onnx
// writes it below opset 20, x·(erf(x/√2)+1)·0.5 (MaxViT's MBConv, wav2vec's
// feature encoder, keyword-spotting Conv1d nets; tenth session), and
// (twelfth session) Softplus, Softsign, Elu/Celu with α = 1, Selu with its
// default constants and Mish as torch.onnx writes it below opset 18,
// Mul(x, Tanh(Softplus(x))).
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
		if a, ok := s.leakyAct(st, out); ok {
			return a, rs, st.out[0], true
		}
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
		if a := paramFreeAct(st.node); a != kernels.ActNone {
			return a, rs, st.out[0], true
		}
	case 2:
		if used, res, ok := s.geluAfter(out, readers, removed); ok {
			return kernels.ActGELU, used, res, true
		}
		if used, res, ok := s.mishAfter(out, readers, removed); ok {
			return kernels.ActMish, used, res, true
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

// paramFreeAct is the kernels.Act a unary activation node amounts to with its
// attributes (ActNone if its parameters have no Act): Softplus, Softsign,
// Elu and Celu with any α (α = 1 is one function, ActELU; others carry α in
// the Act since the thirteenth session), Selu with ONNX's defaults.
func paramFreeAct(n *graph.Node) kernels.Act {
	switch {
	case isOp(n, "Softplus"):
		return kernels.ActSoftplus
	case isOp(n, "Softsign"):
		return kernels.ActSoftsign
	case isOp(n, "Mish"): // the opset-18 operator
		return kernels.ActMish
	case isOp(n, "Gelu") && n.AttrString("approximate", "none") == "none": // opset 20
		return kernels.ActGELU
	case isOp(n, "Elu"):
		return kernels.EluAct(n.AttrFloat("alpha", 1))
	case isOp(n, "Celu"):
		a, _ := kernels.CeluAct(n.AttrFloat("alpha", 1)) // ActNone where refused
		return a
	case isOp(n, "Selu") && n.AttrFloat("alpha", kernels.SeluAlpha) == kernels.SeluAlpha &&
		n.AttrFloat("gamma", kernels.SeluGamma) == kernels.SeluGamma:
		return kernels.ActSELU
	}
	return kernels.ActNone
}

// leakyAct is the kernels.Act of a LeakyRelu reading slot out, or of a
// PRelu of out by a constant float32 slope of one element whose rank does not
// exceed out's (a wider rank would broadcast the output to a new shape):
// x < 0 ? α·x : x, one float32 product as the operators compute it
// (thirteenth session; YOLO's LeakyRelu(0.1), nn.PReLU() with one slope).
func (s *Session) leakyAct(st step, out int) (kernels.Act, bool) {
	switch {
	case isOp(st.node, "LeakyRelu") && len(st.in) == 1:
		return kernels.LeakyReluAct(st.node.AttrFloat("alpha", 0.01)), true
	case isOp(st.node, "PRelu") && len(st.in) == 2 && st.in[0] == out && st.in[1] >= 0:
		slope := s.consts[st.in[1]]
		v := s.model.Graph.Values[s.nameOf(out)]
		if slope == nil || slope.DType != graph.Float32 || len(slope.F32()) != 1 || v == nil || !v.HasShape || len(slope.Shape) > len(v.Shape) {
			return kernels.ActNone, false
		}
		return kernels.LeakyReluAct(slope.F32()[0]), true
	}
	return kernels.ActNone, false
}

// mishAfter matches Mish reading slot out, Mul(out, Tanh(Softplus(out))),
// the Softplus and Tanh outputs read once and not kept: its three steps and
// the slot of its result.
func (s *Session) mishAfter(out int, readers map[int][]int, removed []bool) (used []int, result int, ok bool) {
	rs := readers[out]
	if len(rs) != 2 {
		return nil, -1, false
	}
	for k, sp := range rs {
		m := rs[1-k]
		if t, ok := s.mishTail(sp, readers, removed); ok && t >= 0 && m == s.mishMul(t, readers) && !removed[m] &&
			s.isPair(s.steps[m], out, s.steps[t].out[0]) {
			return []int{sp, t, m}, s.steps[m].out[0], true
		}
	}
	return nil, -1, false
}

// mishTail returns the Tanh step that alone reads Softplus step sp's output
// (not kept).
func (s *Session) mishTail(sp int, readers map[int][]int, removed []bool) (int, bool) {
	st := s.steps[sp]
	if removed[sp] || !isOp(st.node, "Softplus") || len(st.in) != 1 || len(st.out) != 1 || st.out[0] < 0 || s.keep[st.out[0]] {
		return -1, false
	}
	r := readers[st.out[0]]
	if len(r) != 1 || removed[r[0]] || !isOp(s.steps[r[0]].node, "Tanh") || len(s.steps[r[0]].out) != 1 || s.steps[r[0]].out[0] < 0 {
		return -1, false
	}
	return r[0], true
}

// mishMul returns the Mul step that alone reads Tanh step t's output (not
// kept), -1 if none.
func (s *Session) mishMul(t int, readers map[int][]int) int {
	o := s.steps[t].out[0]
	r := readers[o]
	if s.keep[o] || len(r) != 1 || !isOp(s.steps[r[0]].node, "Mul") || len(s.steps[r[0]].out) != 1 {
		return -1
	}
	return r[0]
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

// geluConst reports whether c is the GELU constant want: to float32 precision,
// or exactly its nearest float16 (1.4140625 for √2, 0.70703125 for 1/√2), the
// constant a float16 model holds (onnxconverter-common's conversion of an Erf
// GELU; sbert_fp16_op14 of --unseen12 ran its Erf unfused, 21 ns an element,
// 60% of its float32 run). The fused kernel computes with √2 itself: within
// 1.1e-4 relative of the file's argument, far inside the float16 rounding the
// file was written for.
func geluConst(c, want float64) bool {
	return math.Abs(c-want) < 1e-6 || c == float64(graph.Float16ToFloat32(graph.Float32ToFloat16(float32(want))))
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
		scaled := isOp(s.steps[d].node, "Div") && s.steps[d].in[0] == out && geluConst(c, math.Sqrt2) ||
			isOp(s.steps[d].node, "Mul") && geluConst(c, 1/math.Sqrt2)
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

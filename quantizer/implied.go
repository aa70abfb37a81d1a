package quantizer

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// dropImpliedActivations removes every Relu/Clip that only a QuantizeLinear reads and
// that the QuantizeLinear's int8 range implies: op -> Clip -> Q becomes op -> Q, with
// identical codes for every input (see activationImplied).
//
// Why the QDQ file must not keep such a clamp: ONNX Runtime (1.30, default `all` and
// `extended` levels, CPU) refuses the file with "two nodes with same node name (<conv>)"
// when a Clip sits between a Conv and its QuantizeLinear and one of the Clip's bounds is
// implied by the int8 range only after rounding (it quantizes to -128 or 127 while lying
// inside the range's float end points, e.g. min -1 against a range that starts at
// -1.00095). Its level-2 ClipQuantFusion rule keeps such a Clip (it removes a Clip only
// when the float end points lie inside [min, max] to within float32 epsilon), yet its
// QDQSelectorActionTransformer then matches DQ -> Conv -> Clip -> Q as one QLinearConv
// group and leaves a second node with the Conv's name behind. When the bound lies just
// inside (ClipQuantFusion removes the Clip) or quantizes to -127/126 (the group is not
// matched; ConvActivationFusion fuses Conv+Clip instead), the file loads; the failure
// therefore follows the calibrated zero point. A calibrated Clip's output range starts
// exactly at its bound, so about one zero point in two lands on either side: common.
// Writing op -> Q avoids the pattern, costs nothing (the int8 runtime saturates in its
// requantization, and ONNX Runtime removes the clamp in the other cases anyway), and the
// QOperator form already drops the same clamps when it forms QLinearConv.
//
// Only a clamp the plan fused into its producer (a quantized Conv, Gemm, MatMul... whose
// output nothing else reads) is dropped: the producer's output was never quantized, so
// no tensor changes name or parameters.
func dropImpliedActivations(g *graph.Graph, fused map[string]bool) {
	prod := g.Producers()
	cons := g.Consumers()
	drop := map[*graph.Node]bool{}
	for _, q := range g.Nodes {
		if q.OpType != "QuantizeLinear" {
			continue
		}
		y := q.Input(0)
		act := prod[y]
		if act == nil || act.Domain != "" || (act.OpType != "Relu" && act.OpType != "Clip") {
			continue
		}
		if !fused[act.Input(0)] || g.IsGraphOutput(y) || len(cons[y]) != 1 || prod[act.Input(0)] == nil {
			continue
		}
		if !activationImplied(g, act, q) {
			continue
		}
		q.Inputs[0] = act.Input(0)
		drop[act] = true
	}
	if len(drop) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !drop[n] {
			kept = append(kept, n)
		}
	}
	g.Nodes = kept
}

// activationImplied reports whether a Relu/Clip is implied by the output quantization
// (its clamp bounds saturate the int8 range exactly), so it can be dropped.
func activationImplied(g *graph.Graph, act, q *graph.Node) bool {
	if len(q.Inputs) < 3 {
		return false
	}
	s, z := g.Initializers[q.Input(1)], g.Initializers[q.Input(2)]
	if s == nil || z == nil || s.DType != graph.Float32 || z.DType != graph.Int8 || len(s.F32()) != 1 || len(z.I8()) != 1 {
		return false
	}
	p := qparams{scale: s.F32()[0], zp: z.I8()[0]}
	if !(p.scale > 0) {
		return false
	}
	lo, hi := float32(0), float32(math.Inf(1))
	if act.OpType == "Clip" {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		for i, b := range []*float32{&lo, &hi} {
			name := act.Input(i + 1)
			if name == "" {
				continue
			}
			t := g.Initializers[name]
			if t == nil || t.DType != graph.Float32 || len(t.F32()) != 1 {
				return false
			}
			*b = t.F32()[0]
		}
	}
	// Quantization is monotonic: if a bound itself quantizes to the saturated code,
	// every value beyond it does too, so clamping first changes nothing.
	okLo := math.IsInf(float64(lo), -1) || saturatesTo(lo, p, -128)
	okHi := math.IsInf(float64(hi), 1) || saturatesTo(hi, p, 127)
	return okLo && okHi
}

// saturatesTo reports whether x quantizes to code under every way a QuantizeLinear
// kernel computes x/scale: in float64 (quantizeValue), as a float32 division (ONNX
// Runtime's MLAS) and as a multiplication by the float32 reciprocal (vectorised
// kernels). A bound within an ulp of a rounding tie keeps its clamp.
func saturatesTo(x float32, p qparams, code int8) bool {
	if quantizeValue(x, p) != code {
		return false
	}
	for _, t := range []float32{x / p.scale, x * (1 / p.scale)} {
		v := math.RoundToEven(float64(t)) + float64(p.zp)
		if (code == -128 && v > -128) || (code == 127 && v < 127) {
			return false
		}
	}
	return true
}

package runtime

// QRNN (warboy.int8): an LSTM or GRU whose W and R are int8 constants, lowered
// from a QDQ file that feeds the recurrent operator DequantizeLinear weights
// (runtime/lower/rnn.go). X arrives as int8 codes with the file's parameters:
// the input projection of every time step is one int8 GEMM, with X's zero point
// folded into the packed weights. The recurrent product quantizes the hidden
// state before each step (DynamicQuantizeLinear's uint8 parameters, as the
// DynamicQuantizeLSTM kernel of op_dynlstm.go, whose projector this reuses);
// the gates, the cell state and the outputs stay float32 (op_rnn.go's cells).

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

func buildQRNN(b *BuildContext) (Kernel, error) {
	n := b.Node
	kind := n.AttrString("kind", "")
	if kind != "LSTM" && kind != "GRU" {
		return nil, b.Errorf("kind %q must be LSTM or GRU", kind)
	}
	rn := n.Clone()
	rn.OpType, rn.Domain = kind, ""
	rb := *b
	rb.Node = rn
	kern, err := buildRNN(&rb)
	if err != nil {
		return nil, err
	}
	k := kern.(*rnnKernel)
	if k.layout != 0 {
		return nil, b.Errorf("layout %d: the int8 recurrent kernel takes sequence-first X", k.layout)
	}
	if kind == "GRU" && !k.linearBeforeReset {
		return nil, b.Errorf("a GRU with linear_before_reset = 0 has no int8 kernel")
	}
	gh := k.gates * k.hidden
	xzp := n.AttrInt("x_zp", 0)
	xs := n.AttrFloat("x_scale", 0)
	if !(xs > 0) || xzp < -128 || xzp > 127 {
		return nil, b.Errorf("x_scale %g must be positive and x_zp %d within int8", xs, xzp)
	}
	proj := &dynLSTMProj{hidden: k.hidden, xStatic: true, xScale: xs, xZP: int32(xzp)}
	for i, what := range []string{"W", "R"} {
		wt := b.Const(1 + i)
		if wt == nil || wt.DType != graph.Int8 || len(wt.Shape) != 3 {
			return nil, b.Errorf("input %s must be a constant int8 [dirs, gates*hidden, ·] initializer", what)
		}
		kk := wt.Shape[2]
		if wt.Shape[0] != k.dirs || wt.Shape[1] != gh || kk == 0 || i == 1 && kk != k.hidden {
			return nil, b.Errorf("input %s has shape %v, expected [%d, %d, %s]", what, wt.Shape, k.dirs, gh,
				[]string{"input_size", "hidden"}[i])
		}
		sc := n.AttrFloats([]string{"w_scale", "r_scale"}[i], nil)
		if len(sc) != k.dirs*gh || slices.ContainsFunc(sc, func(v float32) bool { return !(v > 0) }) {
			return nil, b.Errorf("%s has %d values, expected %d positive scales", []string{"w_scale", "r_scale"}[i], len(sc), k.dirs*gh)
		}
		zp := int32(0)
		if i == 0 {
			zp = int32(xzp)
			proj.inSize = kk
		}
		per := make([]dynLSTMWeights, k.dirs)
		w := wt.I8()
		for d := range per {
			wd := w[d*gh*kk : (d+1)*gh*kk] // [gates*hidden, k] row-major: PackQGemm's layout
			sum := make([]int32, gh)
			for c := range sum {
				for _, v := range wd[c*kk : (c+1)*kk] {
					sum[c] += int32(v)
				}
			}
			p, err := kernels.PackQGemm(gh, kk, wd, nil, zp)
			if err != nil {
				return nil, b.Errorf("input %s: %v", what, err)
			}
			per[d] = dynLSTMWeights{packed: p, sum: sum, scale: sc[d*gh : (d+1)*gh]}
			if per[d].gemv, err = kernels.PackQGemv(gh, kk, wd); err != nil {
				return nil, b.Errorf("input %s: %v", what, err)
			}
		}
		if i == 0 {
			proj.w = per
		} else {
			proj.r = per
		}
	}
	k.proj = proj
	return k, nil
}

func init() {
	Register(OpInfo{OpType: "QRNN", Domain: Int8Domain, Int8: true, Build: buildQRNN})
}

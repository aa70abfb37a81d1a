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
		// The reset gate scales the state before R's h block: the step
		// needs the fused cell (default activations, no clip).
		if slices.Contains(k.vec, false) {
			return nil, b.Errorf("a GRU with linear_before_reset = 0 runs in int8 with the default activations and no clip only")
		}
		k.resetFirst = true
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
		if i == 1 && k.resetFirst {
			h := k.hidden
			for d := range per {
				wd := w[d*gh*kk : (d+1)*gh*kk]
				zr, err := kernels.PackQGemv(2*h, h, wd[:2*h*h])
				if err != nil {
					return nil, b.Errorf("input R: %v", err)
				}
				hh, err := kernels.PackQGemv(h, h, wd[2*h*h:])
				if err != nil {
					return nil, b.Errorf("input R: %v", err)
				}
				proj.rSplit = append(proj.rSplit, qgruResetR{zr: zr, hh: hh, zrScale: per[d].scale[:2*h], hScale: per[d].scale[2*h:]})
			}
		}
	}
	k.proj = proj
	return k, nil
}

// qgruResetR is R of one direction of an int8 GRU with linear_before_reset
// = 0, packed in two parts: the z and r rows, multiplied by the state, and
// the h rows, multiplied by r (.) H after the reset gate.
type qgruResetR struct {
	zr, hh          *kernels.QGemvWeights
	zrScale, hScale []float32
}

// resetFirstStep makes the recurrent products of one step of an int8 GRU
// with linear_before_reset = 0: H·R_zrᵀ into hr's z and r blocks (hr is
// [batch, 3h], its h block left as it is: zero), then r = σ(x_r + h_r),
// and (r (.) H)·R_hᵀ added to the h block of the step's projected rows xt.
// Each product quantizes its operand as the other recurrent products do
// (DynamicQuantizeLinear's uint8 parameters over the batch: r (.) H gets its
// own, a reset gate near 0 would otherwise leave it a few codes) and runs
// on kernels.QGemvDequant. The fused cell (kernels.GRUCellF32 with a zero
// recurrent h block and zero rbh) then gives t = tanh(x_h + (r (.) H)·R_hᵀ),
// the candidate of linear_before_reset = 0. rh is [batch, h] scratch.
func (p *dynLSTMProj) resetFirstStep(d int, h []float32, batch int, xt, hr, rh []float32, sc *rnnProjScratch) {
	sp := &p.rSplit[d]
	hd := p.hidden
	gh := 3 * hd
	ldq := (hd + 3) &^ 3
	q, _ := sc.buffers(batch*ldq, 0)
	quant := func(v []float32) (float32, int32) {
		s, zp := dynamicParams(v)
		if s == 0 {
			return 0, zp
		}
		if ldq == hd {
			kernels.QuantizeF32(v, s, zp, q)
		} else {
			for b := 0; b < batch; b++ {
				kernels.QuantizeF32(v[b*hd:(b+1)*hd], s, zp, q[b*ldq:])
			}
		}
		return s, zp
	}
	if s, zp := quant(h[:batch*hd]); s == 0 {
		for b := 0; b < batch; b++ {
			clear(hr[b*gh : b*gh+2*hd]) // a zero state
		}
	} else {
		kernels.QGemvDequant(hr, gh, q, ldq, batch, sp.zr, sp.zrScale, s, zp, false)
	}
	for b := 0; b < batch; b++ {
		r := rh[b*hd : (b+1)*hd]
		copy(r, xt[b*gh+hd:b*gh+2*hd])
		kernels.AddF32(r, hr[b*gh+hd:b*gh+2*hd])
		kernels.ActF32(kernels.ActSigmoid, r, r)
		for j, v := range h[b*hd : (b+1)*hd] {
			r[j] *= v
		}
	}
	if s, zp := quant(rh[:batch*hd]); s != 0 {
		kernels.QGemvDequant(xt[2*hd:], gh, q, ldq, batch, sp.hh, sp.hScale, s, zp, true)
	}
}

func init() {
	Register(OpInfo{OpType: "QRNN", Domain: Int8Domain, Int8: true, Build: buildQRNN})
}

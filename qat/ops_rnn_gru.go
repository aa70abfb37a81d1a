package qat

import "github.com/warboy-sim/warboy/kernels"

// stepGRU runs step t of direction d (ONNX's gate order z, r, h): z, r =
// σ(x·Wᵀ + Wb + H̃·Rᵀ + Rb), then with linear_before_reset = 1
// h̃ = tanh(x·W_hᵀ + Wb_h + r ⊙ (H̃·R_hᵀ + Rb_h)), with 0
// h̃ = tanh(x·W_hᵀ + Wb_h + Rb_h + (r ⊙ H)~·R_hᵀ), (r ⊙ H)~ fake-quantized on
// its own range as the int8 executor quantizes it; H = (1 − z) ⊙ h̃ + z ⊙ H.
func (o *rnnOp) stepGRU(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	gh := 3 * H
	rw := o.r.eff[d*gh*H:]
	hp, hq := dr.hp[t*B*H:(t+1)*B*H], dr.hq[t*B*H:(t+1)*B*H]
	extra := dr.extra[t*B*H : (t+1)*B*H]
	copy(hp, dr.h)
	o.quantizeState(hp, hq)
	g := dr.act[t*B*gh : (t+1)*B*gh]
	copy(g, dr.xw[t*B*gh:(t+1)*B*gh])
	rg := dr.tmp[:B*gh]
	if o.lbr {
		kernels.Sgemm(false, true, B, gh, H, hq, H, rw, H, rg, gh, false, n.threads)
	} else {
		kernels.Sgemm(false, true, B, 2*H, H, hq, H, rw, H, rg, gh, false, n.threads)
	}
	for b := range B {
		row, rgb := g[b*gh:(b+1)*gh], rg[b*gh:(b+1)*gh]
		kernels.AddF32(row[:2*H], rgb[:2*H])
		kernels.ActF32(kernels.ActSigmoid, row[:2*H], row[:2*H])
		r, hpb := row[H:2*H], hp[b*H:(b+1)*H]
		ex := extra[b*H : (b+1)*H]
		if o.lbr {
			copy(ex, rgb[2*H:])
			if o.b != nil {
				kernels.AddF32(ex, o.b.W[(2*d+1)*gh+2*H:])
			}
			for j, v := range ex {
				row[2*H+j] += r[j] * v
			}
		} else {
			for j := range ex {
				rgb[2*H+j] = r[j] * hpb[j] // r ⊙ H, quantized below
			}
			o.quantizeState(rgb[2*H:], ex)
		}
	}
	if !o.lbr {
		kernels.Sgemm(false, true, B, H, H, extra, H, rw[2*H*H:], H, g[2*H:], gh, true, n.threads)
	}
	for b := range B {
		row := g[b*gh : (b+1)*gh]
		kernels.ActF32(kernels.ActTanh, row[2*H:], row[2*H:])
		if !o.active(t, b) {
			continue
		}
		z, hh, h := row[:H], row[2*H:], dr.h[b*H:(b+1)*H]
		for j := range h {
			h[j] = (1-z[j])*hh[j] + z[j]*h[j]
		}
	}
}

// backStepGRU turns the gradient of the state after step t into the step's
// pre-activation gradients, input side (dr.dxw) and recurrent side (dr.drg: the
// h block is the gradient of what multiplies R_h), and the previous state's.
func (o *rnnOp) backStepGRU(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	gh := 3 * H
	rw := o.r.eff[d*gh*H:]
	act, hpAll, extra := dr.act[t*B*gh:], dr.hp[t*B*H:], dr.extra[t*B*H:]
	dxw, drg := dr.dxw[t*B*gh:(t+1)*B*gh], dr.drg[t*B*gh:(t+1)*B*gh]
	for b := range B {
		dx, dg := dxw[b*gh:(b+1)*gh], drg[b*gh:(b+1)*gh]
		if !o.active(t, b) {
			clear(dx)
			clear(dg)
			continue
		}
		row := act[b*gh : (b+1)*gh]
		z, r, hh := row[:H], row[H:2*H], row[2*H:]
		hp, ex, dh := hpAll[b*H:(b+1)*H], extra[b*H:(b+1)*H], dr.dh[b*H:(b+1)*H]
		for j := range dh {
			dz := dh[j] * (hp[j] - hh[j])
			dah := dh[j] * (1 - z[j]) * (1 - hh[j]*hh[j])
			dx[j] = dz * z[j] * (1 - z[j])
			dx[2*H+j] = dah
			if o.lbr {
				dx[H+j] = dah * ex[j] * r[j] * (1 - r[j])
				dg[2*H+j] = dah * r[j]
			} else {
				dg[2*H+j] = dah
			}
			dh[j] *= z[j] // the direct path; R's contributions are added below
		}
	}
	if !o.lbr {
		// (r ⊙ H)'s gradient, straight through its fake quantization
		drh := dr.tmp[:B*H]
		kernels.Sgemm(false, false, B, H, H, drg[2*H:], gh, rw[2*H*H:], H, drh, H, false, n.threads)
		for b := range B {
			if !o.active(t, b) {
				continue
			}
			r, hp := act[b*gh+H:b*gh+2*H], hpAll[b*H:(b+1)*H]
			dx, dh := dxw[b*gh:(b+1)*gh], dr.dh[b*H:(b+1)*H]
			for j, g := range drh[b*H : (b+1)*H] {
				dx[H+j] = g * hp[j] * r[j] * (1 - r[j])
				dh[j] += g * r[j]
			}
		}
	}
	for b := range B {
		copy(drg[b*gh:b*gh+2*H], dxw[b*gh:b*gh+2*H])
	}
	k := gh
	if !o.lbr {
		k = 2 * H
	}
	kernels.Sgemm(false, false, B, H, k, drg, gh, rw, H, dr.dh, H, true, n.threads)
}

package qat

import "github.com/warboy-sim/warboy/kernels"

// stepLSTM runs step t of direction d (ONNX's gate order i, o, f, c):
// g = x·Wᵀ + Wb + Rb + H̃·Rᵀ (H̃ the state as the product reads it), i, o, f =
// σ(g), c̃ = tanh(g), C = f ⊙ C + i ⊙ c̃, H = o ⊙ tanh(C). Samples past their
// length keep their state.
func (o *rnnOp) stepLSTM(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	gh := 4 * H
	hp, hq := dr.hp[t*B*H:(t+1)*B*H], dr.hq[t*B*H:(t+1)*B*H]
	cp, tc := dr.cp[t*B*H:(t+1)*B*H], dr.extra[t*B*H:(t+1)*B*H]
	copy(hp, dr.h)
	copy(cp, dr.c)
	o.quantizeState(hp, hq)
	g := dr.act[t*B*gh : (t+1)*B*gh]
	copy(g, dr.xw[t*B*gh:(t+1)*B*gh])
	kernels.Sgemm(false, true, B, gh, H, hq, H, o.r.eff[d*gh*H:], H, g, gh, true, n.threads)
	for b := range B {
		row := g[b*gh : (b+1)*gh]
		kernels.ActF32(kernels.ActSigmoid, row[:3*H], row[:3*H])
		kernels.ActF32(kernels.ActTanh, row[3*H:], row[3*H:])
		if !o.active(t, b) {
			continue
		}
		i, og, f, cc := row[:H], row[H:2*H], row[2*H:3*H], row[3*H:]
		c, h, tcb := dr.c[b*H:(b+1)*H], dr.h[b*H:(b+1)*H], tc[b*H:(b+1)*H]
		for j := range c {
			c[j] = f[j]*c[j] + i[j]*cc[j]
		}
		kernels.ActF32(kernels.ActTanh, tcb, c)
		for j := range h {
			h[j] = og[j] * tcb[j]
		}
	}
}

// backStepLSTM turns the gradients of the state after step t (dr.dh, dr.dc,
// Y's already added) into the step's pre-activation gradients (dr.dxw) and
// those of the state before it.
func (o *rnnOp) backStepLSTM(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	gh := 4 * H
	act, cp, tc := dr.act[t*B*gh:], dr.cp[t*B*H:], dr.extra[t*B*H:]
	dxw := dr.dxw[t*B*gh : (t+1)*B*gh]
	for b := range B {
		dx := dxw[b*gh : (b+1)*gh]
		if !o.active(t, b) {
			clear(dx) // the state is held: its gradient passes unchanged
			continue
		}
		row := act[b*gh : (b+1)*gh]
		i, og, f, cc := row[:H], row[H:2*H], row[2*H:3*H], row[3*H:]
		dh, dc := dr.dh[b*H:(b+1)*H], dr.dc[b*H:(b+1)*H]
		tcb, cpb := tc[b*H:(b+1)*H], cp[b*H:(b+1)*H]
		for j := range dh {
			do := dh[j] * tcb[j]
			dct := dc[j] + dh[j]*og[j]*(1-tcb[j]*tcb[j])
			di, df, dcc := dct*cc[j], dct*cpb[j], dct*i[j]
			dc[j] = dct * f[j]
			dx[j] = di * i[j] * (1 - i[j])
			dx[H+j] = do * og[j] * (1 - og[j])
			dx[2*H+j] = df * f[j] * (1 - f[j])
			dx[3*H+j] = dcc * (1 - cc[j]*cc[j])
			dh[j] = 0 // all of the previous state's gradient comes through R
		}
	}
	// straight through the state's fake quantization
	kernels.Sgemm(false, false, B, H, gh, dxw, gh, o.r.eff[d*gh*H:], H, dr.dh, H, true, n.threads)
}

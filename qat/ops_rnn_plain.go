package qat

import "github.com/warboy-sim/warboy/kernels"

// stepRNN runs step t of direction d of an ONNX RNN (torch's nn.RNN):
// H = f(x·Wᵀ + Wb + Rb + H̃·Rᵀ), f Tanh or Relu. Quantize leaves this operator
// float32, so H̃ is the state itself.
func (o *rnnOp) stepRNN(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	hp, hq := dr.hp[t*B*H:(t+1)*B*H], dr.hq[t*B*H:(t+1)*B*H]
	copy(hp, dr.h)
	o.quantizeState(hp, hq)
	g := dr.act[t*B*H : (t+1)*B*H]
	copy(g, dr.xw[t*B*H:(t+1)*B*H])
	kernels.Sgemm(false, true, B, H, H, hq, H, o.r.eff[d*H*H:], H, g, H, true, n.threads)
	if o.relu {
		for i, v := range g {
			g[i] = max(v, 0)
		}
	} else {
		kernels.ActF32(kernels.ActTanh, g, g)
	}
	for b := range B {
		if o.active(t, b) {
			copy(dr.h[b*H:(b+1)*H], g[b*H:(b+1)*H])
		}
	}
}

// backStepRNN turns the gradient of the state after step t into the step's
// pre-activation gradient (dr.dxw) and the previous state's.
func (o *rnnOp) backStepRNN(n *Net, d, t int) {
	dr := &o.d[d]
	B, H := o.batch, o.hidden
	act := dr.act[t*B*H : (t+1)*B*H]
	dxw := dr.dxw[t*B*H : (t+1)*B*H]
	for b := range B {
		dx := dxw[b*H : (b+1)*H]
		if !o.active(t, b) {
			clear(dx)
			continue
		}
		dh, y := dr.dh[b*H:(b+1)*H], act[b*H:(b+1)*H]
		for j := range dh {
			if o.relu {
				if y[j] > 0 {
					dx[j] = dh[j]
				} else {
					dx[j] = 0
				}
			} else {
				dx[j] = dh[j] * (1 - y[j]*y[j])
			}
			dh[j] = 0
		}
	}
	kernels.Sgemm(false, false, B, H, H, dxw, H, o.r.eff[d*H*H:], H, dr.dh, H, true, n.threads)
}

package qat

import "github.com/warboy-sim/warboy/kernels"

// The backward pass through time of rnnOp: each direction's steps in reverse
// (the cells' backStep* turn the state's gradient into the gates'), then one GEMM
// each over all the steps for X, W and R.

// backStep is step's backward pass.
func (o *rnnOp) backStep(n *Net, d, t int) {
	switch o.gates {
	case 4:
		o.backStepLSTM(n, d, t)
	case 3:
		o.backStepGRU(n, d, t)
	default:
		o.backStepRNN(n, d, t)
	}
}

func (o *rnnOp) backward(n *Net) {
	T, B, H, gh := o.steps, o.batch, o.hidden, o.gates*o.hidden
	y := n.vals[o.outs[0]]
	dW, dR := o.w.grad(), o.r.grad()
	for d := range o.d {
		dr := &o.d[d]
		dr.dxw = grow(dr.dxw, T*B*gh)
		if o.gru {
			dr.drg = grow(dr.drg, T*B*gh)
		}
		dr.dh = grow(dr.dh, B*H)
		dr.dc = grow(dr.dc, B*H)
		for i, st := range [][]float32{dr.dh, dr.dc} {
			clear(st)
			if i == 1 && o.gates < 4 {
				continue
			}
			g := n.vals[o.outs[1+i]].grad
			for b := range B {
				copy(st[b*H:(b+1)*H], g[o.stateOff(d, b):])
			}
		}
		ts := o.stepOrder(d)
		for i := len(ts) - 1; i >= 0; i-- {
			t := ts[i]
			for b := range B {
				if o.active(t, b) {
					kernels.AddF32(dr.dh[b*H:(b+1)*H], y.grad[o.yOff(t, d, b):o.yOff(t, d, b)+H])
				}
			}
			o.backStep(n, d, t)
		}
		o.backInputs(n, d, dW[d*gh*o.inputs:(d+1)*gh*o.inputs], dR[d*gh*H:(d+1)*gh*H])
		for i, s := range []int{o.h0, o.c0} {
			if s < 0 || n.vals[s].grad == nil || (i == 1 && o.gates < 4) {
				continue
			}
			st := dr.dh
			if i == 1 {
				st = dr.dc
			}
			g := n.vals[s].grad
			for b := range B {
				kernels.AddF32(g[o.stateOff(d, b):o.stateOff(d, b)+H], st[b*H:(b+1)*H])
			}
		}
	}
	o.w.flush()
	o.r.flush()
}

// backInputs turns direction d's pre-activation gradients into those of X, W, R
// and B: one GEMM each over all the steps.
func (o *rnnOp) backInputs(n *Net, d int, dW, dR []float32) {
	dr := &o.d[d]
	T, B, H, gh, in := o.steps, o.batch, o.hidden, o.gates*o.hidden, o.inputs
	kernels.Sgemm(true, false, gh, in, T*B, dr.dxw, gh, o.xs, in, dW, in, true, n.threads)
	drg := dr.drg
	if !o.gru {
		drg = dr.dxw // an LSTM's and an RNN's gates add both sides as they are
	}
	if o.gru && !o.lbr {
		// z and r read the state, h̃ reads (r ⊙ H) as quantized (extra)
		kernels.Sgemm(true, false, 2*H, H, T*B, drg, gh, dr.hq, H, dR, H, true, n.threads)
		kernels.Sgemm(true, false, H, H, T*B, drg[2*H:], gh, dr.extra, H, dR[2*H*H:], H, true, n.threads)
	} else {
		kernels.Sgemm(true, false, gh, H, T*B, drg, gh, dr.hq, H, dR, H, true, n.threads)
	}
	if x := n.vals[o.in]; x.grad != nil {
		weff := o.w.eff[d*gh*in:]
		if !o.batchFirst {
			kernels.Sgemm(false, false, T*B, in, gh, dr.dxw, gh, weff, in, x.grad, in, true, n.threads)
		} else {
			o.dxs = grow(o.dxs, T*B*in)
			kernels.Sgemm(false, false, T*B, in, gh, dr.dxw, gh, weff, in, o.dxs, in, false, n.threads)
			for t := range T {
				for b := range B {
					kernels.AddF32(x.grad[o.xRow(t, b)*in:(o.xRow(t, b)+1)*in], o.dxs[(t*B+b)*in:(t*B+b+1)*in])
				}
			}
		}
	}
	if o.b == nil {
		return
	}
	gb := o.b.G[d*2*gh : (d+1)*2*gh]
	for r := 0; r < T*B; r++ {
		dx := dr.dxw[r*gh : (r+1)*gh]
		kernels.AddF32(gb[:gh], dx)
		if o.lbr {
			kernels.AddF32(gb[gh:gh+2*H], dx[:2*H])
			kernels.AddF32(gb[gh+2*H:], dr.drg[r*gh+2*H:(r+1)*gh])
		} else {
			kernels.AddF32(gb[gh:], dx)
		}
	}
}

package qat

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// bnParams are the unfolded Conv and BatchNormalization parameters of the original
// model for a Conv that Optimize folded a BatchNormalization into.
type bnParams struct {
	convW, convB, bnName    string
	w, b                    *graph.Tensor
	gamma, beta, mean, vari []float32
	eps                     float64
	// synth: a BatchNormalization put back on a folded Conv (renorm.go): its
	// statistics, scale and shift are set from the first training batch.
	synth bool
}

// findConvBN maps the output name of every foldable Conv -> BatchNormalization pair of
// the original model (the name the folded Conv keeps) to its unfolded parameters.
func (b *builder) findConvBN() map[string]*bnParams {
	out := map[string]*bnParams{}
	if b.orig == nil {
		return out
	}
	g := b.orig.Graph
	prod, cons := g.Producers(), g.Consumers()
	// init reads an initializer, also through the Identity nodes torch.onnx puts
	// in front of weights it exports once for several readers (as EfficientNet's
	// are written: Identity_stem.0.weight -> Conv).
	init := func(name string) *graph.Tensor {
		for range 8 {
			if t := g.Initializers[name]; t != nil {
				return t
			}
			p := prod[name]
			if p == nil || p.OpType != "Identity" || p.Domain != "" || len(p.Inputs) != 1 {
				return nil
			}
			name = p.Inputs[0]
		}
		return nil
	}
	f32 := func(name string) []float32 {
		t := init(name)
		if t == nil || t.DType != graph.Float32 {
			return nil
		}
		return t.F32()
	}
	for _, bn := range g.Nodes {
		if bn.OpType != "BatchNormalization" || bn.Domain != "" || len(bn.Inputs) < 5 || graph.BatchNormTraining(bn, b.n.plan.Model.Opset()) {
			continue
		}
		conv := prod[bn.Input(0)]
		if conv == nil || conv.OpType != "Conv" || len(cons[bn.Input(0)]) != 1 {
			continue
		}
		w := init(conv.Input(1))
		if w == nil || w.DType != graph.Float32 || len(w.Shape) != 4 {
			continue
		}
		p := &bnParams{convW: conv.Input(1), convB: conv.Input(2), bnName: bn.Label(), w: w,
			gamma: f32(bn.Input(1)), beta: f32(bn.Input(2)), mean: f32(bn.Input(3)), vari: f32(bn.Input(4)),
			eps: float64(bn.AttrFloat("epsilon", 1e-5))}
		if p.convB != "" {
			if p.b = init(p.convB); p.b == nil || p.b.DType != graph.Float32 {
				continue
			}
		}
		c := w.Shape[0]
		if len(p.gamma) != c || len(p.beta) != c || len(p.mean) != c || len(p.vari) != c {
			continue
		}
		out[bn.Outputs[0]] = p
	}
	return out
}

// convBNOp is a Conv with the BatchNormalization that followed it, trained as
// PyTorch's fused ConvBn QAT modules: w*gamma/sqrt(running_var+eps) is fake-quantized
// and convolved; before the statistics are frozen the result is scaled back and
// normalized with the batch statistics (running statistics updated with momentum
// 0.1); after, the folded bias with the running statistics is added, which is what
// the int8 model computes.
type convBNOp struct {
	node         string
	in, out      int
	fused        *graph.Node // the folded Conv of the quantize-ready graph
	writeGrad    bool        // as convOp's
	w            *weightRef  // the unfolded conv weight; w.eff holds fq(w*s)
	convB        *Param      // nil when the conv had no bias
	gamma, beta  *Param
	mean, vari   []float32
	eps          float64
	bias         *biasRef // placeholder for the int32 rounding of the folded bias
	s, rstd      []float32
	ws           []float32
	core         convCore
	c, xhat      []float32
	bmean, binv  []float32
	bf, bfEff    []float32
	dc, dbf      []float32 // backward scratch
	ds           []float64
	trainedStats bool
	// synth: the BatchNormalization was put back on a folded Conv (renorm.go);
	// pending: its statistics are still to be set by the first training batch.
	synth, pending bool
}

func buildConvBN(p *bnParams) buildFunc {
	return func(b *builder, node *graph.Node) (built, error) {
		in, err := b.input(node, node.Input(0))
		if err != nil {
			return built{}, err
		}
		g, err := convGeomOf(node, p.w.Shape)
		if err != nil {
			return built{}, err
		}
		o := &convBNOp{node: node.Label() + " (Conv+" + p.bnName + ")", in: in, out: b.slot(), fused: node,
			mean: append([]float32(nil), p.mean...), vari: append([]float32(nil), p.vari...), eps: p.eps, synth: p.synth, pending: p.synth}
		o.core.g = g
		wp := newParam("qat.convbn."+p.convW, p.w.Shape, p.w.F32(), true)
		_, quant := b.wAxis[node.Input(1)]
		o.w = &weightRef{p: wp, quant: quant, axis: 0}
		ps := []*Param{wp}
		if p.b != nil {
			o.convB = newParam("qat.convbn."+p.convB, p.b.Shape, p.b.F32(), false)
			ps = append(ps, o.convB)
		}
		c := g.oc
		o.gamma = newParam("qat.convbn."+p.bnName+".scale", []int{c}, p.gamma, false)
		o.beta = newParam("qat.convbn."+p.bnName+".bias", []int{c}, p.beta, false)
		ps = append(ps, o.gamma, o.beta)
		for _, q := range ps {
			b.n.params = append(b.n.params, q)
		}
		o.bias = &biasRef{}
		if f := b.fqOf[in]; f != nil && b.bias[node.Input(2)] && quant {
			o.bias.quant, o.bias.inFQ = true, f
		}
		b.n.convBNs = append(b.n.convBNs, o)
		return built{o, o.out}, nil
	}
}

func (o *convBNOp) label() string { return o.node }

// scale computes s = gamma/sqrt(running_var+eps) and the effective weight fq(w*s).
func (o *convBNOp) scale(threads int) {
	c := len(o.gamma.W)
	o.s, o.rstd = grow(o.s, c), grow(o.rstd, c)
	for i := range o.s {
		o.rstd[i] = float32(math.Sqrt(float64(o.vari[i]) + o.eps))
		o.s[i] = float32(float64(o.gamma.W[i]) / math.Sqrt(float64(o.vari[i])+o.eps))
		if o.pending {
			o.s[i] = 1 // the folded layer as the file has it (renorm.go)
		}
	}
	w := o.w.p.W
	o.ws = grow(o.ws, len(w))
	k := len(w) / c
	for i := range o.ws {
		o.ws[i] = w[i] * o.s[i/k]
	}
	if o.w.quant {
		o.w.scales = weightScales(o.ws, o.w.p.Shape, 0, o.w.scales, threads)
		o.w.eff = grow(o.w.eff, len(w))
		fakeQuantWeights(o.ws, o.w.p.Shape, 0, o.w.scales, o.w.eff, threads)
	} else {
		o.w.eff = o.ws
	}
}

// foldedBias is (b - running_mean)*s + beta, as Optimize folds it.
func (o *convBNOp) foldedBias() []float32 {
	c := len(o.s)
	o.bf = grow(o.bf, c)
	for i := 0; i < c; i++ {
		var b float64
		if o.convB != nil {
			b = float64(o.convB.W[i])
		}
		o.bf[i] = float32((b-float64(o.mean[i]))*float64(o.s[i]) + float64(o.beta.W[i]))
	}
	return o.bf
}

func (o *convBNOp) batchStats(n *Net) bool { return n.training && !n.frozenBN }

func (o *convBNOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	g := &o.core.g
	if err := g.setInput(x.shape); err != nil {
		return err
	}
	y.resize(g.outShape())
	if !(n.sameWeights && !o.batchStats(n) && !o.pending && len(o.s) == len(o.gamma.W)) {
		// (a later part of a batch, with the running statistics: the folded,
		// fake-quantized weights of the first part stand)
		o.scale(n.threads)
	}
	if !o.batchStats(n) {
		bf := o.foldedBias()
		if o.bias.quant {
			o.bfEff = grow(o.bfEff, len(bf))
			fakeQuantBias(bf, o.bias.inFQ.p.Scale, o.w.scales, o.bfEff)
			bf = o.bfEff
		}
		o.core.forward(x.data, o.w.eff, bf, y.data, n.threads)
		return nil
	}
	o.c = grow(o.c, len(y.data))
	o.core.forward(x.data, o.w.eff, nil, o.c, n.threads)
	C, P := g.oc, g.p
	m := float64(g.n * P)
	o.bmean, o.binv = grow(o.bmean, C), grow(o.binv, C)
	o.xhat = grow(o.xhat, len(y.data))
	parallel(C, n.threads, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var b float32
			if o.convB != nil {
				b = o.convB.W[ch]
			}
			s := o.s[ch]
			// c/s + b (the conv output before the scaling by s) is kept in xhat
			// for the normalization below.
			var acc kernels.BNLanes
			for i := 0; i < g.n; i++ {
				off := (i*C + ch) * P
				kernels.BNStatsF32(o.c[off:off+P], o.xhat[off:off+P], s, b, &acc)
			}
			mean := acc.Sum1() / m
			vr := math.Max(acc.Sum2()/m-mean*mean, 0)
			inv := 1 / math.Sqrt(vr+o.eps)
			o.bmean[ch], o.binv[ch] = float32(mean), float32(inv)
			unb := vr * m / math.Max(m-1, 1)
			if o.pending && n.training {
				// The batch's own variance: the normalised layer is then the
				// folded one on this batch exactly.
				o.initStats(ch, mean, vr)
			}
			gm, bt := o.gamma.W[ch], o.beta.W[ch]
			for i := 0; i < g.n; i++ {
				off := (i*C + ch) * P
				kernels.BNNormF32(o.xhat[off:off+P], y.data[off:off+P], float32(mean), float32(inv), gm, bt)
			}
			if n.training && !o.pending {
				mom := 0.1
				if n.bnMomentum > 0 {
					mom = n.bnMomentum
				}
				o.mean[ch] = float32((1-mom)*float64(o.mean[ch]) + mom*mean)
				o.vari[ch] = float32((1-mom)*float64(o.vari[ch]) + mom*unb)
			}
		}
	})
	if n.training {
		o.pending = false
	}
	o.trainedStats = true
	return nil
}

func (o *convBNOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	g := &o.core.g
	C, P := g.oc, g.p
	k := len(o.w.p.W) / C
	if cap(o.ds) < C {
		o.ds = make([]float64, C)
	}
	ds := o.ds[:C]
	clear(ds)
	dw := o.w.grad()
	if !o.batchStats(n) {
		o.dbf = grow(o.dbf, C)
		dbf := o.dbf
		clear(dbf)
		o.core.backward(x.data, o.w.eff, y.grad, x.grad, dw, dbf, o.writeGrad, nil, n.threads)
		for ch := 0; ch < C; ch++ {
			var b float64
			if o.convB != nil {
				b = float64(o.convB.W[ch])
				o.convB.G[ch] += dbf[ch] * o.s[ch]
			}
			ds[ch] += float64(dbf[ch]) * (b - float64(o.mean[ch]))
			o.beta.G[ch] += dbf[ch]
		}
	} else {
		m := float32(g.n * P)
		o.dc = grow(o.dc, len(y.grad))
		dc := o.dc
		parallel(C, n.threads, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				gm, s, inv := o.gamma.W[ch], o.s[ch], o.binv[ch]
				var acc kernels.BNLanes
				for i := 0; i < g.n; i++ {
					off := (i*C + ch) * P
					kernels.BNGradSumsF32(y.grad[off:off+P], o.xhat[off:off+P], &acc)
				}
				sdy, sdyx := acc.Sum1(), acc.Sum2()
				o.gamma.G[ch] += float32(sdyx)
				o.beta.G[ch] += float32(sdy)
				// d(loss)/d(c_orig) with c_orig = c/s + b, then to c.
				a1, a2 := float32(sdy)/m, float32(sdyx)/m
				acc = kernels.BNLanes{}
				for i := 0; i < g.n; i++ {
					off := (i*C + ch) * P
					kernels.BNGradInputF32(y.grad[off:off+P], o.xhat[off:off+P], o.c[off:off+P], dc[off:off+P], gm*inv, a1, a2, s, &acc)
				}
				sdc, sdcc := acc.Sum1(), acc.Sum2()
				if o.convB != nil {
					o.convB.G[ch] += float32(sdc)
				}
				ds[ch] -= sdcc / float64(s*s)
			}
		})
		o.core.backward(x.data, o.w.eff, dc, x.grad, dw, nil, o.writeGrad, nil, n.threads)
	}
	w := o.w.p.W
	for i, d := range dw {
		ch := i / k
		o.w.p.G[i] += d * o.s[ch]
		ds[ch] += float64(d * w[i])
	}
	for ch := 0; ch < C; ch++ {
		o.gamma.G[ch] += float32(ds[ch] / float64(o.rstd[ch]))
	}
}

// folded returns the folded weight and bias with the running statistics (float64
// arithmetic, as Optimize folds BatchNormalization).
func (o *convBNOp) folded() (w, b []float32) {
	c := len(o.gamma.W)
	k := len(o.w.p.W) / c
	w = make([]float32, len(o.w.p.W))
	b = make([]float32, c)
	for ch := 0; ch < c; ch++ {
		s := float64(o.gamma.W[ch]) / math.Sqrt(float64(o.vari[ch])+o.eps)
		if o.pending {
			s = 1 // the folded layer as the file has it (renorm.go)
		}
		for i := ch * k; i < (ch+1)*k; i++ {
			w[i] = float32(float64(o.w.p.W[i]) * s)
		}
		var cb float64
		if o.convB != nil {
			cb = float64(o.convB.W[ch])
		}
		b[ch] = float32(float64(o.beta.W[ch]) + (cb-float64(o.mean[ch]))*s)
	}
	return w, b
}

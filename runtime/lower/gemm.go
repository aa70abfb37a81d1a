package lower

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// gemmInput returns the tensor a fully connected layer reads for the rank-2 logical
// input r, the axis splitting rows from features, and, when a channels-last Flatten
// was folded, the logical feature index of each stored feature (nil otherwise).
func (l *lowerer) gemmInput(r *qref) (string, int, []int, error) {
	if r.plain() {
		return r.store, len(r.shape) - 1, nil, nil
	}
	// The rows must be the batch: with the other dims fixed and the element count
	// unchanged, an unknown row count can only equal the base's first dim.
	if len(r.shape) == 2 && len(r.base) >= 2 && !qtensor.IsIdentityPerm(r.perm) && r.perm[0] == 0 &&
		(sameDim(r.base[0], r.shape[0]) || !r.shape[0].Known()) {
		dims := make([]int, len(r.base)-1)
		ok := true
		for i, dd := range r.base[1:] {
			ok = ok && dd.Known()
			dims[i] = dd.Size
		}
		if ok && r.shape[1].Known() && graph.NumElements(dims) == r.shape[1].Size {
			// stored feature order: base dims perm[1:], each over its size
			sdims := make([]int, len(dims))
			for j := 1; j < len(r.perm); j++ {
				sdims[j-1] = r.base[r.perm[j]].Size
			}
			lst := graph.Strides(dims)
			colPerm := make([]int, graph.NumElements(dims))
			idx := make([]int, len(sdims))
			for s := range colPerm {
				lk := 0
				for j, v := range idx {
					lk += v * lst[r.perm[j+1]-1]
				}
				colPerm[s] = lk
				for j := len(idx) - 1; j >= 0; j-- {
					idx[j]++
					if idx[j] < sdims[j] {
						break
					}
					idx[j] = 0
				}
			}
			return r.store, 1, colPerm, nil
		}
	}
	s, err := l.plainI8(r)
	return s, len(r.shape) - 1, nil, err
}

// emitQGemm emits a fully connected layer: out = a · wᵀ (w given as [N,K] by at).
func (l *lowerer) emitQGemm(n *graph.Node, a *qref, nOut, k int, at func(c, kk int) int8, wsc []float32, wzp []int32,
	biasName string, alpha, beta float32, d *qdest) error {
	acc := make([]float32, nOut)
	scales := make([]float32, nOut)
	for c := range acc {
		acc[c] = alpha * a.scale * wsc[c]
		scales[c] = kernels.RequantScaleF32(a.scale, wsc[c], d.scale)
		if alpha != 1 {
			scales[c] = float32(float64(scales[c]) * float64(alpha))
		}
	}
	bias, err := l.biasInt32(biasName, nOut, acc, beta)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	in, axis, colPerm, err := l.gemmInput(a)
	if err != nil {
		return err
	}
	wd := packWeightRows(nOut, k, colPerm, at)
	wi := l.addInit(n.Input(1)+"_int8", graph.FromInt8([]int{nOut, k}, wd))
	ins := []string{in, wi}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(1)+"_bias_int32", graph.FromInt32([]int{nOut}, bias)))
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QGemm", ins, []string{store}, graph.IntAttr("axis", int64(axis)),
		graph.IntAttr("a_zp", int64(a.zp)), graph.IntsAttr("w_zp", int32sToInts(compactZP(wzp))), graph.FloatsAttr("scales", scales),
		graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", int64(d.qmin)), graph.IntAttr("qmax", int64(d.qmax)), graph.StringAttr("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

func (l *lowerer) lowerGemm(n *graph.Node) error {
	a := l.qIn(n.Input(0))
	if a == nil {
		return notLowered("its input is not quantized")
	}
	if n.AttrInt("transA", 0) != 0 || len(a.shape) != 2 {
		return notLowered("transposed or non-2-D A")
	}
	w, err := l.constWeights(n.Input(1))
	if err != nil {
		return err
	}
	if len(w.shape) != 2 {
		return notLowered("weights must be 2-D")
	}
	transB := n.AttrInt("transB", 0) != 0
	nOut, k, chAxis := w.shape[1], w.shape[0], 1
	at := func(c, kk int) int8 { return w.data[kk*nOut+c] }
	if transB {
		nOut, k, chAxis = w.shape[0], w.shape[1], 0
		at = func(c, kk int) int8 { return w.data[c*k+kk] }
	}
	wsc, wzp, err := w.perChannel(chAxis, nOut)
	if err != nil {
		return err
	}
	if b := n.Input(2); b != "" {
		c := l.constFloat(b)
		if c == nil && l.dqConst[b] == nil {
			return notLowered("bias is not constant")
		}
		if c != nil && c.Len() != nOut && c.Len() != 1 {
			return notLowered("bias of shape %v is not per output column", c.Shape)
		}
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	return l.emitQGemm(n, a, nOut, k, at, wsc, wzp, n.Input(2), n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1), d)
}

func (l *lowerer) lowerMatMul(n *graph.Node) error {
	a := l.qIn(n.Input(0))
	if a == nil {
		return notLowered("its input is not quantized")
	}
	if len(a.shape) < 2 {
		return notLowered("1-D input")
	}
	if dq := l.dqConst[n.Input(1)]; dq != nil {
		w, err := l.constWeights(n.Input(1))
		if err != nil {
			return err
		}
		if len(w.shape) == 2 {
			k, nOut := w.shape[0], w.shape[1]
			wsc, wzp, err := w.perChannel(1, nOut)
			if err != nil {
				return err
			}
			d, err := l.outQ(n.Outputs[0], true)
			if err != nil {
				return err
			}
			return l.emitQGemm(n, a, nOut, k, func(c, kk int) int8 { return w.data[kk*nOut+c] }, wsc, wzp, "", 1, 1, d)
		}
	}
	b := l.qIn(n.Input(1))
	if b == nil {
		return notLowered("its second input is neither quantized nor 2-D quantized weights")
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	return l.emitQMatMul(n, a, b, d)
}

func (l *lowerer) emitQMatMul(n *graph.Node, a, b *qref, d *qdest) error {
	as, err := l.plainI8(a)
	if err != nil {
		return err
	}
	bs, err := l.plainI8(b)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QMatMul", []string{as, bs}, []string{store},
		graph.FloatAttr("a_scale", a.scale), graph.IntAttr("a_zp", int64(a.zp)), graph.FloatAttr("b_scale", b.scale), graph.IntAttr("b_zp", int64(b.zp)),
		graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", int64(d.qmin)), graph.IntAttr("qmax", int64(d.qmax)),
		graph.StringAttr("requant", l.requantMode))
	l.bindOut(d, &qref{store: store, base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

// packWeightRows lays out the [nOut, k] int8 weights of a GEMM row by row, reading
// weight (c, kk) through at; colPerm, when not nil, permutes the columns (a Flatten of
// a channels-last activation folded into the weights).
func packWeightRows(nOut, k int, colPerm []int, at func(c, kk int) int8) []int8 {
	wd := make([]int8, nOut*k)
	for c := 0; c < nOut; c++ {
		for s := 0; s < k; s++ {
			kk := s
			if colPerm != nil {
				kk = colPerm[s]
			}
			wd[c*k+s] = at(c, kk)
		}
	}
	return wd
}

package lower

// Elementwise groups with a constant of one value per channel (fifteenth
// session). A QDQ model keeps the float constants of elementwise arithmetic
// that the quantizer did not wrap in QuantizeLinear/DequantizeLinear: the
// division by the per-channel standard deviation of an input normalisation
// (x - mean) / std, an unfolded BatchNorm's scale and shift, a learned
// per-channel gain. A scalar constant made such a group a 256-entry lookup
// table (lut.go); one value per channel made it fall back to float32, a
// Dequantize, the float operator and a Quantize over the whole tensor (on an
// exported uint8 preprocessing graph, 0.13 of its 0.26 ms of int8 steps,
// docs/runtime.md "Tiny graphs and sequence steps (fifteenth session)"). With
// the other operands fixed per channel the group is a function of one code per
// channel: QChanLUT, one table per channel, computed by the float executor on
// every code of every channel, so its results are the float route's bits.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// maxChanLUTChannels bounds the tables of one group (256 bytes per channel).
const maxChanLUTChannels = 4096

// chanDim returns, for a float constant with exactly one dimension other than
// 1, that dimension counted from the last (0: the last) and its size.
func (l *lowerer) chanDim(name string) (fromEnd, size int, ok bool) {
	if p := l.prod[name]; l.dqConst[name] != nil || p != nil && p.OpType == "DequantizeLinear" {
		return 0, 0, false // quantized constants go to QBinary (binary.go)
	}
	t := l.constOf(name)
	if t == nil || !t.DType.IsFloat() || t.Len() < 2 || t.Len() > maxChanLUTChannels {
		return 0, 0, false
	}
	found := false
	for i, d := range t.Shape {
		if d == 1 {
			continue
		}
		if found {
			return 0, 0, false
		}
		found, fromEnd, size = true, len(t.Shape)-1-i, d
	}
	return fromEnd, size, found
}

// isChanConst reports whether name is a float constant of one value per index
// of one axis.
func (l *lowerer) isChanConst(name string) bool {
	_, _, ok := l.chanDim(name)
	return ok
}

// setChanAxis sets the group's channel axis from its per-channel constants:
// they must all vary along the same axis of the root, of a known size, and the
// root must have another axis (for the codes in the evaluation).
func (l *lowerer) setChanAxis(grp *lutGroup, chans []string) bool {
	rs, ok := l.shapeOf(grp.root)
	if !ok || len(rs) < 2 {
		return false
	}
	for _, x := range chans {
		fromEnd, size, _ := l.chanDim(x)
		t := l.constOf(x)
		axis := len(rs) - 1 - fromEnd
		if len(t.Shape) > len(rs) || axis < 0 || rs[axis].Size != size ||
			grp.chanAxis >= 0 && grp.chanAxis != axis {
			return false
		}
		grp.chanAxis, grp.chanSize = axis, size
	}
	return true
}

// lowerChanLUT lowers a group with per-channel constants to QChanLUT.
func (l *lowerer) lowerChanLUT(grp *lutGroup, r *qref) error {
	if r.reshaped() || len(r.shape) != len(r.base) {
		return notLowered("its input is a reshaped view")
	}
	d, err := l.outQ(grp.last.Outputs[0], false)
	if err != nil {
		return err
	}
	rank, ax, c := len(r.shape), grp.chanAxis, grp.chanSize
	// The codes run along another axis p: the evaluation input is c×256
	// (or 256×c) values, the other axes 1.
	p := rank - 1
	if p == ax {
		p = rank - 2
	}
	shape := make([]int, rank)
	for i := range shape {
		shape[i] = 1
	}
	shape[ax], shape[p] = c, 256
	at := func(ch, q int) int { // offset of (channel, code index) in shape
		if ax < p {
			return ch*256 + q
		}
		return q*c + ch
	}
	xs := make([]float32, c*256)
	for ch := 0; ch < c; ch++ {
		for q := -128; q < 128; q++ {
			xs[at(ch, q+128)] = float32(int32(q)-r.zp) * r.scale
		}
	}
	ys, err := l.evalGroup(grp, graph.FromFloat32(shape, xs))
	if err != nil {
		return notLowered("its lookup tables could not be computed: %v", err)
	}
	tbl := make([]int8, c*256)
	for ch := 0; ch < c; ch++ {
		for q := -128; q < 128; q++ {
			tbl[ch*256+int(uint8(int8(q)))] = int8(qtensor.QuantizeRound(ys[at(ch, q+128)], d.scale, d.zp, d.qmin, d.qmax))
		}
	}
	axis := ax // the channel axis of the stored tensor
	for j, pj := range r.perm {
		if pj == ax {
			axis = j
		}
	}
	ti := l.addInit(grp.last.Outputs[0]+"_luts", graph.FromInt8([]int{c, 256}, tbl))
	store, isOut := l.destStore(d, r.plain(), "_q")
	l.emit(grp.last, "QChanLUT", []string{r.store, ti}, []string{store}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: int64(axis)})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = store, d.scale, d.zp, true
	l.bindOut(d, &nr, isOut)
	for _, m := range grp.nodes {
		l.claimed[m] = true
	}
	return nil
}

package lower

// PRelu with one slope per channel (thirteenth session). torch.onnx writes
// nn.PReLU(C) as PRelu(x, slope[C,1,1]); the quantizer's QDQ model holds it
// as DequantizeLinear → PRelu → QuantizeLinear with a float slope. A slope of
// one value is a lookup table (lut.go); one per channel was refused there and
// ran on the float fallback (a Dequantize and a Quantize of every face-net
// feature map: 80% of MobileFaceNet's int8 time). It becomes QChanLUT: one
// 256-entry table per channel, applied along the channel axis of the stored
// tensor (NCHW planes or channels-last pixels).

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// lowerChanPRelu lowers a PRelu of an int8 activation by a float constant
// slope of one value per channel (axis 1) to QChanLUT.
func (l *lowerer) lowerChanPRelu(n *graph.Node) error {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return notLowered("PRelu needs two inputs")
	}
	r := l.qIn(n.Inputs[0])
	if r == nil {
		return notLowered("its input is not quantized")
	}
	if r.reshaped() || len(r.shape) < 2 {
		return notLowered("its input is a reshaped view")
	}
	slope := l.constFloat(n.Inputs[1])
	if slope == nil {
		return notLowered("its slope is not a constant")
	}
	c := r.shape[1].Size
	if c <= 0 || slope.Len() != c || len(slope.Shape) > len(r.shape) {
		return notLowered("its slope is not one value per channel")
	}
	for i, d := range slope.Shape {
		axis := len(r.shape) - len(slope.Shape) + i
		if axis == 1 && d != c || axis != 1 && d != 1 {
			return notLowered("its slope %v does not broadcast along the channels of %v", slope.Shape, r.shape)
		}
	}
	axis := 1
	for j, p := range r.perm {
		if p == 1 {
			axis = j
		}
	}
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	s := slope.F32()
	tbl := make([]int8, c*256)
	for ch := 0; ch < c; ch++ {
		for q := -128; q < 128; q++ {
			x := float32(int32(q)-r.zp) * r.scale
			if x < 0 {
				x = s[ch] * x // the float PRelu's product
			}
			tbl[ch*256+int(uint8(int8(q)))] = int8(qtensor.QuantizeRound(x, d.scale, d.zp, d.qmin, d.qmax))
		}
	}
	ti := l.addInit(n.Outputs[0]+"_luts", graph.FromInt8([]int{c, 256}, tbl))
	store, isOut := l.destStore(d, r.plain(), "_q")
	l.emit(n, "QChanLUT", []string{r.store, ti}, []string{store}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: int64(axis)})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = store, d.scale, d.zp, true
	l.bindOut(d, &nr, isOut)
	l.claimed[n] = true
	return nil
}

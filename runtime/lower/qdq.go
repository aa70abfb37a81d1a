package lower

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- Q / DQ ---------------------------------------------------------------------------------

func (l *lowerer) lowerDQ(n *graph.Node) error {
	x, out := n.Input(0), n.Outputs[0]
	if l.constOf(x) != nil && (len(n.Inputs) < 2 || l.constOf(n.Input(1)) != nil) && (n.Input(2) == "" || l.constOf(n.Input(2)) != nil) {
		l.dqConst[out] = n
		return nil
	}
	xdt := l.dtype(x)
	if s, zp, _, ok := l.qparams(n.Input(1), n.Input(2), xdt); ok && (xdt == graph.Int8 || xdt == graph.Uint8) {
		if r := l.refOf(x); r != nil {
			if r.placeholder {
				r.scale, r.zp, r.placeholder = s, zp, false
			}
			nr := r.with(s, zp)
			nr.exact = true
			l.state(out).q = nr
			return nil
		}
	}
	return l.emitGeneral(n, "Dequantize")
}

// emitGeneral emits a QuantizeLinear/DequantizeLinear/... with arbitrary (run-time or
// per-axis) parameters as the int8 executor's general operator.
func (l *lowerer) emitGeneral(n *graph.Node, op string) error {
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		ins[i] = name
	}
	var attrs []*graph.Attr
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	l.emit(n, op, ins, append([]string(nil), n.Outputs...), attrs...)
	for _, o := range n.Outputs {
		if o != "" {
			l.state(o).avail = true
		}
	}
	return nil
}

func (l *lowerer) lowerQ(n *graph.Node) error {
	x, out := n.Input(0), n.Outputs[0]
	s, zp, dt, ok := l.quantParamsOfQ(n)
	if !ok {
		return l.emitGeneral(n, "Quantize")
	}
	if r := l.qIn(x); r != nil && l.dtype(x).IsFloat() {
		if r.scale == s && r.zp == zp {
			nr := r.with(s, zp)
			nr.exact = true
			l.state(out).q = nr
			return nil
		}
		nr, err := l.requantRef(n, r, s, zp)
		if err != nil {
			return err
		}
		l.state(out).q = nr
		return nil
	}
	src, err := l.need(x)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Label(), err)
	}
	shape, ok := l.shapeOf(x)
	if !ok {
		return l.emitGeneral(n, "Quantize")
	}
	store, avail := out, dt == graph.Int8
	if !avail {
		store = l.fresh(out + "_s8")
	}
	sc := l.scalarF32(out+"_scale", s)
	z := l.scalarI8(out+"_zero_point", zp)
	l.emit(n, "Quantize", []string{src, sc, z}, []string{store})
	st := l.state(out)
	st.q = &qref{store: store, base: shape, shape: shape, scale: s, zp: zp, exact: true}
	st.avail = avail
	return nil
}

// requant converts r to new parameters with a lookup table (same layout).
func (l *lowerer) requantRef(src *graph.Node, r *qref, s float32, zp int32) (*qref, error) {
	// ONNX QuantizeLinear of the float32 dequantized value (float32 division).
	lut := make([]int8, 256)
	for q := -128; q < 128; q++ {
		v := float32(int32(q)-r.zp) * r.scale
		lut[uint8(int8(q))] = int8(qtensor.QuantizeRound(v, s, zp, -128, 127))
	}
	tbl := l.addInit(r.store+"_requant_lut", graph.FromInt8([]int{256}, lut))
	out := l.fresh(r.store + "_requant")
	l.emit(src, "QLUT", []string{r.store, tbl}, []string{out})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = out, s, zp, true
	return &nr, nil
}

func (l *lowerer) lowerDynQ(n *graph.Node) error {
	x, err := l.need(n.Input(0))
	if err != nil {
		return fmt.Errorf("%s: %w", n.Label(), err)
	}
	outs := append([]string(nil), n.Outputs...)
	for i := range outs {
		if outs[i] == "" {
			outs[i] = l.fresh(n.Outputs[0] + fmt.Sprintf("_unused%d", i))
		}
		l.state(outs[i]).avail = true
	}
	l.emit(n, "DynamicQuantize", []string{x}, outs)
	return nil
}

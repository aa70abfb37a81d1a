package lower

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// lowerElementwise lowers an elementwise operator that was not part of a lookup-table
// group found up front (its input is, e.g., a Reshape of a dequantized tensor): with
// one int8 input and scalar constants it becomes a lookup table; binary operators of
// two int8 tensors become QBinary.
func (l *lowerer) lowerElementwise(n *graph.Node) error {
	root := ""
	single := len(n.Outputs) == 1
	for _, in := range n.Inputs {
		switch {
		case in == "" || in == root:
		case l.isScalarConst(in):
		case root == "" && l.qIn(in) != nil:
			root = in
		default:
			single = false
		}
	}
	if single && root != "" && lutOps[n.OpType] {
		grp := &lutGroup{nodes: []*graph.Node{n}, root: root, last: n, chanAxis: -1}
		if _, err := l.outQ(n.Outputs[0], false); err == nil {
			return l.lowerLUT(grp)
		}
		if n.OpType == "Relu" {
			if d, err := l.implicitOut(n.Outputs[0], l.qIn(root)); err == nil {
				return l.lowerLUTTo(grp, l.qIn(root), d)
			}
		}
	}
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		return l.lowerBinary(n)
	}
	if root == "" {
		return notLowered("its input is not quantized")
	}
	return notLowered("its output is not quantized (no QuantizeLinear follows)")
}

// ---- elementwise binary --------------------------------------------------------------------

// constRef returns an int8 initializer holding the per-tensor quantized
// constant name (a DequantizeLinear of an int8 or uint8 initializer) for a
// data-movement operator, or nil when name is not one.
func (l *lowerer) constRef(name string) *qref {
	if l.dqConst[name] == nil {
		return nil
	}
	r, t, err := l.binaryOperand(name)
	if err != nil || t == nil || t.Data == nil {
		return nil
	}
	r.store = l.addInit(name+"_q", t)
	return r
}

// binaryOperand is one input of an elementwise operator: an activation or a quantized
// constant.
func (l *lowerer) binaryOperand(name string) (*qref, *graph.Tensor, error) {
	if r := l.qIn(name); r != nil {
		return r, nil, nil
	}
	if dq := l.dqConst[name]; dq != nil {
		x := l.constOf(dq.Input(0))
		s, zp, _, ok := l.qparams(dq.Input(1), dq.Input(2), x.DType)
		if !ok {
			return nil, nil, notLowered("constant %q is not quantized per tensor", name)
		}
		var data []int8
		switch x.DType {
		case graph.Int8:
			data = x.I8()
		case graph.Uint8:
			data = make([]int8, x.Len())
			for i, v := range x.U8() {
				data[i] = int8(int32(v) - 128)
			}
		}
		shape := graph.ShapeOf(x.Shape...)
		return &qref{base: shape, shape: shape, scale: s, zp: zp, exact: true}, &graph.Tensor{DType: graph.Int8, Shape: x.Shape, Data: data}, nil
	}
	return nil, nil, notLowered("input %q is not quantized", name)
}

// constIn places a quantized constant in the layout of the activation act (rank-aligned
// and permuted like it).
func (l *lowerer) constIn(base string, t *graph.Tensor, act *qref) (string, error) {
	if act == nil || qtensor.IsIdentityPerm(act.perm) || t.Len() == 1 {
		return l.addInit(base+"_int8", t), nil
	}
	r := len(act.perm)
	if len(t.Shape) > r {
		return "", notLowered("constant of rank %d", len(t.Shape))
	}
	full := make([]int, r)
	for i := range full {
		full[i] = 1
	}
	copy(full[r-len(t.Shape):], t.Shape)
	dst := make([]byte, t.Len())
	qtensor.TransposeBytes(qtensor.I8AsBytes(t.I8()), full, act.perm, dst, 0, 1)
	return l.addInit(base+"_int8", &graph.Tensor{DType: graph.Int8, Shape: qtensor.PermuteShape(full, act.perm), Data: qtensor.BytesAsI8(dst)}), nil
}

func sameLayout(a, b *qref) bool {
	return !a.reshaped() && !b.reshaped() && len(a.base) == len(b.base) &&
		(qtensor.IsIdentityPerm(a.perm) && qtensor.IsIdentityPerm(b.perm) || slices.Equal(a.perm, b.perm))
}

func (l *lowerer) lowerBinary(n *graph.Node) error {
	a, at, err := l.binaryOperand(n.Input(0))
	if err != nil {
		return err
	}
	b, bt, err := l.binaryOperand(n.Input(1))
	if err != nil {
		return err
	}
	if at != nil && bt != nil {
		return notLowered("both inputs are constant")
	}
	d, err := l.outQ(n.Outputs[0], true)
	if err != nil {
		return err
	}
	outShape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	return l.emitBinary(n, n.OpType, a, at, b, bt, d, outShape)
}

func (l *lowerer) emitBinary(n *graph.Node, op string, a *qref, at *graph.Tensor, b *qref, bt *graph.Tensor, d *qdest, outShape graph.Shape) error {
	var an, bn string
	var layout *qref // activation whose layout the output keeps
	var err error
	switch {
	case at == nil && bt == nil && sameLayout(a, b) && len(a.shape) == len(outShape):
		an, bn, layout = a.store, b.store, a
	case at == nil && bt == nil:
		if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.plainI8(b); err != nil {
			return err
		}
	case at != nil:
		layout = b
		if b.reshaped() || len(b.shape) != len(outShape) {
			layout = nil
		}
		if layout != nil {
			bn = b.store
		} else if bn, err = l.plainI8(b); err != nil {
			return err
		}
		if an, err = l.constIn(n.Input(0), at, layout); err != nil {
			return err
		}
	default:
		layout = a
		if a.reshaped() || len(a.shape) != len(outShape) {
			layout = nil
		}
		if layout != nil {
			an = a.store
		} else if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.constIn(n.Input(1), bt, layout); err != nil {
			return err
		}
	}
	r := &qref{base: outShape, shape: outShape, scale: d.scale, zp: d.zp, exact: true}
	if layout != nil {
		r.perm = layout.perm
	}
	store, isOut := l.destStore(d, r.plain(), "_q")
	r.store = store
	l.emit(n, "QBinary", []string{an, bn}, []string{store}, graph.StringAttr("op", op),
		graph.FloatAttr("a_scale", a.scale), graph.IntAttr("a_zp", int64(a.zp)), graph.FloatAttr("b_scale", b.scale), graph.IntAttr("b_zp", int64(b.zp)),
		graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", int64(d.qmin)), graph.IntAttr("qmax", int64(d.qmax)))
	l.bindOut(d, r, isOut)
	return nil
}

package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// embeddingOp is a Gather of rows of a weight table by indices the data carries
// (nn.Embedding as torch.onnx writes it: Gather(weight, input_ids), axis 0): the
// token-id input of a text model. The table is a trainable parameter. Quantize
// stores such a table as a constant read as data: int8 per tensor on its own
// min/max (with 0), the Gather's output on the same grid. Training does the same
// with the table's current values at every step (the shared range r, which the
// output's fake quantization reads and which nothing else moves); the gradient of
// each looked-up row goes straight through to its table row. The indices carry no
// gradient.
type embeddingOp struct {
	node     string
	idx, out int    // idx: the slot of float32 indices (-1: idxName)
	idxName  string // indices computed from an integer input or the shape arithmetic
	p        *Param
	r        *actRange // nil when the table stays float32
	eff      []float32
	rows, d  int
	pos      []int32 // table row of each index of the last forward pass
}

// isEmbedding reports whether a Gather looks rows (axis 0) of a float32 constant
// table up by indices that are not constant: token ids from an input, or positions
// computed from the sequence length. Such a table is a trainable parameter. (A
// Gather along another axis of a constant by computed indices stays shape
// arithmetic, a constant each step.)
func isEmbedding(b *builder, node *graph.Node) bool {
	t := b.g.Initializers[node.Input(0)]
	if t == nil || t.DType != graph.Float32 || len(t.Shape) < 1 || b.g.Initializers[node.Input(1)] != nil {
		return false
	}
	ax := node.AttrInt("axis", 0)
	return ax == 0 || ax == -int64(len(t.Shape))
}

// buildGather is Gather: an embedding lookup of a constant table by indices from
// the data or the shape arithmetic (the table trains), otherwise a move
// (ops_move.go; constant indices, or a table computed by the network).
func buildGather(b *builder, node *graph.Node) (built, error) {
	idx := node.Input(1)
	if !isEmbedding(b, node) {
		if b.g.Initializers[idx] == nil && !b.n.computedNames[idx] && b.g.Initializers[node.Input(0)] == nil {
			return built{}, fmt.Errorf("%w: Gather by indices from the data (%q) of %q, not a float32 constant table (an embedding)", ErrNoGradient, idx, node.Input(0))
		}
		return buildMove(b, node)
	}
	name := node.Input(0)
	table := b.g.Initializers[name]
	p, err := b.param(name, true)
	if err != nil {
		return built{}, err
	}
	o := &embeddingOp{node: node.Label(), p: p, rows: table.Shape[0], d: numel(table.Shape[1:])}
	if b.consts[name] {
		o.r = b.n.ranges[name]
		if o.r == nil {
			o.r = &actRange{name: name, fromConst: true}
			b.n.ranges[name] = o.r
		}
		o.r.lo, o.r.hi = tableRange(p.W)
	}
	o.idx = -1
	if b.n.computedNames[idx] {
		o.idxName = idx
	} else if o.idx, err = b.input(node, idx); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

// tableRange is the range Quantize quantizes a constant with: its min and max,
// widened to 0.
func tableRange(w []float32) (lo, hi float32) {
	for _, v := range w {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func (o *embeddingOp) label() string { return o.node }

func (o *embeddingOp) forward(n *Net) error {
	y := n.vals[o.out]
	var ids []float64
	var idShape []int
	if o.idx >= 0 {
		v := n.vals[o.idx]
		ids, idShape = make([]float64, len(v.data)), v.shape
		for i, x := range v.data {
			ids[i] = float64(x)
		}
	} else {
		t := n.computed[o.idxName]
		if t == nil {
			return fmt.Errorf("indices %q were not computed", o.idxName)
		}
		var err error
		if ids, err = t.AsFloat64(); err != nil {
			return fmt.Errorf("indices %q: %w", o.idxName, err)
		}
		idShape = t.Shape
	}
	table := o.p.W
	if o.r != nil {
		o.r.lo, o.r.hi = tableRange(o.p.W)
		q := o.r.params()
		o.eff = grow(o.eff, len(o.p.W))
		for i, v := range o.p.W {
			o.eff[i] = fakeQuant(v, q.Scale, q.ZeroPoint)
		}
		table = o.eff
	}
	o.pos = o.pos[:0]
	for _, v := range ids {
		// ONNX allows negative indices, counted from the end.
		r := int(v)
		if float64(r) != v || r < -o.rows || r >= o.rows || math.IsNaN(v) {
			return fmt.Errorf("index %v outside the %d rows of the table (or not an integer)", v, o.rows)
		}
		if r < 0 {
			r += o.rows
		}
		o.pos = append(o.pos, int32(r))
	}
	shape := append(append([]int(nil), idShape...), o.p.Shape[1:]...)
	y.resize(shape)
	for i, r := range o.pos {
		copy(y.data[i*o.d:(i+1)*o.d], table[int(r)*o.d:(int(r)+1)*o.d])
	}
	return nil
}

func (o *embeddingOp) backward(n *Net) {
	dy := n.vals[o.out].grad
	for i, r := range o.pos {
		row := o.p.G[int(r)*o.d : (int(r)+1)*o.d]
		for j, g := range dy[i*o.d : (i+1)*o.d] {
			row[j] += g
		}
	}
}

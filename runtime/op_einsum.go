package runtime

// Einsum. Two operands whose subscripts split into batch, row, column and contracted
// labels (attention products, bilinear forms) run as one batched GEMM between two
// transposes; three or more operands, or sums over a label of one operand, are
// contracted two at a time (einsum_pairwise.go); anything else (diagonals,
// broadcasting) takes a direct loop over every label.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

func buildEinsum(b *BuildContext) (Kernel, error) {
	eq := b.Node.AttrString("equation", "")
	if eq == "" {
		return nil, b.Errorf("missing attribute equation")
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, len(b.Node.Inputs)); err != nil {
			return nil, err
		}
		ranks := make([]int, len(in))
		shapes := make([][]int, len(in))
		for i, t := range in {
			if t.DType != in[0].DType {
				return nil, fmt.Errorf("inputs are %s and %s (dtype mismatch)", in[0].DType, t.DType)
			}
			ranks[i], shapes[i] = len(t.Shape), t.Shape
		}
		spec, err := graph.ParseEinsum(eq, ranks)
		if err != nil {
			return nil, err
		}
		sz, err := spec.Sizes(shapes)
		if err != nil {
			return nil, fmt.Errorf("equation %q: %w", eq, err)
		}
		outShape := make([]int, len(spec.Output))
		for d, l := range spec.Output {
			outShape[d] = sz[l]
		}
		switch in[0].DType {
		case graph.Float32:
			if out, ok, err := einsumGEMM(ctx, spec, sz, in, outShape); ok || err != nil {
				return []*graph.Tensor{out}, err
			}
			if out, ok, err := einsumPairwise(ctx, spec, sz, in, outShape); ok || err != nil {
				return []*graph.Tensor{out}, err
			}
			return []*graph.Tensor{einsumLoop[float32](spec, sz, in, outShape)}, nil
		case graph.Float64:
			return []*graph.Tensor{einsumLoop[float64](spec, sz, in, outShape)}, nil
		case graph.Int32:
			return []*graph.Tensor{einsumLoop[int32](spec, sz, in, outShape)}, nil
		case graph.Int64:
			return []*graph.Tensor{einsumLoop[int64](spec, sz, in, outShape)}, nil
		}
		return nil, fmt.Errorf("unsupported input type %s", in[0].DType)
	}), nil
}

// einsumLoop accumulates, for every combination of label values, the product of the
// operands' elements into the output element (strides are 0 for labels an operand or
// the output does not have, or where a size-1 dimension broadcasts; a label repeated
// in one operand adds its strides, which walks the diagonal).
func einsumLoop[T number](spec *graph.EinsumSpec, sz []int, in []*graph.Tensor, outShape []int) *graph.Tensor {
	out := graph.NewTensor(in[0].DType, outShape)
	od := out.Data.([]T)
	strides := func(labels []int, shape []int) []int {
		st := make([]int, len(sz))
		gs := graph.Strides(shape)
		for d, l := range labels {
			if shape[d] != 1 {
				st[l] += gs[d]
			}
		}
		return st
	}
	ost := strides(spec.Output, outShape)
	ist := make([][]int, len(in))
	data := make([][]T, len(in))
	for i, t := range in {
		ist[i] = strides(spec.Operands[i], t.Shape)
		data[i] = t.Data.([]T)
	}
	total := 1
	for _, s := range sz {
		total *= s
	}
	if total == 0 {
		return out
	}
	idx := make([]int, len(sz))
	offs := make([]int, len(in))
	oOff := 0
	for {
		p := data[0][offs[0]]
		for i := 1; i < len(in); i++ {
			p *= data[i][offs[i]]
		}
		od[oOff] += p
		// Odometer over the labels, last label fastest, updating the offsets.
		l := len(sz) - 1
		for ; l >= 0; l-- {
			idx[l]++
			oOff += ost[l]
			for i := range offs {
				offs[i] += ist[i][l]
			}
			if idx[l] < sz[l] {
				break
			}
			oOff -= ost[l] * sz[l]
			for i := range offs {
				offs[i] -= ist[i][l] * sz[l]
			}
			idx[l] = 0
		}
		if l < 0 {
			return out
		}
	}
}

// einsumGEMM runs a two-operand float32 Einsum as a batched matrix product when every
// label is a batch label (both operands and the output), a row label (A and the
// output), a column label (B and the output) or a contracted one (A and B only), each
// appearing once per operand with equal sizes. ok is false when the equation is not
// of that form.
func einsumGEMM(ctx *ExecContext, spec *graph.EinsumSpec, sz []int, in []*graph.Tensor, outShape []int) (*graph.Tensor, bool, error) {
	if len(in) != 2 {
		return nil, false, nil
	}
	where := make([]int, spec.Labels) // bit 0: A, 1: B, 2: output
	for bit, ls := range [][]int{spec.Operands[0], spec.Operands[1], spec.Output} {
		for d, l := range ls {
			if where[l]&(1<<bit) != 0 {
				return nil, false, nil // diagonal
			}
			where[l] |= 1 << bit
			if bit < 2 && in[bit].Shape[d] != sz[l] {
				return nil, false, nil // broadcast
			}
		}
	}
	var batch, rows, cols, red []int
	for l, w := range where {
		switch w {
		case 7:
			batch = append(batch, l)
		case 5:
			rows = append(rows, l)
		case 6:
			cols = append(cols, l)
		case 3:
			red = append(red, l)
		default:
			return nil, false, nil // a label summed within one operand
		}
	}
	prod := func(ls []int) int {
		n := 1
		for _, l := range ls {
			n *= sz[l]
		}
		return n
	}
	perm := func(labels, order []int) []int {
		p := make([]int, len(order))
		for i, l := range order {
			for d, x := range labels {
				if x == l {
					p[i] = d
				}
			}
		}
		return p
	}
	cat := func(ls ...[]int) []int {
		var o []int
		for _, l := range ls {
			o = append(o, l...)
		}
		return o
	}
	a, err := transposeTensor(ctx.Threads, in[0], perm(spec.Operands[0], cat(batch, rows, red)))
	if err != nil {
		return nil, true, err
	}
	bt, err := transposeTensor(ctx.Threads, in[1], perm(spec.Operands[1], cat(batch, red, cols)))
	if err != nil {
		return nil, true, err
	}
	nb, m, n, k := prod(batch), prod(rows), prod(cols), prod(red)
	p := &matmulBatch{m: m, n: n, k: k, batch: nb, aOff: make([]int, nb), bOff: make([]int, nb)}
	for i := 0; i < nb; i++ {
		p.aOff[i], p.bOff[i] = i*m*k, i*k*n
	}
	mid := cat(batch, rows, cols)
	midShape := make([]int, len(mid))
	for i, l := range mid {
		midShape[i] = sz[l]
	}
	c := graph.NewTensor(graph.Float32, midShape)
	if k > 0 { // an empty contraction sums nothing: zeros, NewTensor's contents
		matmulF32(ctx.Threads, p, a.F32(), bt.F32(), c.F32())
	}
	out, err := transposeTensor(ctx.Threads, c, perm(mid, spec.Output))
	if err != nil {
		return nil, true, err
	}
	out.Shape = outShape
	return out, true, nil
}

func init() {
	Register(OpInfo{OpType: "Einsum", Build: buildEinsum})
}

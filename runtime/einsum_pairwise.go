package runtime

// Einsum of three or more operands, and of two whose labels are summed within one
// of them, by pairwise contraction (twenty-third session). Mamba-2's chunked
// state-space duality (--unseen18's mamba2_ssd_op14) writes
// "bclhn,bcshn,bhcls,bcshp->bclhp" and LoFTR's linear attention
// "nlhd,nhdv,nlh->nlhv": the direct loop visits every combination of all labels
// (b·c·l·s·h·n·p = 327 680 products of four factors for one Mamba-2 block), 5 ms
// of the model's 13 ms in steps, float32 21.6x ONNX Runtime. Contracted two at a
// time from the left, as ONNX Runtime does, each step is a batched GEMM (or, when
// nothing is contracted, a loop over the pair's own labels only): labels one
// operand alone has and nothing later needs are summed out of it first, and the
// labels a later operand or the output needs are kept. Diagonals (a label
// repeated in one operand) and broadcasting (a size-1 dimension against a larger
// one) keep the direct loop.

import (
	"github.com/warboy-sim/warboy/graph"
)

// einsumPairwise evaluates a float32 Einsum by pairwise contraction; ok is false
// (nothing done) for one operand, a diagonal or a broadcast dimension.
func einsumPairwise(ctx *ExecContext, spec *graph.EinsumSpec, sz []int, in []*graph.Tensor, outShape []int) (*graph.Tensor, bool, error) {
	if len(in) < 2 {
		return nil, false, nil
	}
	for i, ls := range spec.Operands {
		seen := map[int]bool{}
		for d, l := range ls {
			if seen[l] || in[i].Shape[d] != sz[l] {
				return nil, false, nil
			}
			seen[l] = true
		}
	}
	has := func(ls []int, l int) bool {
		for _, x := range ls {
			if x == l {
				return true
			}
		}
		return false
	}
	cur, curLs := in[0], spec.Operands[0]
	for i := 1; i < len(in); i++ {
		next, nextLs := in[i], spec.Operands[i]
		needed := map[int]bool{}
		for _, l := range spec.Output {
			needed[l] = true
		}
		for _, ls := range spec.Operands[i+1:] {
			for _, l := range ls {
				needed[l] = true
			}
		}
		// Sum out of each side the labels the other side and later steps lack.
		keep := func(ls, other []int) []int {
			var k []int
			for _, l := range ls {
				if needed[l] || has(other, l) {
					k = append(k, l)
				}
			}
			return k
		}
		if k := keep(curLs, nextLs); len(k) < len(curLs) {
			cur, curLs = einsumSub(sz, []*graph.Tensor{cur}, [][]int{curLs}, k), k
		}
		if k := keep(nextLs, curLs); len(k) < len(nextLs) {
			next, nextLs = einsumSub(sz, []*graph.Tensor{next}, [][]int{nextLs}, k), k
		}
		var res []int
		for _, l := range curLs {
			if needed[l] {
				res = append(res, l)
			}
		}
		for _, l := range nextLs {
			if needed[l] && !has(curLs, l) {
				res = append(res, l)
			}
		}
		var err error
		if cur, err = einsumPair(ctx, sz, cur, curLs, next, nextLs, res); err != nil {
			return nil, true, err
		}
		curLs = res
	}
	// The last product's labels are the output's, in its own order.
	same := len(curLs) == len(spec.Output)
	for d := 0; same && d < len(curLs); d++ {
		same = curLs[d] == spec.Output[d]
	}
	if !same {
		cur = einsumSub(sz, []*graph.Tensor{cur}, [][]int{curLs}, spec.Output)
	}
	cur.Shape = outShape
	return cur, true, nil
}

// einsumPair contracts a (labels al) with b (labels bl) into the labels res: a
// batched GEMM when a label is contracted, the direct loop over the pair's labels
// otherwise.
func einsumPair(ctx *ExecContext, sz []int, a *graph.Tensor, al []int, b *graph.Tensor, bl []int, res []int) (*graph.Tensor, error) {
	sub, lsz := einsumLocal(sz, [][]int{al, bl}, res)
	outShape := make([]int, len(res))
	for d, l := range res {
		outShape[d] = sz[l]
	}
	contracted := false
	for _, l := range al {
		inRes := false
		for _, r := range res {
			inRes = inRes || r == l
		}
		contracted = contracted || !inRes
	}
	if contracted {
		out, ok, err := einsumGEMM(ctx, sub, lsz, []*graph.Tensor{a, b}, outShape)
		if ok || err != nil {
			return out, err
		}
	}
	return einsumLoop[float32](sub, lsz, []*graph.Tensor{a, b}, outShape), nil
}

// einsumSub evaluates the sub-equation of the operands (labels ls) into the labels
// res by the direct loop, over their own labels only.
func einsumSub(sz []int, in []*graph.Tensor, ls [][]int, res []int) *graph.Tensor {
	sub, lsz := einsumLocal(sz, ls, res)
	outShape := make([]int, len(res))
	for d, l := range res {
		outShape[d] = sz[l]
	}
	return einsumLoop[float32](sub, lsz, in, outShape)
}

// einsumLocal renumbers the labels of a sub-equation 0..k-1 (the direct loop
// visits every label of a spec, so the spec must hold only the sub-equation's
// labels) and returns it with the labels' sizes.
func einsumLocal(sz []int, ops [][]int, res []int) (*graph.EinsumSpec, []int) {
	id := map[int]int{}
	var lsz []int
	local := func(ls []int) []int {
		out := make([]int, len(ls))
		for d, l := range ls {
			k, ok := id[l]
			if !ok {
				k = len(lsz)
				id[l] = k
				lsz = append(lsz, sz[l])
			}
			out[d] = k
		}
		return out
	}
	spec := &graph.EinsumSpec{}
	for _, ls := range ops {
		spec.Operands = append(spec.Operands, local(ls))
	}
	spec.Output = local(res)
	spec.Labels = len(lsz)
	return spec, lsz
}

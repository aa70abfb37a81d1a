package runtime

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// einsumReference evaluates an explicit equation by enumerating every assignment of
// values to the letters, indexing each operand by its own shape (size-1 dimensions
// broadcast): a slow, independent reference for the kernel.
func einsumReference(eq string, ins []*graph.Tensor) *graph.Tensor {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, _ := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	size := map[rune]int{}
	var letters []rune
	for i, t := range terms {
		for d, r := range t {
			if _, ok := size[r]; !ok {
				letters = append(letters, r)
				size[r] = 1
			}
			if n := ins[i].Shape[d]; n != 1 {
				size[r] = n
			}
		}
	}
	outShape := []int{}
	for _, r := range rhs {
		outShape = append(outShape, size[r])
	}
	out := graph.NewTensor(graph.Float32, outShape)
	flat := func(term string, shape []int, val map[rune]int) int {
		off := 0
		for d, r := range term {
			v := val[r]
			if shape[d] == 1 {
				v = 0
			}
			off = off*shape[d] + v
		}
		return off
	}
	val := map[rune]int{}
	var walk func(i int)
	walk = func(i int) {
		if i == len(letters) {
			p := float32(1)
			for k, t := range terms {
				p *= ins[k].F32()[flat(t, ins[k].Shape, val)]
			}
			out.F32()[flat(rhs, outShape, val)] += p
			return
		}
		for v := 0; v < size[letters[i]]; v++ {
			val[letters[i]] = v
			walk(i + 1)
		}
	}
	walk(0)
	return out
}

func TestEinsumAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	rnd := func(shape ...int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	cases := []struct {
		name, eq string
		ref      string // explicit form for the reference, when eq is implicit or has "..."
		ins      []*graph.Tensor
	}{
		{"maxvit attention scores (torch.onnx spacing)", "B G H I D, B G H J D -> B G H I J", "", []*graph.Tensor{rnd(1, 3, 2, 5, 4), rnd(1, 3, 2, 6, 4)}},
		{"maxvit attention values", "B G H I J, B G H J D -> B G H I D", "", []*graph.Tensor{rnd(2, 3, 2, 5, 6), rnd(2, 3, 2, 6, 4)}},
		{"matrix product", "ij,jk->ik", "", []*graph.Tensor{rnd(3, 4), rnd(4, 5)}},
		{"implicit output", "ij,jk", "ij,jk->ik", []*graph.Tensor{rnd(3, 4), rnd(4, 5)}},
		{"output order differs", "bij,bjk->kbi", "", []*graph.Tensor{rnd(2, 3, 4), rnd(2, 4, 5)}},
		{"outer product", "i,j->ij", "", []*graph.Tensor{rnd(3), rnd(4)}},
		{"row-wise dot", "ij,ij->i", "", []*graph.Tensor{rnd(3, 4), rnd(3, 4)}},
		{"transpose", "bij->bji", "", []*graph.Tensor{rnd(2, 3, 4)}},
		{"diagonal", "ii->i", "", []*graph.Tensor{rnd(4, 4)}},
		{"trace", "ii", "ii->", []*graph.Tensor{rnd(4, 4)}},
		{"sum over one operand's label", "ij,jk->k", "", []*graph.Tensor{rnd(3, 4), rnd(4, 5)}},
		{"broadcast ellipsis", "...ij,...jk->...ik", "abij,bjk->abik", []*graph.Tensor{rnd(2, 1, 3, 4), rnd(5, 4, 2)}},
		{"three operands", "abc,cd,de->abe", "", []*graph.Tensor{rnd(2, 3, 4), rnd(4, 5), rnd(5, 2)}},
		// Pairwise contraction (einsum_pairwise.go): Mamba-2's chunked SSD,
		// LoFTR's linear attention, a label summed out of one operand first, a
		// label only the last operand and the output share, an output order
		// differing from the last product's, and an empty contraction.
		{"mamba2 ssd diagonal blocks", "bclhn,bcshn,bhcls,bcshp->bclhp", "",
			[]*graph.Tensor{rnd(1, 2, 3, 2, 4), rnd(1, 2, 3, 2, 4), rnd(1, 2, 2, 3, 3), rnd(1, 2, 3, 2, 5)}},
		{"mamba2 ssd states", "bclhn,bhcl,bclhp->bchpn", "", []*graph.Tensor{rnd(2, 2, 3, 2, 4), rnd(2, 2, 2, 3), rnd(2, 2, 3, 2, 5)}},
		{"loftr linear attention", "nlhd,nhdv,nlh->nlhv", "", []*graph.Tensor{rnd(1, 6, 2, 4), rnd(1, 2, 4, 3), rnd(1, 6, 2)}},
		{"one operand's label summed first", "ijk,jl->l", "", []*graph.Tensor{rnd(3, 4, 5), rnd(4, 2)}},
		{"late label and output order", "ab,bc,cd,ae->eda", "", []*graph.Tensor{rnd(2, 3), rnd(3, 4), rnd(4, 5), rnd(2, 3)}},
		{"empty contraction", "ij,jk,kl->il", "", []*graph.Tensor{rnd(2, 0), rnd(0, 3), rnd(3, 2)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.ref
			if ref == "" {
				ref = tc.eq
			}
			want := einsumReference(ref, tc.ins)
			for _, threads := range []int{1, 2} {
				got, err := runNodeWith(t, 13, threads, mk("Einsum", len(tc.ins), 1, aStr("equation", tc.eq)), nil, tc.ins...)
				require.NoError(t, err)
				require.Equal(t, want.Shape, got[0].Shape)
				require.NoError(t, CompareTensors(got[0], want, Tolerance{Rtol: 1e-5, Atol: 1e-5}))
			}
		})
	}
}

func TestEinsumErrors(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	runNodeCases(t, []nodeCase{
		{name: "inner sizes differ", opset: 13, node: mk("Einsum", 2, 1, aStr("equation", "ij,jk->ik")), inputs: []*graph.Tensor{x, x}, wantErr: "is 2 where another input has 3"},
		{name: "not a letter", opset: 13, node: mk("Einsum", 1, 1, aStr("equation", "i1->i")), inputs: []*graph.Tensor{x}, wantErr: "is not a subscript letter"},
		{name: "rank", opset: 13, node: mk("Einsum", 1, 1, aStr("equation", "ijk->i")), inputs: []*graph.Tensor{x}, wantErr: "has 3 subscripts, the input has rank 2"},
		{name: "output letter unused", opset: 13, node: mk("Einsum", 1, 1, aStr("equation", "ij->iz")), inputs: []*graph.Tensor{x}, wantErr: "output subscript not in any input"},
		{name: "operand count", opset: 13, node: mk("Einsum", 1, 1, aStr("equation", "ij,jk->ik")), inputs: []*graph.Tensor{x}, wantErr: "has 2 operands, the node has 1 inputs"},
	})
}

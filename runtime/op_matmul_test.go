package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// matmulRef is numpy.matmul in float64 on float32 data.
func matmulRef(a, b *graph.Tensor) *graph.Tensor {
	p, err := planMatMul(a.Shape, b.Shape)
	if err != nil {
		panic(err)
	}
	out := graph.NewTensor(graph.Float32, p.out)
	ad, bd, od := a.F32(), b.F32(), out.F32()
	for i := 0; i < p.batch; i++ {
		for r := 0; r < p.m; r++ {
			for c := 0; c < p.n; c++ {
				var s float64
				for k := 0; k < p.k; k++ {
					s += float64(ad[p.aOff[i]+r*p.k+k]) * float64(bd[p.bOff[i]+k*p.n+c])
				}
				od[(i*p.m+r)*p.n+c] = float32(s)
			}
		}
	}
	return out
}

func TestMatMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	cases := []struct{ a, b []int }{
		{[]int{3, 4}, []int{4, 5}},
		{[]int{4}, []int{4, 5}},
		{[]int{3, 4}, []int{4}},
		{[]int{4}, []int{4}},
		{[]int{2, 3, 7, 8}, []int{8, 5}},       // shared B: one GEMM over the batch
		{[]int{7, 8}, []int{3, 8, 5}},          // broadcast A
		{[]int{2, 1, 3, 4}, []int{5, 4, 6}},    // both broadcast
		{[]int{6, 33, 17}, []int{6, 17, 40}},   // batched, more products than threads
		{[]int{1, 100, 64}, []int{1, 64, 300}}, // one big product, multi-threaded GEMM
		{[]int{2, 0, 4}, []int{4, 3}},          // empty
		{[]int{3, 0}, []int{0, 2}},             // zero inner dimension: zeros
	}
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%vx%v/threads=%d", tc.a, tc.b, threads), func(t *testing.T) {
				a, b := randF32(r, tc.a...), randF32(r, tc.b...)
				got, err := runNodeWith(t, 13, threads, mk("MatMul", 2, 1), []bool{false, true}, a, b)
				require.NoError(t, err)
				require.NoError(t, CompareTensors(got[0], matmulRef(a, b), gemmTol))
			})
		}
	}
}

func TestMatMulTypesAndErrors(t *testing.T) {
	runNodeCases(t, []nodeCase{
		{name: "int32", node: mk("MatMul", 2, 1), inputs: []*graph.Tensor{i32([]int{2, 2}, 1, 2, 3, 4), i32([]int{2, 1}, 5, 6)},
			want: []*graph.Tensor{i32([]int{2, 1}, 17, 39)}},
		{name: "int64 1-d", node: mk("MatMul", 2, 1), inputs: []*graph.Tensor{i64([]int{3}, 1, 2, 3), i64([]int{3}, 4, 5, 6)},
			want: []*graph.Tensor{i64([]int{}, 32)}},
		{name: "float16", node: mk("MatMul", 2, 1), inputs: []*graph.Tensor{f16([]int{1, 2}, 1, 2), f16([]int{2, 1}, 0.5, 0.25)},
			want: []*graph.Tensor{f16([]int{1, 1}, 1)}},
		{name: "inner mismatch", node: mk("MatMul", 2, 1), inputs: []*graph.Tensor{f32([]int{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int{2, 1}, 1, 2)},
			wantErr: `MatMul "n": inner dimensions differ`},
		{name: "scalar operand", node: mk("MatMul", 2, 1), inputs: []*graph.Tensor{f32(nil, 1), f32([]int{1}, 1)},
			wantErr: "rank >= 1"},
	})
}

func TestMatMulKernelChecks(t *testing.T) {
	_, err := runNodeDynamic(t, mk("MatMul", 2, 1), f32([]int{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int{2, 1}, 1, 2))
	require.ErrorContains(t, err, `MatMul "n": inner dimensions differ: [2 3] x [2 1]`)
	_, err = runNodeDynamic(t, mk("MatMul", 2, 1), f32([]int{1, 2}, 1, 2), graph.FromInt64([]int{2, 1}, []int64{1, 2}))
	require.ErrorContains(t, err, "dtype mismatch")
	_, err = runNodeDynamic(t, mk("MatMul", 2, 1), f32([]int{2, 3, 2}, make([]float32, 12)...), f32([]int{3, 2, 2}, make([]float32, 12)...))
	require.ErrorContains(t, err, "cannot be broadcast")
}

// gemmRef computes alpha * A' * B' + beta * C in float64.
func gemmRef(a, b, c *graph.Tensor, transA, transB bool, alpha, beta float64) *graph.Tensor {
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	n := b.Shape[1]
	if transB {
		n = b.Shape[0]
	}
	out := graph.NewTensor(graph.Float32, []int{m, n})
	var cs []int
	if c != nil {
		cs = broadcastStrides(c.Shape, []int{m, n})
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*a.Shape[1]+p, p*b.Shape[1]+j
				if transA {
					ai = p*a.Shape[1] + i
				}
				if transB {
					bi = j*b.Shape[1] + p
				}
				av, bv := a.F32()[ai], b.F32()[bi]
				s += float64(av) * float64(bv)
			}
			s *= alpha
			if c != nil {
				s += beta * float64(c.F32()[i*cs[0]+j*cs[1]])
			}
			out.F32()[i*n+j] = float32(s)
		}
	}
	return out
}

func TestGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	cases := []struct {
		name           string
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		c              []int // nil: no C
	}{
		{"plain", 5, 7, 3, false, false, 1, 1, []int{5, 7}},
		{"linear layer", 4, 10, 32, false, true, 1, 1, []int{10}},
		{"alpha beta", 3, 4, 5, true, false, 0.5, 0.25, []int{1, 4}},
		{"all", 6, 5, 4, true, true, 0.25, 0.35, []int{6, 1}},
		{"scalar C", 2, 3, 4, false, false, 2, 1, []int{}},
		{"no C", 3, 3, 9, false, true, 1.5, 1, nil},
		{"beta zero", 3, 3, 2, false, false, 1, 0, []int{3, 3}},
		{"large", 64, 96, 128, false, true, 1, 1, []int{96}},
		{"linear beta", 13, 70, 20, false, true, 1.5, 0.5, []int{70}},
		{"one column", 5, 1, 8, false, false, 1, 1, []int{1}},
		{"row C", 9, 66, 7, false, false, 1, 1, []int{9, 66}},
	}
	for _, tc := range cases {
		for _, constB := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/constB=%v", tc.name, constB), func(t *testing.T) {
				as := []int{tc.m, tc.k}
				if tc.transA {
					as = []int{tc.k, tc.m}
				}
				bs := []int{tc.k, tc.n}
				if tc.transB {
					bs = []int{tc.n, tc.k}
				}
				a, b := randF32(r, as...), randF32(r, bs...)
				n := mk("Gemm", 2, 1, aFloat("alpha", tc.alpha), aFloat("beta", tc.beta),
					aInt("transA", boolInt(tc.transA)), aInt("transB", boolInt(tc.transB)))
				ins := []*graph.Tensor{a, b}
				var c *graph.Tensor
				if tc.c != nil {
					c = randF32(r, tc.c...)
					ins = append(ins, c)
					n.Inputs = append(n.Inputs, "x2")
				}
				got, err := runNodeWith(t, 13, 2, n, []bool{false, constB, constB}, ins...)
				require.NoError(t, err)
				want := gemmRef(a, b, c, tc.transA, tc.transB, float64(tc.alpha), float64(tc.beta))
				require.NoError(t, CompareTensors(got[0], want, gemmTol))
				// The constant B is shared with the model and must not be modified.
				if constB {
					got2, err := runNodeWith(t, 13, 1, n, []bool{false, true, true}, ins...)
					require.NoError(t, err)
					require.NoError(t, CompareTensors(got2[0], want, gemmTol))
				}
			})
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestGemmTypesAndErrors(t *testing.T) {
	runNodeCases(t, []nodeCase{
		{name: "int64", node: mk("Gemm", 3, 1, aInt("transB", 1)),
			inputs: []*graph.Tensor{i64([]int{1, 2}, 1, 2), i64([]int{2, 2}, 1, 2, 3, 4), i64([]int{2}, 10, 20)},
			want:   []*graph.Tensor{i64([]int{1, 2}, 15, 31)}},
		{name: "float64 alpha", node: mk("Gemm", 2, 1, aFloat("alpha", 2)),
			inputs: []*graph.Tensor{{DType: graph.Float64, Shape: []int{1, 1}, Data: []float64{3}}, {DType: graph.Float64, Shape: []int{1, 1}, Data: []float64{4}}},
			want:   []*graph.Tensor{{DType: graph.Float64, Shape: []int{1, 1}, Data: []float64{24}}}},
		{name: "rank 3", node: mk("Gemm", 2, 1), inputs: []*graph.Tensor{f32([]int{1, 1, 1}, 1), f32([]int{1, 1}, 1)},
			wantErr: "expected 2-D matrices"},
		{name: "C too big", node: mk("Gemm", 3, 1), inputs: []*graph.Tensor{f32([]int{1, 1}, 1), f32([]int{1, 1}, 1), f32([]int{2}, 1, 2)},
			wantErr: "does not broadcast"},
		{name: "C required before opset 11", opset: 9, node: mk("Gemm", 2, 1), inputs: []*graph.Tensor{f32([]int{1, 1}, 1), f32([]int{1, 1}, 1)},
			wantErr: "missing input C"},
	})
	_, err := runNodeDynamic(t, mk("Gemm", 3, 1), f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{3}, 1, 2, 3))
	require.ErrorContains(t, err, "input C: shape [3] does not broadcast to [2 2]")
	_, err = runNodeDynamic(t, mk("Gemm", 2, 1, aInt("transA", 1)), f32([]int{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int{3, 1}, 1, 2, 3))
	require.ErrorContains(t, err, "inner dimensions differ")
}

package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestSampleBiasDims(t *testing.T) {
	tests := []struct {
		name   string
		shape  []int
		n, m   int
		bn, bm int
		ok     bool
	}{
		{"per sample and channel", []int{2, 8, 1, 1}, 2, 8, 2, 8, true},
		{"per channel", []int{1, 8, 1, 1}, 2, 8, 1, 8, true},
		{"rank 3 per channel", []int{8, 1, 1}, 2, 8, 1, 8, true},
		{"per sample scalar", []int{2, 1, 1, 1}, 2, 8, 2, 1, true},
		{"scalar", []int{}, 2, 8, 1, 1, true},
		{"rank 1 is per column", []int{8}, 2, 8, 0, 0, false},
		{"spatial extent", []int{2, 8, 1, 3}, 2, 8, 0, 0, false},
		{"other batch", []int{3, 8, 1, 1}, 2, 8, 0, 0, false},
		{"other channels", []int{2, 4, 1, 1}, 2, 8, 0, 0, false},
		{"rank 5", []int{1, 2, 8, 1, 1}, 2, 8, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bn, bm, ok := sampleBiasDims(tc.shape, tc.n, tc.m)
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, []int{tc.bn, tc.bm}, []int{bn, bm})
			}
		})
	}
}

func TestSampleBiases(t *testing.T) {
	tests := []struct {
		name    string
		sb      *graph.Tensor
		bias    []float32
		n, np   int
		want    []float32
		wantErr string
	}{
		{"per sample with bias, padded", graph.FromFloat32([]int{2, 2, 1, 1}, []float32{1, 2, 3, 4}), []float32{10, 20, 0}, 2, 3,
			[]float32{11, 22, 0, 13, 24, 0}, ""},
		{"per channel, no bias", graph.FromFloat32([]int{2, 1, 1}, []float32{1, 2}), nil, 2, 2, []float32{1, 2, 1, 2}, ""},
		{"per sample scalar", graph.FromFloat32([]int{2, 1, 1, 1}, []float32{5, 6}), []float32{1, 1}, 2, 2, []float32{6, 6, 7, 7}, ""},
		{"not float32", graph.FromInt64([]int{2, 1, 1, 1}, []int64{5, 6}), nil, 2, 2, nil, "not float32"},
		{"bad shape", graph.FromFloat32([]int{2, 2, 1, 2}, make([]float32, 8)), nil, 2, 2, nil, "does not broadcast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sampleBiases(tc.sb, tc.n, 2, tc.bias, tc.np)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestConvSampleBias builds convolutions followed by the Add of a
// per-sample bias (a time embedding through a Gemm, reshaped to [N, C, 1,
// 1], as the diffusion UNets write it; or a constant that broadcasts) in and
// out of the channels-last chains, and checks the fused steps against the
// same graph run step by step (every tensor tapped): same outputs within
// float32 tolerance, and the expected kernels.
func TestConvSampleBias(t *testing.T) {
	temb := func(b *mb, c int) string {
		g := b.gemm("t", 6, c)
		return b.Node("Reshape", []string{g, b.i64(-1, int64(c), 1, 1)})
	}
	for _, tc := range []struct {
		name  string
		cin   int
		build func(b *mb, x string) string
		// rows: sampleBiasConvKernel steps; fused: NCHW fusedConvKernel
		// steps with the Add (-1: not checked)
		rows, fused int
	}{
		{"resblock", 8, func(b *mb, x string) string {
			h := tSiLU(b, b.groupNorm(tConv(b, x, 8, 32, 3, 1, 1), 32, 8, 4))
			h = b.Node("Add", []string{tConv(b, h, 32, 32, 3, 1, 1), temb(b, 32)})
			h = tSiLU(b, b.groupNorm(h, 32, 8, 4))
			return tConv(b, h, 32, 8, 3, 1, 1)
		}, 1, 0},
		{"bias first, relu, padded channels", 8, func(b *mb, x string) string {
			h := tConv(b, x, 8, 24, 3, 1, 1)
			h = b.Node("Relu", []string{b.Node("Add", []string{temb(b, 24), tConv(b, h, 24, 24, 3, 1, 1)})})
			return tConv(b, h, 24, 8, 3, 1, 1)
		}, 1, 0},
		{"pointwise and strided", 16, func(b *mb, x string) string {
			h := tConv(b, x, 16, 32, 3, 1, 1)
			h = b.Node("Add", []string{tConv(b, h, 32, 48, 1, 1, 1), temb(b, 48)})
			h = b.Node("Add", []string{tConv(b, h, 48, 32, 3, 2, 1), temb(b, 32)})
			return tConv(b, h, 32, 8, 3, 1, 1)
		}, 2, 0},
		{"per-sample scalar", 8, func(b *mb, x string) string {
			h := tConv(b, x, 8, 16, 3, 1, 1)
			s := b.Node("Reshape", []string{b.gemm("t", 6, 1), b.i64(-1, 1, 1, 1)})
			h = b.Node("Add", []string{tConv(b, h, 16, 16, 3, 1, 1), s})
			return tConv(b, h, 16, 8, 3, 1, 1)
		}, 1, 0},
		{"nchw output", 8, func(b *mb, x string) string {
			return b.Node("Add", []string{tConv(b, x, 8, 16, 3, 1, 1), temb(b, 16)})
		}, 0, 1},
		{"nchw strided output", 8, func(b *mb, x string) string {
			return b.Node("Relu", []string{b.Node("Add", []string{temb(b, 16), tConv(b, x, 8, 16, 3, 2, 1)})})
		}, 0, 1},
	} {
		for _, n := range []int{1, 2} {
			t.Run(tc.name, func(t *testing.T) {
				b := newMB(7)
				x := b.Input("x", graph.Dim{Size: n}, graph.Dim{Size: tc.cin}, graph.Dim{Size: 9}, graph.Dim{Size: 10})
				b.Input("t", graph.Dim{Size: n}, graph.Dim{Size: 6})
				b.Output(tc.build(b, x))
				m := b.Model()
				rng := rand.New(rand.NewSource(3))
				in := map[string]*graph.Tensor{"x": randInput(rng, []int{n, tc.cin, 9, 10}, -2, 2), "t": randInput(rng, []int{n, 6}, -1, 1)}
				ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
				require.NoError(t, err)
				all, err := ref.RunTensors(in)
				require.NoError(t, err)
				want := map[string]*graph.Tensor{}
				for _, o := range m.Graph.Outputs {
					want[o.Name] = all[o.Name]
				}
				for _, threads := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
					require.NoError(t, err)
					rows, fused := 0, 0
					for _, st := range s.steps {
						switch k := st.kernel.(type) {
						case *sampleBiasConvKernel:
							rows++
						case *fusedConvKernel:
							if k.add != nil {
								fused++
							}
						}
						require.NotEqual(t, "Add", st.node.OpType, "left unfused")
					}
					require.Equal(t, tc.rows, rows, "channels-last convolutions with the per-sample bias")
					require.Equal(t, tc.fused, fused, "NCHW convolutions with the per-sample bias")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					requireClose(t, want, got, 2e-5)
				}
			})
		}
	}
}

package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// lstmCellModel writes out two LSTM cells in sequence (the second reads the
// first's h' and c', as a decoder loop does): Gemm(x) + Gemm(h) → Split into
// four blocks → activations → c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c').
// order gives the block of each gate ('i', 'f', 'g', 'o'); swap writes every
// Mul and Add with its operands the other way round; splitSizes adds the
// sizes as an input (opset 13) instead of an equal split; gAct replaces
// Tanh on g (a cell that must not be fused when it is not Tanh); cShape is
// the initial state's shape ([batch, h] or a broadcast [1, h]).
func lstmCellModel(order string, swap, splitSizes bool, gAct string, cShape []int, batch, in, h int) *graph.Model {
	b := testmodels.New(7)
	b.Opsets[""] = 13
	x := b.Input("x", graph.Dim{Size: batch}, graph.Dim{Size: in})
	h0 := b.Input("h0", graph.Dim{Size: batch}, graph.Dim{Size: h})
	c := b.Init("c0", graph.FromFloat32(cShape, randVals(rand.New(rand.NewSource(8)), graph.NumElements(cShape))))
	hs := h0
	bin := func(op, a, c string) string {
		if swap {
			a, c = c, a
		}
		return b.Node(op, []string{a, c})
	}
	for step := 0; step < 2; step++ {
		wx := b.RandInit("wx", []int{4 * h, in}, 0.6)
		wh := b.RandInit("wh", []int{4 * h, h}, 0.6)
		bx := b.RandInit("bx", []int{4 * h}, 0.3)
		gx := b.Node("Gemm", []string{x, wx, bx}, graph.IntAttr("transB", 1))
		gh := b.Node("Gemm", []string{hs, wh}, graph.IntAttr("transB", 1))
		pre := b.Node("Add", []string{gx, gh})
		outs := make([]string, 4)
		for i := range outs {
			outs[i] = b.Name("split_out")
		}
		ins := []string{pre}
		if splitSizes {
			ins = append(ins, b.Init("sizes", graph.FromInt64([]int{4}, []int64{int64(h), int64(h), int64(h), int64(h)})))
		}
		b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: ins, Outputs: outs,
			Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 1)}})
		act := map[byte]string{}
		for i, r := range []byte(order) {
			op := "Sigmoid"
			if r == 'g' {
				op = gAct
			}
			act[r] = b.Node(op, []string{outs[i]})
		}
		c = bin("Add", bin("Mul", act['f'], c), bin("Mul", act['i'], act['g']))
		hs = bin("Mul", act['o'], b.Node("Tanh", []string{c}))
	}
	b.Output(hs, c)
	return b.Model()
}

func randVals(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func countKernels[T any](s *Session) int {
	n := 0
	for _, st := range s.steps {
		if _, ok := st.kernel.(T); ok {
			n++
		}
	}
	return n
}

// TestLSTMCellFusion: written-out LSTM cells become one step each, for any
// gate order and operand order, with an equal or explicit split, and give
// the unfused steps' bits (the reference is the same graph with an
// intermediate tapped, which keeps the steps), at 1 and 2 threads and at a
// batch large enough to split across threads. A cell whose state broadcasts
// runs the steps one by one inside the fused step, with the same bits; a
// cell with another activation on g is not fused.
func TestLSTMCellFusion(t *testing.T) {
	for _, tc := range []struct {
		order      string
		swap       bool
		splitSizes bool
		gAct       string
		batch, h   int
		broadcastC bool
		fused      int
	}{
		{"ifgo", false, false, "Tanh", 1, 48, false, 2},
		{"ifgo", true, true, "Tanh", 2, 48, false, 2},
		{"iogf", false, true, "Tanh", 3, 20, false, 2},
		{"gfoi", true, false, "Tanh", 64, 96, false, 2},
		{"ifgo", false, false, "Tanh", 2, 16, true, 2},
		{"ifgo", false, false, "Relu", 2, 16, false, 0},
	} {
		name := fmt.Sprintf("%s swap=%v sizes=%v %s b%d h%d bc=%v", tc.order, tc.swap, tc.splitSizes, tc.gAct, tc.batch, tc.h, tc.broadcastC)
		t.Run(name, func(t *testing.T) {
			cShape := []int{tc.batch, tc.h}
			if tc.broadcastC {
				cShape = []int{1, tc.h}
			}
			m := lstmCellModel(tc.order, tc.swap, tc.splitSizes, tc.gAct, cShape, tc.batch, 24, tc.h)
			rng := rand.New(rand.NewSource(9))
			in := map[string]*graph.Tensor{
				"x":  graph.FromFloat32([]int{tc.batch, 24}, randVals(rng, tc.batch*24)),
				"h0": graph.FromFloat32([]int{tc.batch, tc.h}, randVals(rng, tc.batch*tc.h)),
			}
			var tap string
			for _, n := range m.Graph.Nodes {
				if n.OpType == "Sigmoid" {
					tap = n.Outputs[0]
				}
			}
			ref, err := NewSession(m, WithMode(ModeFloat), WithThreads(1), WithTaps(tap))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			assert.Equal(t, min(1, tc.fused), countKernels[*lstmCellKernel](ref), "only the untapped cell fuses")
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				assert.Equal(t, tc.fused, countKernels[*lstmCellKernel](s))
				for _, st := range s.steps {
					if k, ok := st.kernel.(*lstmCellKernel); ok {
						// the run's shapes take the fused arithmetic
						assert.True(t, k.fits(graph.NewTensor(graph.Float32, []int{tc.batch, 4 * tc.h}), graph.NewTensor(graph.Float32, []int{tc.batch, tc.h})))
					}
				}
				for run := 0; run < 3; run++ {
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						w, g := want[o.Name].F32(), got[o.Name].F32()
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape)
						for i := range w {
							require.Equal(t, math.Float32bits(w[i]), math.Float32bits(g[i]), "%s[%d] at %d threads: %v vs %v", o.Name, i, th, g[i], w[i])
						}
					}
					for _, t := range got {
						poison(t)
					}
				}
			}
		})
	}
}

// poison overwrites a returned tensor, so that a run reading an earlier run's
// outputs would fail.
func poison(t *graph.Tensor) {
	if d, ok := t.Data.([]float32); ok {
		for i := range d {
			d[i] = float32(math.NaN())
		}
	}
}

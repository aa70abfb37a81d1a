package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestCheckBatchLeading(t *testing.T) {
	sym := func(p string) graph.Dim { return graph.Dim{Size: -1, Param: p} }
	fix := func(n int) graph.Dim { return graph.Dim{Size: n} }
	in := func(name string, dims ...graph.Dim) *graph.Value {
		return &graph.Value{Name: name, DType: graph.Float32, Shape: dims, HasShape: true}
	}
	for _, tc := range []struct {
		name   string
		inputs []*graph.Value
		want   string // "" accepted
	}{
		{"image", []*graph.Value{in("x", sym("N"), fix(3), sym("H"), sym("W"))}, ""},
		{"batch-first sequence", []*graph.Value{in("x", sym("batch"), sym("seq"), fix(40))}, ""},
		{"token ids and mask", []*graph.Value{in("ids", sym("batch"), sym("seq")), in("mask", sym("batch"), sym("seq"))}, ""},
		{"fixed batch", []*graph.Value{in("x", fix(1), fix(16), fix(20))}, ""},
		{"a detector's heads, no batch axis", []*graph.Value{in("boxes", fix(3234), fix(4)), in("scores", fix(1), fix(3234), fix(91))}, ""},
		{"two images of one symbolic size at batch 1 (LoFTR)", []*graph.Value{in("image0", fix(1), fix(1), sym("H"), sym("W")), in("image1", fix(1), fix(1), sym("H"), sym("W"))}, ""},
		{"ids and positions without a batch", []*graph.Value{in("ids", sym("B"), sym("T")), in("pos", sym("T"))}, ""},
		{"time-major RNN and its state", []*graph.Value{in("x", sym("time"), sym("batch"), fix(20)), in("h0", fix(4), sym("batch"), fix(32))},
			`input "x" [time,batch,20] has its batch on axis 1 ("batch")`},
		{"time-major, one input", []*graph.Value{in("x", sym("seq"), sym("batch"), fix(40))},
			`input "x" [seq,batch,40] has its batch on axis 1 ("batch")`},
		{"batch-first LSTM with h0 as an input", []*graph.Value{in("x", sym("batch"), sym("seq"), fix(40)), in("h0", fix(2), sym("batch"), fix(48))},
			`input "h0" [2,batch,48] has its batch on axis 1 ("batch")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Inputs: tc.inputs, Initializers: map[string]*graph.Tensor{}}
			err := CheckBatchLeading(g)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "batch_first=True")
		})
	}
}

package optimize_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// A stride-1 ConvTranspose becomes a Conv with the weight transposed per group and
// flipped, and gives the same output as the ConvTranspose run unoptimized; the
// others are left alone.
func TestConvTransposeToConv(t *testing.T) {
	for _, c := range []struct {
		name           string
		in             []int // N, C, spatial...
		cout, k, group int
		strides, dil   []int64
		pads, outPad   []int64
		attrs          []*graph.Attr
		rewritten      bool
	}{
		{"3x3 pad 1", []int{1, 6, 7, 9}, 4, 3, 1, []int64{1, 1}, []int64{1, 1}, []int64{1, 1, 1, 1}, nil, nil, true},
		{"dilation 2 pad 2, groups 3", []int{2, 6, 8, 8}, 9, 3, 3, []int64{1, 1}, []int64{2, 2}, []int64{2, 2, 2, 2}, nil, nil, true},
		{"no padding grows the map", []int{1, 4, 5, 6}, 3, 3, 1, []int64{1, 1}, []int64{1, 1}, nil, nil, nil, true},
		{"asymmetric pads, output_padding 1 under dilation 2", []int{1, 4, 6, 5}, 5, 3, 1, []int64{1, 1}, []int64{2, 2}, []int64{1, 0, 2, 1}, []int64{1, 1}, nil, true},
		{"depthwise 5x5", []int{1, 8, 9, 9}, 8, 5, 8, []int64{1, 1}, []int64{1, 1}, []int64{2, 2, 2, 2}, nil, nil, true},
		{"1-D, dilation 3", []int{2, 5, 17}, 7, 4, 1, []int64{1}, []int64{3}, []int64{2, 4}, nil, nil, true},
		{"stride 2 left alone", []int{1, 4, 5, 5}, 3, 3, 1, []int64{2, 2}, []int64{1, 1}, []int64{1, 1, 1, 1}, []int64{1, 1}, nil, false},
		{"pads beyond the kernel left alone", []int{1, 4, 6, 6}, 3, 1, 1, []int64{1, 1}, []int64{1, 1}, []int64{1, 1, 1, 1}, nil, nil, false},
		{"auto_pad left alone", []int{1, 4, 5, 5}, 3, 3, 1, []int64{1, 1}, []int64{1, 1}, nil, nil,
			[]*graph.Attr{graph.StringAttr("auto_pad", "SAME_UPPER")}, false},
		{"output_shape left alone", []int{1, 4, 5, 5}, 3, 3, 1, []int64{1, 1}, []int64{1, 1}, nil, nil,
			[]*graph.Attr{graph.IntsAttr("output_shape", []int{5, 5})}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.name))))
			sp := len(c.in) - 2
			wshape := []int{c.in[1], c.cout / c.group}
			ks := make([]int, sp)
			for i := range ks {
				ks[i] = c.k
				wshape = append(wshape, c.k)
			}
			attrs := append([]*graph.Attr{graph.IntsAttr("kernel_shape", ks), graph.IntAttr("group", int64(c.group)),
				graph.IntsAttr("strides", ints(c.strides)), graph.IntsAttr("dilations", ints(c.dil))}, c.attrs...)
			if c.pads != nil {
				attrs = append(attrs, graph.IntsAttr("pads", ints(c.pads)))
			}
			if c.outPad != nil {
				attrs = append(attrs, graph.IntsAttr("output_padding", ints(c.outPad)))
			}
			g := &graph.Graph{
				Name:         "deconv",
				Nodes:        []*graph.Node{node("ConvTranspose", []string{"x", "w", "b"}, []string{"y"}, attrs...)},
				Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(c.in...), HasShape: true}},
				Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
				Initializers: map[string]*graph.Tensor{"w": randF32(rng, wshape...), "b": randF32(rng, c.cout)},
				Values:       map[string]*graph.Value{},
			}
			src := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			in := map[string]*graph.Tensor{"x": randF32(rng, c.in...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if !c.rewritten {
				assert.Equal(t, 0, st.Deconvs, st.String())
				assert.Equal(t, 1, ops["ConvTranspose"])
				return
			}
			assert.Equal(t, 1, st.Deconvs, st.String())
			assert.Equal(t, map[string]int{"Conv": 1}, ops)
			got := run(t, m, in)
			require.Equal(t, want["y"].Shape, got["y"].Shape)
			assert.InDeltaSlice(t, want["y"].F32(), got["y"].F32(), 1e-4, fmt.Sprint(c.in))
		})
	}
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

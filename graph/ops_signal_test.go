package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpandPadAxes(t *testing.T) {
	for _, c := range []struct {
		name       string
		pads, axes []int64
		rank       int
		want       []int64
		err        string
	}{
		{name: "last two axes", pads: []int64{1, 2, 3, 4}, axes: []int64{2, 3}, rank: 4, want: []int64{0, 0, 1, 2, 0, 0, 3, 4}},
		{name: "negative, reversed", pads: []int64{1, 2, 3, 4}, axes: []int64{-1, -2}, rank: 4, want: []int64{0, 0, 2, 1, 0, 0, 4, 3}},
		{name: "one axis", pads: []int64{5, -1}, axes: []int64{0}, rank: 2, want: []int64{5, 0, -1, 0}},
		{name: "count mismatch", pads: []int64{1, 2, 3}, axes: []int64{0, 1}, rank: 2, err: "3 values for 2 axes"},
		{name: "repeated", pads: []int64{1, 2, 3, 4}, axes: []int64{1, -1}, rank: 2, err: "twice"},
		{name: "out of range", pads: []int64{1, 2}, axes: []int64{4}, rank: 3, err: "axes [4]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ExpandPadAxes(c.pads, c.axes, c.rank)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestSplitNodeSizes(t *testing.T) {
	split := func(nout int, numOutputs int64) *Node {
		n := &Node{OpType: "Split", Outputs: make([]string, nout), Attrs: map[string]*Attr{}}
		if numOutputs != 0 {
			n.SetAttrInt("num_outputs", numOutputs)
		}
		return n
	}
	for _, c := range []struct {
		name  string
		n     *Node
		dim   int
		split []int64
		want  []int
		err   string
	}{
		{name: "even, no num_outputs", n: split(2, 0), dim: 6, want: []int{3, 3}},
		{name: "uneven needs num_outputs", n: split(2, 0), dim: 5, err: "cannot be split into 2 equal parts"},
		{name: "num_outputs, last smaller", n: split(3, 3), dim: 7, want: []int{3, 3, 1}},
		{name: "num_outputs, divides", n: split(2, 2), dim: 8, want: []int{4, 4}},
		{name: "num_outputs, last empty", n: split(3, 3), dim: 4, want: []int{2, 2, 0}},
		{name: "num_outputs cannot fill", n: split(4, 4), dim: 5, err: "cannot be split into 4 parts of 2"},
		{name: "num_outputs vs outputs", n: split(2, 3), dim: 6, err: "num_outputs 3 for 2 outputs"},
		{name: "num_outputs and split", n: split(2, 2), dim: 6, split: []int64{2, 4}, err: "both"},
		{name: "split input", n: split(2, 0), dim: 6, split: []int64{2, 4}, want: []int{2, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := SplitNodeSizes(c.n, c.dim, c.split)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

// STFT's output shape from constant frame_step and window on a symbolic batch,
// and the frame count once the length is known; a symbolic length stays symbolic.
func TestInferSTFTShape(t *testing.T) {
	for _, c := range []struct {
		name   string
		signal Shape
		want   Shape
	}{
		{name: "known length", signal: Shape{{Size: -1, Param: "N"}, {Size: 400}, {Size: 1}}, want: Shape{{Size: -1, Param: "N"}, {Size: 22}, {Size: 33}, {Size: 2}}},
		{name: "symbolic length", signal: Shape{{Size: 1}, {Size: -1, Param: "L"}, {Size: 1}}, want: Shape{{Size: 1}, {Size: -1}, {Size: 33}, {Size: 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &Graph{Name: "stft", Initializers: map[string]*Tensor{
				"step": FromInt64(nil, []int64{16}), "win": NewTensor(Float32, []int{64}),
			}, Values: map[string]*Value{}}
			g.Inputs = []*Value{{Name: "x", DType: Float32, Shape: c.signal, HasShape: true}}
			g.Outputs = []*Value{{Name: "y"}}
			g.Nodes = []*Node{{OpType: "STFT", Inputs: []string{"x", "step", "win"}, Outputs: []string{"y"}}}
			m := &Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 17}}
			_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
			require.NoError(t, err)
			v := m.Graph.Values["y"]
			require.True(t, v.HasShape)
			require.Len(t, v.Shape, 4)
			for i, d := range c.want {
				assert.Equal(t, d.Size, v.Shape[i].Size, "axis %d", i)
			}
		})
	}
}

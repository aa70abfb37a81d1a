package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// seqMapModel is a model of one SequenceMap over the sequence input "xs" and the
// further inputs given (name -> sequence or not), whose body is body; the model's
// outputs are the SequenceMap's.
func seqMapModel(extra []*graph.Value, body *graph.Graph, nOut int) *graph.Model {
	g := &graph.Graph{Name: "m", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	g.Inputs = append([]*graph.Value{{Name: "xs", DType: graph.Float32, Seq: true}}, extra...)
	n := &graph.Node{Name: "map", OpType: "SequenceMap", Attrs: map[string]*graph.Attr{
		"body": {Name: "body", Type: graph.AttrGraph, G: body}}}
	for _, v := range g.Inputs {
		if v.Name != "scale" { // read by the body only (an implicit input)
			n.Inputs = append(n.Inputs, v.Name)
		}
	}
	for k := 0; k < nOut; k++ {
		o := fmt.Sprintf("y%d", k)
		n.Outputs = append(n.Outputs, o)
		g.Outputs = append(g.Outputs, &graph.Value{Name: o, Seq: true})
	}
	g.Nodes = []*graph.Node{n}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 17}}
}

func bodyGraph(ins []string, nodes []*graph.Node, outs ...string) *graph.Graph {
	g := &graph.Graph{Name: "body", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	for _, in := range ins {
		g.Inputs = append(g.Inputs, &graph.Value{Name: in, DType: graph.Float32, Shape: graph.Shape{{Size: -1}}, HasShape: true})
	}
	g.Nodes = nodes
	for _, o := range outs {
		g.Outputs = append(g.Outputs, &graph.Value{Name: o})
	}
	return g
}

func node(op string, ins []string, out string) *graph.Node {
	return &graph.Node{Name: out + "_n", OpType: op, Inputs: ins, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
}

func randVec(r *rand.Rand, n int) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, []int{n})
	for i := range t.F32() {
		t.F32()[i] = float32(r.Intn(19) - 9)
	}
	return t
}

// Property: SequenceMap of (x, y, b) -> ((x + y) * b * scale, Shape(x)) over two
// sequences of random lengths (elements of differing sizes), a tensor input and a
// value the body reads from the enclosing graph equals the element-by-element
// computation, and its elements are the sequence's own memory.
func TestSequenceMapAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	body := bodyGraph([]string{"x", "y", "b"}, []*graph.Node{
		node("Add", []string{"x", "y"}, "s"),
		node("Mul", []string{"s", "b"}, "p"),
		node("Mul", []string{"p", "scale"}, "q"),
		node("Shape", []string{"x"}, "shp"),
	}, "q", "shp")
	m := seqMapModel([]*graph.Value{
		{Name: "ys", DType: graph.Float32, Seq: true},
		{Name: "b", DType: graph.Float32, Shape: graph.Shape{{Size: 1}}, HasShape: true},
		{Name: "scale", DType: graph.Float32, Shape: graph.Shape{}, HasShape: true},
	}, body, 2)
	sess, err := NewSession(m, WithThreads(1))
	require.NoError(t, err)
	for trial := 0; trial < 30; trial++ {
		count := r.Intn(6)
		var xs, ys []*graph.Tensor
		for i := 0; i < count; i++ {
			n := 1 + r.Intn(9)
			if trial%3 == 0 {
				n = 4 // equal sizes: the first element's plan serves every one
			}
			xs = append(xs, randVec(r, n))
			ys = append(ys, randVec(r, n))
		}
		b := graph.FromFloat32([]int{1}, []float32{float32(r.Intn(5) - 2)})
		scale := graph.ScalarFloat32(0.5)
		out, err := sess.RunTensors(map[string]*graph.Tensor{"xs": graph.NewSequence(graph.Float32, xs),
			"ys": graph.NewSequence(graph.Float32, ys), "b": b, "scale": scale})
		require.NoError(t, err, "trial %d", trial)
		q, ok := out["y0"].SeqElems()
		require.True(t, ok)
		shp, ok := out["y1"].SeqElems()
		require.True(t, ok)
		require.Len(t, q, count)
		require.Len(t, shp, count)
		assert.Equal(t, graph.Float32, out["y0"].DType)
		assert.Equal(t, graph.Int64, out["y1"].DType)
		for i := range xs {
			want := make([]float32, xs[i].Len())
			for k := range want {
				want[k] = (xs[i].F32()[k] + ys[i].F32()[k]) * b.F32()[0] * 0.5
			}
			assert.Equal(t, want, q[i].F32(), "trial %d element %d", trial, i)
			assert.Equal(t, []int64{int64(xs[i].Len())}, shp[i].Data, "trial %d element %d", trial, i)
		}
		for i := 1; i < len(q); i++ {
			assert.NotSame(t, &q[0].F32()[0], &q[i].F32()[0], "elements share memory")
		}
	}
}

func TestSequenceMapErrors(t *testing.T) {
	ident := bodyGraph([]string{"x", "y"}, []*graph.Node{node("Identity", []string{"x"}, "o")}, "o")
	two := []*graph.Value{{Name: "ys", DType: graph.Float32, Seq: true}}
	for _, tc := range []struct {
		name  string
		m     *graph.Model
		feeds map[string]*graph.Tensor
		err   string // at run time
		load  string // at session creation
	}{
		{name: "sequences of different lengths", m: seqMapModel(two, ident, 1),
			feeds: map[string]*graph.Tensor{
				"xs": graph.NewSequence(graph.Float32, []*graph.Tensor{seqIota(2), seqIota(3)}),
				"ys": graph.NewSequence(graph.Float32, []*graph.Tensor{seqIota(2)})},
			err: "input 1 is a sequence of 1 elements, input 0 of 2"},
		{name: "body with too few inputs", m: seqMapModel(two,
			bodyGraph([]string{"x"}, []*graph.Node{node("Identity", []string{"x"}, "o")}, "o"), 1),
			load: "body has 1 inputs, want 2"},
		{name: "first input a tensor", m: func() *graph.Model {
			m := seqMapModel(nil, bodyGraph([]string{"x"}, []*graph.Node{node("Identity", []string{"x"}, "o")}, "o"), 1)
			m.Graph.Inputs[0] = &graph.Value{Name: "xs", DType: graph.Float32, Shape: graph.Shape{{Size: 2}}, HasShape: true}
			return m
		}(), load: "is a tensor, want a sequence"},
		{name: "body output a sequence", m: seqMapModel(nil,
			bodyGraph([]string{"x"}, []*graph.Node{node("SequenceConstruct", []string{"x"}, "o")}, "o"), 1),
			load: "body output 0 (\"o\") is a sequence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := NewSession(tc.m, WithThreads(1))
			if tc.load != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.load)
				assert.Contains(t, err.Error(), "map")
				return
			}
			require.NoError(t, err)
			_, err = sess.RunTensors(tc.feeds)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

// An empty input sequence maps to empty sequences of the body outputs' types.
func TestSequenceMapEmpty(t *testing.T) {
	body := bodyGraph([]string{"x"}, []*graph.Node{node("Shape", []string{"x"}, "o")}, "o")
	sess, err := NewSession(seqMapModel(nil, body, 1), WithThreads(1))
	require.NoError(t, err)
	out, err := sess.RunTensors(map[string]*graph.Tensor{"xs": graph.NewSequence(graph.Float32, nil)})
	require.NoError(t, err)
	e, ok := out["y0"].SeqElems()
	require.True(t, ok)
	assert.Empty(t, e)
	assert.Equal(t, graph.Int64, out["y0"].DType)
}
